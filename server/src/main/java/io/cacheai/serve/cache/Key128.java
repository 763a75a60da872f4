package io.cacheai.serve.cache;

/** A 128-bit cache key: the two halves of a 128-bit hash. */
public record Key128(long high, long low) {
  /** Mixed bits for choosing a segment and sketch rows (the low half is well mixed for XXH3). */
  long spread() {
    return low ^ Long.rotateLeft(high, 31);
  }
}
