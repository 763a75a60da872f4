package io.cacheai.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cacheai.client.InferRequest;
import io.cacheai.client.InferResult;
import io.cacheai.client.InferStream;
import io.cacheai.client.InferenceClient;
import io.cacheai.client.InferenceException;
import io.cacheai.client.ModelStatistics;
import io.cacheai.serve.cache.CacheStats;
import io.grpc.Status;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Statistics and metrics match a known request sequence. A server on loopback with the response
 * cache and {@code /metrics} serves three models: {@code affine} (plain), {@code cached} (response
 * cache on) and {@code gate} (dynamic batching, held at a gate so a burst queues up and merges
 * deterministically). After the sequence below, one HTTP scrape must show exact counter values and
 * histogram counts, and ModelStatistics must agree with it field by field.
 *
 * <pre>
 * affine  ModelInfer 1 row, 1 row, 2 rows      OK ×3, executions of 1, 1, 2 rows
 *         ModelInfer NaN ×2                    INVALID_ARGUMENT ×2 (refused by the model)
 *         stream: 1 row OK, NaN                OK ×1 (execution of 1 row), INVALID_ARGUMENT ×1
 * nope    ModelInfer                           NOT_FOUND ×1, empty model/version labels
 * cached  ModelInfer same request ×2           OK ×2: one miss (executed), one hit (not executed)
 * gate    ModelInfer marker 1 (held)           OK, execution of 1 row
 *         stream markers 2, 3, 4 (queued)      OK ×3, merged into one execution of 3 rows
 * </pre>
 */
class MetricsSequenceTest {
  private static final ModelConfig BATCHING =
      new ModelConfig(8, Optional.empty(), new SchedulingConfig(true, 0, 16, 1, 0, 0));

  @Test
  void metricsAndStatistics_knownSequence_exactCountsAndAgree() throws Exception {
    GateModel gate = new GateModel();
    try (ModelRepository repository =
            ModelRepository.of(
                List.of(
                    new ServedModel("affine", 1, new AffineModel(), ModelConfig.DEFAULT),
                    new ServedModel(
                        "cached",
                        1,
                        new AffineModel(),
                        ModelConfig.DEFAULT.withResponseCache(true)),
                    new ServedModel("gate", 1, gate, BATCHING)));
        InferenceServer server =
            InferenceServer.builder(repository)
                .port(0)
                .metricsEndpoint("127.0.0.1", 0)
                .responseCacheBytes(1 << 20)
                .build()
                .start();
        InferenceClient client =
            InferenceClient.builder()
                .target("127.0.0.1:" + server.port())
                .defaultDeadline(Duration.ofSeconds(20))
                .build()) {
      try {
        // affine: three successes (1, 1 and 2 rows), two refusals.
        client.infer(rows("affine", 1, 1));
        client.infer(rows("affine", 1, 2));
        client.infer(rows("affine", 2, 3));
        for (int i = 0; i < 2; i++) {
          assertCode(
              () -> client.infer(rows("affine", 1, Float.NaN)), Status.Code.INVALID_ARGUMENT);
        }
        assertCode(() -> client.infer(rows("nope", 1, 1)), Status.Code.NOT_FOUND);
        // affine over a stream: one success, one in-band refusal.
        try (InferStream stream = client.openStream()) {
          CompletableFuture<InferResult> ok = stream.send(rows("affine", 1, 5));
          CompletableFuture<InferResult> refused = stream.send(rows("affine", 1, Float.NaN));
          assertThat(ok.get(20, TimeUnit.SECONDS).asFloats("sum")).containsExactly(5);
          assertThatThrownBy(() -> refused.get(20, TimeUnit.SECONDS))
              .isInstanceOf(ExecutionException.class)
              .cause()
              .isInstanceOfSatisfying(
                  InferenceException.class,
                  e -> assertThat(e.code()).isEqualTo(Status.Code.INVALID_ARGUMENT));
        }
        // cached: a miss, then a hit.
        InferResult miss = client.infer(rows("cached", 1, 7));
        InferResult hit = client.infer(rows("cached", 1, 7));
        assertThat(hit.asFloats("y")).containsExactly(miss.asFloats("y"));

        // gate: one execution held, three stream requests queue behind it and merge.
        CompletableFuture<InferResult> held =
            CompletableFuture.supplyAsync(() -> client.infer(rows("gate", 1, 1)));
        assertThat(gate.awaitEntered()).isTrue();
        try (InferStream stream = client.openStream()) {
          List<CompletableFuture<InferResult>> burst =
              List.of(
                  stream.send(rows("gate", 1, 2)),
                  stream.send(rows("gate", 1, 3)),
                  stream.send(rows("gate", 1, 4)));
          Scheduler scheduler = repository.loaded("gate").get(0).scheduler();
          long endNanos = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
          while (scheduler.queuedJobs() < 3 && System.nanoTime() < endNanos) {
            Thread.sleep(2);
          }
          assertThat(scheduler.queuedJobs()).as("burst queued").isEqualTo(3);
          gate.open();
          for (int i = 0; i < 3; i++) {
            assertThat(burst.get(i).get(20, TimeUnit.SECONDS).asFloats("sum"))
                .containsExactly(i + 2);
          }
        }
        held.get(20, TimeUnit.SECONDS);
        assertThat(gate.executions).hasSize(2);

        MetricsScrape scrape = MetricsScrape.get(server.metricsPort());
        // Request counters, unary and stream alike.
        assertThat(requests(scrape, "affine", "OK")).isEqualTo(4);
        assertThat(requests(scrape, "affine", "INVALID_ARGUMENT")).isEqualTo(3);
        assertThat(
                scrape.value(
                    "cacheai_inference_requests_total",
                    Map.of("model", "", "version", "", "code", "NOT_FOUND")))
            .isEqualTo(1);
        assertThat(requests(scrape, "cached", "OK")).isEqualTo(2);
        assertThat(requests(scrape, "gate", "OK")).isEqualTo(4);
        assertThat(scrape.text).doesNotContain("code=\"CANCELLED\"");
        assertThat(scrape.value("cacheai_inference_requests_in_flight")).isZero();

        // Total time: every finished request of a served model.
        assertThat(histogramCount(scrape, "cacheai_inference_request_duration_seconds", "affine"))
            .isEqualTo(7);
        assertThat(histogramCount(scrape, "cacheai_inference_request_duration_seconds", "cached"))
            .isEqualTo(2);
        assertThat(histogramCount(scrape, "cacheai_inference_request_duration_seconds", "gate"))
            .isEqualTo(4);
        // Queue and compute: executed requests only (no refusal, no cache hit).
        for (String histogram :
            List.of(
                "cacheai_inference_queue_duration_seconds",
                "cacheai_inference_compute_duration_seconds")) {
          assertThat(histogramCount(scrape, histogram, "affine")).as(histogram).isEqualTo(4);
          assertThat(histogramCount(scrape, histogram, "cached")).as(histogram).isEqualTo(1);
          assertThat(histogramCount(scrape, histogram, "gate")).as(histogram).isEqualTo(4);
        }
        // The burst waited at least until the gate opened.
        assertThat(scrape.value("cacheai_inference_queue_duration_seconds_sum", labels("gate")))
            .isPositive();
        // Rows per execution.
        assertThat(histogramCount(scrape, "cacheai_inference_batch_size", "affine")).isEqualTo(4);
        assertThat(scrape.value("cacheai_inference_batch_size_sum", labels("affine"))).isEqualTo(5);
        assertThat(bucket(scrape, "cacheai_inference_batch_size", "affine", "1.0")).isEqualTo(3);
        assertThat(bucket(scrape, "cacheai_inference_batch_size", "affine", "2.0")).isEqualTo(4);
        assertThat(histogramCount(scrape, "cacheai_inference_batch_size", "gate")).isEqualTo(2);
        assertThat(scrape.value("cacheai_inference_batch_size_sum", labels("gate"))).isEqualTo(4);
        assertThat(bucket(scrape, "cacheai_inference_batch_size", "gate", "1.0")).isEqualTo(1);
        assertThat(bucket(scrape, "cacheai_inference_batch_size", "gate", "2.0")).isEqualTo(1);
        assertThat(bucket(scrape, "cacheai_inference_batch_size", "gate", "4.0")).isEqualTo(2);
        assertThat(histogramCount(scrape, "cacheai_inference_batch_size", "cached")).isEqualTo(1);

        // Response cache, read from the cache at scrape time.
        CacheStats cache = server.responseCache().orElseThrow().stats();
        assertThat(scrape.value("cacheai_response_cache_hits_total")).isEqualTo(1);
        assertThat(scrape.value("cacheai_response_cache_misses_total")).isEqualTo(1);
        assertThat(scrape.value("cacheai_response_cache_evictions_total")).isZero();
        assertThat(scrape.value("cacheai_response_cache_entries")).isEqualTo(1);
        assertThat(scrape.value("cacheai_response_cache_capacity_bytes"))
            .isEqualTo(cache.capacityBytes())
            .isPositive();
        assertThat(scrape.value("cacheai_response_cache_used_bytes"))
            .isEqualTo(cache.usedBytes())
            .isPositive()
            .isLessThanOrEqualTo(cache.capacityBytes());
        assertThat(lookups(scrape, "cached", "hit")).isEqualTo(1);
        assertThat(lookups(scrape, "cached", "miss")).isEqualTo(1);
        assertThat(lookups(scrape, "affine", "hit")).isNaN(); // not a cached model: no series
        assertThat(scrape.value("cacheai_models_loaded")).isEqualTo(3);
        assertThat(scrape.text).doesNotContain("cacheai_lookup_key_hit_ratio{");

        // ModelStatistics says the same.
        for (String model : List.of("affine", "cached", "gate")) {
          ModelStatistics stats = client.modelStatistics(model, "1").get(0);
          assertThat(stats.success().count())
              .as(model + " success")
              .isEqualTo((long) requests(scrape, model, "OK"));
          assertThat(stats.executionCount())
              .as(model + " executions")
              .isEqualTo((long) histogramCount(scrape, "cacheai_inference_batch_size", model));
          assertThat(stats.inferenceCount())
              .as(model + " inference_count")
              .isEqualTo((long) scrape.value("cacheai_inference_batch_size_sum", labels(model)));
          assertThat(stats.queue().count())
              .as(model + " queue")
              .isEqualTo(
                  (long) histogramCount(scrape, "cacheai_inference_queue_duration_seconds", model));
          assertThat(stats.queue().ns() / 1e9)
              .as(model + " queue seconds")
              .isCloseTo(
                  scrape.value("cacheai_inference_queue_duration_seconds_sum", labels(model)),
                  org.assertj.core.data.Offset.offset(1e-6));
        }
        ModelStatistics affine = client.modelStatistics("affine", "1").get(0);
        assertThat(affine.fail().count())
            .isEqualTo((long) requests(scrape, "affine", "INVALID_ARGUMENT"));
        ModelStatistics cached = client.modelStatistics("cached", "1").get(0);
        assertThat(cached.cacheHit().count()).isEqualTo(1);
        assertThat(cached.cacheMiss().count()).isEqualTo(1);
      } finally {
        gate.open();
      }
    }
  }

  /** A request of {@code count} rows of model {@code model}, its first value {@code first}. */
  private static InferRequest rows(String model, int count, float first) {
    float[] x = new float[count * 4];
    x[0] = first;
    return InferRequest.builder(model).addFp32("x", new long[] {count, 4}, x).build();
  }

  private static void assertCode(Runnable call, Status.Code code) {
    assertThatThrownBy(call::run)
        .isInstanceOfSatisfying(
            InferenceException.class, e -> assertThat(e.code()).isEqualTo(code));
  }

  private static Map<String, String> labels(String model) {
    return Map.of("model", model, "version", "1");
  }

  private static Map<String, String> labels(String model, String key, String value) {
    Map<String, String> labels = new TreeMap<>(labels(model));
    labels.put(key, value);
    return labels;
  }

  private static double requests(MetricsScrape scrape, String model, String code) {
    return scrape.value("cacheai_inference_requests_total", labels(model, "code", code));
  }

  private static double lookups(MetricsScrape scrape, String model, String result) {
    return scrape.value("cacheai_response_cache_lookups_total", labels(model, "result", result));
  }

  /** A classic histogram's count, checked against its +Inf bucket. */
  private static double histogramCount(MetricsScrape scrape, String name, String model) {
    double count = scrape.value(name + "_count", labels(model));
    assertThat(bucket(scrape, name, model, "+Inf")).as(name + " +Inf bucket").isEqualTo(count);
    return count;
  }

  private static double bucket(MetricsScrape scrape, String name, String model, String le) {
    return scrape.value(name + "_bucket", labels(model, "le", le));
  }
}
