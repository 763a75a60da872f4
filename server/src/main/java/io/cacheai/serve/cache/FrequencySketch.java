package io.cacheai.serve.cache;

/**
 * How often each key was asked for lately, approximately: a count-min sketch (4 rows of saturating
 * counters up to 15), halved every {@code 10 × width} increments so that old popularity fades. This
 * is TinyLFU's admission filter (Einziger, Friedman, Manes, "TinyLFU: A Highly Efficient Cache
 * Admission Policy", 2017): a new entry may push out the least recently used one only when it has
 * been asked for more often. A count-min sketch never under-counts, so a popular entry is never
 * pushed out by a one-off request. Not thread-safe: the owning segment serializes access.
 */
final class FrequencySketch {
  private static final int ROWS = 4;
  private static final int MAX_COUNT = 15;
  private static final long[] SEEDS = {
    0x9E3779B97F4A7C15L, 0xC2B2AE3D27D4EB4FL, 0x165667B19E3779F9L, 0xD6E8FEB86659FD93L
  };

  private final byte[][] counters;
  private final int mask;
  private final int sampleSize;
  private int additions;

  /** Largest row width: 4 rows of 2^18 one-byte counters, 1 MiB of heap per sketch. */
  private static final int MAX_WIDTH = 1 << 18;

  /** A sketch for about {@code expectedEntries} distinct hot keys. */
  FrequencySketch(int expectedEntries) {
    int width = Integer.highestOneBit(Math.max(64, Math.min(MAX_WIDTH, expectedEntries)) - 1) << 1;
    this.counters = new byte[ROWS][width];
    this.mask = width - 1;
    this.sampleSize = 10 * width;
  }

  /** Counts one request for {@code hash}. */
  void increment(long hash) {
    for (int row = 0; row < ROWS; row++) {
      int i = index(hash, row);
      if (counters[row][i] < MAX_COUNT) {
        counters[row][i]++;
      }
    }
    if (++additions >= sampleSize) {
      halve();
    }
  }

  /** The estimated count of {@code hash}: the least of its counters. */
  int frequency(long hash) {
    int min = MAX_COUNT;
    for (int row = 0; row < ROWS; row++) {
      min = Math.min(min, counters[row][index(hash, row)]);
    }
    return min;
  }

  private void halve() {
    for (byte[] row : counters) {
      for (int i = 0; i < row.length; i++) {
        row[i] = (byte) (row[i] >>> 1);
      }
    }
    additions /= 2;
  }

  private int index(long hash, int row) {
    long x = (hash + SEEDS[row]) * SEEDS[(row + 1) & 3];
    x ^= x >>> 29;
    return (int) x & mask;
  }
}
