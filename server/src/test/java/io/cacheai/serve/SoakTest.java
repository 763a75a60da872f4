package io.cacheai.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.cacheai.client.InferRequest;
import io.cacheai.client.InferResult;
import io.cacheai.client.InferenceClient;
import io.cacheai.client.ModelStatistics;
import io.cacheai.data.MnistDataset;
import io.cacheai.runtime.Model;
import io.cacheai.runtime.Tensor;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Soak: the two MNIST models served over a loopback socket under closed-loop load at concurrency 64
 * for {@code -Dcacheai.soak.seconds} (default {@value #DEFAULT_SECONDS}; the README gives the
 * 10-minute command). Every answer is checked: status OK, shape {@code [b,10]}, each row's top
 * class equal to the digit's label, and the logits equal to an in-process run of the same file on
 * the same batch — bit for bit for mnist-mlp (no batching: the server runs exactly that
 * computation), within 1e-4 relative for mnist-cnn, which is served with dynamic batching (a merged
 * batch may sum in another order). Errors must be 0.
 *
 * <p><b>Memory.</b> RSS is sampled every second and printed as a series. The warm-up (the first 10
 * % of the run, at least 10 s: JIT, heap growth to its working size, Netty's pooled arenas) ends
 * with a full GC that measures the retained heap (below); the collector may resize the heap after
 * it, so the RSS window starts {@value #SETTLE_SECONDS} s later. Over that window the mean of the
 * last third of the samples must be at most {@value #RSS_GROWTH_LIMIT}× the mean of the first
 * third. Why this criterion: a JVM's RSS is a high-water mark (the collector grows the heap under
 * allocation pressure and seldom gives it back), so a healthy server plateaus, while a leak grows
 * with the number of requests, i.e. linearly in time — which a steady load turns into a
 * last-third/first-third ratio well above 1. Means of thirds, not single samples, so one GC cycle
 * does not decide. RSS alone cannot see a small leak inside an already-committed heap, so the heap
 * retained after a full GC is also compared at the end of the warm-up and at the end of the run:
 * growth must stay under {@value #RETAINED_HEAP_GROWTH_LIMIT_MIB} MiB (the figure also printed per
 * request).
 *
 * <p>The server's own counters must agree with the client: ModelStatistics success counts and the
 * Prometheus {@code cacheai_inference_requests_total{code="OK"}} equal the calls made, no other
 * code appears, and {@code cacheai_inference_requests_in_flight} is back to 0.
 */
class SoakTest {
  static final int DEFAULT_SECONDS = 40;
  static final double RSS_GROWTH_LIMIT = 1.2;
  static final int SETTLE_SECONDS = 5;
  static final long RETAINED_HEAP_GROWTH_LIMIT_MIB = 32;
  private static final int CONCURRENCY = Integer.getInteger("cacheai.soak.concurrency", 64);
  private static final int SECONDS = Integer.getInteger("cacheai.soak.seconds", DEFAULT_SECONDS);
  private static final int POOL_DIGITS = 256;
  private static final int[] BATCH_SIZES = {1, 1, 1, 4};
  private static final String MLP = "mnist-mlp";
  private static final String CNN = "mnist-cnn";

  @TempDir Path dir;

  /** One request the load sends over and over, with the answer it must get. */
  private record Template(
      String model, InferRequest request, int batch, int[] labels, float[] logits, boolean exact) {}

  @Test
  void soak_concurrency64_everyAnswerRight_rssFlat() throws Exception {
    assumeTrue(RssSampler.available(), "needs /proc/self/status (Linux)");
    Path mlpFile = MnistFiles.copy(dir, MLP, MLP, "1");
    Path cnnFile = MnistFiles.copy(dir, CNN, CNN, "1");
    Files.writeString(
        dir.resolve(CNN).resolve(ModelConfig.FILE_NAME),
        "max_batch_size=16\ndynamic_batching=true\nmax_queue_delay_us=200\nmax_queue_size=128\n");
    MnistDataset digits = MnistFiles.digits();
    List<Template> templates = new ArrayList<>();
    templates.addAll(templates(MLP, mlpFile, digits, true));
    templates.addAll(templates(CNN, cnnFile, digits, false));

    int warmupSeconds = Math.max(10, SECONDS / 10);
    long[] retainedHeapBytes = new long[2];
    AtomicLong callsAtWarmupEnd = new AtomicLong(-1);
    AtomicLong callCount = new AtomicLong();
    ScheduledExecutorService marker = Executors.newSingleThreadScheduledExecutor();
    try (ModelRepository repository = ModelRepository.load(dir, new OnnxModelLoader());
        InferenceServer server =
            InferenceServer.builder(repository)
                .bind("127.0.0.1")
                .port(0)
                .metricsEndpoint("127.0.0.1", 0)
                .build()
                .start();
        InferenceClient client =
            InferenceClient.builder()
                .target("127.0.0.1:" + server.port())
                .defaultDeadline(Duration.ofSeconds(30))
                .build();
        RssSampler rss = new RssSampler(1000)) {
      assertThat(repository.failures()).isEmpty();
      marker.schedule(
          () -> {
            retainedHeapBytes[0] = retainedHeapBytes();
            callsAtWarmupEnd.set(callCount.get());
          },
          warmupSeconds,
          TimeUnit.SECONDS);

      LoadGenerator.Result result =
          LoadGenerator.run(
              CONCURRENCY,
              Duration.ofSeconds(SECONDS),
              Long.MAX_VALUE,
              (worker, seq) -> {
                callCount.incrementAndGet();
                Template t = templates.get((int) ((worker * 7919L + seq * 31L) % templates.size()));
                return check(t, client.infer(t.request()));
              });
      rss.close();
      retainedHeapBytes[1] = retainedHeapBytes();
      List<Long> rssKb = rss.samplesKb();

      // Report.
      double[] thirds = thirdsMeanMib(rssKb, warmupSeconds + SETTLE_SECONDS);
      long measuredCalls = result.calls() - Math.max(0, callsAtWarmupEnd.get());
      double heapGrowthMib = (retainedHeapBytes[1] - retainedHeapBytes[0]) / 1048576.0;
      System.out.printf(
          Locale.ROOT,
          "soak: concurrency=%d seconds=%.1f calls=%d errors=%d throughput=%.0f/s"
              + " p50=%.2fms p99=%.2fms max=%.1fms%n",
          result.concurrency(),
          result.seconds(),
          result.calls(),
          result.errors(),
          result.callsPerSecond(),
          result.p50Ms(),
          result.p99Ms(),
          result.maxMs());
      System.out.printf(
          Locale.ROOT,
          "soak: rss_mib(1/s)=%s%n",
          rssKb.stream().map(kb -> String.format(Locale.ROOT, "%.0f", kb / 1024.0)).toList());
      System.out.printf(
          Locale.ROOT,
          "soak: from %d s (warm-up + settle): rss first-third mean %.1f MiB, last-third mean %.1f MiB"
              + " (ratio %.3f, limit %.1f); retained heap after GC %.1f -> %.1f MiB"
              + " (%+.1f MiB over %d calls, %+.1f bytes/call)%n",
          warmupSeconds + SETTLE_SECONDS,
          thirds[0],
          thirds[1],
          thirds[1] / thirds[0],
          RSS_GROWTH_LIMIT,
          retainedHeapBytes[0] / 1048576.0,
          retainedHeapBytes[1] / 1048576.0,
          heapGrowthMib,
          measuredCalls,
          (retainedHeapBytes[1] - retainedHeapBytes[0]) / (double) Math.max(1, measuredCalls));

      // Every answer right.
      assertThat(result.firstErrors()).as("first wrong answers").isEmpty();
      assertThat(result.errors()).isZero();
      assertThat(result.calls()).as("calls made").isGreaterThan(1000);

      // The server counted what the client saw.
      long successes = 0;
      for (ModelStatistics stats : client.modelStatistics()) {
        successes += stats.success().count();
        assertThat(stats.fail().count()).as("fail count of %s", stats.name()).isZero();
      }
      assertThat(successes).isEqualTo(result.calls());
      MetricsScrape metrics = MetricsScrape.get(server.metricsPort());
      double ok = 0;
      for (MetricsScrape.Sample s : metrics.samples) {
        if (s.name().equals("cacheai_inference_requests_total")) {
          assertThat(s.labels()).containsEntry("code", "OK");
          ok += s.value();
        }
      }
      assertThat((long) ok).isEqualTo(result.calls());
      assertThat(metrics.value("cacheai_inference_requests_in_flight")).isZero();
      for (String model : List.of(MLP, CNN)) {
        LoadedModel loaded = repository.loaded(model).get(0);
        assertThat(loaded.scheduler().queuedJobs()).as("%s queue", model).isZero();
        assertThat(loaded.references()).as("%s leases", model).isEqualTo(1);
      }

      // Memory flat after warm-up.
      assertThat(rssKb.size())
          .as("rss samples")
          .isGreaterThanOrEqualTo(warmupSeconds + SETTLE_SECONDS + 6);
      assertThat(thirds[1]).as("rss last-third mean, MiB").isLessThan(thirds[0] * RSS_GROWTH_LIMIT);
      assertThat(callsAtWarmupEnd.get()).as("warm-up marker ran").isNotNegative();
      assertThat(heapGrowthMib)
          .as("retained heap growth, MiB")
          .isLessThan(RETAINED_HEAP_GROWTH_LIMIT_MIB);
    } finally {
      marker.shutdownNow();
    }
  }

  /**
   * Requests of 1 or 4 digits from the first {@value #POOL_DIGITS} test images the model classifies
   * right (by a clear margin, so that batching's rounding cannot flip them), each with the logits
   * an in-process run of {@code file} gives for exactly that batch.
   */
  private static List<Template> templates(
      String model, Path file, MnistDataset digits, boolean exact) throws Exception {
    List<Integer> good = new ArrayList<>();
    try (Model reference = new OnnxModelLoader().load("reference", file)) {
      for (int i = 0; i < POOL_DIGITS; i++) {
        float[] logits = run(reference, digits, new int[] {i});
        int[] top = topTwo(logits, 0);
        if (top[0] == digits.labels()[i] && logits[top[0]] - logits[top[1]] > 0.5f) {
          good.add(i);
        }
      }
      assertThat(good.size()).as("%s digits right of %d", model, POOL_DIGITS).isGreaterThan(200);
      List<Template> templates = new ArrayList<>();
      int next = 0;
      for (int k = 0; next + 4 <= good.size(); k++) {
        int batch = BATCH_SIZES[k % BATCH_SIZES.length];
        int[] ids = new int[batch];
        int[] labels = new int[batch];
        for (int j = 0; j < batch; j++) {
          ids[j] = good.get(next++);
          labels[j] = digits.labels()[ids[j]];
        }
        float[] pixels = new float[batch * 784];
        for (int j = 0; j < batch; j++) {
          System.arraycopy(digits.slice(ids[j], 1), 0, pixels, j * 784, 784);
        }
        InferRequest request =
            InferRequest.builder(model)
                .rawInputs(k % 2 == 0) // raw and typed contents alike
                .addFp32("input", new long[] {batch, 1, 28, 28}, pixels)
                .build();
        templates.add(
            new Template(model, request, batch, labels, run(reference, digits, ids), exact));
      }
      return templates;
    }
  }

  private static float[] run(Model model, MnistDataset digits, int[] ids) {
    float[] pixels = new float[ids.length * 784];
    for (int j = 0; j < ids.length; j++) {
      System.arraycopy(digits.slice(ids[j], 1), 0, pixels, j * 784, 784);
    }
    Tensor input = Tensor.ofFloats(new long[] {ids.length, 1, 28, 28}, pixels);
    return model.infer(Map.of("input", input)).get("logits").toFloatArray();
  }

  /** Indices of the largest and second largest of the 10 logits of row {@code row}. */
  private static int[] topTwo(float[] logits, int row) {
    int best = 0;
    for (int c = 1; c < 10; c++) {
      best = logits[row * 10 + c] > logits[row * 10 + best] ? c : best;
    }
    int second = best == 0 ? 1 : 0;
    for (int c = 0; c < 10; c++) {
      if (c != best && logits[row * 10 + c] > logits[row * 10 + second]) {
        second = c;
      }
    }
    return new int[] {best, second};
  }

  /** Null when {@code result} is the answer {@code t} must get, else what differs. */
  private static String check(Template t, InferResult result) {
    long[] shape = result.shape("logits");
    if (!Arrays.equals(shape, new long[] {t.batch(), 10})) {
      return t.model() + ": logits shape " + Arrays.toString(shape);
    }
    float[] logits = result.asFloats("logits");
    for (int row = 0; row < t.batch(); row++) {
      int top = topTwo(logits, row)[0];
      if (top != t.labels()[row]) {
        return t.model() + ": row " + row + " read " + top + ", label " + t.labels()[row];
      }
    }
    boolean same =
        t.exact() ? Arrays.equals(logits, t.logits()) : MnistFiles.close(logits, t.logits());
    if (!same) {
      return t.model()
          + ": logits "
          + Arrays.toString(logits)
          + " differ from the in-process run "
          + Arrays.toString(t.logits())
          + (t.exact() ? " (exact)" : " (rtol 1e-4)");
    }
    return null;
  }

  /** Heap in use after a full collection: what the process retains. */
  private static long retainedHeapBytes() {
    System.gc();
    return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
  }

  /** Means (MiB) of the first and last third of the samples after {@code skip} warm-up samples. */
  private static double[] thirdsMeanMib(List<Long> samplesKb, int skip) {
    List<Long> after = samplesKb.subList(Math.min(skip, samplesKb.size()), samplesKb.size());
    int third = Math.max(1, after.size() / 3);
    if (after.size() < 3) {
      return new double[] {Double.NaN, Double.NaN};
    }
    double first = after.subList(0, third).stream().mapToLong(Long::longValue).average().orElse(0);
    double last =
        after.subList(after.size() - third, after.size()).stream()
            .mapToLong(Long::longValue)
            .average()
            .orElse(0);
    return new double[] {first / 1024, last / 1024};
  }
}
