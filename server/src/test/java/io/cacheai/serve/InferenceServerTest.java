package io.cacheai.serve;

import static io.cacheai.serve.OipRequests.affineRaw;
import static io.cacheai.serve.OipRequests.affineTyped;
import static io.cacheai.serve.OipRequests.floats;
import static io.cacheai.serve.OipRequests.typedOutput;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import inference.GRPCInferenceServiceGrpc;
import inference.GrpcService.ModelInferResponse;
import inference.GrpcService.ServerLiveRequest;
import inference.GrpcService.ServerReadyRequest;
import io.cacheai.runtime.DataType;
import io.cacheai.runtime.Model;
import io.cacheai.runtime.Tensor;
import io.cacheai.runtime.TensorSpec;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.reflection.v1.ServerReflectionGrpc;
import io.grpc.reflection.v1.ServerReflectionRequest;
import io.grpc.reflection.v1.ServerReflectionResponse;
import io.grpc.stub.StreamObserver;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The server over a real Netty loopback socket. */
class InferenceServerTest {
  private static ModelRepository repository() {
    return ModelRepository.of(
        List.of(new ServedModel("affine", 1, new AffineModel(), ModelConfig.DEFAULT)));
  }

  @Test
  void start_portZero_servesOipAndHealthOnRealPortThenStopTerminates() throws Exception {
    try (ModelRepository repository = repository()) {
      InferenceServer server =
          InferenceServer.builder(repository).bind("127.0.0.1").port(0).build().start();
      ManagedChannel channel =
          NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
      try {
        assertThat(server.port()).isPositive();
        var stub = GRPCInferenceServiceGrpc.newBlockingStub(channel);
        assertThat(stub.serverLive(ServerLiveRequest.getDefaultInstance()).getLive()).isTrue();
        assertThat(stub.serverReady(ServerReadyRequest.getDefaultInstance()).getReady()).isTrue();

        ModelInferResponse typed = stub.modelInfer(affineTyped("", 1, 2, 3, 4).build());
        assertThat(typedOutput(typed, 0)).containsExactly(3, 5, 7, 9);
        ModelInferResponse raw = stub.modelInfer(affineRaw("", -1, 0, 0.5f, 4).build());
        assertThat(floats(raw.getRawOutputContents(0))).containsExactly(-1, 1, 2, 9);

        var health = HealthGrpc.newBlockingStub(channel);
        assertThat(health.check(HealthCheckRequest.getDefaultInstance()).getStatus())
            .isEqualTo(ServingStatus.SERVING);
        assertThat(
                health
                    .check(
                        HealthCheckRequest.newBuilder()
                            .setService("inference.GRPCInferenceService")
                            .build())
                    .getStatus())
            .isEqualTo(ServingStatus.SERVING);
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
      server.stop();
      assertThat(server.isTerminated()).isTrue();
      server.stop();
    }
  }

  @Test
  void maxInboundMessageBytes_largerRequest_resourceExhausted() throws Exception {
    try (ModelRepository repository = repository();
        InferenceServer server =
            InferenceServer.builder(repository)
                .port(0)
                .maxInboundMessageBytes(1024)
                .build()
                .start()) {
      ManagedChannel channel =
          NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
      try {
        var stub = GRPCInferenceServiceGrpc.newBlockingStub(channel);
        float[] big = new float[4 * 100];
        InferenceServiceTest.assertStatusCode(
            () -> stub.modelInfer(affineRaw("", big).build()), Status.Code.RESOURCE_EXHAUSTED);
        assertThat(typedOutput(stub.modelInfer(affineTyped("", 1, 1, 1, 1).build()), 0))
            .containsExactly(3, 3, 3, 3);
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }

  @Test
  void stop_withoutStart_isHarmless() throws Exception {
    try (ModelRepository repository = repository()) {
      InferenceServer server = InferenceServer.builder(repository).port(0).build();
      server.stop();
      assertThat(server.bind()).isEqualTo("127.0.0.1");
    }
  }

  @Test
  void blockUntilShutdown_returnsWhenAnotherThreadStops() throws Exception {
    try (ModelRepository repository = repository()) {
      InferenceServer server = InferenceServer.builder(repository).port(0).build().start();
      Thread stopper =
          new Thread(
              () -> {
                try {
                  Thread.sleep(100);
                  server.stop();
                } catch (InterruptedException e) {
                  Thread.currentThread().interrupt();
                }
              });
      stopper.start();
      server.blockUntilShutdown();
      stopper.join(5_000);
      assertThat(server.isTerminated()).isTrue();
    }
  }

  @Test
  void reflection_listsInferenceAndHealthServices() throws Exception {
    try (ModelRepository repository = repository();
        InferenceServer server = InferenceServer.builder(repository).port(0).build().start()) {
      ManagedChannel channel =
          NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
      try {
        CompletableFuture<ServerReflectionResponse> reply = new CompletableFuture<>();
        StreamObserver<ServerReflectionRequest> requests =
            ServerReflectionGrpc.newStub(channel)
                .serverReflectionInfo(
                    new StreamObserver<>() {
                      @Override
                      public void onNext(ServerReflectionResponse value) {
                        reply.complete(value);
                      }

                      @Override
                      public void onError(Throwable t) {
                        reply.completeExceptionally(t);
                      }

                      @Override
                      public void onCompleted() {}
                    });
        requests.onNext(ServerReflectionRequest.newBuilder().setListServices("").build());
        requests.onCompleted();
        assertThat(reply.get(5, TimeUnit.SECONDS).getListServicesResponse().getServiceList())
            .extracting(s -> s.getName())
            .contains("inference.GRPCInferenceService", "grpc.health.v1.Health");
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }

  @Test
  void stop_callStillRunningAfterGrace_isCancelledAndServerTerminates() throws Exception {
    CountDownLatch entered = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    Model hanging =
        new EchoModel(new TensorSpec("x", DataType.FP32, new long[] {-1, 4})) {
          @Override
          public Map<String, Tensor> infer(Map<String, Tensor> inputs) {
            entered.countDown();
            try {
              release.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
            return super.infer(inputs);
          }
        };
    try (ModelRepository repository =
        ModelRepository.of(List.of(new ServedModel("affine", 1, hanging, ModelConfig.DEFAULT)))) {
      InferenceServer server =
          InferenceServer.builder(repository).port(0).shutdownGraceMs(200).build().start();
      ManagedChannel channel =
          NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
      try {
        var stub = GRPCInferenceServiceGrpc.newFutureStub(channel);
        var call = stub.modelInfer(affineTyped("", 1, 2, 3, 4).build());
        assertThat(entered.await(5, TimeUnit.SECONDS)).isTrue();
        long startNs = System.nanoTime();
        server.stop();
        long stopMs = (System.nanoTime() - startNs) / 1_000_000;
        assertThat(stopMs).isBetween(150L, 3_000L);
        assertThatThrownBy(() -> call.get(5, TimeUnit.SECONDS))
            .hasCauseInstanceOf(io.grpc.StatusRuntimeException.class);
      } finally {
        release.countDown();
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }
}
