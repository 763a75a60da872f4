package io.cacheai.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cacheai.client.InferRequest;
import io.cacheai.client.InferResult;
import io.cacheai.client.InferStream;
import io.cacheai.client.InferenceClient;
import io.cacheai.client.InferenceException;
import io.cacheai.client.ModelStatistics;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Dynamic batching, the bounded queue, limits and deadlines, with a {@link GateModel} holding the
 * model busy so that queues build up deterministically. The real service runs in-process.
 */
class SchedulingTest {
  private final GateModel gate = new GateModel();
  private final ExecutorService callers = Executors.newFixedThreadPool(8);
  private ModelRepository repository;
  private Server server;
  private ManagedChannel channel;
  private InferenceClient client;

  private void start(ModelConfig config) throws Exception {
    repository = ModelRepository.of(List.of(new ServedModel("gate", 1, gate, config)));
    String name = InProcessServerBuilder.generateName();
    server =
        InProcessServerBuilder.forName(name)
            .addService(new InferenceService(repository, "test"))
            .build()
            .start();
    channel = InProcessChannelBuilder.forName(name).build();
    client =
        InferenceClient.builder().channel(channel).defaultDeadline(Duration.ofSeconds(20)).build();
  }

  @AfterEach
  void tearDown() throws Exception {
    gate.open();
    callers.shutdownNow();
    if (client != null) {
      client.close();
      channel.shutdownNow();
      server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      repository.close();
    }
  }

  private static ModelConfig batching(int maxBatch, long delayUs, int queueSize) {
    return new ModelConfig(
        maxBatch, Optional.empty(), new SchedulingConfig(true, delayUs, queueSize, 1, 0, 0));
  }

  /** A request whose one row is {marker, 0, 0, 0}. */
  private static InferRequest row(float marker) {
    return InferRequest.builder("gate")
        .addFp32("x", new long[] {1, 4}, new float[] {marker, 0, 0, 0})
        .build();
  }

  private CompletableFuture<InferResult> async(InferRequest request) {
    return CompletableFuture.supplyAsync(() -> client.infer(request), callers);
  }

  private Scheduler scheduler() {
    return repository.loaded("gate").get(0).scheduler();
  }

  private static void await(BooleanSupplier condition, String what) throws InterruptedException {
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > end) {
        throw new AssertionError("timed out waiting for " + what);
      }
      Thread.sleep(2);
    }
  }

  private ModelStatistics stats() {
    return client.modelStatistics("gate", "1").get(0);
  }

  @Test
  void batching_queuedRequestsMergeIntoOneExecution_eachGetsItsOwnRows() throws Exception {
    start(batching(8, 0, 16));
    CompletableFuture<InferResult> first = async(row(1));
    assertThat(gate.awaitEntered()).isTrue();
    List<CompletableFuture<InferResult>> queued =
        List.of(async(row(2)), async(row(3)), async(row(4)));
    await(() -> scheduler().queuedJobs() == 3, "three queued requests");
    gate.open();

    assertThat(first.get(5, TimeUnit.SECONDS).asFloats("y")).containsExactly(3, 1, 1, 1);
    for (int i = 0; i < 3; i++) {
      float marker = i + 2;
      InferResult result = queued.get(i).get(5, TimeUnit.SECONDS);
      assertThat(result.shape("y")).containsExactly(1, 4);
      assertThat(result.asFloats("y")).containsExactly(2 * marker + 1, 1, 1, 1);
      assertThat(result.asFloats("sum")).containsExactly(marker);
    }
    assertThat(gate.executions).hasSize(2);
    assertThat(gate.executions.get(1)).containsExactlyInAnyOrder(2f, 3f, 4f);
    ModelStatistics stats = stats();
    assertThat(stats.executionCount()).isEqualTo(2);
    assertThat(stats.inferenceCount()).isEqualTo(4);
    assertThat(stats.success().count()).isEqualTo(4);
    assertThat(stats.batchStats())
        .extracting(b -> b.batchSize() + "x" + b.computeInfer().count())
        .containsExactly("1x1", "3x1");
  }

  @Test
  void batching_batchNeverExceedsMaxBatchSize() throws Exception {
    start(batching(2, 0, 16));
    CompletableFuture<InferResult> first = async(row(1));
    assertThat(gate.awaitEntered()).isTrue();
    List<CompletableFuture<InferResult>> queued =
        List.of(async(row(2)), async(row(3)), async(row(4)), async(row(5)), async(row(6)));
    await(() -> scheduler().queuedJobs() == 5, "five queued requests");
    gate.open();
    first.get(5, TimeUnit.SECONDS);
    for (CompletableFuture<InferResult> f : queued) {
      f.get(5, TimeUnit.SECONDS);
    }
    assertThat(gate.executions).allSatisfy(e -> assertThat(e.size()).isLessThanOrEqualTo(2));
    assertThat(gate.markersRun()).containsExactlyInAnyOrder(1f, 2f, 3f, 4f, 5f, 6f);
    assertThat(stats().largestBatch()).isEqualTo(2);
  }

  @Test
  void batching_fullQueue_resourceExhaustedAtOnce() throws Exception {
    start(batching(8, 0, 2));
    CompletableFuture<InferResult> running = async(row(1));
    assertThat(gate.awaitEntered()).isTrue();
    CompletableFuture<InferResult> b = async(row(2));
    CompletableFuture<InferResult> c = async(row(3));
    await(() -> scheduler().queuedJobs() == 2, "a full queue");

    long startNs = System.nanoTime();
    assertThatThrownBy(() -> client.infer(row(4)))
        .isInstanceOfSatisfying(
            InferenceException.class,
            e -> {
              assertThat(e.code()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
              assertThat(e.description()).contains("max_queue_size=2");
            });
    assertThat(System.nanoTime() - startNs).isLessThan(TimeUnit.SECONDS.toNanos(2));
    gate.open();
    running.get(5, TimeUnit.SECONDS);
    assertThat(b.get(5, TimeUnit.SECONDS).asFloats("sum")).containsExactly(2);
    assertThat(c.get(5, TimeUnit.SECONDS).asFloats("sum")).containsExactly(3);
    assertThat(gate.markersRun()).containsExactlyInAnyOrder(1f, 2f, 3f);
    assertThat(stats().fail().count()).isEqualTo(1);
  }

  @Test
  void batching_clientDeadlineExpiresInQueue_droppedWithoutRunning() throws Exception {
    start(batching(8, 0, 16));
    CompletableFuture<InferResult> running = async(row(1));
    assertThat(gate.awaitEntered()).isTrue();
    InferRequest shortLived =
        InferRequest.builder("gate")
            .addFp32("x", new long[] {1, 4}, new float[] {7, 0, 0, 0})
            .deadline(Duration.ofMillis(200))
            .build();
    assertThatThrownBy(() -> client.infer(shortLived))
        .isInstanceOfSatisfying(
            InferenceException.class,
            e -> assertThat(e.code()).isEqualTo(Status.Code.DEADLINE_EXCEEDED));
    gate.open();
    running.get(5, TimeUnit.SECONDS);
    await(() -> stats().fail().count() == 1, "the expired request counted as failed");
    assertThat(client.infer(row(3)).asFloats("sum")).containsExactly(3);
    assertThat(gate.markersRun()).containsExactly(1f, 3f);
    assertThat(stats().success().count()).isEqualTo(2);
  }

  @Test
  void batching_requestTimeoutExpiresInQueue_deadlineExceededWithoutRunning() throws Exception {
    start(new ModelConfig(8, Optional.empty(), new SchedulingConfig(true, 0, 16, 1, 0, 200)));
    CompletableFuture<InferResult> running = async(row(1));
    assertThat(gate.awaitEntered()).isTrue();
    CompletableFuture<InferResult> waiting = async(row(5));
    await(() -> scheduler().queuedJobs() == 1, "a queued request");
    Thread.sleep(300);
    gate.open();
    running.get(5, TimeUnit.SECONDS);
    assertThatThrownBy(() -> waiting.get(5, TimeUnit.SECONDS))
        .cause()
        .isInstanceOfSatisfying(
            InferenceException.class,
            e -> {
              assertThat(e.code()).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
              assertThat(e.description()).contains("request_timeout_ms=200");
            });
    assertThat(gate.markersRun()).containsExactly(1f);
  }

  @Test
  void batching_refusedValueInBatch_onlyItsRequestFails() throws Exception {
    start(batching(8, 0, 16));
    CompletableFuture<InferResult> running = async(row(1));
    assertThat(gate.awaitEntered()).isTrue();
    CompletableFuture<InferResult> bad = async(row(Float.NaN));
    await(() -> scheduler().queuedJobs() == 1, "the bad request queued");
    CompletableFuture<InferResult> good = async(row(6));
    await(() -> scheduler().queuedJobs() == 2, "the good request queued");
    gate.open();
    running.get(5, TimeUnit.SECONDS);
    assertThat(good.get(5, TimeUnit.SECONDS).asFloats("sum")).containsExactly(6);
    assertThatThrownBy(() -> bad.get(5, TimeUnit.SECONDS))
        .cause()
        .isInstanceOfSatisfying(
            InferenceException.class,
            e -> assertThat(e.code()).isEqualTo(Status.Code.INVALID_ARGUMENT));
    ModelStatistics stats = stats();
    assertThat(stats.success().count()).isEqualTo(2);
    assertThat(stats.fail().count()).isEqualTo(1);
  }

  @Test
  void maxConcurrentRequests_oneMore_resourceExhaustedAtOnce() throws Exception {
    start(new ModelConfig(0, Optional.empty(), new SchedulingConfig(false, 100, 128, 1, 1, 0)));
    CompletableFuture<InferResult> running = async(row(1));
    assertThat(gate.awaitEntered()).isTrue();
    assertThatThrownBy(() -> client.infer(row(2)))
        .isInstanceOfSatisfying(
            InferenceException.class,
            e -> {
              assertThat(e.code()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
              assertThat(e.description()).contains("max_concurrent_requests=1");
            });
    gate.open();
    running.get(5, TimeUnit.SECONDS);
    assertThat(client.infer(row(3)).asFloats("sum")).containsExactly(3);
    assertThat(gate.markersRun()).containsExactly(1f, 3f);
  }

  @Test
  void direct_cancelledBeforeItRuns_isNotRun() throws Exception {
    start(ModelConfig.DEFAULT);
    InferRequest expired =
        InferRequest.builder("gate")
            .addFp32("x", new long[] {1, 4}, new float[] {9, 0, 0, 0})
            .deadline(Duration.ofNanos(1))
            .build();
    assertThatThrownBy(() -> client.infer(expired))
        .isInstanceOfSatisfying(
            InferenceException.class,
            e -> assertThat(e.code()).isEqualTo(Status.Code.DEADLINE_EXCEEDED));
    gate.open();
    assertThat(client.infer(row(2)).asFloats("sum")).containsExactly(2);
    assertThat(gate.markersRun()).containsExactly(2f);
  }

  @Test
  void stream_requestsOfOneStreamMerge_answersKeepRequestOrder() throws Exception {
    start(batching(8, 0, 16));
    CompletableFuture<InferResult> running = async(row(1));
    assertThat(gate.awaitEntered()).isTrue();
    List<CompletableFuture<InferResult>> answers = new java.util.ArrayList<>();
    try (InferStream stream = client.openStream()) {
      for (int marker = 2; marker <= 4; marker++) {
        answers.add(stream.send(row(marker)));
      }
      await(() -> scheduler().queuedJobs() == 3, "the stream's three requests queued");
      gate.open();
      for (int i = 0; i < 3; i++) {
        assertThat(answers.get(i).get(5, TimeUnit.SECONDS).asFloats("sum")).containsExactly(i + 2);
      }
    }
    running.get(5, TimeUnit.SECONDS);
    assertThat(gate.executions.get(1)).containsExactly(2f, 3f, 4f);
  }
}
