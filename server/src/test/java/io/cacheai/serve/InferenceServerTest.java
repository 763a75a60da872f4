package io.cacheai.serve;

import static io.cacheai.serve.OipRequests.affineRaw;
import static io.cacheai.serve.OipRequests.affineTyped;
import static io.cacheai.serve.OipRequests.floats;
import static io.cacheai.serve.OipRequests.typedOutput;
import static org.assertj.core.api.Assertions.assertThat;

import inference.GRPCInferenceServiceGrpc;
import inference.GrpcService.ModelInferResponse;
import inference.GrpcService.ServerLiveRequest;
import inference.GrpcService.ServerReadyRequest;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.NettyChannelBuilder;
import java.util.List;
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
}
