package io.cacheai.serve.cache;

/**
 * A request's material with its hash and byte length, computed once by {@link ResponseCache#key}
 * and used for both the lookup and the store after a miss.
 */
public record CacheKey(Key128 hash, KeyMaterial material, long materialBytes) {}
