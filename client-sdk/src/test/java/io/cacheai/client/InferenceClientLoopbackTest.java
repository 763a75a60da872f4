package io.cacheai.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Server;
import io.grpc.Status;
import io.grpc.netty.NettyServerBuilder;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The client's own plaintext channel over real TCP on loopback: target, close, UNAVAILABLE. */
class InferenceClientLoopbackTest {

  @Test
  void close_ownedChannel_terminatedAndSafeTwice() throws Exception {
    FakeInferenceService fake = new FakeInferenceService();
    Server server =
        NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
            .addService(fake)
            .build()
            .start();
    try {
      InferenceClient client =
          InferenceClient.builder()
              .target("127.0.0.1:" + server.getPort())
              .defaultDeadline(Duration.ofSeconds(5))
              .build();
      assertThat(client.isServerLive()).isTrue();
      float[] y = client.inferFloats("affine", "x", new long[] {1, 3}, new float[] {1, 2, 3});
      assertThat(y).containsExactly(3f, 5f, 7f);
      assertThat(fake.lastInfer.getRawInputContentsCount()).isEqualTo(1);

      client.close();
      assertThat(client.ownedChannel().isTerminated()).isTrue();
      client.close();
      assertThatThrownBy(client::isServerReady).isInstanceOf(IllegalStateException.class);
    } finally {
      server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  @Test
  void isServerLive_nothingListening_unavailable() throws Exception {
    int port;
    Server probe =
        NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)).build().start();
    port = probe.getPort();
    probe.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);

    try (InferenceClient client =
        InferenceClient.builder()
            .target("127.0.0.1:" + port)
            .defaultDeadline(Duration.ofSeconds(5))
            .build()) {
      assertThatThrownBy(client::isServerLive)
          .isInstanceOfSatisfying(
              InferenceException.class,
              e -> assertThat(e.code()).isEqualTo(Status.Code.UNAVAILABLE));
    }
  }
}
