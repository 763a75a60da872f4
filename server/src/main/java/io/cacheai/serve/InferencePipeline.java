package io.cacheai.serve;

import inference.GrpcService.ModelInferRequest;
import inference.GrpcService.ModelInferResponse;
import io.cacheai.serve.cache.CacheKey;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.Status;
import io.grpc.StatusException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The path of one inference request, from the protocol message to the future of its response:
 *
 * <ol>
 *   <li>lease the model version (NOT_FOUND when not served) — it cannot be closed under us;
 *   <li>take a {@code max_concurrent_requests} slot (RESOURCE_EXHAUSTED at once when none);
 *   <li>check and decode the request (INVALID_ARGUMENT);
 *   <li>when the model's config enables the response cache: answer from it on a hit (counted in
 *       {@code success} and {@code cache_hit}); on a miss, go on and store the answer ({@code
 *       cache_miss} counts the lookup and the store);
 *   <li>hand it to the version's scheduler with the gRPC context (cancellation, client deadline)
 *       and the {@code request_timeout_ms} limit; a full batching queue is RESOURCE_EXHAUSTED;
 *   <li>when the answer is in, give back the slot and the lease.
 * </ol>
 *
 * Failures after step 1 count in the version's {@code fail} statistics.
 */
final class InferencePipeline {
  private final ModelRepository repository;
  private final InferRequestDecoder decoder = new InferRequestDecoder();
  private final CachedResponses cache;
  private final ServingMetrics metrics;

  InferencePipeline(ModelRepository repository) {
    this(repository, null, ServingMetrics.NONE);
  }

  /**
   * With {@code cache} (null for none) for the models whose config enables it, reporting executions
   * to {@code metrics}.
   */
  InferencePipeline(ModelRepository repository, CachedResponses cache, ServingMetrics metrics) {
    this.repository = repository;
    this.cache = cache;
    this.metrics = java.util.Objects.requireNonNull(metrics, "metrics");
  }

  /** Starts {@code request}; the future completes with the response or a StatusException. */
  CompletableFuture<ModelInferResponse> submit(ModelInferRequest request) {
    long arrivalNanos = System.nanoTime();
    ModelLease lease;
    try {
      lease = ModelResolver.acquire(repository, request.getModelName(), request.getModelVersion());
    } catch (StatusException e) {
      return CompletableFuture.failedFuture(e);
    }
    LoadedModel loaded = lease.model();
    loaded.stats().arrived(System.currentTimeMillis());
    if (!loaded.tryTakeSlot()) {
      loaded.stats().failed(System.nanoTime() - arrivalNanos);
      lease.close();
      return CompletableFuture.failedFuture(
          Status.RESOURCE_EXHAUSTED
              .withDescription(
                  "model '"
                      + lease.served()
                      + "' is at "
                      + SchedulingConfig.MAX_CONCURRENT_REQUESTS
                      + "="
                      + lease.served().config().scheduling().maxConcurrentRequests())
              .asException());
    }
    InferJob job;
    CacheKey cacheKey = null;
    long cacheLookupNs = 0;
    try {
      DecodedRequest decoded = decoder.decode(request, lease.served());
      if (cache != null && cache.enabledFor(lease.served())) {
        long lookupStart = System.nanoTime();
        cacheKey = cache.key(decoded);
        ModelInferResponse hit = cache.lookup(cacheKey, decoded);
        long lookupEnd = System.nanoTime();
        cacheLookupNs = lookupEnd - lookupStart;
        if (hit != null) {
          loaded.stats().cacheHit(cacheLookupNs, lookupEnd - arrivalNanos);
          loaded.returnSlot();
          lease.close();
          return CompletableFuture.completedFuture(hit);
        }
      }
      long decodeNs = System.nanoTime() - arrivalNanos;
      long timeoutMs = lease.served().config().scheduling().requestTimeoutMs();
      Deadline timeout = timeoutMs > 0 ? Deadline.after(timeoutMs, TimeUnit.MILLISECONDS) : null;
      job =
          new InferJob(
              decoded, arrivalNanos, decodeNs, Context.current(), timeout, timeoutMs, metrics);
    } catch (StatusException | RuntimeException e) {
      loaded.stats().failed(System.nanoTime() - arrivalNanos);
      loaded.returnSlot();
      lease.close();
      return CompletableFuture.failedFuture(
          e instanceof StatusException s ? s : BatchRunner.statusOf(e));
    }
    CacheKey storeKey = cacheKey;
    long lookupNs = cacheLookupNs;
    CompletableFuture<ModelInferResponse> done =
        job.result.whenComplete(
            (response, error) -> {
              try {
                if (storeKey != null && error == null) {
                  long storeStart = System.nanoTime();
                  cache.store(storeKey, response);
                  loaded.stats().cacheMiss(lookupNs + System.nanoTime() - storeStart);
                }
              } finally {
                loaded.returnSlot();
                lease.close();
              }
            });
    loaded.scheduler().submit(job);
    return done;
  }
}
