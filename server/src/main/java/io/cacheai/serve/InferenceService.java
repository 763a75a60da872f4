package io.cacheai.serve;

import inference.GRPCInferenceServiceGrpc;
import inference.GrpcService.ModelInferRequest;
import inference.GrpcService.ModelInferResponse;
import inference.GrpcService.ModelMetadataRequest;
import inference.GrpcService.ModelMetadataResponse;
import inference.GrpcService.ModelMetadataResponse.TensorMetadata;
import inference.GrpcService.ModelReadyRequest;
import inference.GrpcService.ModelReadyResponse;
import inference.GrpcService.ModelStreamInferResponse;
import inference.GrpcService.ServerLiveRequest;
import inference.GrpcService.ServerLiveResponse;
import inference.GrpcService.ServerMetadataRequest;
import inference.GrpcService.ServerMetadataResponse;
import inference.GrpcService.ServerReadyRequest;
import inference.GrpcService.ServerReadyResponse;
import io.cacheai.runtime.Tensor;
import io.cacheai.runtime.TensorSpec;
import io.cacheai.serve.cache.CacheKey;
import io.grpc.Status;
import io.grpc.StatusException;
import io.grpc.stub.StreamObserver;
import java.util.Map;
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

  private final ModelRepository repository;
  private final InferRequestDecoder decoder;
  private final String version;
  private final AtomicBoolean ready = new AtomicBoolean(true);
  private final CachedResponses cache;

  public InferenceService(ModelRepository repository, String version) {
    this(repository, version, null);
  }

  /** With {@code cache} (null for none) consulted before running models whose config enables it. */
  public InferenceService(ModelRepository repository, String version, CachedResponses cache) {
    this.repository = repository;
    this.decoder = new InferRequestDecoder(repository);
    this.version = version;
    this.cache = cache;
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
   * Name, version and the protocol extensions supported. The list is empty: none of the optional
   * extensions (model repository control, statistics, shared memory, classification, ...) is
   * implemented, and a client must not be told otherwise.
   */
  @Override
  public void serverMetadata(
      ServerMetadataRequest request, StreamObserver<ServerMetadataResponse> out) {
    out.onNext(
        ServerMetadataResponse.newBuilder().setName(ServerInfo.NAME).setVersion(version).build());
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

  @Override
  public void modelInfer(ModelInferRequest request, StreamObserver<ModelInferResponse> out) {
    ModelInferResponse response;
    try {
      response = infer(request);
    } catch (StatusException e) {
      out.onError(e);
      return;
    }
    out.onNext(response);
    out.onCompleted();
  }

  /**
   * Each request is answered by one response in order: the inference result, or the error as {@code
   * error_message} ("CODE: description") with the request's id and model, and the stream goes on.
   * Only the client ends the stream.
   */
  @Override
  public StreamObserver<ModelInferRequest> modelStreamInfer(
      StreamObserver<ModelStreamInferResponse> out) {
    return new StreamObserver<>() {
      @Override
      public void onNext(ModelInferRequest request) {
        ModelStreamInferResponse.Builder response = ModelStreamInferResponse.newBuilder();
        try {
          response.setInferResponse(infer(request));
        } catch (StatusException e) {
          Status status = e.getStatus();
          response
              .setErrorMessage(status.getCode() + ": " + status.getDescription())
              .setInferResponse(
                  ModelInferResponse.newBuilder()
                      .setId(request.getId())
                      .setModelName(request.getModelName())
                      .setModelVersion(request.getModelVersion()));
        }
        out.onNext(response.build());
      }

      @Override
      public void onError(Throwable t) {
        log.log(Level.FINE, "ModelStreamInfer cancelled by the client", t);
      }

      @Override
      public void onCompleted() {
        out.onCompleted();
      }
    };
  }

  /**
   * Decodes, looks up in the response cache when enabled for the model, else runs and encodes (and
   * stores the answer); every failure comes back as a StatusException and is never cached.
   */
  private ModelInferResponse infer(ModelInferRequest request) throws StatusException {
    DecodedRequest decoded = decoder.decode(request);
    if (cache == null || !cache.enabledFor(decoded.model())) {
      return run(decoded, request);
    }
    CacheKey key = cache.key(decoded);
    ModelInferResponse cached = cache.lookup(key, decoded);
    if (cached != null) {
      return cached;
    }
    ModelInferResponse response = run(decoded, request);
    cache.store(key, response);
    return response;
  }

  private ModelInferResponse run(DecodedRequest decoded, ModelInferRequest request)
      throws StatusException {
    ServedModel served = decoded.model();
    Map<String, Tensor> results;
    try {
      results = served.model().infer(decoded.inputs());
    } catch (IllegalArgumentException e) {
      throw InvalidRequest.invalid("model '" + served + "' refused the request: " + e.getMessage());
    } catch (RuntimeException | LinkageError | AssertionError | StackOverflowError e) {
      log.log(Level.WARNING, "model " + served + " failed on request id=" + request.getId(), e);
      throw InvalidRequest.internal(
          "model '" + served + "' failed: " + e.getClass().getSimpleName() + ": " + e.getMessage(),
          e);
    }
    try {
      return InferResponseEncoder.encode(decoded, results == null ? Map.of() : results);
    } catch (RuntimeException e) {
      log.log(Level.WARNING, "model " + served + " returned a bad result", e);
      throw InvalidRequest.internal(e.getMessage(), e);
    }
  }
}
