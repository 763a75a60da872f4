package io.cacheai.serve;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * A fixed-size, lock-free latency histogram for load tests: its memory does not grow with the
 * number of samples, so a long soak measures the server's memory, not its own.
 *
 * <p>Buckets are log-linear, as in HdrHistogram: a value {@code v} (ns) with highest set bit {@code
 * e} falls in one of {@value #SUB_BUCKETS} equal sub-buckets of {@code [2^e, 2^(e+1))}, so a
 * reported quantile is the upper edge of its bucket, at most 1/{@value #SUB_BUCKETS} (1.6 %) above
 * the true value. Values below {@value #SUB_BUCKETS} ns are exact.
 *
 * <pre>
 *  index = e &lt; 6 ? v : (e - 5) * 64 + ((v &gt;&gt; (e - 6)) &amp; 63)      e = 63 - nlz(v)
 * </pre>
 */
final class LatencyHistogram {
  private static final int SUB_BITS = 6;
  static final int SUB_BUCKETS = 1 << SUB_BITS;
  private static final int BUCKETS = (64 - SUB_BITS + 1) * SUB_BUCKETS;

  private final AtomicLongArray counts = new AtomicLongArray(BUCKETS);

  /** Records one latency, in nanoseconds (negative values count as 0). */
  void record(long nanos) {
    counts.incrementAndGet(indexOf(Math.max(0, nanos)));
  }

  /** How many latencies were recorded. */
  long count() {
    long total = 0;
    for (int i = 0; i < BUCKETS; i++) {
      total += counts.get(i);
    }
    return total;
  }

  /**
   * The latency at quantile {@code q} (0..1), in nanoseconds: the upper edge of the bucket holding
   * the ceil(q·count)-th smallest value; 0 when empty.
   */
  long quantileNanos(double q) {
    long total = count();
    if (total == 0) {
      return 0;
    }
    long rank = Math.max(1, (long) Math.ceil(q * total));
    long seen = 0;
    for (int i = 0; i < BUCKETS; i++) {
      seen += counts.get(i);
      if (seen >= rank) {
        return upperEdge(i);
      }
    }
    return upperEdge(BUCKETS - 1);
  }

  static int indexOf(long v) {
    int e = 63 - Long.numberOfLeadingZeros(v);
    if (e < SUB_BITS) {
      return (int) v;
    }
    return (e - SUB_BITS + 1) * SUB_BUCKETS + (int) ((v >>> (e - SUB_BITS)) & (SUB_BUCKETS - 1));
  }

  /** The largest value of bucket {@code index}. */
  static long upperEdge(int index) {
    if (index < SUB_BUCKETS) {
      return index;
    }
    int e = index / SUB_BUCKETS + SUB_BITS - 1;
    long sub = index % SUB_BUCKETS;
    long width = 1L << (e - SUB_BITS);
    long lower = (1L << e) + sub * width;
    return lower + width - 1;
  }
}
