package io.cacheai.serve;

import static org.assertj.core.api.Assertions.assertThat;

import inference.GRPCInferenceServiceGrpc;
import inference.GrpcService.ModelInferRequest;
import inference.GrpcService.ModelStreamInferResponse;
import io.cacheai.client.InferRequest;
import io.cacheai.client.InferResult;
import io.cacheai.client.InferStream;
import io.cacheai.client.InferenceClient;
import io.cacheai.client.ModelStatistics;
import io.cacheai.data.MnistDataset;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A client that cancels its ModelStreamInfer stream (process killed, user gone) with requests in
 * flight, over and over, on a batching model and a direct one: afterwards nothing is left behind —
 * every request lease is given back (the version's reference count is 1 again: the repository's
 * own), every {@code max_concurrent_requests} slot is free, the batching queue is empty — the
 * server answers unary calls and new streams correctly, and an unload closes the version at once
 * (which a leaked lease would prevent).
 */
class StreamDisconnectTest {
  private static final int SLOTS = 256;
  private static final int REQUESTS_PER_STREAM = 60;
  private static final int ROWS = 16;
  private static final int[] CANCEL_AFTER_ANSWERS = {0, 1, 5, 20};

  @TempDir Path dir;

  @Test
  void streamCancelledWithRequestsInFlight_noLeakedLeaseSlotOrQueue_serverHealthy()
      throws Exception {
    MnistFiles.copy(dir, "mnist-cnn", "mnist-cnn", "1");
    MnistFiles.copy(dir, "mnist-mlp", "mnist-mlp", "1");
    Files.writeString(
        dir.resolve("mnist-cnn").resolve(ModelConfig.FILE_NAME),
        "max_batch_size=64\ndynamic_batching=true\nmax_queue_delay_us=1000\nmax_queue_size=256\n"
            + "max_concurrent_requests="
            + SLOTS
            + "\n");
    Files.writeString(
        dir.resolve("mnist-mlp").resolve(ModelConfig.FILE_NAME),
        "max_concurrent_requests=" + SLOTS + "\n");
    MnistDataset digits = MnistFiles.digits();
    float[] pixels = digits.slice(0, ROWS);
    List<String> models = List.of("mnist-cnn", "mnist-mlp");

    try (ModelRepository repository = ModelRepository.load(dir, new OnnxModelLoader());
        InferenceServer server =
            InferenceServer.builder(repository).bind("127.0.0.1").port(0).build().start();
        InferenceClient client =
            InferenceClient.builder().target("127.0.0.1:" + server.port()).build()) {
      ManagedChannel channel =
          NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
      try {
        int sent = 0;
        for (int cancelAfter : CANCEL_AFTER_ANSWERS) {
          for (String model : models) {
            sent += streamThenCancel(channel, model, pixels, cancelAfter);
          }
        }
        for (String model : models) {
          LoadedModel loaded = repository.loaded(model).get(0);
          long endNanos = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
          while (!settled(loaded) && System.nanoTime() < endNanos) {
            Thread.sleep(10);
          }
          assertThat(loaded.references()).as("%s references (1 = no lease left)", model).isOne();
          assertThat(loaded.freeSlots()).as("%s free slots", model).isEqualTo(SLOTS);
          assertThat(loaded.scheduler().queuedJobs()).as("%s queued", model).isZero();
        }
        long done = 0;
        for (ModelStatistics s : client.modelStatistics()) {
          done += s.success().count() + s.fail().count();
          System.out.printf(
              "stream disconnect: %s success=%d fail=%d%n",
              s.name(), s.success().count(), s.fail().count());
        }
        assertThat(done)
            .as("requests finished on the server")
            .isPositive()
            .isLessThanOrEqualTo(sent);
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }

      // Healthy: unary and a fresh stream answer right.
      float[] expected =
          client.inferFloats("mnist-cnn", "input", new long[] {ROWS, 1, 28, 28}, pixels);
      assertThat(argmaxes(expected)).containsExactly(Arrays.copyOf(digits.labels(), ROWS));
      try (InferStream stream = client.openStream()) {
        List<CompletableFuture<InferResult>> answers = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
          answers.add(
              stream.send(
                  InferRequest.builder("mnist-cnn")
                      .addFp32("input", new long[] {ROWS, 1, 28, 28}, pixels)
                      .build()));
        }
        for (CompletableFuture<InferResult> answer : answers) {
          assertThat(
                  MnistFiles.close(answer.get(20, TimeUnit.SECONDS).asFloats("logits"), expected))
              .isTrue();
        }
      }
      // No lease held anywhere: unloading closes each version at once.
      for (String model : models) {
        LoadedModel loaded = repository.loaded(model).get(0);
        client.unloadModel(model);
        assertThat(loaded.isClosed()).as("%s closed on unload", model).isTrue();
      }
    }
  }

  /**
   * Opens a stream, sends {@value #REQUESTS_PER_STREAM} requests, cancels it once {@code
   * cancelAfter} answers have arrived (or after 5 s). Returns the number of requests sent.
   */
  private static int streamThenCancel(
      ManagedChannel channel, String model, float[] pixels, int cancelAfter) throws Exception {
    AtomicInteger answers = new AtomicInteger();
    CompletableFuture<ClientCallStreamObserver<ModelInferRequest>> call = new CompletableFuture<>();
    CompletableFuture<Void> ended = new CompletableFuture<>();
    GRPCInferenceServiceGrpc.newStub(channel)
        .withDeadlineAfter(60, TimeUnit.SECONDS)
        .modelStreamInfer(
            new ClientResponseObserver<ModelInferRequest, ModelStreamInferResponse>() {
              @Override
              public void beforeStart(ClientCallStreamObserver<ModelInferRequest> requests) {
                call.complete(requests);
              }

              @Override
              public void onNext(ModelStreamInferResponse response) {
                answers.incrementAndGet();
              }

              @Override
              public void onError(Throwable t) {
                ended.complete(null);
              }

              @Override
              public void onCompleted() {
                ended.complete(null);
              }
            });
    ClientCallStreamObserver<ModelInferRequest> requests = call.join();
    ModelInferRequest request =
        ModelInferRequest.newBuilder()
            .setModelName(model)
            .addInputs(OipRequests.input("input", "FP32", ROWS, 1, 28, 28))
            .addRawInputContents(OipRequests.rawFloats(pixels))
            .build();
    for (int i = 0; i < REQUESTS_PER_STREAM; i++) {
      requests.onNext(request.toBuilder().setId("r" + i).build());
    }
    long endNanos = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (answers.get() < cancelAfter && System.nanoTime() < endNanos) {
      Thread.sleep(1);
    }
    requests.cancel("client went away", null);
    ended.get(10, TimeUnit.SECONDS);
    return REQUESTS_PER_STREAM;
  }

  private static boolean settled(LoadedModel loaded) {
    return loaded.references() == 1
        && loaded.freeSlots() == SLOTS
        && loaded.scheduler().queuedJobs() == 0;
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
