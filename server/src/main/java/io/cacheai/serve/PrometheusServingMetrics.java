package io.cacheai.serve;

import io.grpc.Status;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.function.IntSupplier;

/**
 * {@link ServingMetrics} as Prometheus series, through the official Java client (1.x), in a
 * registry of its own (not the JVM-wide default, so two servers in one JVM do not share counts).
 *
 * <p>Series (the names a dashboard reads):
 *
 * <pre>
 * cacheai_inference_requests_total{model,version,code}            counter, one per finished ModelInfer
 * cacheai_inference_request_duration_seconds{model,version}       histogram, arrival to status sent
 * cacheai_inference_requests_in_flight                            gauge, ModelInfer calls running now
 * cacheai_models_loaded                                           gauge, model versions served
 * jvm_* and process_* (resident memory, CPU, open fds, ...)       from prometheus-metrics-instrumentation-jvm
 * </pre>
 *
 * {@code code} is the gRPC status name (OK, INVALID_ARGUMENT, NOT_FOUND, ...). Latency buckets run
 * from 100 µs to 10 s: a batch-1 MLP answers in tens of µs on the server, a large CNN batch in
 * seconds.
 */
public final class PrometheusServingMetrics implements ServingMetrics {
  /** Histogram upper bounds, seconds. */
  static final double[] LATENCY_BUCKETS_SECONDS = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10
  };

  private final PrometheusRegistry registry = new PrometheusRegistry();
  private final Counter requests;
  private final Histogram durationSeconds;
  private final Gauge inFlight;

  /** {@code modelsLoaded} is read at each scrape. */
  public PrometheusServingMetrics(IntSupplier modelsLoaded) {
    requests =
        Counter.builder()
            .name("cacheai_inference_requests_total")
            .help("ModelInfer calls finished, by served model, version and gRPC status code")
            .labelNames("model", "version", "code")
            .register(registry);
    durationSeconds =
        Histogram.builder()
            .name("cacheai_inference_request_duration_seconds")
            .help("ModelInfer time on the server, from the call's arrival to its status being sent")
            .labelNames("model", "version")
            .classicOnly()
            .classicUpperBounds(LATENCY_BUCKETS_SECONDS)
            .register(registry);
    inFlight =
        Gauge.builder()
            .name("cacheai_inference_requests_in_flight")
            .help("ModelInfer calls arrived and not yet finished")
            .register(registry);
    GaugeWithCallback.builder()
        .name("cacheai_models_loaded")
        .help("Model versions currently served")
        .callback(callback -> callback.call(modelsLoaded.getAsInt()))
        .register(registry);
    JvmMetrics.builder().register(registry);
  }

  /** The registry to expose (see {@link MetricsEndpoint}). */
  public PrometheusRegistry registry() {
    return registry;
  }

  @Override
  public void requestStarted() {
    inFlight.inc();
  }

  @Override
  public void requestFinished(String model, String version, Status.Code code, long durationNanos) {
    inFlight.dec();
    requests.labelValues(model, version, code.name()).inc();
    durationSeconds.labelValues(model, version).observe(durationNanos / 1e9);
  }
}
