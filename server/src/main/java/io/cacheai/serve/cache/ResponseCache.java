package io.cacheai.serve.cache;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.LongAdder;

/**
 * An exact, byte-bounded, off-heap cache of responses keyed by what decides them.
 *
 * <p><b>Exact.</b> The key is a 128-bit hash ({@link KeyHasher#xxh3()} by default) of the request's
 * {@link KeyMaterial}; the entry keeps the material in full, and a lookup whose key matches returns
 * the value only when the stored material equals the request's byte for byte. A hash collision
 * (Triton's cache keys on a 64-bit hash and accepts them) therefore costs a comparison, never a
 * wrong answer. Entries with equal keys and different material coexist.
 *
 * <p><b>Bounded.</b> The capacity is split between {@code segments} {@link OffHeapSlab}s allocated
 * once, at construction, in native memory outside the Java heap and freed at {@link #close()}.
 * Entries take whole blocks ({@value #DEFAULT_BLOCK_SIZE_BYTES} bytes by default), so the bytes in
 * use can never exceed the capacity; an entry larger than one segment is never stored. The heap
 * holds only the index (about 100 bytes per entry plus its block list).
 *
 * <p><b>Eviction.</b> Least recently used first, within a segment. With {@link Admission#TINY_LFU}
 * (the default) a new entry that needs room is admitted only if a count-min sketch of recent
 * lookups says it was asked for more often than every entry it would push out, so a stream of
 * one-off requests cannot flush the popular ones (plain LRU's weakness; the same filter Caffeine
 * uses). {@link Admission#LRU} admits every entry.
 *
 * <p><b>Concurrency.</b> A key picks a segment; each segment has one lock, held while an entry is
 * compared and copied out or written, so readers never see a half-written or reused entry. Values
 * come back as fresh heap copies the caller owns.
 */
public final class ResponseCache implements AutoCloseable {
  /** Default block size: fits a small response in a few blocks with little waste. */
  public static final int DEFAULT_BLOCK_SIZE_BYTES = 512;

  private static final long MIB = 1L << 20;
  private static final long MAX_SEGMENT_BYTES = 1L << 30;
  private static final int MAX_SEGMENTS = 64;

  /** Which new entries may push out old ones. */
  public enum Admission {
    /** Every new entry, evicting the least recently used. */
    LRU,
    /** Only an entry asked for more often than each entry it would evict (TinyLFU). */
    TINY_LFU
  }

  /** Counters shared by the segments. */
  static final class Counters {
    final LongAdder hits = new LongAdder();
    final LongAdder misses = new LongAdder();
    final LongAdder evictions = new LongAdder();
    final LongAdder rejections = new LongAdder();
    final LongAdder insertions = new LongAdder();
  }

  private final Segment[] segments;
  private final KeyHasher hasher;
  private final Counters counters = new Counters();

  /**
   * A cache of at most {@code capacityBytes}.
   *
   * @param segmentCount a power of two from 1 to {@value #MAX_SEGMENTS}: independent locks
   * @param blockSizeBytes the allocation unit, at least 16
   * @param hasher the 128-bit key function
   * @param admission which new entries may evict old ones
   * @throws IllegalArgumentException when a segment would get no block or more than 1 GiB
   */
  public ResponseCache(
      long capacityBytes,
      int segmentCount,
      int blockSizeBytes,
      KeyHasher hasher,
      Admission admission) {
    if (segmentCount < 1 || segmentCount > MAX_SEGMENTS || Integer.bitCount(segmentCount) != 1) {
      throw new IllegalArgumentException(
          "segmentCount=" + segmentCount + " must be a power of two in [1," + MAX_SEGMENTS + "]");
    }
    if (blockSizeBytes < 16) {
      throw new IllegalArgumentException("blockSizeBytes=" + blockSizeBytes + " must be >= 16");
    }
    long segmentBytes = capacityBytes / segmentCount;
    if (segmentBytes < blockSizeBytes || segmentBytes > MAX_SEGMENT_BYTES) {
      throw new IllegalArgumentException(
          "capacityBytes="
              + capacityBytes
              + " gives "
              + segmentBytes
              + " bytes per segment (segmentCount="
              + segmentCount
              + "); each must hold at least one block of "
              + blockSizeBytes
              + " bytes and at most "
              + MAX_SEGMENT_BYTES);
    }
    this.hasher = Objects.requireNonNull(hasher, "hasher");
    Objects.requireNonNull(admission, "admission");
    int blocksPerSegment = (int) (segmentBytes / blockSizeBytes);
    List<Segment> created = new ArrayList<>();
    try {
      for (int i = 0; i < segmentCount; i++) {
        created.add(new Segment(blockSizeBytes, blocksPerSegment, admission, counters));
      }
    } catch (RuntimeException e) {
      created.forEach(Segment::close);
      throw e;
    }
    this.segments = created.toArray(new Segment[0]);
  }

  /**
   * A cache of at most {@code capacityBytes} with the defaults: XXH3-128, TinyLFU admission,
   * {@value #DEFAULT_BLOCK_SIZE_BYTES}-byte blocks, and up to 16 segments of at least 16 MiB each
   * (more when needed to keep each under 1 GiB).
   */
  public static ResponseCache withCapacity(long capacityBytes) {
    return new ResponseCache(
        capacityBytes,
        defaultSegmentCount(capacityBytes),
        DEFAULT_BLOCK_SIZE_BYTES,
        KeyHasher.xxh3(),
        Admission.TINY_LFU);
  }

  static int defaultSegmentCount(long capacityBytes) {
    int count = 1;
    while (count < 16 && capacityBytes / (2L * count) >= 16 * MIB) {
      count *= 2;
    }
    while (count < MAX_SEGMENTS && capacityBytes / count > MAX_SEGMENT_BYTES) {
      count *= 2;
    }
    return count;
  }

  /** Sizes and hashes {@code material} (walking it twice, copying nothing). */
  public CacheKey key(KeyMaterial material) {
    long[] size = {0};
    material.writeTo(
        new MaterialSink() {
          @Override
          public void putLong(long value) {
            size[0] += Long.BYTES;
          }

          @Override
          public void putBytes(ByteBuffer bytes) {
            size[0] += bytes.remaining();
          }
        });
    return new CacheKey(hasher.hash(material), material, size[0]);
  }

  /** The cached value for the key's material (a copy the caller owns), or null on a miss. */
  public byte[] get(CacheKey key) {
    byte[] value = segment(key).get(key);
    (value == null ? counters.misses : counters.hits).increment();
    return value;
  }

  /**
   * Stores {@code value} for the key's material, unless it is larger than a segment or not
   * admitted. Returns whether it is stored (also true when an equal entry already was).
   */
  public boolean put(CacheKey key, byte[] value) {
    return segment(key).put(key, value);
  }

  /** Drops every entry; the memory stays reserved for new ones. */
  public void clear() {
    for (Segment segment : segments) {
      segment.clear();
    }
  }

  /** A snapshot of the counters (each segment read under its lock, the sum not atomic). */
  public CacheStats stats() {
    long capacity = 0;
    long used = 0;
    long allocated = 0;
    long entries = 0;
    for (Segment segment : segments) {
      capacity += segment.capacityBytes();
      used += segment.usedBytes();
      allocated += segment.allocatedBytes();
      entries += segment.entries();
    }
    return new CacheStats(
        capacity,
        used,
        allocated,
        entries,
        counters.hits.sum(),
        counters.misses.sum(),
        counters.evictions.sum(),
        counters.rejections.sum(),
        counters.insertions.sum());
  }

  /** Frees the native memory; afterwards every lookup misses and nothing is stored. Safe twice. */
  @Override
  public void close() {
    for (Segment segment : segments) {
      segment.close();
    }
  }

  private Segment segment(CacheKey key) {
    return segments[(int) (key.hash().spread() >>> 40) & (segments.length - 1)];
  }
}
