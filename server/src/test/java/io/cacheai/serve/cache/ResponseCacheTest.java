package io.cacheai.serve.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cacheai.serve.cache.ResponseCache.Admission;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.bytedeco.javacpp.Pointer;
import org.junit.jupiter.api.Test;

class ResponseCacheTest {
  /** Every key collides: the cache must still tell entries apart by their material. */
  private static final KeyHasher CONSTANT = material -> new Key128(42, 42);

  /**
   * Material of {@code id}: {@code sizeBytes} bytes derived from id; differs in the last byte too.
   */
  private static KeyMaterial material(long id, int sizeBytes) {
    byte[] bytes = new byte[sizeBytes];
    new Random(id).nextBytes(bytes);
    bytes[sizeBytes - 1] = (byte) id;
    ByteBuffer direct = ByteBuffer.allocateDirect(sizeBytes).put(bytes).flip().asReadOnlyBuffer();
    return sink -> {
      sink.putLong(id % 3); // a little header, like the model identity
      sink.putBytes(direct);
    };
  }

  /** The value stored for {@code id}: length and content both depend on id. */
  private static byte[] value(long id, int sizeBytes) {
    byte[] bytes = new byte[sizeBytes];
    new Random(id * 31 + 7).nextBytes(bytes);
    return bytes;
  }

  private static int sizeOf(long id, int maxBytes) {
    return 1 + (int) Math.floorMod(id * 2654435761L, maxBytes);
  }

  @Test
  void get_afterPut_returnsValueThenMissesForOtherMaterial() {
    try (ResponseCache cache = ResponseCache.withCapacity(1 << 20)) {
      CacheKey a = cache.key(material(1, 100));
      assertThat(cache.get(a)).isNull();
      assertThat(cache.put(a, value(1, 300))).isTrue();
      assertThat(cache.get(cache.key(material(1, 100)))).isEqualTo(value(1, 300));
      assertThat(cache.get(cache.key(material(2, 100)))).isNull();
      assertThat(a.materialBytes()).isEqualTo(108);
      CacheStats stats = cache.stats();
      assertThat(stats.hits()).isEqualTo(1);
      assertThat(stats.misses()).isEqualTo(2);
      assertThat(stats.entries()).isEqualTo(1);
      assertThat(stats.usedBytes()).isEqualTo(512); // 408 bytes in one 512-byte block
    }
  }

  @Test
  void get_constantHash_neverReturnsAnotherEntrysValue() {
    try (ResponseCache cache = new ResponseCache(1 << 20, 1, 64, CONSTANT, Admission.LRU)) {
      for (long id = 0; id < 200; id++) {
        assertThat(cache.put(cache.key(material(id, 40)), value(id, sizeOf(id, 200)))).isTrue();
      }
      for (long id = 0; id < 200; id++) {
        assertThat(cache.get(cache.key(material(id, 40)))).isEqualTo(value(id, sizeOf(id, 200)));
      }
      for (long id = 200; id < 260; id++) {
        assertThat(cache.get(cache.key(material(id, 40)))).isNull();
      }
      // Same hash, same length, different bytes: a prefix of a stored material is no hit either.
      assertThat(cache.get(cache.key(sink -> sink.putLong(0)))).isNull();
      assertThat(cache.stats().hits()).isEqualTo(200);
      assertThat(cache.stats().misses()).isEqualTo(61);
    }
  }

  @Test
  void put_randomWorkload_neverExceedsCapacityAndHitsAreExact() {
    long capacityBytes = 64 * 1024;
    Random random = new Random(7);
    KeyHasher constantHigh = m -> new Key128(0, 3);
    for (KeyHasher hasher : List.of(KeyHasher.xxh3(), constantHigh)) {
      for (Admission admission : Admission.values()) {
        try (ResponseCache cache = new ResponseCache(capacityBytes, 4, 128, hasher, admission)) {
          long hits = 0;
          for (int op = 0; op < 5_000; op++) {
            long id = random.nextInt(400);
            CacheKey key = cache.key(material(id, sizeOf(id, 600)));
            byte[] got = cache.get(key);
            if (got != null) {
              hits++;
              assertThat(got).isEqualTo(value(id, sizeOf(id + 1, 3000)));
            } else {
              cache.put(key, value(id, sizeOf(id + 1, 3000)));
            }
            CacheStats stats = cache.stats();
            assertThat(stats.usedBytes()).isLessThanOrEqualTo(stats.capacityBytes());
            assertThat(stats.capacityBytes()).isLessThanOrEqualTo(capacityBytes);
          }
          CacheStats stats = cache.stats();
          assertThat(stats.hits()).isEqualTo(hits).isPositive();
          if (admission == Admission.LRU || hasher != constantHigh) {
            assertThat(stats.evictions()).isPositive();
          } else {
            // Every key shares one sketch count: no newcomer is ever more popular than a victim.
            assertThat(stats.evictions()).isZero();
            assertThat(stats.rejections()).isPositive();
          }
          assertThat(stats.entries()).isEqualTo(stats.insertions() - stats.evictions());
        }
      }
    }
  }

  @Test
  void put_lru_evictsLeastRecentlyUsedFirst() {
    // One segment of 6 blocks of 64 bytes; each entry (8 + 50 material, 60 value) takes 2 blocks.
    try (ResponseCache cache = new ResponseCache(6 * 64, 1, 64, KeyHasher.xxh3(), Admission.LRU)) {
      for (long id : new long[] {1, 2, 3}) {
        assertThat(cache.put(cache.key(material(id, 50)), value(id, 60))).isTrue();
      }
      assertThat(cache.get(cache.key(material(1, 50)))).isNotNull(); // 1 is now the newest
      assertThat(cache.put(cache.key(material(4, 50)), value(4, 60))).isTrue();
      assertThat(cache.stats().evictions()).isEqualTo(1);
      assertThat(cache.get(cache.key(material(2, 50)))).isNull(); // 2 was the oldest
      assertThat(cache.get(cache.key(material(3, 50)))).isEqualTo(value(3, 60));
      assertThat(cache.put(cache.key(material(5, 50)), value(5, 60))).isTrue(); // evicts 1
      assertThat(cache.get(cache.key(material(1, 50)))).isNull();
      assertThat(cache.get(cache.key(material(4, 50)))).isEqualTo(value(4, 60));
      assertThat(cache.stats().usedBytes()).isEqualTo(6 * 64);
    }
  }

  @Test
  void put_tinyLfu_oneOffRequestsDoNotFlushAPopularEntry() {
    try (ResponseCache cache =
        new ResponseCache(4 * 64, 1, 64, KeyHasher.xxh3(), Admission.TINY_LFU)) {
      CacheKey popular = cache.key(material(1, 50));
      for (int i = 0; i < 5; i++) {
        if (cache.get(popular) == null) {
          cache.put(popular, value(1, 60));
        }
      }
      CacheKey second = cache.key(material(2, 50));
      cache.get(second);
      cache.put(second, value(2, 60));
      for (long id = 100; id < 150; id++) { // one-offs: each asked once
        CacheKey key = cache.key(material(id, 50));
        assertThat(cache.get(key)).isNull();
        assertThat(cache.put(key, value(id, 60))).isFalse();
      }
      assertThat(cache.get(popular)).isEqualTo(value(1, 60));
      assertThat(cache.stats().rejections()).isEqualTo(50);
      CacheKey rising = cache.key(material(7, 50)); // asked twice: beats entry 2 (asked once)
      cache.get(rising);
      cache.get(rising);
      assertThat(cache.put(rising, value(7, 60))).isTrue();
      assertThat(cache.get(second)).isNull();
      assertThat(cache.get(popular)).isEqualTo(value(1, 60));
    }
  }

  @Test
  void put_largerThanSegment_isRejected() {
    try (ResponseCache cache = new ResponseCache(4096, 2, 64, KeyHasher.xxh3(), Admission.LRU)) {
      CacheKey key = cache.key(material(1, 10));
      assertThat(cache.put(key, value(1, 2100))).isFalse();
      assertThat(cache.stats().rejections()).isEqualTo(1);
      assertThat(cache.stats().usedBytes()).isZero();
      assertThat(cache.put(key, value(1, 2000))).isTrue();
    }
  }

  @Test
  void constructor_badSizes_namesTheSetting() {
    assertThatThrownBy(() -> new ResponseCache(100, 1, 512, KeyHasher.xxh3(), Admission.LRU))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("capacityBytes=100");
    assertThatThrownBy(() -> new ResponseCache(1 << 20, 3, 512, KeyHasher.xxh3(), Admission.LRU))
        .hasMessageContaining("segmentCount=3");
    assertThat(ResponseCache.defaultSegmentCount(1 << 20)).isEqualTo(1);
    assertThat(ResponseCache.defaultSegmentCount(64L << 20)).isEqualTo(4);
    assertThat(ResponseCache.defaultSegmentCount(1L << 30)).isEqualTo(16);
    assertThat(ResponseCache.defaultSegmentCount(40L << 30)).isEqualTo(64);
  }

  @Test
  void close_releasesAllNativeMemory_clearEmpties() {
    ResponseCache cache = new ResponseCache(256 * 1024, 4, 256, KeyHasher.xxh3(), Admission.LRU);
    assertThat(cache.stats().allocatedBytes()).isEqualTo(256 * 1024);
    for (long id = 0; id < 100; id++) {
      cache.put(cache.key(material(id, 100)), value(id, 500));
    }
    assertThat(cache.stats().usedBytes()).isPositive();
    cache.clear();
    assertThat(cache.stats().usedBytes()).isZero();
    assertThat(cache.stats().entries()).isZero();
    assertThat(cache.get(cache.key(material(5, 100)))).isNull();
    cache.put(cache.key(material(5, 100)), value(5, 500));
    // JavaCPP's own count of native bytes (other tests' pointers may be freed meanwhile by its
    // GC thread, which only makes the drop larger).
    long beforeClose = Pointer.totalBytes();
    cache.close();
    cache.close();
    assertThat(beforeClose - Pointer.totalBytes()).isGreaterThanOrEqualTo(256 * 1024);
    assertThat(cache.stats().allocatedBytes()).isZero();
    assertThat(cache.stats().usedBytes()).isZero();
    assertThat(cache.get(cache.key(material(5, 100)))).isNull();
    assertThat(cache.put(cache.key(material(6, 100)), value(6, 500))).isFalse();
  }

  @Test
  void getPut_manyThreads_everyReturnedValueIsExactAndNothingLeaks() throws Exception {
    int threads = 8;
    // Weak hash with 4 buckets: chains under contention; small capacity: constant eviction.
    KeyHasher weak = m -> new Key128(0, KeyHasher.xxh3().hash(m).low() & 3);
    AtomicLong checkedHits = new AtomicLong();
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    for (KeyHasher hasher : List.of(KeyHasher.xxh3(), weak)) {
      ResponseCache cache = new ResponseCache(128 * 1024, 4, 128, hasher, Admission.LRU);
      List<Future<?>> done = new ArrayList<>();
      long deadlineNanos = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1500);
      for (int t = 0; t < threads; t++) {
        int seed = t;
        done.add(
            pool.submit(
                () -> {
                  Random random = new Random(seed);
                  for (int op = 0; op < 20_000 && System.nanoTime() < deadlineNanos; op++) {
                    long id = random.nextInt(300);
                    CacheKey key = cache.key(material(id, sizeOf(id, 300)));
                    byte[] got = cache.get(key);
                    byte[] expected = value(id, sizeOf(id + 5, 4000));
                    if (got != null) {
                      assertThat(got).isEqualTo(expected);
                      checkedHits.incrementAndGet();
                    } else {
                      cache.put(key, expected);
                    }
                    assertThat(cache.stats().usedBytes()).isLessThanOrEqualTo(128 * 1024);
                  }
                  return null;
                }));
      }
      for (Future<?> f : done) {
        f.get(30, TimeUnit.SECONDS);
      }
      assertThat(cache.stats().hits()).isPositive();
      assertThat(cache.stats().evictions()).isPositive();
      long beforeClose = Pointer.totalBytes();
      cache.close();
      assertThat(beforeClose - Pointer.totalBytes()).isGreaterThanOrEqualTo(128 * 1024);
      assertThat(cache.stats().allocatedBytes()).isZero();
      assertThat(cache.stats().usedBytes()).isZero();
    }
    pool.shutdown();
    assertThat(pool.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
    assertThat(checkedHits.get()).isPositive();
  }
}
