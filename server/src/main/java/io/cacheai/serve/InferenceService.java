package io.cacheai.serve;

import inference.GRPCInferenceServiceGrpc;
import inference.GrpcService.ModelInferRequest;
import inference.GrpcService.ModelInferResponse;
import inference.GrpcService.ModelMetadataRequest;
import inference.GrpcService.ModelMetadataResponse;
import inference.GrpcService.ModelMetadataResponse.TensorMetadata;
import inference.GrpcService.ModelReadyRequest;
import inference.GrpcService.ModelReadyResponse;
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
import inference.GrpcService.ServerLiveRequest;
import inference.GrpcService.ServerLiveResponse;
import inference.GrpcService.ServerMetadataRequest;
import inference.GrpcService.ServerMetadataResponse;
import inference.GrpcService.ServerReadyRequest;
import inference.GrpcService.ServerReadyResponse;
import io.cacheai.runtime.TensorSpec;
import io.grpc.Status;
import io.grpc.StatusException;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The Open Inference Protocol (KServe v2) over gRPC, answered from a {@link ModelRepository}.
 *
 * <p>Thin on purpose: requests are checked and decoded by {@link InferRequestDecoder}, responses
 * built by {@link InferResponseEncoder}; this class maps outcomes to the protocol. Errors are
 * {@link Status}es: NOT_FOUND for a model or version that is not served, INVALID_ARGUMENT for a
 * request that does not fit the model (and for a model's own {@link IllegalArgumentException}
 * refusal), INTERNAL for anything else that went wrong while running it. A failed request leaves
 * nothing behind, so the next one is served as if it had not happened.
 */
public final class InferenceService extends GRPCInferenceServiceGrpc.GRPCInferenceServiceImplBase {
  private static final Logger log = Logger.getLogger(InferenceService.class.getName());

  /** Triton's name of the model repository extension. */
  static final String EXT_REPOSITORY = "model_repository";

  /** Triton's name of the statistics extension. */
  static final String EXT_STATISTICS = "statistics";

  private final ModelRepository repository;
  private final InferencePipeline pipeline;
  private final String version;
  private final AtomicBoolean ready = new AtomicBoolean(true);

  public InferenceService(ModelRepository repository, String version) {
    this(repository, version, null);
  }

  /** With {@code cache} (null for none) consulted before running models whose config enables it. */
  public InferenceService(ModelRepository repository, String version, CachedResponses cache) {
    this(repository, version, cache, ServingMetrics.NONE);
  }

  /** As above, reporting each execution's batch size and each request's queue and compute time. */
  public InferenceService(
      ModelRepository repository, String version, CachedResponses cache, ServingMetrics metrics) {
    this.repository = repository;
    this.pipeline = new InferencePipeline(repository, cache, metrics);
    this.version = version;
  }

  /** From now on ServerReady answers false (the server is shutting down). */
  void markNotReady() {
    ready.set(false);
  }

  @Override
  public void serverLive(ServerLiveRequest request, StreamObserver<ServerLiveResponse> out) {
    out.onNext(ServerLiveResponse.newBuilder().setLive(true).build());
    out.onCompleted();
  }

  /** Ready while not shutting down and serving at least one model. */
  @Override
  public void serverReady(ServerReadyRequest request, StreamObserver<ServerReadyResponse> out) {
    boolean isReady = ready.get() && !repository.isEmpty();
    out.onNext(ServerReadyResponse.newBuilder().setReady(isReady).build());
    out.onCompleted();
  }

  /** Ready when that model version is served; false (not an error) when it is not. */
  @Override
  public void modelReady(ModelReadyRequest request, StreamObserver<ModelReadyResponse> out) {
    boolean isReady =
        ready.get() && repository.find(request.getName(), request.getVersion()).isPresent();
    out.onNext(ModelReadyResponse.newBuilder().setReady(isReady).build());
    out.onCompleted();
  }

  /**
   * Name, version and the protocol extensions supported, spelled as Triton does: {@value
   * #EXT_REPOSITORY} (RepositoryIndex/ModelLoad/ModelUnload) and {@value #EXT_STATISTICS}
   * (ModelStatistics). The other optional extensions (shared memory, classification, ...) are not
   * implemented, and a client must not be told otherwise.
   */
  @Override
  public void serverMetadata(
      ServerMetadataRequest request, StreamObserver<ServerMetadataResponse> out) {
    out.onNext(
        ServerMetadataResponse.newBuilder()
            .setName(ServerInfo.NAME)
            .setVersion(version)
            .addExtensions(EXT_REPOSITORY)
            .addExtensions(EXT_STATISTICS)
            .build());
    out.onCompleted();
  }

  /** Inputs and outputs of the model (dynamic dimensions as -1) and all its served versions. */
  @Override
  public void modelMetadata(
      ModelMetadataRequest request, StreamObserver<ModelMetadataResponse> out) {
    ServedModel served;
    try {
      served = ModelResolver.resolve(repository, request.getName(), request.getVersion());
    } catch (StatusException e) {
      out.onError(e);
      return;
    }
    ModelMetadataResponse.Builder response =
        ModelMetadataResponse.newBuilder()
            .setName(served.name())
            .setPlatform(served.model().platform());
    repository.versions(served.name()).forEach(v -> response.addVersions(Long.toString(v)));
    served.model().inputs().forEach(spec -> response.addInputs(metadata(spec)));
    served.model().outputs().forEach(spec -> response.addOutputs(metadata(spec)));
    out.onNext(response.build());
    out.onCompleted();
  }

  private static TensorMetadata metadata(TensorSpec spec) {
    TensorMetadata.Builder tensor =
        TensorMetadata.newBuilder().setName(spec.name()).setDatatype(spec.dataType().wireName());
    for (long dim : spec.shape()) {
      tensor.addShape(dim);
    }
    return tensor.build();
  }

  /**
   * Answered when the model has run it: at once for a model without batching, after its batch for a
   * batching one (the call thread is not held meanwhile).
   */
  @Override
  public void modelInfer(ModelInferRequest request, StreamObserver<ModelInferResponse> out) {
    pipeline
        .submit(request)
        .whenComplete(
            (response, error) -> {
              try {
                if (error != null) {
                  out.onError(BatchRunner.statusOf(error));
                } else {
                  out.onNext(response);
                  out.onCompleted();
                }
              } catch (RuntimeException e) {
                // The call is gone (cancelled by the client); nothing to answer.
                log.log(Level.FINE, "ModelInfer answer not sent", e);
              }
            });
  }

  /**
   * Each request is answered by one response in order: the inference result, or the error as {@code
   * error_message} ("CODE: description") with the request's id and model, and the stream goes on.
   * Requests are not run one after another: each is submitted as it arrives (so a stream's requests
   * can share a batch), and the answers are sent in request order as they complete. Only the client
   * ends the stream; the end is sent after the last answer.
   */
  @Override
  public StreamObserver<ModelInferRequest> modelStreamInfer(
      StreamObserver<ModelStreamInferResponse> out) {
    return new StreamObserver<>() {
      /** Completes when every answer so far has been sent; answers are chained in order. */
      private CompletableFuture<Void> sent = CompletableFuture.completedFuture(null);

      @Override
      public void onNext(ModelInferRequest request) {
        CompletableFuture<ModelStreamInferResponse> answer =
            pipeline
                .submit(request)
                .handle((response, error) -> streamAnswer(request, response, error));
        synchronized (this) {
          sent = sent.thenCombine(answer, (done, message) -> send(message));
        }
      }

      private Void send(ModelStreamInferResponse message) {
        try {
          out.onNext(message);
        } catch (RuntimeException e) {
          log.log(Level.FINE, "ModelStreamInfer answer not sent (stream gone)", e);
        }
        return null;
      }

      @Override
      public void onError(Throwable t) {
        log.log(Level.FINE, "ModelStreamInfer cancelled by the client", t);
      }

      @Override
      public void onCompleted() {
        synchronized (this) {
          sent =
              sent.whenComplete(
                  (done, error) -> {
                    try {
                      out.onCompleted();
                    } catch (RuntimeException e) {
                      log.log(Level.FINE, "ModelStreamInfer not completed (stream gone)", e);
                    }
                  });
        }
      }
    };
  }

  private static ModelStreamInferResponse streamAnswer(
      ModelInferRequest request, ModelInferResponse response, Throwable error) {
    if (error == null) {
      return ModelStreamInferResponse.newBuilder().setInferResponse(response).build();
    }
    Status status = BatchRunner.statusOf(error).getStatus();
    return ModelStreamInferResponse.newBuilder()
        .setErrorMessage(status.getCode() + ": " + status.getDescription())
        .setInferResponse(
            ModelInferResponse.newBuilder()
                .setId(request.getId())
                .setModelName(request.getModelName())
                .setModelVersion(request.getModelVersion()))
        .build();
  }

  /**
   * The statistics of every loaded version of the named model (of every model when the name is
   * empty), or of one version. NOT_FOUND when the model or version is not loaded.
   */
  @Override
  public void modelStatistics(
      ModelStatisticsRequest request, StreamObserver<ModelStatisticsResponse> out) {
    String name = request.getName();
    String version = request.getVersion();
    if (name.isEmpty() && !version.isEmpty()) {
      out.onError(InvalidRequest.invalid("version '" + version + "' given without a model name"));
      return;
    }
    if (!name.isEmpty()) {
      try {
        ModelResolver.resolve(repository, name, version);
      } catch (StatusException e) {
        out.onError(e);
        return;
      }
    }
    ModelStatisticsResponse.Builder response = ModelStatisticsResponse.newBuilder();
    for (LoadedModel loaded : repository.loaded(name)) {
      ServedModel served = loaded.served();
      if (version.isEmpty() || served.versionString().equals(normalize(version))) {
        response.addModelStats(loaded.stats().snapshot(served.name(), served.versionString()));
      }
    }
    out.onNext(response.build());
    out.onCompleted();
  }

  private static String normalize(String version) {
    try {
      return Long.toString(Long.parseLong(version));
    } catch (NumberFormatException e) {
      return version;
    }
  }

  /** Every model of the repository with its state; with {@code ready}, only the served ones. */
  @Override
  public void repositoryIndex(
      RepositoryIndexRequest request, StreamObserver<RepositoryIndexResponse> out) {
    RepositoryIndexResponse.Builder response = RepositoryIndexResponse.newBuilder();
    for (ModelRepository.IndexEntry entry : repository.index()) {
      if (request.getReady() && !entry.state().equals(ModelRepository.READY)) {
        continue;
      }
      response.addModels(
          ModelIndex.newBuilder()
              .setName(entry.name())
              .setVersion(entry.version())
              .setState(entry.state())
              .setReason(entry.reason()));
    }
    out.onNext(response.build());
    out.onCompleted();
  }

  /** Loads or reloads a model; answers once the new versions serve (see ModelRepository). */
  @Override
  public void repositoryModelLoad(
      RepositoryModelLoadRequest request, StreamObserver<RepositoryModelLoadResponse> out) {
    try {
      checkNoParameters(request.getParametersMap().keySet());
      repository.loadModel(request.getModelName());
    } catch (StatusException e) {
      out.onError(e);
      return;
    }
    out.onNext(RepositoryModelLoadResponse.getDefaultInstance());
    out.onCompleted();
  }

  /** Unloads a model; answers at once, its versions close after their running requests. */
  @Override
  public void repositoryModelUnload(
      RepositoryModelUnloadRequest request, StreamObserver<RepositoryModelUnloadResponse> out) {
    try {
      checkNoParameters(request.getParametersMap().keySet());
      repository.unloadModel(request.getModelName());
    } catch (StatusException e) {
      out.onError(e);
      return;
    }
    out.onNext(RepositoryModelUnloadResponse.getDefaultInstance());
    out.onCompleted();
  }

  private static void checkNoParameters(java.util.Set<String> names) throws StatusException {
    if (!names.isEmpty()) {
      throw InvalidRequest.invalid(
          "parameters " + new java.util.TreeSet<>(names) + " are not supported; give none");
    }
  }
}
