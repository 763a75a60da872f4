package io.cacheai.serve;

import io.grpc.Status;

/**
 * What the serving path reports about each inference request, kept apart from how it is exported
 * (Prometheus today: {@link PrometheusServingMetrics}). The request path calls this interface only.
 *
 * <p>Only what is really measured is reported: the total time of a ModelInfer call (and of each
 * request of a ModelStreamInfer stream) as the server saw it, from its arrival to its answer being
 * sent, with its gRPC status code; and, for each request a model executed, the same queue and
 * compute times that ModelStatistics accumulates, and the rows of each execution. Implementations
 * must be thread-safe and cheap: they run on every request.
 */
public interface ServingMetrics {
  /** Records nothing; used when metrics are off. */
  ServingMetrics NONE =
      new ServingMetrics() {
        @Override
        public void requestStarted() {}

        @Override
        public void requestFinished(
            String model, String version, Status.Code code, long durationNanos) {}
      };

  /** A ModelInfer call arrived (before its model is known). */
  void requestStarted();

  /**
   * A ModelInfer call ended with {@code code}, {@code durationNanos} after it arrived. {@code
   * model} and {@code version} are the served model's name and numeric version, both empty when the
   * request named no served model (so a client cannot grow the label set without bound).
   */
  void requestFinished(String model, String version, Status.Code code, long durationNanos);

  /**
   * One execution of model {@code model} version {@code version} ran {@code rows} rows: the rows of
   * one request, or of several merged by dynamic batching.
   */
  default void executed(String model, String version, long rows) {}

  /**
   * A request was answered by an execution after waiting {@code queueNanos} (arrival to execution
   * start, less its decoding) and computing {@code computeNanos} (decode, input, infer and output
   * of the execution it ran in): Triton's {@code queue} and the sum of its three {@code compute_*}
   * phases.
   */
  default void requestComputed(String model, String version, long queueNanos, long computeNanos) {}
}
