package io.cacheai.serve;

import com.google.protobuf.InvalidProtocolBufferException;
import inference.GrpcService.ModelInferResponse;
import io.cacheai.serve.cache.CacheKey;
import io.cacheai.serve.cache.CacheStats;
import io.cacheai.serve.cache.ResponseCache;
import java.util.Collections;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The server's use of the {@link ResponseCache}: which requests are looked up (those of models
 * whose config says {@code response_cache=true}), what is stored (the serialized response without
 * its id; the id is set again on every answer), and per-model hit and miss counts for statistics.
 *
 * <p>The model identity in the key is a number given to each loaded {@link ServedModel} instance
 * the first time it is seen, so a reloaded model (a new instance, even under the same name and
 * version) never meets the answers of the old one. When bundles carry a content digest, it can
 * replace this number and let identical files share answers across reloads.
 */
public final class CachedResponses implements AutoCloseable {
  private static final Logger log = Logger.getLogger(CachedResponses.class.getName());

  /** Hits and misses of one served model version. */
  public record ModelCounts(long hits, long misses) {}

  private final ResponseCache cache;
  // Weak keys: a model version unloaded by a reload is forgotten here (its cached entries, keyed
  // with a number never given again, age out of the cache like any unused entry).
  private final Map<ServedModel, Long> identities =
      Collections.synchronizedMap(new WeakHashMap<>());
  private final AtomicLong nextIdentity = new AtomicLong(1);
  private final Map<ServedModel, LongAdder[]> counts =
      Collections.synchronizedMap(new WeakHashMap<>());

  public CachedResponses(ResponseCache cache) {
    this.cache = cache;
  }

  /** Whether requests for {@code served} go through the cache. */
  boolean enabledFor(ServedModel served) {
    return served.config().responseCache();
  }

  /** The key of a decoded request. */
  CacheKey key(DecodedRequest request) {
    long identity =
        identities.computeIfAbsent(request.model(), m -> nextIdentity.getAndIncrement());
    return cache.key(new RequestKey(request, identity));
  }

  /** The cached response with the request's id, or null on a miss. */
  ModelInferResponse lookup(CacheKey key, DecodedRequest request) {
    byte[] stored = cache.get(key);
    LongAdder[] modelCounts =
        counts.computeIfAbsent(
            request.model(), m -> new LongAdder[] {new LongAdder(), new LongAdder()});
    if (stored == null) {
      modelCounts[1].increment();
      return null;
    }
    try {
      ModelInferResponse response = ModelInferResponse.parseFrom(stored);
      modelCounts[0].increment();
      return request.id().isEmpty() ? response : response.toBuilder().setId(request.id()).build();
    } catch (InvalidProtocolBufferException e) {
      log.log(Level.WARNING, "cached response for " + request.model() + " is unreadable", e);
      modelCounts[1].increment();
      return null;
    }
  }

  /** Stores a freshly computed response (without its id). */
  void store(CacheKey key, ModelInferResponse response) {
    ModelInferResponse withoutId =
        response.getId().isEmpty() ? response : response.toBuilder().clearId().build();
    cache.put(key, withoutId.toByteArray());
  }

  /** The cache-wide counters: hits, misses, evictions, bytes, entries. */
  public CacheStats stats() {
    return cache.stats();
  }

  /** Hits and misses of one model version (zeros when it was never looked up). */
  public ModelCounts countsFor(ServedModel served) {
    LongAdder[] c = counts.get(served);
    return c == null ? new ModelCounts(0, 0) : new ModelCounts(c[0].sum(), c[1].sum());
  }

  /** Frees the cache's native memory. */
  @Override
  public void close() {
    cache.close();
  }
}
