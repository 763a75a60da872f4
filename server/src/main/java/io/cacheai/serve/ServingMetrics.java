package io.cacheai.serve;

import io.grpc.Status;

/**
 * What the serving path reports about each inference request, kept apart from how it is exported
 * (Prometheus today: {@link PrometheusServingMetrics}). The request path calls this interface only,
 * so other recorders (batch sizes, queue and compute time once dynamic batching measures them) plug
 * in by adding a method here and its implementation, without touching the exporter's callers.
 *
 * <p>Only what is really measured is reported: the total time of a ModelInfer call as the server
 * saw it (from the call's arrival to its status being sent), and its gRPC status code.
 * Implementations must be thread-safe and cheap: they run on every request.
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
}
