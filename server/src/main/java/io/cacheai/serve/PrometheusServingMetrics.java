package io.cacheai.serve;

import io.cacheai.runtime.LookupHitRatios;
import io.cacheai.serve.cache.CacheStats;
import io.grpc.Status;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.Objects;
import java.util.function.ToDoubleFunction;

/**
 * {@link ServingMetrics} as Prometheus series, through the official Java client (1.x), in a
 * registry of its own (not the JVM-wide default, so two servers in one JVM do not share counts).
 *
 * <p>Series (the names a dashboard reads):
 *
 * <pre>
 * cacheai_inference_requests_total{model,version,code}         counter, one per finished request
 * cacheai_inference_request_duration_seconds{model,version}    histogram, arrival to answer sent
 * cacheai_inference_queue_duration_seconds{model,version}      histogram, arrival to execution start
 * cacheai_inference_compute_duration_seconds{model,version}    histogram, decode + input + infer + output
 * cacheai_inference_batch_size{model,version}                  histogram, rows per execution
 * cacheai_inference_requests_in_flight                         gauge, requests running now
 * cacheai_models_loaded                                        gauge, model versions served
 * cacheai_response_cache_hits_total, _misses_total, _evictions_total   counters  } read from the
 * cacheai_response_cache_used_bytes, _capacity_bytes, _entries         gauges    } cache at each
 * cacheai_response_cache_lookups_total{model,version,result}   counter, hit|miss }  scrape
 * cacheai_lookup_key_hit_ratio{model,version,layer}            gauge, from models implementing
 *                                                              {@link LookupHitRatios}
 * jvm_* and process_* (resident memory, CPU, open fds, ...)    from prometheus-metrics-instrumentation-jvm
 * </pre>
 *
 * A request is one ModelInfer call or one request of a ModelStreamInfer stream; {@code code} is the
 * gRPC status name (OK, INVALID_ARGUMENT, NOT_FOUND, ...). Queue and compute times are those of
 * requests a model executed (so not of failures before execution, nor of cache hits), the same
 * figures ModelStatistics sums. The response-cache series exist only when the server has a cache.
 * Latency buckets run from 100 µs to 10 s: a batch-1 MLP answers in tens of µs on the server, a
 * large CNN batch in seconds.
 */
public final class PrometheusServingMetrics implements ServingMetrics {
  /** Histogram upper bounds, seconds. */
  static final double[] LATENCY_BUCKETS_SECONDS = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10
  };

  /** Histogram upper bounds, rows per execution. */
  static final double[] BATCH_SIZE_BUCKETS = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};

  private final PrometheusRegistry registry = new PrometheusRegistry();
  private final Counter requests;
  private final Histogram durationSeconds;
  private final Histogram queueSeconds;
  private final Histogram computeSeconds;
  private final Histogram batchRows;
  private final Gauge inFlight;

  /**
   * Series for the models of {@code repository} and, when not null, {@code responseCache}; both are
   * read at each scrape.
   */
  public PrometheusServingMetrics(ModelRepository repository, CachedResponses responseCache) {
    Objects.requireNonNull(repository, "repository");
    requests =
        Counter.builder()
            .name("cacheai_inference_requests_total")
            .help("Inference requests finished, by served model, version and gRPC status code")
            .labelNames("model", "version", "code")
            .register(registry);
    durationSeconds =
        latencyHistogram(
            "cacheai_inference_request_duration_seconds",
            "Request time on the server, from the request's arrival to its answer being sent");
    queueSeconds =
        latencyHistogram(
            "cacheai_inference_queue_duration_seconds",
            "Time executed requests waited, from arrival (less decoding) to their execution start");
    computeSeconds =
        latencyHistogram(
            "cacheai_inference_compute_duration_seconds",
            "Compute time of executed requests: decode, input, infer and output of their execution");
    batchRows =
        Histogram.builder()
            .name("cacheai_inference_batch_size")
            .help("Rows per model execution (one request, or several merged by dynamic batching)")
            .labelNames("model", "version")
            .classicOnly()
            .classicUpperBounds(BATCH_SIZE_BUCKETS)
            .register(registry);
    inFlight =
        Gauge.builder()
            .name("cacheai_inference_requests_in_flight")
            .help("Inference requests arrived and not yet finished")
            .register(registry);
    GaugeWithCallback.builder()
        .name("cacheai_models_loaded")
        .help("Model versions currently served")
        .callback(callback -> callback.call(repository.all().size()))
        .register(registry);
    GaugeWithCallback.builder()
        .name("cacheai_lookup_key_hit_ratio")
        .help("Per layer answered by key lookup, the fraction of lookups that hit since load")
        .labelNames("model", "version", "layer")
        .callback(
            callback -> {
              for (ServedModel served : repository.all()) {
                if (served.model() instanceof LookupHitRatios ratios) {
                  ratios
                      .lookupKeyHitRatios()
                      .forEach(
                          (layer, ratio) ->
                              callback.call(ratio, served.name(), served.versionString(), layer));
                }
              }
            })
        .register(registry);
    if (responseCache != null) {
      registerResponseCache(repository, responseCache);
    }
    JvmMetrics.builder().register(registry);
  }

  private Histogram latencyHistogram(String name, String help) {
    return Histogram.builder()
        .name(name)
        .help(help)
        .labelNames("model", "version")
        .classicOnly()
        .classicUpperBounds(LATENCY_BUCKETS_SECONDS)
        .register(registry);
  }

  private void registerResponseCache(ModelRepository repository, CachedResponses cache) {
    cacheCounter(
        "cacheai_response_cache_hits", "Response-cache lookups answered", CacheStats::hits, cache);
    cacheCounter(
        "cacheai_response_cache_misses",
        "Response-cache lookups without an entry",
        CacheStats::misses,
        cache);
    cacheCounter(
        "cacheai_response_cache_evictions",
        "Response-cache entries pushed out to make room",
        CacheStats::evictions,
        cache);
    cacheGauge(
        "cacheai_response_cache_used_bytes",
        "Native bytes held by response-cache entries",
        CacheStats::usedBytes,
        cache);
    cacheGauge(
        "cacheai_response_cache_capacity_bytes",
        "Native bytes reserved for response-cache entries",
        CacheStats::capacityBytes,
        cache);
    cacheGauge(
        "cacheai_response_cache_entries",
        "Entries in the response cache",
        CacheStats::entries,
        cache);
    CounterWithCallback.builder()
        .name("cacheai_response_cache_lookups_total")
        .help("Response-cache lookups by served model version and result (hit, miss)")
        .labelNames("model", "version", "result")
        .callback(
            callback -> {
              for (ServedModel served : repository.all()) {
                if (cache.enabledFor(served)) {
                  CachedResponses.ModelCounts counts = cache.countsFor(served);
                  callback.call(counts.hits(), served.name(), served.versionString(), "hit");
                  callback.call(counts.misses(), served.name(), served.versionString(), "miss");
                }
              }
            })
        .register(registry);
  }

  private void cacheCounter(
      String name, String help, ToDoubleFunction<CacheStats> value, CachedResponses cache) {
    CounterWithCallback.builder()
        .name(name + "_total")
        .help(help)
        .callback(callback -> callback.call(value.applyAsDouble(cache.stats())))
        .register(registry);
  }

  private void cacheGauge(
      String name, String help, ToDoubleFunction<CacheStats> value, CachedResponses cache) {
    GaugeWithCallback.builder()
        .name(name)
        .help(help)
        .callback(callback -> callback.call(value.applyAsDouble(cache.stats())))
        .register(registry);
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

  @Override
  public void executed(String model, String version, long rows) {
    batchRows.labelValues(model, version).observe(rows);
  }

  @Override
  public void requestComputed(String model, String version, long queueNanos, long computeNanos) {
    queueSeconds.labelValues(model, version).observe(Math.max(0, queueNanos) / 1e9);
    computeSeconds.labelValues(model, version).observe(Math.max(0, computeNanos) / 1e9);
  }
}
