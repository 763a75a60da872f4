package io.cacheai.client;

import inference.GRPCInferenceServiceGrpc;
import inference.GRPCInferenceServiceGrpc.GRPCInferenceServiceBlockingStub;
import inference.GrpcService;
import inference.GrpcService.ModelInferResponse;
import inference.GrpcService.ModelMetadataRequest;
import inference.GrpcService.ModelMetadataResponse;
import inference.GrpcService.ModelReadyRequest;
import inference.GrpcService.ModelStatisticsRequest;
import inference.GrpcService.RepositoryIndexRequest;
import inference.GrpcService.RepositoryModelLoadRequest;
import inference.GrpcService.RepositoryModelUnloadRequest;
import inference.GrpcService.ServerLiveRequest;
import inference.GrpcService.ServerMetadataRequest;
import inference.GrpcService.ServerMetadataResponse;
import inference.GrpcService.ServerReadyRequest;
import io.grpc.Channel;
import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A blocking client for any Open Inference Protocol (KServe v2) gRPC server, cacheai's or not.
 *
 * <p>It hides the protobuf messages behind small records and plain arrays, gives every call a
 * deadline (so a stuck server never hangs the caller), and turns gRPC failures into {@link
 * InferenceException}s that keep the status code and name the model.
 *
 * <pre>{@code
 * try (InferenceClient client =
 *     InferenceClient.builder()
 *         .target("127.0.0.1:8001")
 *         .defaultDeadline(Duration.ofSeconds(2))
 *         .build()) {
 *   float[] logits = client.inferFloats("mnist-cnn", "input", new long[] {1, 1, 28, 28}, pixels);
 * }
 * }</pre>
 *
 * <p><b>Ownership.</b> Built from a {@link Builder#target target}, the client creates a plaintext
 * channel and owns it: {@link #close()} shuts it down, gracefully then forcibly. Built from an
 * existing {@link Builder#channel channel}, it never shuts that channel down; its owner does.
 *
 * <p><b>Deadlines.</b> Every call gets the client's default deadline; {@link #withDeadline} returns
 * a view with another one for a few calls, and an {@link InferRequest} may carry its own.
 *
 * <p>Beyond inference: Triton's extensions, which cacheai and Triton serve — {@link
 * #repositoryIndex}, {@link #loadModel}, {@link #unloadModel} (model repository), {@link
 * #modelStatistics} (statistics) and {@link #openStream} (ModelStreamInfer, see {@link
 * InferStream}).
 *
 * <p>Instances are thread-safe: calls share one channel, which multiplexes them over HTTP/2.
 */
public final class InferenceClient implements AutoCloseable {
  /** The default deadline of a call when the builder sets none. */
  public static final Duration DEFAULT_DEADLINE = Duration.ofSeconds(30);

  /** How long {@link #close()} waits for in-flight calls before cancelling them. */
  public static final Duration DEFAULT_CLOSE_TIMEOUT = Duration.ofSeconds(5);

  private final Channel channel;
  private final ManagedChannel ownedChannel;
  private final Duration defaultDeadline;
  private final Duration closeTimeout;
  private final AtomicBoolean closed;
  private final boolean view;
  private final GRPCInferenceServiceBlockingStub stub;

  private InferenceClient(
      Channel channel,
      ManagedChannel ownedChannel,
      Duration defaultDeadline,
      Duration closeTimeout,
      AtomicBoolean closed,
      boolean view) {
    this.view = view;
    this.channel = channel;
    this.ownedChannel = ownedChannel;
    this.defaultDeadline = defaultDeadline;
    this.closeTimeout = closeTimeout;
    this.closed = closed;
    this.stub = GRPCInferenceServiceGrpc.newBlockingStub(channel);
  }

  public static Builder builder() {
    return new Builder();
  }

  /**
   * A view of this client whose calls use {@code deadline} instead of the default. It shares the
   * channel and never closes it; closing this client also ends the view.
   */
  public InferenceClient withDeadline(Duration deadline) {
    return new InferenceClient(
        channel, null, requirePositive(deadline, "deadline"), closeTimeout, closed, true);
  }

  /** The deadline each call gets unless the request carries its own. */
  public Duration defaultDeadline() {
    return defaultDeadline;
  }

  /** Whether the server is live (able to answer at all). */
  public boolean isServerLive() {
    return call("ServerLive", "", d -> stub(d).serverLive(ServerLiveRequest.getDefaultInstance()))
        .getLive();
  }

  /** Whether the server is ready to serve inference. */
  public boolean isServerReady() {
    return call(
            "ServerReady", "", d -> stub(d).serverReady(ServerReadyRequest.getDefaultInstance()))
        .getReady();
  }

  /** Whether model {@code name} (its newest version) is ready. */
  public boolean isModelReady(String name) {
    return isModelReady(name, "");
  }

  /** Whether version {@code version} of model {@code name} is ready; empty means the newest. */
  public boolean isModelReady(String name, String version) {
    ModelReadyRequest request =
        ModelReadyRequest.newBuilder().setName(name).setVersion(version).build();
    return call("ModelReady", modelContext(name, version), d -> stub(d).modelReady(request))
        .getReady();
  }

  /** The server's name, version and extensions. */
  public ServerMetadata serverMetadata() {
    ServerMetadataResponse r =
        call(
            "ServerMetadata",
            "",
            d -> stub(d).serverMetadata(ServerMetadataRequest.getDefaultInstance()));
    return new ServerMetadata(r.getName(), r.getVersion(), r.getExtensionsList());
  }

  /** The metadata of model {@code name} (its newest version). */
  public ModelMetadata modelMetadata(String name) {
    return modelMetadata(name, "");
  }

  /** The metadata of version {@code version} of model {@code name}; empty means the newest. */
  public ModelMetadata modelMetadata(String name, String version) {
    ModelMetadataRequest request =
        ModelMetadataRequest.newBuilder().setName(name).setVersion(version).build();
    ModelMetadataResponse r =
        call("ModelMetadata", modelContext(name, version), d -> stub(d).modelMetadata(request));
    return new ModelMetadata(
        r.getName(),
        r.getVersionsList(),
        r.getPlatform(),
        r.getInputsList().stream().map(InferenceClient::tensorMetadata).toList(),
        r.getOutputsList().stream().map(InferenceClient::tensorMetadata).toList());
  }

  /** Runs one request; its own deadline, if any, overrides the default. */
  public InferResult infer(InferRequest request) {
    String context = modelContext(request.modelName(), request.modelVersion());
    Duration deadline = request.deadline().orElse(defaultDeadline);
    ModelInferResponse response =
        callWith(deadline, "ModelInfer", context, d -> stub(d).modelInfer(request.toProto()));
    return new InferResult(response, context);
  }

  /**
   * Runs a model with one FP32 input and returns its first output's elements. The input travels as
   * raw little-endian bytes.
   *
   * @param shape the input's full shape, batch dimension included (e.g. {@code [1, 1, 28, 28]})
   */
  public float[] inferFloats(String model, String inputName, long[] shape, float[] values) {
    InferRequest request =
        InferRequest.builder(model).rawInputs(true).addFp32(inputName, shape, values).build();
    InferResult result = infer(request);
    return result.asFloats(firstOutput(result, model));
  }

  /**
   * Runs a batch of rows in one request and splits the first output back into one row per input
   * row. All rows share {@code rowShape} (the input shape without its batch dimension).
   */
  public float[][] inferBatch(String model, String inputName, float[][] rows, long[] rowShape) {
    if (rows.length == 0) {
      throw new IllegalArgumentException("model=" + model + ": batch has no rows");
    }
    int rowSize = Shapes.elementCount("input '" + inputName + "' row", rowShape);
    float[] flat = new float[Math.multiplyExact(rows.length, rowSize)];
    for (int r = 0; r < rows.length; r++) {
      if (rows[r].length != rowSize) {
        throw new IllegalArgumentException(
            "input '"
                + inputName
                + "': row "
                + r
                + " has "
                + rows[r].length
                + " values but row shape "
                + Arrays.toString(rowShape)
                + " holds "
                + rowSize);
      }
      System.arraycopy(rows[r], 0, flat, r * rowSize, rowSize);
    }
    InferRequest request =
        InferRequest.builder(model)
            .rawInputs(true)
            .addFp32(inputName, Shapes.batchOf(rows.length, rowShape), flat)
            .build();
    InferResult result = infer(request);
    String output = firstOutput(result, model);
    long[] outShape = result.shape(output);
    float[] values = result.asFloats(output);
    if (outShape.length == 0 || outShape[0] != rows.length) {
      throw InferenceException.malformedResponse(
          "ModelInfer",
          modelContext(model, ""),
          "output '"
              + output
              + "' has shape "
              + Arrays.toString(outShape)
              + " for a batch of "
              + rows.length
              + " rows");
    }
    int outRowSize = values.length / rows.length;
    float[][] out = new float[rows.length][];
    for (int r = 0; r < rows.length; r++) {
      out[r] = Arrays.copyOfRange(values, r * outRowSize, (r + 1) * outRowSize);
    }
    return out;
  }

  /**
   * The server's model repository (Triton's RepositoryIndex): every model with its state.
   *
   * @param readyOnly list only the model versions that serve
   */
  public List<RepositoryModel> repositoryIndex(boolean readyOnly) {
    RepositoryIndexRequest request =
        RepositoryIndexRequest.newBuilder().setReady(readyOnly).build();
    return call("RepositoryIndex", "", d -> stub(d).repositoryIndex(request))
        .getModelsList()
        .stream()
        .map(m -> new RepositoryModel(m.getName(), m.getVersion(), m.getState(), m.getReason()))
        .toList();
  }

  /**
   * Loads model {@code name} from the server's repository, or reloads it (new and changed versions
   * load beside the running ones, then switch). Returns once the server serves them.
   *
   * @throws InferenceException NOT_FOUND when the repository has no such model, INVALID_ARGUMENT
   *     when it fails to load (what was served stays served)
   */
  public void loadModel(String name) {
    RepositoryModelLoadRequest request =
        RepositoryModelLoadRequest.newBuilder().setModelName(name).build();
    call("RepositoryModelLoad", modelContext(name, ""), d -> stub(d).repositoryModelLoad(request));
  }

  /**
   * Unloads model {@code name}: new requests get NOT_FOUND at once, running ones finish.
   *
   * @throws InferenceException NOT_FOUND when the server knows no such model
   */
  public void unloadModel(String name) {
    RepositoryModelUnloadRequest request =
        RepositoryModelUnloadRequest.newBuilder().setModelName(name).build();
    call(
        "RepositoryModelUnload",
        modelContext(name, ""),
        d -> stub(d).repositoryModelUnload(request));
  }

  /** The statistics of every loaded version of every model. */
  public List<ModelStatistics> modelStatistics() {
    return modelStatistics("", "");
  }

  /**
   * The statistics of model {@code name} at {@code version}: every loaded version when {@code
   * version} is empty, every model when {@code name} is empty too.
   *
   * @throws InferenceException NOT_FOUND when that model (version) is not loaded
   */
  public List<ModelStatistics> modelStatistics(String name, String version) {
    ModelStatisticsRequest request =
        ModelStatisticsRequest.newBuilder().setName(name).setVersion(version).build();
    return call(
            "ModelStatistics", modelContext(name, version), d -> stub(d).modelStatistics(request))
        .getModelStatsList()
        .stream()
        .map(InferenceClient::statistics)
        .toList();
  }

  /**
   * Opens a ModelStreamInfer stream whose whole life is bounded by the client's default deadline.
   * Close it when done.
   */
  public InferStream openStream() {
    return openStream(defaultDeadline);
  }

  /** Opens a ModelStreamInfer stream whose whole life is bounded by {@code deadline}. */
  public InferStream openStream(Duration deadline) {
    if (closed.get()) {
      throw new IllegalStateException("InferenceClient is closed; stream not opened");
    }
    return new InferStream(
        GRPCInferenceServiceGrpc.newStub(channel),
        requirePositive(deadline, "deadline"),
        closeTimeout);
  }

  private static ModelStatistics statistics(GrpcService.ModelStatistics s) {
    GrpcService.InferStatistics i = s.getInferenceStats();
    return new ModelStatistics(
        s.getName(),
        s.getVersion(),
        s.getLastInference(),
        s.getInferenceCount(),
        s.getExecutionCount(),
        duration(i.getSuccess()),
        duration(i.getFail()),
        duration(i.getQueue()),
        duration(i.getComputeInput()),
        duration(i.getComputeInfer()),
        duration(i.getComputeOutput()),
        duration(i.getCacheHit()),
        duration(i.getCacheMiss()),
        s.getBatchStatsList().stream()
            .map(
                b ->
                    new ModelStatistics.Batch(
                        b.getBatchSize(),
                        duration(b.getComputeInput()),
                        duration(b.getComputeInfer()),
                        duration(b.getComputeOutput())))
            .toList());
  }

  private static ModelStatistics.Duration duration(GrpcService.StatisticDuration d) {
    return new ModelStatistics.Duration(d.getCount(), d.getNs());
  }

  /**
   * Shuts an owned channel down: stops new calls, waits up to the close timeout for in-flight ones,
   * then cancels what is left. A client built on a caller's channel leaves it open. Safe to call
   * more than once; calls after close fail with {@link IllegalStateException}.
   */
  @Override
  public void close() {
    if (view) {
      return;
    }
    if (ownedChannel == null) {
      closed.set(true);
      return;
    }
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    ownedChannel.shutdown();
    try {
      if (!ownedChannel.awaitTermination(closeTimeout.toNanos(), TimeUnit.NANOSECONDS)) {
        ownedChannel.shutdownNow();
        ownedChannel.awaitTermination(closeTimeout.toNanos(), TimeUnit.NANOSECONDS);
      }
    } catch (InterruptedException e) {
      ownedChannel.shutdownNow();
      Thread.currentThread().interrupt();
    }
  }

  /** The channel this client owns, or null; for tests of {@link #close()}. */
  ManagedChannel ownedChannel() {
    return ownedChannel;
  }

  private GRPCInferenceServiceBlockingStub stub(Duration deadline) {
    return stub.withDeadlineAfter(deadline.toNanos(), TimeUnit.NANOSECONDS);
  }

  private <T> T call(String rpc, String context, RpcCall<T> rpcCall) {
    return callWith(defaultDeadline, rpc, context, rpcCall);
  }

  private <T> T callWith(Duration deadline, String rpc, String context, RpcCall<T> rpcCall) {
    if (closed.get()) {
      throw new IllegalStateException("InferenceClient is closed; " + rpc + " not sent");
    }
    try {
      return rpcCall.run(deadline);
    } catch (StatusRuntimeException e) {
      throw InferenceException.fromGrpc(rpc, context, e);
    }
  }

  private static String firstOutput(InferResult result, String model) {
    List<String> names = result.outputNames();
    if (names.isEmpty()) {
      throw InferenceException.malformedResponse(
          "ModelInfer", modelContext(model, ""), "response has no outputs");
    }
    return names.get(0);
  }

  private static String modelContext(String name, String version) {
    return "model=" + name + (version.isEmpty() ? "" : " version=" + version);
  }

  private static TensorMetadata tensorMetadata(ModelMetadataResponse.TensorMetadata t) {
    return new TensorMetadata(
        t.getName(),
        t.getDatatype(),
        t.getShapeList().stream().mapToLong(Long::longValue).toArray());
  }

  static Duration requirePositive(Duration d, String what) {
    Objects.requireNonNull(d, what);
    if (d.isNegative() || d.isZero()) {
      throw new IllegalArgumentException(what + " must be positive, was " + d);
    }
    return d;
  }

  /** One blocking rpc, given the deadline to apply. */
  @FunctionalInterface
  private interface RpcCall<T> {
    T run(Duration deadline);
  }

  /** Configures a client; set exactly one of {@link #target} and {@link #channel}. */
  public static final class Builder {
    private String target;
    private Channel channel;
    private Duration defaultDeadline = DEFAULT_DEADLINE;
    private Duration closeTimeout = DEFAULT_CLOSE_TIMEOUT;
    private int maxInboundMessageBytes = 64 << 20;
    private Path tlsTrustRoots;
    private Path tlsClientCert;
    private Path tlsClientKey;

    private Builder() {}

    /**
     * The server address, {@code host:port} or any gRPC target URI. The client creates and owns a
     * plaintext channel to it.
     */
    public Builder target(String target) {
      this.target = Objects.requireNonNull(target, "target");
      return this;
    }

    /** An existing channel to use; the client never shuts it down. */
    public Builder channel(Channel channel) {
      this.channel = Objects.requireNonNull(channel, "channel");
      return this;
    }

    /** The deadline of every call that does not set its own; default 30 s. */
    public Builder defaultDeadline(Duration deadline) {
      this.defaultDeadline = requirePositive(deadline, "defaultDeadline");
      return this;
    }

    /** How long {@link #close()} waits for in-flight calls before cancelling them; default 5 s. */
    public Builder closeTimeout(Duration timeout) {
      this.closeTimeout = requirePositive(timeout, "closeTimeout");
      return this;
    }

    /**
     * The largest response the owned channel accepts; default 64 MiB (gRPC's own default of 4 MiB
     * is too small for a large batch of logits).
     */
    public Builder maxInboundMessageBytes(int bytes) {
      if (bytes <= 0) {
        throw new IllegalArgumentException("maxInboundMessageBytes must be positive, was " + bytes);
      }
      this.maxInboundMessageBytes = bytes;
      return this;
    }

    /**
     * Connect with TLS, trusting the CA certificates in {@code caPem} (PEM) for the server's
     * certificate, instead of plaintext. Only with {@link #target}.
     */
    public Builder tlsTrustRoots(Path caPem) {
      this.tlsTrustRoots = Objects.requireNonNull(caPem, "caPem");
      return this;
    }

    /**
     * Present this client certificate chain ({@code certPem}) and private key ({@code keyPem},
     * PKCS#8 PEM) in the TLS handshake, for servers that require mutual TLS. Implies TLS; the
     * server is verified against {@link #tlsTrustRoots} when set, else the JVM's default trust
     * store.
     */
    public Builder tlsClientCertificate(Path certPem, Path keyPem) {
      this.tlsClientCert = Objects.requireNonNull(certPem, "certPem");
      this.tlsClientKey = Objects.requireNonNull(keyPem, "keyPem");
      return this;
    }

    private ChannelCredentials credentials() {
      if (tlsTrustRoots == null && tlsClientCert == null) {
        return InsecureChannelCredentials.create();
      }
      TlsChannelCredentials.Builder tls = TlsChannelCredentials.newBuilder();
      try {
        if (tlsTrustRoots != null) {
          tls.trustManager(readable("tlsTrustRoots", tlsTrustRoots).toFile());
        }
        if (tlsClientCert != null) {
          tls.keyManager(
              readable("tlsClientCert", tlsClientCert).toFile(),
              readable("tlsClientKey", tlsClientKey).toFile());
        }
      } catch (IOException e) {
        throw new IllegalArgumentException("cannot read TLS material: " + e.getMessage(), e);
      }
      return tls.build();
    }

    private static Path readable(String what, Path file) {
      if (!Files.isRegularFile(file) || !Files.isReadable(file)) {
        throw new IllegalArgumentException(what + "=" + file + " is not a readable file");
      }
      return file;
    }

    public InferenceClient build() {
      if ((target == null) == (channel == null)) {
        throw new IllegalStateException("set exactly one of target and channel");
      }
      if (channel != null && (tlsTrustRoots != null || tlsClientCert != null)) {
        throw new IllegalStateException("TLS options apply to target, not to an existing channel");
      }
      AtomicBoolean closed = new AtomicBoolean();
      if (channel != null) {
        return new InferenceClient(channel, null, defaultDeadline, closeTimeout, closed, false);
      }
      ManagedChannelBuilder<?> b =
          Grpc.newChannelBuilder(target, credentials())
              .maxInboundMessageSize(maxInboundMessageBytes);
      ManagedChannel owned = b.build();
      return new InferenceClient(owned, owned, defaultDeadline, closeTimeout, closed, false);
    }
  }
}
