package io.cacheai.serve.cache;

/**
 * A snapshot of a {@link ResponseCache}'s counters, for statistics and metrics.
 *
 * @param capacityBytes native bytes reserved for entries (the bound {@code usedBytes} never
 *     exceeds)
 * @param usedBytes native bytes held by entries, counted in whole blocks
 * @param allocatedBytes native bytes the cache holds from the system: {@code capacityBytes} while
 *     open, 0 once closed
 * @param entries entries stored
 * @param hits lookups answered from the cache
 * @param misses lookups that found no entry with the same material
 * @param evictions entries pushed out to make room
 * @param rejections stores refused: larger than a segment, or not admitted by frequency
 * @param insertions entries stored
 */
public record CacheStats(
    long capacityBytes,
    long usedBytes,
    long allocatedBytes,
    long entries,
    long hits,
    long misses,
    long evictions,
    long rejections,
    long insertions) {}
