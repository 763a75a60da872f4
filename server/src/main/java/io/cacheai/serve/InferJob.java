package io.cacheai.serve;

import inference.GrpcService.ModelInferResponse;
import io.cacheai.runtime.Tensor;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.Status;
import java.util.concurrent.CompletableFuture;

/**
 * One decoded request on its way to an execution: what to run, when it arrived, how long it may
 * wait, and the future its answer completes. The gRPC {@link Context} it came with tells whether
 * the client has gone (cancelled, or its deadline passed), so a queued job can be dropped before it
 * runs.
 */
final class InferJob {
  final DecodedRequest request;
  final long arrivalNanos;
  final long decodeNs;
  final long batchSize;
  private final Context context;
  private final Deadline timeout;
  private final long timeoutMs;
  final CompletableFuture<ModelInferResponse> result = new CompletableFuture<>();
  final ServingMetrics metrics;

  /**
   * @param timeout the server-side limit on waiting ({@code request_timeout_ms}), or null
   * @param metrics where the execution that answers the job reports its batch and times
   */
  InferJob(
      DecodedRequest request,
      long arrivalNanos,
      long decodeNs,
      Context context,
      Deadline timeout,
      long timeoutMs,
      ServingMetrics metrics) {
    this.request = request;
    this.arrivalNanos = arrivalNanos;
    this.decodeNs = decodeNs;
    this.context = context;
    this.timeout = timeout;
    this.timeoutMs = timeoutMs;
    this.metrics = metrics;
    this.batchSize = batchSizeOf(request);
  }

  /**
   * Why this job must not run any more, or null when it may: the client cancelled, the client's
   * deadline passed, or the server's {@code request_timeout_ms} passed.
   */
  Status dropReason() {
    Deadline clientDeadline = context.getDeadline();
    if (clientDeadline != null && clientDeadline.isExpired()) {
      return Status.DEADLINE_EXCEEDED.withDescription(
          "model '" + request.model() + "': the client's deadline expired before execution");
    }
    if (context.isCancelled()) {
      return Status.CANCELLED.withDescription(
          "model '" + request.model() + "': the client cancelled before execution");
    }
    if (timeout != null && timeout.isExpired()) {
      return Status.DEADLINE_EXCEEDED.withDescription(
          "model '"
              + request.model()
              + "': "
              + SchedulingConfig.REQUEST_TIMEOUT_MS
              + "="
              + timeoutMs
              + " expired before execution");
    }
    return null;
  }

  /**
   * Whether this job's inputs can be concatenated with {@code other}'s along the first dimension:
   * every input has the same dimensions after the first.
   */
  boolean mergeableWith(InferJob other) {
    for (var entry : request.inputs().entrySet()) {
      Tensor mine = entry.getValue();
      Tensor theirs = other.request.inputs().get(entry.getKey());
      if (theirs == null || mine.dataType() != theirs.dataType()) {
        return false;
      }
      long[] a = mine.shape();
      long[] b = theirs.shape();
      if (a.length == 0 || a.length != b.length) {
        return false;
      }
      for (int i = 1; i < a.length; i++) {
        if (a[i] != b[i]) {
          return false;
        }
      }
    }
    return true;
  }

  /** The request's first dimension (all inputs agree on it in a batchable model), else 1. */
  private static long batchSizeOf(DecodedRequest request) {
    for (Tensor tensor : request.inputs().values()) {
      long[] shape = tensor.shape();
      return shape.length == 0 ? 1 : shape[0];
    }
    return 1;
  }
}
