package io.cacheai.serve;

import static io.cacheai.serve.OipRequests.affineTyped;
import static io.cacheai.serve.OipRequests.typedOutput;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import inference.GRPCInferenceServiceGrpc;
import inference.GrpcService.ModelInferResponse;
import io.cacheai.client.InferenceClient;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.NettyChannelBuilder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Health on the health-only port: readiness SERVING while a model is served (following
 * RepositoryModelLoad and RepositoryModelUnload), NOT_SERVING as soon as stop() starts while the
 * overall status stays SERVING and in-flight calls finish OK.
 */
class HealthDrainTest {
  private static final int IN_FLIGHT = 3;

  @Test
  void stop_withCallsInFlight_readinessTurnsNotServingAndCallsFinishOk() throws Exception {
    BlockingModel model = new BlockingModel(IN_FLIGHT);
    try (ModelRepository repository =
            ModelRepository.of(List.of(new ServedModel("affine", 1, model, ModelConfig.DEFAULT)));
        InferenceServer server =
            InferenceServer.builder(repository)
                .port(0)
                .healthServer("127.0.0.1", 0)
                .shutdownGraceMs(20_000)
                .build()
                .start()) {
      assertThat(server.healthPort()).isPositive().isNotEqualTo(server.port());
      ManagedChannel inference =
          NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
      ManagedChannel healthOnly =
          NettyChannelBuilder.forAddress("127.0.0.1", server.healthPort()).usePlaintext().build();
      try {
        var health = HealthGrpc.newBlockingStub(healthOnly).withDeadlineAfter(10, TimeUnit.SECONDS);
        assertThat(status(health, "")).isEqualTo(ServingStatus.SERVING);
        assertThat(status(health, InferenceServer.READINESS_SERVICE))
            .isEqualTo(ServingStatus.SERVING);
        // The health-only port serves nothing else.
        var notHere = GRPCInferenceServiceGrpc.newBlockingStub(healthOnly);
        InferenceServiceTest.assertStatusCode(
            () -> notHere.modelInfer(affineTyped("", 1, 2, 3, 4).build()),
            io.grpc.Status.Code.UNIMPLEMENTED);

        var stub =
            GRPCInferenceServiceGrpc.newFutureStub(inference)
                .withDeadlineAfter(30, TimeUnit.SECONDS);
        List<com.google.common.util.concurrent.ListenableFuture<ModelInferResponse>> calls =
            new ArrayList<>();
        for (int i = 0; i < IN_FLIGHT; i++) {
          calls.add(stub.modelInfer(affineTyped("", i, 0, 0, 0).build()));
        }
        assertThat(model.entered.await(20, TimeUnit.SECONDS)).as("calls in flight").isTrue();

        CompletableFuture<Void> stopped =
            CompletableFuture.runAsync(
                () -> {
                  try {
                    server.stop();
                  } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                  }
                });
        ServingStatus ready = ServingStatus.SERVING;
        long endNanos = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (ready == ServingStatus.SERVING && System.nanoTime() < endNanos) {
          ready = status(health, InferenceServer.READINESS_SERVICE);
          Thread.sleep(10);
        }
        assertThat(ready).as("readiness while draining").isEqualTo(ServingStatus.NOT_SERVING);
        assertThat(status(health, ""))
            .as("liveness while draining")
            .isEqualTo(ServingStatus.SERVING);
        assertThat(stopped).isNotDone();

        model.release.countDown();
        for (int i = 0; i < IN_FLIGHT; i++) {
          assertThat(typedOutput(calls.get(i).get(20, TimeUnit.SECONDS), 0))
              .containsExactly(2 * i + 1, 1, 1, 1);
        }
        stopped.get(20, TimeUnit.SECONDS);
        assertThat(server.isTerminated()).isTrue();
      } finally {
        model.release.countDown();
        inference.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        healthOnly.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }

  @Test
  void readiness_followsLoadAndUnload_notServingOnceDraining(@TempDir Path dir) throws Exception {
    ModelRepository repository = ModelRepository.load(dir, new TestLoaders());
    InferenceServer server =
        InferenceServer.builder(repository).port(0).healthServer("127.0.0.1", 0).build().start();
    ManagedChannel healthOnly =
        NettyChannelBuilder.forAddress("127.0.0.1", server.healthPort()).usePlaintext().build();
    try (repository;
        server;
        InferenceClient client =
            InferenceClient.builder().target("127.0.0.1:" + server.port()).build()) {
      var health = HealthGrpc.newBlockingStub(healthOnly).withDeadlineAfter(60, TimeUnit.SECONDS);
      String ready = InferenceServer.READINESS_SERVICE;
      assertThat(status(health, ready)).as("no model yet").isEqualTo(ServingStatus.NOT_SERVING);
      assertThat(status(health, "")).as("live without a model").isEqualTo(ServingStatus.SERVING);

      TestLoaders.writeModel(dir, "a", "1", "affine");
      client.loadModel("a");
      assertThat(status(health, ready)).as("after load").isEqualTo(ServingStatus.SERVING);
      client.unloadModel("a");
      assertThat(status(health, ready)).as("after unload").isEqualTo(ServingStatus.NOT_SERVING);
      client.loadModel("a");
      assertThat(status(health, ready)).as("loaded again").isEqualTo(ServingStatus.SERVING);

      server.stop();
      assertThat(server.isTerminated()).isTrue();
      // A load after the drain (directly, the port is closed) must not turn readiness back on.
      repository.loadModel("a");
      assertThatThrownBy(() -> status(health, ready))
          .as("health-only server gone after stop")
          .isInstanceOf(AssertionError.class);
    } finally {
      healthOnly.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  private static ServingStatus status(HealthGrpc.HealthBlockingStub health, String service) {
    try {
      return health.check(HealthCheckRequest.newBuilder().setService(service).build()).getStatus();
    } catch (StatusRuntimeException e) {
      throw new AssertionError("health check of '" + service + "' failed: " + e.getStatus(), e);
    }
  }
}
