package io.cacheai.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import inference.GRPCInferenceServiceGrpc.GRPCInferenceServiceImplBase;
import inference.GrpcService.InferBatchStatistics;
import inference.GrpcService.InferStatistics;
import inference.GrpcService.ModelInferRequest;
import inference.GrpcService.ModelInferResponse;
import inference.GrpcService.ModelStatisticsRequest;
import inference.GrpcService.ModelStatisticsResponse;
import inference.GrpcService.ModelStreamInferResponse;
import inference.GrpcService.RepositoryIndexRequest;
import inference.GrpcService.RepositoryIndexResponse;
import inference.GrpcService.RepositoryIndexResponse.ModelIndex;
import inference.GrpcService.RepositoryModelLoadRequest;
import inference.GrpcService.RepositoryModelLoadResponse;
import inference.GrpcService.RepositoryModelUnloadRequest;
import inference.GrpcService.RepositoryModelUnloadResponse;
import inference.GrpcService.StatisticDuration;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The repository, statistics and streaming helpers against a small scripted server. */
class RepositoryAndStreamTest {
  /**
   * Answers repository rpcs from fixed data, and a stream in pairs: the second request of each pair
   * first; a request to model "bad" gets an error_message.
   */
  static final class ScriptedService extends GRPCInferenceServiceImplBase {
    volatile RepositoryModelLoadRequest lastLoad;
    volatile RepositoryIndexRequest lastIndex;
    volatile ModelStatisticsRequest lastStats;

    @Override
    public void repositoryIndex(
        RepositoryIndexRequest request, StreamObserver<RepositoryIndexResponse> out) {
      lastIndex = request;
      out.onNext(
          RepositoryIndexResponse.newBuilder()
              .addModels(ModelIndex.newBuilder().setName("m").setVersion("1").setState("READY"))
              .addModels(
                  ModelIndex.newBuilder()
                      .setName("x")
                      .setState("UNAVAILABLE")
                      .setReason("unloaded"))
              .build());
      out.onCompleted();
    }

    @Override
    public void repositoryModelLoad(
        RepositoryModelLoadRequest request, StreamObserver<RepositoryModelLoadResponse> out) {
      lastLoad = request;
      if (!request.getModelName().equals("m")) {
        out.onError(Status.NOT_FOUND.withDescription("no model").asRuntimeException());
        return;
      }
      out.onNext(RepositoryModelLoadResponse.getDefaultInstance());
      out.onCompleted();
    }

    @Override
    public void repositoryModelUnload(
        RepositoryModelUnloadRequest request, StreamObserver<RepositoryModelUnloadResponse> out) {
      out.onError(Status.NOT_FOUND.withDescription("no such model").asRuntimeException());
    }

    @Override
    public void modelStatistics(
        ModelStatisticsRequest request, StreamObserver<ModelStatisticsResponse> out) {
      lastStats = request;
      StatisticDuration five = StatisticDuration.newBuilder().setCount(5).setNs(5000).build();
      out.onNext(
          ModelStatisticsResponse.newBuilder()
              .addModelStats(
                  inference.GrpcService.ModelStatistics.newBuilder()
                      .setName("m")
                      .setVersion("1")
                      .setLastInference(123)
                      .setInferenceCount(7)
                      .setExecutionCount(2)
                      .setInferenceStats(InferStatistics.newBuilder().setSuccess(five))
                      .addBatchStats(
                          InferBatchStatistics.newBuilder().setBatchSize(4).setComputeInfer(five)))
              .build());
      out.onCompleted();
    }

    @Override
    public StreamObserver<ModelInferRequest> modelStreamInfer(
        StreamObserver<ModelStreamInferResponse> out) {
      List<ModelInferRequest> held = new ArrayList<>();
      return new StreamObserver<>() {
        @Override
        public void onNext(ModelInferRequest request) {
          held.add(request);
          if (held.size() == 2) {
            answer(held.get(1));
            answer(held.get(0));
            held.clear();
          }
        }

        private void answer(ModelInferRequest request) {
          ModelInferResponse.Builder response =
              ModelInferResponse.newBuilder()
                  .setModelName(request.getModelName())
                  .setId(request.getId());
          ModelStreamInferResponse.Builder message = ModelStreamInferResponse.newBuilder();
          if (request.getModelName().equals("bad")) {
            message.setErrorMessage("INVALID_ARGUMENT: input 'x': wrong");
          } else {
            response.addOutputs(
                ModelInferResponse.InferOutputTensor.newBuilder()
                    .setName("id")
                    .setDatatype("BYTES")
                    .addShape(1)
                    .setContents(
                        inference.GrpcService.InferTensorContents.newBuilder()
                            .addBytesContents(
                                com.google.protobuf.ByteString.copyFromUtf8(request.getId()))));
          }
          out.onNext(message.setInferResponse(response).build());
        }

        @Override
        public void onError(Throwable t) {}

        @Override
        public void onCompleted() {
          held.forEach(this::answer);
          out.onCompleted();
        }
      };
    }
  }

  private final ScriptedService service = new ScriptedService();
  private Server server;
  private ManagedChannel channel;
  private InferenceClient client;

  @BeforeEach
  void setUp() throws Exception {
    String name = InProcessServerBuilder.generateName();
    server = InProcessServerBuilder.forName(name).addService(service).build().start();
    channel = InProcessChannelBuilder.forName(name).build();
    client =
        InferenceClient.builder().channel(channel).defaultDeadline(Duration.ofSeconds(10)).build();
  }

  @AfterEach
  void tearDown() throws Exception {
    client.close();
    channel.shutdownNow();
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  @Test
  void repositoryIndex_mapsEntriesAndReadyFlag() {
    List<RepositoryModel> index = client.repositoryIndex(true);
    assertThat(service.lastIndex.getReady()).isTrue();
    assertThat(index)
        .containsExactly(
            new RepositoryModel("m", "1", "READY", ""),
            new RepositoryModel("x", "", "UNAVAILABLE", "unloaded"));
    assertThat(index.get(0).isReady()).isTrue();
    assertThat(index.get(1).isReady()).isFalse();
  }

  @Test
  void loadAndUnload_sendNameAndKeepStatusCode() {
    client.loadModel("m");
    assertThat(service.lastLoad.getModelName()).isEqualTo("m");
    assertThatThrownBy(() -> client.unloadModel("z"))
        .isInstanceOfSatisfying(
            InferenceException.class,
            e -> {
              assertThat(e.code()).isEqualTo(Status.Code.NOT_FOUND);
              assertThat(e.getMessage()).contains("RepositoryModelUnload model=z");
            });
  }

  @Test
  void modelStatistics_mapsEveryField() {
    ModelStatistics stats = client.modelStatistics("m", "1").get(0);
    assertThat(service.lastStats.getName()).isEqualTo("m");
    assertThat(service.lastStats.getVersion()).isEqualTo("1");
    assertThat(stats.lastInferenceMs()).isEqualTo(123);
    assertThat(stats.inferenceCount()).isEqualTo(7);
    assertThat(stats.executionCount()).isEqualTo(2);
    assertThat(stats.success()).isEqualTo(new ModelStatistics.Duration(5, 5000));
    assertThat(stats.success().meanUs()).isEqualTo(1.0);
    assertThat(stats.fail()).isEqualTo(new ModelStatistics.Duration(0, 0));
    assertThat(stats.largestBatch()).isEqualTo(4);
    assertThat(stats.batchStats().get(0).computeInfer().count()).isEqualTo(5);
  }

  @Test
  void stream_answersOutOfOrder_matchedById_errorsKeepCode() {
    List<CompletableFuture<InferResult>> answers = new ArrayList<>();
    try (InferStream stream = client.openStream()) {
      for (int i = 0; i < 4; i++) {
        answers.add(stream.send(request(i == 2 ? "bad" : "m", "")));
      }
      answers.add(stream.send(request("m", "mine")));
    }
    for (int i : new int[] {0, 1, 3}) {
      assertThat(idOf(answers.get(i).join())).isEqualTo("stream-" + (i + 1));
    }
    assertThat(idOf(answers.get(4).join())).isEqualTo("mine");
    assertThatThrownBy(answers.get(2)::join)
        .cause()
        .isInstanceOfSatisfying(
            InferenceException.class,
            e -> {
              assertThat(e.code()).isEqualTo(Status.Code.INVALID_ARGUMENT);
              assertThat(e.description()).isEqualTo("input 'x': wrong");
            });
  }

  @Test
  void stream_afterClose_refusesToSend() {
    InferStream stream = client.openStream();
    stream.close();
    stream.close();
    assertThatThrownBy(() -> stream.send(request("m", "")))
        .isInstanceOf(IllegalStateException.class);
  }

  private static String idOf(InferResult result) {
    return new String(result.asBytes("id").get(0), java.nio.charset.StandardCharsets.UTF_8);
  }

  private static InferRequest request(String model, String id) {
    return InferRequest.builder(model)
        .id(id)
        .addFp32("x", new long[] {1, 1}, new float[] {1})
        .build();
  }
}
