package io.cacheai.runtime;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * The live key hit rate of one Cache AI layer: on a sample of its runs the layer also computes the
 * exact nearest-centroid keys (the centroids are stored in the bundle) and counts how many of the
 * tree's keys equal them. Sampling keeps the extra encoding off most requests; counters are
 * lock-free because every request thread updates them.
 */
final class KeyHitCounter {
  /** One run in this many also computes the exact keys. */
  static final int SAMPLE_EVERY = 16;

  private final AtomicLong runs = new AtomicLong();
  private final LongAdder hits = new LongAdder();
  private final LongAdder lookups = new LongAdder();

  /** Whether this run should be checked (roughly one in {@value #SAMPLE_EVERY}). */
  boolean sampleThisRun() {
    return runs.incrementAndGet() % SAMPLE_EVERY == 1;
  }

  void record(long hitCount, long lookupCount) {
    hits.add(hitCount);
    lookups.add(lookupCount);
  }

  /** hits ÷ lookups, or NaN before the first sampled run. */
  double ratio() {
    long n = lookups.sum();
    return n == 0 ? Double.NaN : (double) hits.sum() / n;
  }
}
