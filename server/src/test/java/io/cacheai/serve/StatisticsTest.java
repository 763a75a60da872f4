package io.cacheai.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cacheai.client.InferRequest;
import io.cacheai.client.InferenceClient;
import io.cacheai.client.InferenceException;
import io.cacheai.client.ModelStatistics;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** ModelStatistics after a known sequence of requests: every count exactly. */
class StatisticsTest {
  private ModelRepository repository;
  private Server server;
  private ManagedChannel channel;
  private InferenceClient client;

  @BeforeEach
  void setUp() throws Exception {
    repository =
        ModelRepository.of(
            List.of(
                new ServedModel("affine", 1, new AffineModel(), ModelConfig.DEFAULT),
                new ServedModel("affine", 2, new AffineModel(), ModelConfig.DEFAULT),
                new ServedModel("other", 1, new AffineModel(), ModelConfig.DEFAULT)));
    String name = InProcessServerBuilder.generateName();
    server =
        InProcessServerBuilder.forName(name)
            .addService(new InferenceService(repository, "test"))
            .build()
            .start();
    channel = InProcessChannelBuilder.forName(name).build();
    client = InferenceClient.builder().channel(channel).build();
  }

  @AfterEach
  void tearDown() throws Exception {
    client.close();
    channel.shutdownNow();
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    repository.close();
  }

  private void send(String version, long rows, float first) {
    float[] x = new float[(int) rows * 4];
    x[0] = first;
    client.infer(
        InferRequest.builder("affine")
            .version(version)
            .addFp32("x", new long[] {rows, 4}, x)
            .build());
  }

  private void sendFailing(Runnable call, Status.Code code) {
    assertThatThrownBy(call::run)
        .isInstanceOfSatisfying(
            InferenceException.class, e -> assertThat(e.code()).isEqualTo(code));
  }

  @Test
  void statistics_knownSequence_countsExactly() {
    long beforeMs = System.currentTimeMillis();
    send("1", 2, 1);
    send("1", 1, 1);
    send("1", 3, 1);
    sendFailing(
        () ->
            client.infer(
                InferRequest.builder("affine")
                    .version("1")
                    .addFp32("x", new long[] {1, 3}, new float[3])
                    .build()),
        Status.Code.INVALID_ARGUMENT);
    sendFailing(() -> send("1", 1, Float.NaN), Status.Code.INVALID_ARGUMENT);
    sendFailing(() -> send("1", 1, AffineModel.CRASH), Status.Code.INTERNAL);
    send("2", 4, 1);
    sendFailing(() -> send("7", 1, 1), Status.Code.NOT_FOUND);

    ModelStatistics v1 = client.modelStatistics("affine", "1").get(0);
    assertThat(v1.name()).isEqualTo("affine");
    assertThat(v1.version()).isEqualTo("1");
    assertThat(v1.success().count()).isEqualTo(3);
    assertThat(v1.fail().count()).isEqualTo(3);
    assertThat(v1.inferenceCount()).isEqualTo(6);
    assertThat(v1.executionCount()).isEqualTo(3);
    assertThat(v1.queue().count()).isEqualTo(3);
    assertThat(v1.computeInput().count()).isEqualTo(3);
    assertThat(v1.computeInfer().count()).isEqualTo(3);
    assertThat(v1.computeOutput().count()).isEqualTo(3);
    assertThat(v1.cacheHit().count()).isZero();
    assertThat(v1.cacheMiss().count()).isZero();
    assertThat(v1.batchStats())
        .extracting(b -> b.batchSize() + ":" + b.computeInfer().count())
        .containsExactly("1:1", "2:1", "3:1");
    assertThat(v1.success().ns()).isGreaterThanOrEqualTo(v1.computeInfer().ns()).isPositive();
    assertThat(v1.fail().ns()).isPositive();
    assertThat(v1.lastInferenceMs()).isBetween(beforeMs, System.currentTimeMillis());

    ModelStatistics v2 = client.modelStatistics("affine", "2").get(0);
    assertThat(v2.success().count()).isEqualTo(1);
    assertThat(v2.fail().count()).isZero();
    assertThat(v2.inferenceCount()).isEqualTo(4);
    assertThat(v2.batchStats()).extracting(ModelStatistics.Batch::batchSize).containsExactly(4L);

    assertThat(client.modelStatistics("affine", ""))
        .extracting(ModelStatistics::version)
        .containsExactly("1", "2");
    assertThat(client.modelStatistics())
        .extracting(s -> s.name() + "/" + s.version())
        .containsExactly("affine/1", "affine/2", "other/1");
    ModelStatistics untouched = client.modelStatistics("other", "").get(0);
    assertThat(untouched.success().count()).isZero();
    assertThat(untouched.lastInferenceMs()).isZero();
    assertThat(untouched.batchStats()).isEmpty();
  }

  @Test
  void statistics_unknownModelOrVersion_notFound() {
    sendFailing(() -> client.modelStatistics("nope", ""), Status.Code.NOT_FOUND);
    sendFailing(() -> client.modelStatistics("affine", "9"), Status.Code.NOT_FOUND);
    sendFailing(() -> client.modelStatistics("", "1"), Status.Code.INVALID_ARGUMENT);
  }
}
