package io.cacheai.serve;

import inference.GrpcService.ModelInferRequest;
import inference.GrpcService.ModelInferResponse;
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

  InferencePipeline(ModelRepository repository) {
    this.repository = repository;
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
    try {
      DecodedRequest decoded = decoder.decode(request, lease.served());
      long decodeNs = System.nanoTime() - arrivalNanos;
      long timeoutMs = lease.served().config().scheduling().requestTimeoutMs();
      Deadline timeout = timeoutMs > 0 ? Deadline.after(timeoutMs, TimeUnit.MILLISECONDS) : null;
      job = new InferJob(decoded, arrivalNanos, decodeNs, Context.current(), timeout, timeoutMs);
    } catch (StatusException | RuntimeException e) {
      loaded.stats().failed(System.nanoTime() - arrivalNanos);
      loaded.returnSlot();
      lease.close();
      return CompletableFuture.failedFuture(
          e instanceof StatusException s ? s : BatchRunner.statusOf(e));
    }
    CompletableFuture<ModelInferResponse> done =
        job.result.whenComplete(
            (response, error) -> {
              loaded.returnSlot();
              lease.close();
            });
    loaded.scheduler().submit(job);
    return done;
  }
}
