package io.cacheai.bench.suite;

import com.google.protobuf.ByteString;
import inference.GRPCInferenceServiceGrpc;
import inference.GrpcService.ModelInferRequest;
import inference.GrpcService.ModelInferResponse;
import io.cacheai.serve.EmbeddedModels;
import io.cacheai.serve.InferenceServer;
import io.cacheai.serve.ModelRepository;
import io.cacheai.serve.OnnxModelLoader;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * The serving path against its ceiling, in one run: ModelInfer of one MNIST digit to cacheai's
 * server (mnist-cnn, fp32, loaded as {@code cacheai serve} loads it) and to a bare grpc-java
 * service of the same rpc that answers every request with a copy of cacheai's own answer — same
 * messages both ways, no model, no validation. Both listen on 127.0.0.1 ephemeral ports; the client
 * is one Netty channel per server with {@link ClosedLoopLoad}.
 */
final class GrpcSuite {
  static final String MODEL = "mnist-cnn";
  static final long FIRST_CALL_DEADLINE_S = 60;

  /** One measured point. {@code target} is {@code cacheai} or {@code echo}. */
  record Row(String target, int concurrency, WindowedMeasurement.Result result) {}

  private GrpcSuite() {}

  static List<Row> run(
      float[] digit,
      List<Integer> concurrencies,
      WindowedMeasurement.Settings settings,
      PrintStream log)
      throws Exception {
    ModelInferRequest request = request(digit);
    List<Row> rows = new ArrayList<>();
    try (ModelRepository repository = EmbeddedModels.load(new OnnxModelLoader());
        InferenceServer ours =
            InferenceServer.builder(repository).bind("127.0.0.1").port(0).build().start()) {
      ManagedChannel oursChannel = channel(ours.port());
      Server echo = null;
      ManagedChannel echoChannel = null;
      try {
        ModelInferResponse answer =
            GRPCInferenceServiceGrpc.newBlockingStub(oursChannel)
                .withWaitForReady() // a loaded machine can take seconds to connect
                .withDeadlineAfter(FIRST_CALL_DEADLINE_S, TimeUnit.SECONDS)
                .modelInfer(request);
        echo =
            NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                .addService(new EchoService(answer))
                .build()
                .start();
        echoChannel = channel(echo.getPort());
        GRPCInferenceServiceGrpc.newBlockingStub(echoChannel)
            .withWaitForReady()
            .withDeadlineAfter(FIRST_CALL_DEADLINE_S, TimeUnit.SECONDS)
            .modelInfer(request);
        log.printf(
            "== gRPC loopback: %s on cacheai (port %d) vs grpc-java echo (port %d), request %d B,"
                + " response %d B%n",
            MODEL,
            ours.port(),
            echo.getPort(),
            request.getSerializedSize(),
            answer.getSerializedSize());
        for (int concurrency : concurrencies) {
          for (String target : List.of("cacheai", "echo")) {
            ManagedChannel channel = target.equals("cacheai") ? oursChannel : echoChannel;
            WindowedMeasurement.Result result =
                WindowedMeasurement.measure(
                    settings,
                    new ClosedLoopLoad(
                        GRPCInferenceServiceGrpc.newStub(channel), request, concurrency));
            log.printf(
                Locale.ROOT,
                "   %-8s c=%-3d %9.0f req/s  p50 %8.1f µs  p99 %8.1f µs  errors %d%s%n",
                target,
                concurrency,
                result.itemsPerSecond(),
                result.p50Us(),
                result.p99Us(),
                result.errors(),
                result.stable()
                    ? ""
                    : String.format(
                        Locale.ROOT,
                        "  (NOT stable after %d windows: %.1f%%)",
                        result.windows(),
                        result.spreadPct()));
            rows.add(new Row(target, concurrency, result));
          }
        }
      } finally {
        shutdown(oursChannel);
        if (echoChannel != null) {
          shutdown(echoChannel);
        }
        if (echo != null) {
          echo.shutdown();
          if (!echo.awaitTermination(5, TimeUnit.SECONDS)) {
            echo.shutdownNow();
          }
        }
      }
    }
    return rows;
  }

  /** One digit {@code [1,1,28,28]} as raw little-endian FP32, the compact form clients use. */
  static ModelInferRequest request(float[] digit) {
    ByteBuffer raw = ByteBuffer.allocate(4 * digit.length).order(ByteOrder.LITTLE_ENDIAN);
    raw.asFloatBuffer().put(digit);
    return ModelInferRequest.newBuilder()
        .setModelName(MODEL)
        .addInputs(
            ModelInferRequest.InferInputTensor.newBuilder()
                .setName("input")
                .setDatatype("FP32")
                .addShape(1)
                .addShape(1)
                .addShape(28)
                .addShape(28))
        .addRawInputContents(ByteString.copyFrom(raw.array()))
        .build();
  }

  private static ManagedChannel channel(int port) {
    return NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
  }

  private static void shutdown(ManagedChannel channel) throws InterruptedException {
    channel.shutdown();
    if (!channel.awaitTermination(5, TimeUnit.SECONDS)) {
      channel.shutdownNow();
    }
  }

  /** The ceiling: the same rpc answering a fixed response, nothing else. */
  static final class EchoService extends GRPCInferenceServiceGrpc.GRPCInferenceServiceImplBase {
    private final ModelInferResponse answer;

    EchoService(ModelInferResponse answer) {
      this.answer = answer;
    }

    @Override
    public void modelInfer(
        ModelInferRequest request, StreamObserver<ModelInferResponse> responseObserver) {
      responseObserver.onNext(answer);
      responseObserver.onCompleted();
    }
  }
}
