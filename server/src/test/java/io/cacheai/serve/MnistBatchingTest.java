package io.cacheai.serve;

import static org.assertj.core.api.Assertions.assertThat;

import io.cacheai.client.InferRequest;
import io.cacheai.client.InferResult;
import io.cacheai.client.InferStream;
import io.cacheai.client.InferenceClient;
import io.cacheai.client.ModelStatistics;
import io.cacheai.data.MnistDataset;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Dynamic batching on the real models over a loopback socket: concurrent callers are merged into
 * fewer executions, and every caller gets exactly the logits its own digits give when run alone.
 */
class MnistBatchingTest {
  private static final int THREADS = 8;
  private static final int PER_THREAD = 25;
  private static final int DIGITS = THREADS * PER_THREAD + 1;

  @TempDir Path dir;

  @ParameterizedTest
  @ValueSource(strings = {"mnist-mlp", "mnist-cnn"})
  void batching_concurrentCallers_mergedAndEachAnsweredAsUnbatched(String model) throws Exception {
    Path file = MnistFiles.copy(dir, model, model, "1");
    Files.writeString(
        dir.resolve(model).resolve(ModelConfig.FILE_NAME),
        "max_batch_size=32\ndynamic_batching=true\nmax_queue_delay_us=2000\nmax_queue_size=256\n");
    MnistDataset digits = MnistFiles.digits();
    float[][] expected = MnistFiles.unbatchedLogits(file, digits, DIGITS);

    ExecutorService callers = Executors.newFixedThreadPool(THREADS);
    try (ModelRepository repository = ModelRepository.load(dir, new OnnxModelLoader());
        InferenceServer server =
            InferenceServer.builder(repository).bind("127.0.0.1").port(0).build().start();
        InferenceClient client =
            InferenceClient.builder().target("127.0.0.1:" + server.port()).build()) {
      assertThat(repository.failures()).isEmpty();
      List<Future<Long>> rowsSent = new ArrayList<>();
      for (int t = 0; t < THREADS; t++) {
        int thread = t;
        rowsSent.add(
            callers.submit(
                () ->
                    thread == 0
                        ? streamCaller(client, model, digits, expected)
                        : unaryCaller(client, model, thread, digits, expected)));
      }
      long rows = 0;
      for (Future<Long> f : rowsSent) {
        rows += f.get(120, TimeUnit.SECONDS);
      }

      ModelStatistics stats = client.modelStatistics(model, "1").get(0);
      long requests = (long) THREADS * PER_THREAD;
      assertThat(stats.success().count()).isEqualTo(requests);
      assertThat(stats.fail().count()).isZero();
      assertThat(stats.inferenceCount()).isEqualTo(rows);
      long rowsExecuted =
          stats.batchStats().stream()
              .mapToLong(b -> b.batchSize() * b.computeInfer().count())
              .sum();
      assertThat(rowsExecuted).isEqualTo(rows);
      assertThat(stats.executionCount()).isLessThan(requests);
      assertThat(stats.largestBatch()).isGreaterThan(1).isLessThanOrEqualTo(32);
      System.out.printf(
          "%s: %d requests (%d rows) in %d executions, mean batch %.2f rows, largest %d,"
              + " mean queue %.0f us, mean infer %.0f us%n",
          model,
          requests,
          rows,
          stats.executionCount(),
          (double) rows / stats.executionCount(),
          stats.largestBatch(),
          stats.queue().meanUs(),
          stats.computeInfer().meanUs());
    } finally {
      callers.shutdownNow();
    }
  }

  /** Requests of one or two digits; returns the rows sent. Thread t sends digits from t·25. */
  private static long unaryCaller(
      InferenceClient client, String model, int thread, MnistDataset digits, float[][] expected) {
    long rows = 0;
    for (int j = 0; j < PER_THREAD; j++) {
      int first = thread * PER_THREAD + j;
      int count = j % 3 == 0 ? 2 : 1;
      InferResult result = client.infer(request(model, digits, first, count));
      check(result, expected, first, count);
      rows += count;
    }
    return rows;
  }

  /** The same over one ModelStreamInfer stream, all requests in flight at once. */
  private static long streamCaller(
      InferenceClient client, String model, MnistDataset digits, float[][] expected) {
    List<CompletableFuture<InferResult>> answers = new ArrayList<>();
    try (InferStream stream = client.openStream()) {
      for (int j = 0; j < PER_THREAD; j++) {
        answers.add(stream.send(request(model, digits, j, 1)));
      }
      for (int j = 0; j < PER_THREAD; j++) {
        check(answers.get(j).join(), expected, j, 1);
      }
    }
    return PER_THREAD;
  }

  private static InferRequest request(String model, MnistDataset digits, int first, int count) {
    return InferRequest.builder(model)
        .rawInputs(true)
        .addFp32("input", new long[] {count, 1, 28, 28}, digits.slice(first, count))
        .build();
  }

  private static void check(InferResult result, float[][] expected, int first, int count) {
    assertThat(result.shape("logits")).containsExactly(count, 10);
    float[] logits = result.asFloats("logits");
    for (int r = 0; r < count; r++) {
      float[] row = Arrays.copyOfRange(logits, r * 10, r * 10 + 10);
      assertThat(MnistFiles.close(row, expected[first + r]))
          .as(
              "digit %d: %s vs unbatched %s",
              first + r, Arrays.toString(row), Arrays.toString(expected[first + r]))
          .isTrue();
    }
  }
}
