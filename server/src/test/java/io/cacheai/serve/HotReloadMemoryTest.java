package io.cacheai.serve;

import static org.assertj.core.api.Assertions.assertThat;

import io.cacheai.bundle.BundleWriter;
import io.cacheai.client.InferRequest;
import io.cacheai.client.InferenceClient;
import io.cacheai.graph.Attributes;
import io.cacheai.graph.ConstTensor;
import io.cacheai.graph.Graph;
import io.cacheai.graph.Node;
import io.cacheai.graph.OpType;
import io.cacheai.graph.ValueInfo;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hot reload of a large mmap bundle under a concurrent request loop, with the process RSS sampled
 * from {@code /proc/self/status}: a 64 MiB fp32 Gemm ({@code model.cai}, 4096×4096 weights) is
 * served over loopback while RepositoryModelLoad switches it {@value #RELOADS} times between two
 * bundles A and B (B's weights are A's × 2, so B answers exactly twice A's). Each switch renames a
 * hard link of A or B over {@code big/1/model.cai}, so no bundle is rewritten during the run.
 *
 * <p>Asserted: no request fails; every answer is A's or B's; a request that overlapped no load is
 * answered by the bundle served then (so the new one answers after a switch); the peak VmRSS stays
 * below 1.5× the steady state, and its file-backed part (where the bundle's pages count) overshoots
 * by less than 1.5 bundles (the new mapping beside the old one, nothing more); once the loop has
 * moved on, exactly one mapping of either bundle is left in {@code /proc/self/maps} — the replaced
 * version was unmapped when its last lease closed, not left to the garbage collector — and the
 * file-backed RSS is back within half a bundle of the steady state. The heap (anonymous RSS) is
 * reported, not bounded: the JVM grows it as it likes. Prints the figures the README quotes.
 */
class HotReloadMemoryTest {
  private static final int FEATURES = 4096; // 4096² fp32 weights = 64 MiB
  private static final int RELOADS = 6;
  private static final int THREADS = 2;
  private static final long MAX_REQUESTS_PER_THREAD = 20_000;
  private static final long SAMPLE_EVERY_MS = 5;

  @TempDir Path dir;

  /**
   * What is served: {@code sequence} is even while bundle {@code scale} (1 = A, 2 = B) is served
   * and no load runs, odd while a load runs. A request that saw the same even state before it was
   * sent and after it was answered must be answered by that bundle; one that overlapped a load may
   * get either.
   */
  private record Served(long sequence, int scale) {}

  private volatile Served served = new Served(0, 1);

  @Test
  void reload_64MbBundleUnderLoad_noFailureNewAnswersRssBoundedOldUnmapped() throws Exception {
    Path staging = Files.createDirectories(dir.resolve(".staging"));
    float[] input = new float[FEATURES];
    double[] expectedA = writeBundles(staging, input);
    Path a = staging.resolve("a.cai");
    Path b = staging.resolve("b.cai");
    long bundleBytes = Files.size(a);
    Path versionDir = Files.createDirectories(dir.resolve("big").resolve("1"));
    switchTo(a, versionDir);
    System.gc(); // the weights written from the heap are garbage now; start from a settled heap

    try (RssSampler rss = new RssSampler();
        ModelRepository repository = ModelRepository.load(dir, FileNameModelLoader.standard());
        InferenceServer server = InferenceServer.builder(repository).port(0).build().start();
        InferenceClient client =
            InferenceClient.builder()
                .target("127.0.0.1:" + server.port())
                .defaultDeadline(Duration.ofSeconds(30))
                .build()) {
      assertThat(repository.failures()).isEmpty();
      assertThat(bundleMappings(a, b)).as("mappings of the bundles after start").isEqualTo(1);
      InferRequest request =
          InferRequest.builder("big").addFp32("x", new long[] {1, FEATURES}, input).build();

      AtomicBoolean stop = new AtomicBoolean();
      AtomicLong answered = new AtomicLong();
      AtomicLong answeredByB = new AtomicLong();
      AtomicLong checked = new AtomicLong();
      Queue<String> problems = new ConcurrentLinkedQueue<>();
      ExecutorService loop = Executors.newFixedThreadPool(THREADS);
      List<Future<?>> workers = new ArrayList<>();
      List<String> reloadLog = new ArrayList<>();
      try {
        for (int t = 0; t < THREADS; t++) {
          workers.add(
              loop.submit(
                  () -> {
                    for (long i = 0; i < MAX_REQUESTS_PER_THREAD && !stop.get(); i++) {
                      Served before = served;
                      try {
                        float[] y = client.infer(request).asFloats("y");
                        Served after = served;
                        int scale = scaleOf(y, expectedA);
                        answered.incrementAndGet();
                        if (scale == 2) {
                          answeredByB.incrementAndGet();
                        }
                        if (scale == 0) {
                          problems.add("an answer is neither bundle A's nor B's");
                        } else if (before.equals(after) && before.sequence() % 2 == 0) {
                          checked.incrementAndGet();
                          if (scale != before.scale()) {
                            problems.add(
                                "served scale " + before.scale() + ", answered with " + scale);
                          }
                        }
                      } catch (RuntimeException e) {
                        problems.add("request failed: " + e);
                      }
                    }
                  }));
        }
        // Warm up, then the steady state: the loop running on one loaded version.
        awaitAnswers(answered, 10, 60_000);
        int steadyStart = rss.size();
        rss.sampleFor(500);
        long steadyBytes = rss.maxSince(steadyStart, Rss::total);
        long steadyMappedBytes = rss.maxSince(steadyStart, Rss::mapped);
        int firstSample = rss.size();

        for (int i = 1; i <= RELOADS; i++) {
          int scale = i % 2 == 1 ? 2 : 1;
          int windowStart = rss.size();
          switchTo(scale == 2 ? b : a, versionDir);
          Served old = served;
          served = new Served(old.sequence() + 1, old.scale());
          long startNanos = System.nanoTime();
          client.loadModel("big");
          long loadMs = (System.nanoTime() - startNanos) / 1_000_000;
          served = new Served(old.sequence() + 2, scale);
          long answeredAtSwitch = answered.get();
          awaitAnswers(answered, answeredAtSwitch + 8, 60_000);
          rss.sampleFor(150);
          reloadLog.add(
              String.format(
                  "reload %d (%s): load %d ms, window peak %.0f MB",
                  i, scale == 2 ? "B" : "A", loadMs, rss.maxSince(windowStart, Rss::total) / 1e6));
        }
        rss.sampleFor(300);
        long peakBytes = rss.maxSince(firstSample, Rss::total);
        long peakMappedBytes = rss.maxSince(firstSample, Rss::mapped);
        int mappingsAfter = bundleMappings(a, b);
        Rss last = rss.last(); // the loop still runs, on the last version only
        stop.set(true);
        for (Future<?> worker : workers) {
          worker.get(60, TimeUnit.SECONDS);
        }

        System.out.printf(
            "hot reload RSS: bundle %.1f MB, %d reloads, %d requests (%d by B, %d checked"
                + " against the served version), VmRSS steady %.0f MB, peak %.0f MB (%.2fx),"
                + " after %.0f MB; file-backed RSS steady %.0f MB, peak %.0f MB (+%.2f bundles),"
                + " after %.0f MB; anonymous RSS steady->after %.0f->%.0f MB; bundle mappings"
                + " after %d; %s%n",
            bundleBytes / 1e6,
            RELOADS,
            answered.get(),
            answeredByB.get(),
            checked.get(),
            steadyBytes / 1e6,
            peakBytes / 1e6,
            (double) peakBytes / steadyBytes,
            last.total() / 1e6,
            steadyMappedBytes / 1e6,
            peakMappedBytes / 1e6,
            (double) (peakMappedBytes - steadyMappedBytes) / bundleBytes,
            last.mapped() / 1e6,
            rss.samples.get(steadyStart).anon() / 1e6,
            last.anon() / 1e6,
            mappingsAfter,
            String.join("; ", reloadLog));

        assertThat(problems).as("failed or wrong answers").isEmpty();
        assertThat(answeredByB.get()).as("answers by bundle B").isPositive();
        assertThat(answered.get() - answeredByB.get()).as("answers by bundle A").isPositive();
        assertThat(client.infer(request).asFloats("y")[0])
            .as("last version (A) answers")
            .isCloseTo((float) expectedA[0], org.assertj.core.data.Offset.offset(1e-3f));
        assertThat(checked.get()).as("answers checked against the served version").isPositive();
        assertThat(peakBytes).as("peak VmRSS vs 1.5x steady").isLessThan(steadyBytes * 3 / 2);
        assertThat(peakMappedBytes - steadyMappedBytes)
            .as("file-backed RSS overshoot vs 1.5 bundles (the new mapping beside the old)")
            .isLessThan(bundleBytes * 3 / 2);
        assertThat(mappingsAfter).as("mappings of the bundles after the reloads").isEqualTo(1);
        assertThat(last.mapped())
            .as("file-backed RSS after the reloads vs steady + half a bundle")
            .isLessThan(steadyMappedBytes + bundleBytes / 2);
      } finally {
        stop.set(true);
        loop.shutdownNow();
        loop.awaitTermination(30, TimeUnit.SECONDS);
      }
    }
  }

  /**
   * Writes bundle A ({@code y = x·W}, W seeded Gaussian) and B ({@code 2W}) into {@code staging},
   * fills {@code input}, and returns A's answer to it, accumulated in double.
   */
  private static double[] writeBundles(Path staging, float[] input) throws IOException {
    Random random = new Random(7);
    for (int i = 0; i < FEATURES; i++) {
      input[i] = random.nextFloat();
    }
    float[] weights = new float[FEATURES * FEATURES];
    for (int i = 0; i < weights.length; i++) {
      weights[i] = (float) random.nextGaussian() * 0.01f;
    }
    double[] expected = new double[FEATURES];
    for (int k = 0; k < FEATURES; k++) {
      double xk = input[k];
      int row = k * FEATURES;
      for (int j = 0; j < FEATURES; j++) {
        expected[j] += xk * weights[row + j];
      }
    }
    new BundleWriter(gemm(weights)).write(staging.resolve("a.cai"));
    for (int i = 0; i < weights.length; i++) {
      weights[i] *= 2; // exact in binary floating point
    }
    new BundleWriter(gemm(weights)).write(staging.resolve("b.cai"));
    return expected;
  }

  private static Graph gemm(float[] weights) {
    Map<String, ConstTensor> constants = new LinkedHashMap<>();
    constants.put("w", ConstTensor.ofFloats(new long[] {FEATURES, FEATURES}, weights));
    return new Graph(
        "big",
        13,
        List.of(new ValueInfo("x", new long[] {ValueInfo.BATCH, FEATURES})),
        List.of(new ValueInfo("y", new long[] {ValueInfo.BATCH, FEATURES})),
        constants,
        List.of(
            new Node(
                OpType.GEMM, "gemm", List.of("x", "w"), List.of("y"), new Attributes(Map.of()))));
  }

  /** Renames a fresh hard link of {@code bundle} over the version's model.cai (atomically). */
  private static void switchTo(Path bundle, Path versionDir) throws IOException {
    Path link = versionDir.resolve(".next.cai");
    Files.deleteIfExists(link);
    Files.createLink(link, bundle);
    Files.move(
        link,
        versionDir.resolve(ModelRepository.BUNDLE_FILE),
        StandardCopyOption.ATOMIC_MOVE,
        StandardCopyOption.REPLACE_EXISTING);
  }

  /** 1 when {@code y} is A's answer, 2 when B's (twice A's), 0 when neither. */
  private static int scaleOf(float[] y, double[] expectedA) {
    if (y.length != expectedA.length) {
      return 0;
    }
    for (int scale = 1; scale <= 2; scale++) {
      boolean all = true;
      for (int j = 0; j < y.length && all; j++) {
        double expected = scale * expectedA[j];
        all = Math.abs(y[j] - expected) <= 1e-3 * (1 + Math.abs(expected));
      }
      if (all) {
        return scale;
      }
    }
    return 0;
  }

  private static void awaitAnswers(AtomicLong answered, long atLeast, long timeoutMs)
      throws InterruptedException {
    long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
    while (answered.get() < atLeast && System.nanoTime() < end) {
      Thread.sleep(5);
    }
    assertThat(answered.get())
        .as("answers within %d ms", timeoutMs)
        .isGreaterThanOrEqualTo(atLeast);
  }

  /** How many mappings in /proc/self/maps are of the inode of {@code a} or of {@code b}. */
  private static int bundleMappings(Path a, Path b) throws IOException {
    String inodeA = Files.getAttribute(a, "unix:ino").toString();
    String inodeB = Files.getAttribute(b, "unix:ino").toString();
    int count = 0;
    for (String line : Files.readAllLines(Path.of("/proc/self/maps"))) {
      // address perms offset dev inode [path]
      String[] fields = line.trim().split("\\s+");
      if (fields.length >= 5 && (fields[4].equals(inodeA) || fields[4].equals(inodeB))) {
        count++;
      }
    }
    return count;
  }

  /**
   * One reading of /proc/self/status: {@code VmRSS}, and its file-backed part ({@code RssFile +
   * RssShmem}: mapped files, which is where a bundle's pages are counted) and {@code RssAnon}.
   */
  private record Rss(long total, long mapped, long anon) {
    static Rss read() throws IOException {
      long total = -1;
      long file = 0;
      long shmem = 0;
      long anon = 0;
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        String[] fields = line.trim().split("\\s+"); // "VmRSS:   123456 kB"
        if (fields.length < 2) {
          continue;
        }
        switch (fields[0]) {
          case "VmRSS:" -> total = Long.parseLong(fields[1]) * 1024;
          case "RssFile:" -> file = Long.parseLong(fields[1]) * 1024;
          case "RssShmem:" -> shmem = Long.parseLong(fields[1]) * 1024;
          case "RssAnon:" -> anon = Long.parseLong(fields[1]) * 1024;
          default -> {}
        }
      }
      if (total < 0) {
        throw new IOException("no VmRSS line in /proc/self/status");
      }
      return new Rss(total, file + shmem, anon);
    }
  }

  /**
   * {@link Rss} sampled every {@value #SAMPLE_EVERY_MS} ms on a thread of its own (so the samples
   * go on while the test thread waits for a load).
   */
  private static final class RssSampler implements AutoCloseable {
    final List<Rss> samples = java.util.Collections.synchronizedList(new ArrayList<>());
    private final Thread thread;
    private volatile boolean stopped;

    RssSampler() throws IOException {
      samples.add(Rss.read());
      thread =
          new Thread(
              () -> {
                while (!stopped) {
                  try {
                    samples.add(Rss.read());
                    Thread.sleep(SAMPLE_EVERY_MS);
                  } catch (IOException | InterruptedException e) {
                    return;
                  }
                }
              },
              "rss-sampler");
      thread.setDaemon(true);
      thread.start();
    }

    /** Lets samples accumulate for {@code ms}. */
    void sampleFor(long ms) throws InterruptedException {
      Thread.sleep(ms);
    }

    int size() {
      return samples.size();
    }

    long maxSince(int index, java.util.function.ToLongFunction<Rss> field) {
      synchronized (samples) {
        return samples.subList(index, samples.size()).stream().mapToLong(field).max().orElseThrow();
      }
    }

    Rss last() {
      synchronized (samples) {
        return samples.get(samples.size() - 1);
      }
    }

    @Override
    public void close() throws InterruptedException {
      stopped = true;
      thread.join(5_000);
    }
  }
}
