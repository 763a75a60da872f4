package io.cacheai.serve;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.common.util.concurrent.ListenableFuture;
import inference.GRPCInferenceServiceGrpc;
import inference.GRPCInferenceServiceGrpc.GRPCInferenceServiceFutureStub;
import inference.GrpcService.ModelInferRequest;
import inference.GrpcService.ModelInferResponse;
import io.cacheai.client.InferenceClient;
import io.cacheai.data.MnistDataset;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.NettyChannelBuilder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A storm of requests whose deadlines expire almost at once — hundreds with 1 ms, then a wave with
 * 10 ms that expire while queued for a batch — fired without waiting, on a batching model and a
 * direct one. Every call ends within a bounded time as either DEADLINE_EXCEEDED or OK with the
 * right logits (never another status, never a hang); afterwards the batching queue is empty, every
 * lease is back, the Prometheus in-flight gauge is 0, the server counted only OK, DEADLINE_EXCEEDED
 * or CANCELLED, and the next ordinary request is answered right.
 */
class DeadlineStormTest {
  private static final int ROWS = 8;
  private static final long[] SHAPE = {ROWS, 1, 28, 28};
  private static final Set<String> CODES_ALLOWED = Set.of("OK", "DEADLINE_EXCEEDED", "CANCELLED");

  @TempDir Path dir;

  @Test
  void expiredDeadlineStorm_eachCallOkOrDeadlineExceeded_thenServerClean() throws Exception {
    MnistFiles.copy(dir, "mnist-cnn", "mnist-cnn", "1");
    MnistFiles.copy(dir, "mnist-mlp", "mnist-mlp", "1");
    Files.writeString(
        dir.resolve("mnist-cnn").resolve(ModelConfig.FILE_NAME),
        "max_batch_size=64\ndynamic_batching=true\nmax_queue_delay_us=1000\nmax_queue_size=1024\n");
    MnistDataset digits = MnistFiles.digits();
    float[] pixels = digits.slice(0, ROWS);
    List<String> models = List.of("mnist-cnn", "mnist-mlp");

    try (ModelRepository repository = ModelRepository.load(dir, new OnnxModelLoader());
        InferenceServer server =
            InferenceServer.builder(repository)
                .bind("127.0.0.1")
                .port(0)
                .metricsEndpoint("127.0.0.1", 0)
                .build()
                .start();
        InferenceClient client =
            InferenceClient.builder().target("127.0.0.1:" + server.port()).build()) {
      Map<String, float[]> expected = new TreeMap<>();
      for (String model : models) {
        expected.put(model, client.inferFloats(model, "input", SHAPE, pixels));
        assertThat(argmaxes(expected.get(model)))
            .containsExactly(Arrays.copyOf(digits.labels(), ROWS));
      }
      ManagedChannel channel =
          NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
      Map<String, Integer> outcomes = new TreeMap<>();
      try {
        GRPCInferenceServiceFutureStub stub = GRPCInferenceServiceGrpc.newFutureStub(channel);
        storm(stub, models, pixels, 400, 1, expected, outcomes);
        storm(stub, models, pixels, 200, 10, expected, outcomes);
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
      System.out.println("deadline storm outcomes: " + outcomes);
      assertThat(outcomes.keySet()).isSubsetOf("OK", "DEADLINE_EXCEEDED");
      assertThat(outcomes.values().stream().mapToInt(Integer::intValue).sum()).isEqualTo(600);
      assertThat(outcomes).containsKey("DEADLINE_EXCEEDED");

      long endNanos = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      while (!clean(repository, models, server) && System.nanoTime() < endNanos) {
        Thread.sleep(10);
      }
      for (String model : models) {
        LoadedModel loaded = repository.loaded(model).get(0);
        assertThat(loaded.scheduler().queuedJobs()).as("%s queued", model).isZero();
        assertThat(loaded.references()).as("%s references", model).isOne();
      }
      MetricsScrape metrics = MetricsScrape.get(server.metricsPort());
      assertThat(metrics.value("cacheai_inference_requests_in_flight")).isZero();
      Map<String, Double> byCode = new TreeMap<>();
      for (MetricsScrape.Sample s : metrics.samples) {
        if (s.name().equals("cacheai_inference_requests_total")) {
          byCode.merge(s.labels().get("code"), s.value(), Double::sum);
        }
      }
      System.out.println("deadline storm, server counts by code: " + byCode);
      assertThat(byCode.keySet()).isSubsetOf(CODES_ALLOWED);

      for (String model : models) {
        assertThat(client.inferFloats(model, "input", SHAPE, pixels))
            .as("%s after the storm", model)
            .containsExactly(expected.get(model));
      }
    }
  }

  /** Fires {@code count} calls with a {@code deadlineMs} deadline, then collects every outcome. */
  private static void storm(
      GRPCInferenceServiceFutureStub stub,
      List<String> models,
      float[] pixels,
      int count,
      long deadlineMs,
      Map<String, float[]> expected,
      Map<String, Integer> outcomes)
      throws Exception {
    List<ListenableFuture<ModelInferResponse>> calls = new ArrayList<>();
    List<String> sentTo = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      String model = models.get(i % models.size());
      ModelInferRequest request =
          ModelInferRequest.newBuilder()
              .setModelName(model)
              .addInputs(OipRequests.input("input", "FP32", SHAPE))
              .addRawInputContents(OipRequests.rawFloats(pixels))
              .build();
      calls.add(stub.withDeadlineAfter(deadlineMs, TimeUnit.MILLISECONDS).modelInfer(request));
      sentTo.add(model);
    }
    for (int i = 0; i < count; i++) {
      String code;
      try {
        ModelInferResponse response = calls.get(i).get(30, TimeUnit.SECONDS);
        float[] logits = OipRequests.floats(response.getRawOutputContents(0));
        assertThat(MnistFiles.close(logits, expected.get(sentTo.get(i))))
            .as("logits of an answered call to %s", sentTo.get(i))
            .isTrue();
        code = "OK";
      } catch (ExecutionException e) {
        Status status = Status.fromThrowable(e.getCause());
        code = status.getCode().name();
        if (status.getCode() != Status.Code.DEADLINE_EXCEEDED) {
          code += " " + status.getDescription();
        }
      }
      outcomes.merge(code, 1, Integer::sum);
    }
  }

  private static boolean clean(
      ModelRepository repository, List<String> models, InferenceServer server) {
    for (String model : models) {
      LoadedModel loaded = repository.loaded(model).get(0);
      if (loaded.scheduler().queuedJobs() != 0 || loaded.references() != 1) {
        return false;
      }
    }
    try {
      return MetricsScrape.get(server.metricsPort()).value("cacheai_inference_requests_in_flight")
          == 0;
    } catch (Exception e) {
      return false;
    }
  }

  private static int[] argmaxes(float[] logits) {
    int[] best = new int[logits.length / 10];
    for (int row = 0; row < best.length; row++) {
      for (int c = 1; c < 10; c++) {
        best[row] = logits[row * 10 + c] > logits[row * 10 + best[row]] ? c : best[row];
      }
    }
    return best;
  }
}
