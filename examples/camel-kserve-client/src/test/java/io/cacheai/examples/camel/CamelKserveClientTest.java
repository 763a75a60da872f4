package io.cacheai.examples.camel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.google.protobuf.ByteString;
import inference.GRPCInferenceServiceGrpc;
import inference.GRPCInferenceServiceGrpc.GRPCInferenceServiceBlockingStub;
import inference.GrpcPredictV2.InferTensorContents;
import inference.GrpcPredictV2.ModelInferRequest;
import inference.GrpcPredictV2.ModelInferRequest.InferInputTensor;
import inference.GrpcPredictV2.ModelInferResponse;
import inference.GrpcPredictV2.ModelInferResponse.InferOutputTensor;
import inference.GrpcPredictV2.ModelMetadataRequest;
import inference.GrpcPredictV2.ModelMetadataResponse;
import inference.GrpcPredictV2.ModelMetadataResponse.TensorMetadata;
import inference.GrpcPredictV2.ModelReadyRequest;
import inference.GrpcPredictV2.ServerLiveRequest;
import inference.GrpcPredictV2.ServerMetadataRequest;
import inference.GrpcPredictV2.ServerMetadataResponse;
import inference.GrpcPredictV2.ServerReadyRequest;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Wire compatibility with a client nobody here wrote: Apache Camel's generated KServe v2 stubs
 * (camel-kserve 4.17.0, its own grpc 1.78 and protobuf 3.25) against the cacheai server started as
 * a separate process on a loopback ephemeral port, serving its embedded {@code mnist-cnn}.
 *
 * <p>Skipped only when the server's {@code -all} jar has not been built (system property {@code
 * cacheai.server.jar}, set by this module's pom); once it exists, every problem is a failure.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CamelKserveClientTest {
  private static final String MODEL = "mnist-cnn";
  private static final int BATCH = 32;
  private static final int SIDE = 28;
  private static final int CLASSES = 10;
  private static final long START_TIMEOUT_SECONDS = 60;
  private static final long CALL_DEADLINE_SECONDS = 20;
  private static final Pattern LISTENING =
      Pattern.compile("cacheai: listening on 127\\.0\\.0\\.1:(\\d+)");

  /** Why the tests skip (the jar is not built), or null when the server runs. */
  private String skipReason;

  private Process server;
  private final StringBuffer serverOutput = new StringBuffer();
  private ManagedChannel channel;
  private int port;

  @BeforeAll
  void startServer() throws Exception {
    String jarProperty = System.getProperty("cacheai.server.jar");
    if (jarProperty == null) {
      fail("system property cacheai.server.jar is not set (the module's pom sets it)");
    }
    Path jar = Path.of(jarProperty).normalize();
    if (!Files.isRegularFile(jar)) {
      // Skipped per test (below) rather than here, so the skip shows in the surefire report.
      skipReason =
          "cacheai server jar not built: "
              + jar
              + " (build it with ./mvnw -B -pl server -am package -DskipTests)";
      return;
    }

    String cacheDir =
        System.getProperty(
            "org.bytedeco.javacpp.cachedir", Path.of("target/javacpp-cache").toString());
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    if (Runtime.version().feature() >= 22) {
      command.add("--enable-native-access=ALL-UNNAMED");
    }
    command.add("-Dorg.bytedeco.javacpp.cachedir=" + cacheDir);
    command.addAll(
        List.of(
            "-jar",
            jar.toString(),
            "serve",
            "--port",
            "0",
            "--bind",
            "127.0.0.1",
            "--metrics-port",
            "0"));
    server = new ProcessBuilder(command).redirectErrorStream(true).start();

    CompletableFuture<Integer> listening = new CompletableFuture<>();
    Thread reader = new Thread(() -> drain(listening), "cacheai-server-output");
    reader.setDaemon(true);
    reader.start();
    try {
      port = listening.get(START_TIMEOUT_SECONDS, TimeUnit.SECONDS);
    } catch (TimeoutException e) {
      fail(
          "server did not print 'cacheai: listening on 127.0.0.1:<port>' within "
              + START_TIMEOUT_SECONDS
              + " s; command="
              + command
              + "; output:\n"
              + serverOutput);
    } catch (ExecutionException e) {
      fail(e.getCause().getMessage() + "; command=" + command + "; output:\n" + serverOutput);
    }
    channel =
        Grpc.newChannelBuilderForAddress("127.0.0.1", port, InsecureChannelCredentials.create())
            .build();
  }

  @BeforeEach
  void requireServer() {
    assumeTrue(skipReason == null, skipReason);
  }

  /** Copies the server's output into {@link #serverOutput} until EOF, spotting the port line. */
  private void drain(CompletableFuture<Integer> listening) {
    try (BufferedReader in =
        new BufferedReader(
            new InputStreamReader(server.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = in.readLine()) != null) {
        serverOutput.append(line).append('\n');
        Matcher m = LISTENING.matcher(line);
        if (m.find()) {
          listening.complete(Integer.parseInt(m.group(1)));
        }
      }
      listening.completeExceptionally(
          new IllegalStateException(
              "server output ended before the listening line; exit=" + exitCodeOrRunning()));
    } catch (IOException e) {
      listening.completeExceptionally(e);
    }
  }

  private String exitCodeOrRunning() {
    try {
      return server.waitFor(5, TimeUnit.SECONDS) ? String.valueOf(server.exitValue()) : "running";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "interrupted";
    }
  }

  @AfterAll
  void stopServer() throws InterruptedException {
    if (channel != null) {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    if (server != null) {
      server.destroy();
      if (!server.waitFor(10, TimeUnit.SECONDS)) {
        server.destroyForcibly();
        server.waitFor(10, TimeUnit.SECONDS);
      }
    }
  }

  private GRPCInferenceServiceBlockingStub stub() {
    return GRPCInferenceServiceGrpc.newBlockingStub(channel)
        .withDeadlineAfter(CALL_DEADLINE_SECONDS, TimeUnit.SECONDS);
  }

  @Test
  void serverLiveAndReady_true() throws InterruptedException {
    assertThat(stub().serverLive(ServerLiveRequest.getDefaultInstance()).getLive()).isTrue();
    // Ready means every model is loaded; poll a bounded while in case loading trails the port.
    long endNanos = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    boolean ready = false;
    while (!ready && System.nanoTime() < endNanos) {
      ready = stub().serverReady(ServerReadyRequest.getDefaultInstance()).getReady();
      if (!ready) {
        Thread.sleep(100);
      }
    }
    assertThat(ready).as("ServerReady within 30 s").isTrue();
    assertThat(stub().modelReady(ModelReadyRequest.newBuilder().setName(MODEL).build()).getReady())
        .isTrue();
  }

  @Test
  void serverMetadata_namesCacheai() {
    ServerMetadataResponse m = stub().serverMetadata(ServerMetadataRequest.getDefaultInstance());
    assertThat(m.getName()).isEqualTo("cacheai");
    assertThat(m.getVersion()).isNotEmpty();
  }

  @Test
  void modelMetadata_mnistCnn_inputAndLogits() {
    ModelMetadataResponse m =
        stub().modelMetadata(ModelMetadataRequest.newBuilder().setName(MODEL).build());
    assertThat(m.getName()).isEqualTo(MODEL);
    assertThat(m.getInputsList()).hasSize(1);
    TensorMetadata input = m.getInputs(0);
    assertThat(input.getName()).isEqualTo("input");
    assertThat(input.getDatatype()).isEqualTo("FP32");
    assertThat(input.getShapeList()).containsExactly(-1L, 1L, 28L, 28L);
    assertThat(m.getOutputsList()).hasSize(1);
    TensorMetadata output = m.getOutputs(0);
    assertThat(output.getName()).isEqualTo("logits");
    assertThat(output.getDatatype()).isEqualTo("FP32");
    assertThat(output.getShapeList()).containsExactly(-1L, 10L);
  }

  @Test
  void modelInfer_realDigitsTypedAndRaw_accurateAndEqual() throws IOException {
    Path dir = Path.of(System.getProperty("cacheai.mnist.dir", "../../tools/mnist/data"));
    float[] pixels =
        MnistIdx.readImages(dir.resolve("t10k-images-idx3-ubyte.gz"), BATCH, SIDE, SIDE);
    int[] labels = MnistIdx.readLabels(dir.resolve("t10k-labels-idx1-ubyte.gz"), BATCH);

    InferInputTensor.Builder typedInput = inputTensor("input");
    InferTensorContents.Builder contents = InferTensorContents.newBuilder();
    for (float p : pixels) {
      contents.addFp32Contents(p);
    }
    ModelInferRequest typed =
        ModelInferRequest.newBuilder()
            .setModelName(MODEL)
            .setId("camel-typed")
            .addInputs(typedInput.setContents(contents))
            .addOutputs(ModelInferRequest.InferRequestedOutputTensor.newBuilder().setName("logits"))
            .build();
    ByteBuffer le = ByteBuffer.allocate(pixels.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    le.asFloatBuffer().put(pixels);
    ModelInferRequest raw =
        ModelInferRequest.newBuilder()
            .setModelName(MODEL)
            .setId("camel-raw")
            .addInputs(inputTensor("input"))
            .addRawInputContents(ByteString.copyFrom(le.array()))
            .build();

    ModelInferResponse typedResponse = stub().modelInfer(typed);
    ModelInferResponse rawResponse = stub().modelInfer(raw);
    assertThat(typedResponse.getId()).isEqualTo("camel-typed");
    assertThat(rawResponse.getId()).isEqualTo("camel-raw");
    float[] typedLogits = logits(typedResponse);
    float[] rawLogits = logits(rawResponse);

    int correct = 0;
    StringBuilder predictions = new StringBuilder();
    for (int i = 0; i < BATCH; i++) {
      int predicted = argmax(typedLogits, i * CLASSES, CLASSES);
      predictions.append(predicted).append(predicted == labels[i] ? ' ' : '*');
      if (predicted == labels[i]) {
        correct++;
      }
    }
    double accuracy = correct / (double) BATCH;
    assertThat(accuracy)
        .as(
            "argmax accuracy on the first %d test digits; predictions (* = wrong): %s",
            BATCH, predictions)
        .isGreaterThanOrEqualTo(0.9);
    assertSameLogits(rawLogits, typedLogits);
  }

  @Test
  void modelInfer_wrongInputName_invalidArgument() {
    ModelInferRequest bad =
        ModelInferRequest.newBuilder()
            .setModelName(MODEL)
            .addInputs(
                inputTensor("image")
                    .setContents(
                        InferTensorContents.newBuilder()
                            .addAllFp32Contents(Collections.nCopies(BATCH * SIDE * SIDE, 0f))))
            .build();
    assertThatThrownBy(() -> stub().modelInfer(bad))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
              assertThat(e.getStatus().getDescription()).contains("image");
            });
  }

  @Test
  void modelInfer_unknownModel_notFound() {
    ModelInferRequest unknown =
        ModelInferRequest.newBuilder()
            .setModelName("no-such-model")
            .addInputs(
                inputTensor("input")
                    .setContents(
                        InferTensorContents.newBuilder()
                            .addAllFp32Contents(Collections.nCopies(BATCH * SIDE * SIDE, 0f))))
            .build();
    assertThatThrownBy(() -> stub().modelInfer(unknown))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND));
  }

  private static InferInputTensor.Builder inputTensor(String name) {
    return InferInputTensor.newBuilder()
        .setName(name)
        .setDatatype("FP32")
        .addShape(BATCH)
        .addShape(1)
        .addShape(SIDE)
        .addShape(SIDE);
  }

  /** The {@code logits} output as floats, from raw or typed contents, shape checked. */
  private static float[] logits(ModelInferResponse response) {
    int index = -1;
    for (int i = 0; i < response.getOutputsCount(); i++) {
      if (response.getOutputs(i).getName().equals("logits")) {
        index = i;
      }
    }
    assertThat(index).as("output 'logits' in %s", response.getOutputsList()).isNotNegative();
    InferOutputTensor out = response.getOutputs(index);
    assertThat(out.getDatatype()).isEqualTo("FP32");
    assertThat(out.getShapeList()).containsExactly((long) BATCH, (long) CLASSES);
    float[] values = new float[BATCH * CLASSES];
    if (response.getRawOutputContentsCount() > 0) {
      ByteString bytes = response.getRawOutputContents(index);
      assertThat(bytes.size()).isEqualTo(values.length * 4);
      bytes.asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(values);
    } else {
      assertThat(out.getContents().getFp32ContentsCount()).isEqualTo(values.length);
      for (int i = 0; i < values.length; i++) {
        values[i] = out.getContents().getFp32Contents(i);
      }
    }
    return values;
  }

  /** Raw and typed paths must give bit-identical logits; on failure name the first difference. */
  private static void assertSameLogits(float[] raw, float[] typed) {
    assertThat(raw).hasSameSizeAs(typed);
    for (int i = 0; i < raw.length; i++) {
      if (Float.floatToIntBits(raw[i]) != Float.floatToIntBits(typed[i])) {
        fail(
            String.format(
                "raw and typed logits differ at digit %d class %d: raw=%s typed=%s",
                i / CLASSES, i % CLASSES, raw[i], typed[i]));
      }
    }
  }

  private static int argmax(float[] v, int offset, int length) {
    int best = 0;
    for (int i = 1; i < length; i++) {
      if (v[offset + i] > v[offset + best]) {
        best = i;
      }
    }
    return best;
  }
}
