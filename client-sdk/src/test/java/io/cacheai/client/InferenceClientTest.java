package io.cacheai.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import inference.GrpcService.ModelInferRequest;
import io.cacheai.client.FakeInferenceService.ResponseMode;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The client against an in-process fake server: what goes on the wire, what comes back. */
class InferenceClientTest {
  private static final Duration DEFAULT_DEADLINE = Duration.ofSeconds(3);

  private FakeInferenceService fake;
  private Server server;
  private ManagedChannel channel;
  private InferenceClient client;

  @BeforeEach
  void start() throws Exception {
    fake = new FakeInferenceService();
    String name = InProcessServerBuilder.generateName();
    server = InProcessServerBuilder.forName(name).addService(fake).build().start();
    channel = InProcessChannelBuilder.forName(name).build();
    client = InferenceClient.builder().channel(channel).defaultDeadline(DEFAULT_DEADLINE).build();
  }

  @AfterEach
  void stop() throws Exception {
    client.close();
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  @Test
  void isServerLive_fake_trueWithDefaultDeadlineSet() {
    assertThat(client.isServerLive()).isTrue();
    assertThat(fake.lastDeadlineRemainingNanos)
        .isPositive()
        .isLessThanOrEqualTo(DEFAULT_DEADLINE.toNanos())
        .isGreaterThan(DEFAULT_DEADLINE.minusSeconds(1).toNanos());
  }

  @Test
  void isServerReady_notReady_false() {
    assertThat(client.isServerReady()).isTrue();
    fake.ready = false;
    assertThat(client.isServerReady()).isFalse();
  }

  @Test
  void isModelReady_nameAndVersion_sentAndAnswered() {
    assertThat(client.isModelReady("affine")).isTrue();
    assertThat(fake.lastModelReady.getName()).isEqualTo("affine");
    assertThat(fake.lastModelReady.getVersion()).isEmpty();
    assertThat(client.isModelReady("affine", "1")).isTrue();
    assertThat(client.isModelReady("affine", "7")).isFalse();
    assertThat(fake.lastModelReady.getVersion()).isEqualTo("7");
  }

  @Test
  void serverMetadata_fake_mappedToRecord() {
    assertThat(client.serverMetadata())
        .isEqualTo(new ServerMetadata("fake", "0.0.1", List.of("model_repository", "statistics")));
  }

  @Test
  void modelMetadata_affine_tensorsWithWildcardBatch() {
    ModelMetadata m = client.modelMetadata("affine", "1");
    assertThat(fake.lastModelMetadata.getVersion()).isEqualTo("1");
    assertThat(m.name()).isEqualTo("affine");
    assertThat(m.versions()).containsExactly("1");
    assertThat(m.platform()).isEqualTo("fake_fp32");
    assertThat(m.inputs()).containsExactly(new TensorMetadata("x", "FP32", new long[] {-1, 3}));
    assertThat(m.outputs())
        .containsExactly(
            new TensorMetadata("y", "FP32", new long[] {-1, 3}),
            new TensorMetadata("sum", "FP32", new long[] {-1, 1}));
    assertThat(m.input("x").orElseThrow().shape()).containsExactly(-1, 3);
    assertThat(m.output("nope")).isEmpty();
  }

  @Test
  void inferFloats_default_sendsRawLittleEndianAndReturnsFirstOutput() {
    float[] x = {1.5f, -2f, 0.25f, 3f, 4f, -0.5f};
    float[] y = client.inferFloats("affine", "x", new long[] {2, 3}, x);

    ModelInferRequest sent = fake.lastInfer;
    assertThat(sent.getModelName()).isEqualTo("affine");
    assertThat(sent.getInputsCount()).isEqualTo(1);
    assertThat(sent.getInputs(0).getName()).isEqualTo("x");
    assertThat(sent.getInputs(0).getDatatype()).isEqualTo("FP32");
    assertThat(sent.getInputs(0).getShapeList()).containsExactly(2L, 3L);
    assertThat(sent.getInputs(0).hasContents()).isFalse();
    assertThat(sent.getRawInputContentsCount()).isEqualTo(1);
    byte[] raw = sent.getRawInputContents(0).toByteArray();
    assertThat(raw).hasSize(24);
    ByteBuffer le = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
    for (float v : x) {
      assertThat(le.getFloat()).isEqualTo(v);
    }
    assertThat(y).containsExactly(4f, -3f, 1.5f, 7f, 9f, 0f);
  }

  @Test
  void infer_typedRequest_sendsFp32ContentsAndRequestedOutputs() {
    InferRequest request =
        InferRequest.builder("affine")
            .id("req-7")
            .addFp32("x", new long[] {1, 3}, new float[] {1, 2, 3})
            .requestOutput("sum")
            .build();
    assertThat(request.rawInputs()).isFalse();
    InferResult result = client.infer(request);

    ModelInferRequest sent = fake.lastInfer;
    assertThat(sent.getRawInputContentsCount()).isZero();
    assertThat(sent.getInputs(0).getContents().getFp32ContentsList()).containsExactly(1f, 2f, 3f);
    assertThat(sent.getOutputsList()).extracting(o -> o.getName()).containsExactly("sum");
    assertThat(sent.getId()).isEqualTo("req-7");

    assertThat(result.id()).isEqualTo("req-7");
    assertThat(result.modelVersion()).isEqualTo("1");
    assertThat(result.rawOutputs()).isFalse();
    assertThat(result.outputNames()).containsExactly("sum");
    assertThat(result.shape("sum")).containsExactly(1, 1);
    assertThat(result.asFloats("sum")).containsExactly(6f);
  }

  @Test
  void infer_rawOrTypedResponse_decodedTheSame() {
    float[] x = {0.1f, 0.2f, 0.3f, -1e-7f, 1e30f, Float.MIN_VALUE};
    InferRequest raw =
        InferRequest.builder("affine").rawInputs(true).addFp32("x", new long[] {2, 3}, x).build();
    InferRequest typed = InferRequest.builder("affine").addFp32("x", new long[] {2, 3}, x).build();

    fake.responseMode = ResponseMode.FORCE_RAW;
    InferResult fromRaw = client.infer(typed);
    fake.responseMode = ResponseMode.FORCE_TYPED;
    InferResult fromTyped = client.infer(raw);

    assertThat(fromRaw.rawOutputs()).isTrue();
    assertThat(fromTyped.rawOutputs()).isFalse();
    float[] expected = new float[x.length];
    for (int i = 0; i < x.length; i++) {
      expected[i] = 2 * x[i] + 1;
    }
    assertThat(fromRaw.asFloats("y")).containsExactly(expected);
    assertThat(fromTyped.asFloats("y")).containsExactly(expected);
    assertThat(fromRaw.asFloats("sum")).containsExactly(fromTyped.asFloats("sum"));
    assertThat(fromRaw.shape("sum")).containsExactly(2, 1);
    assertThat(fromRaw.datatype("y")).isEqualTo("FP32");
  }

  @Test
  void infer_int64AndBytesEcho_roundTripRawAndTyped() {
    long[] ids = {Long.MIN_VALUE, -1, 0, 1, 1L << 40, Long.MAX_VALUE};
    List<byte[]> texts =
        List.of("héllo".getBytes(StandardCharsets.UTF_8), new byte[0], new byte[] {0, (byte) 0xFF});
    for (boolean raw : new boolean[] {true, false}) {
      InferResult r =
          client.infer(
              InferRequest.builder("echo")
                  .rawInputs(raw)
                  .addInt64("ids", new long[] {2, 3}, ids)
                  .addBytes("text", new long[] {3}, texts)
                  .build());
      assertThat(fake.lastInfer.getRawInputContentsCount()).isEqualTo(raw ? 2 : 0);
      assertThat(r.rawOutputs()).isEqualTo(raw);
      assertThat(r.asLongs("ids")).containsExactly(ids);
      assertThat(r.shape("ids")).containsExactly(2, 3);
      assertThat(r.asBytes("text")).containsExactlyElementsOf(texts);
    }
    // Raw BYTES layout on the wire: u32 little-endian length, then the bytes, per element.
    client.infer(
        InferRequest.builder("echo")
            .rawInputs(true)
            .addBytes("text", new long[] {2}, List.of(new byte[] {7}, new byte[] {8, 9}))
            .build());
    assertThat(fake.lastInfer.getRawInputContents(0).toByteArray())
        .containsExactly(1, 0, 0, 0, 7, 2, 0, 0, 0, 8, 9);
  }

  @Test
  void inferBatch_rows_oneOutputRowPerInputRow() {
    float[][] rows = {{1, 2, 3}, {4, 5, 6}, {-1, 0, 1}, {0.5f, 0.5f, 0.5f}};
    float[][] out = client.inferBatch("affine", "x", rows, new long[] {3});

    assertThat(fake.lastInfer.getInputs(0).getShapeList()).containsExactly(4L, 3L);
    assertThat(fake.lastInfer.getRawInputContentsCount()).isEqualTo(1);
    assertThat(out).hasNumberOfRows(4);
    for (int r = 0; r < rows.length; r++) {
      for (int c = 0; c < 3; c++) {
        assertThat(out[r][c]).isEqualTo(2 * rows[r][c] + 1);
      }
    }
  }

  @Test
  void inferBatch_rowOfWrongLength_rejectedBeforeSending() {
    float[][] rows = {{1, 2, 3}, {4, 5}};
    assertThatThrownBy(() -> client.inferBatch("affine", "x", rows, new long[] {3}))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("input 'x': row 1 has 2 values");
    assertThat(fake.lastInfer).isNull();
  }

  @Test
  void build_valuesNotMatchingShape_rejectedWithInputName() {
    assertThatThrownBy(
            () ->
                InferRequest.builder("affine")
                    .addFp32("x", new long[] {2, 3}, new float[5])
                    .build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("input 'x': shape [2, 3] holds 6 elements but 5 values were given");
    assertThatThrownBy(
            () ->
                InferRequest.builder("affine")
                    .addFp32("x", new long[] {-1, 3}, new float[3])
                    .build())
        .hasMessageContaining("negative dimension");
    assertThatThrownBy(() -> InferRequest.builder("affine").build())
        .hasMessageContaining("no inputs");
  }

  @Test
  void withDeadline_perCallOverride_shorterDeadlineSent() {
    client.withDeadline(Duration.ofMillis(500)).isServerLive();
    assertThat(fake.lastDeadlineRemainingNanos)
        .isPositive()
        .isLessThanOrEqualTo(Duration.ofMillis(500).toNanos());

    client.infer(
        InferRequest.builder("affine")
            .deadline(Duration.ofMillis(700))
            .addFp32("x", new long[] {1, 3}, new float[3])
            .build());
    assertThat(fake.lastDeadlineRemainingNanos)
        .isPositive()
        .isLessThanOrEqualTo(Duration.ofMillis(700).toNanos());

    client.isServerLive();
    assertThat(fake.lastDeadlineRemainingNanos).isGreaterThan(Duration.ofSeconds(2).toNanos());
  }

  @Test
  void infer_unknownModel_notFoundWithModelAndServerMessage() {
    assertThatThrownBy(() -> client.inferFloats("nope", "x", new long[] {1, 3}, new float[3]))
        .isInstanceOfSatisfying(
            InferenceException.class,
            e -> {
              assertThat(e.code()).isEqualTo(Status.Code.NOT_FOUND);
              assertThat(e.description()).isEqualTo("model 'nope' is not in the repository");
              assertThat(e.getMessage())
                  .isEqualTo(
                      "ModelInfer model=nope: NOT_FOUND: model 'nope' is not in the repository");
            });
    assertThatThrownBy(() -> client.modelMetadata("nope", "2"))
        .isInstanceOfSatisfying(
            InferenceException.class,
            e -> {
              assertThat(e.code()).isEqualTo(Status.Code.NOT_FOUND);
              assertThat(e.getMessage())
                  .startsWith("ModelMetadata model=nope version=2: NOT_FOUND");
            });
  }

  @Test
  void infer_wrongInputName_invalidArgument() {
    assertThatThrownBy(() -> client.inferFloats("affine", "z", new long[] {1, 3}, new float[3]))
        .isInstanceOfSatisfying(
            InferenceException.class,
            e -> {
              assertThat(e.code()).isEqualTo(Status.Code.INVALID_ARGUMENT);
              assertThat(e.getMessage())
                  .contains("model=affine")
                  .contains("input 'z' is not an input of model 'affine'");
            });
  }

  @Test
  void infer_slowModel_deadlineExceededInTime() {
    long startNanos = System.nanoTime();
    assertThatThrownBy(
            () ->
                client
                    .withDeadline(Duration.ofMillis(150))
                    .inferFloats("slow", "x", new long[] {1}, new float[1]))
        .isInstanceOfSatisfying(
            InferenceException.class,
            e -> {
              assertThat(e.code()).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
              assertThat(e.getMessage()).startsWith("ModelInfer model=slow: DEADLINE_EXCEEDED");
            });
    long elapsedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos);
    assertThat(elapsedMs).isBetween(100L, 2_000L);
  }

  @Test
  void infer_rawResponseOfWrongLength_internalError() {
    assertThatThrownBy(
            () -> client.inferFloats("broken", "x", new long[] {1, 2}, new float[] {1, 2}))
        .isInstanceOfSatisfying(
            InferenceException.class,
            e -> {
              assertThat(e.code()).isEqualTo(Status.Code.INTERNAL);
              assertThat(e.getMessage())
                  .contains("model=broken")
                  .contains("output 'y': shape [1, 2] needs 8 raw bytes but 7 were sent");
            });
  }

  @Test
  void asFloats_unknownOrMistypedOutput_rejectedWithAvailableNames() {
    InferResult r =
        client.infer(
            InferRequest.builder("echo").addInt64("ids", new long[] {1}, new long[] {5}).build());
    assertThatThrownBy(() -> r.asFloats("logits"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("output 'logits' is not in the response; outputs=[ids]");
    assertThatThrownBy(() -> r.asFloats("ids"))
        .hasMessage("output 'ids' has datatype INT64, not the FP32 this accessor reads");
  }

  @Test
  void close_channelGivenByCaller_leftOpenAndSafeTwice() {
    client.close();
    client.close();
    assertThat(channel.isShutdown()).isFalse();
    assertThatThrownBy(() -> client.isServerLive())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("closed");
    assertThatThrownBy(() -> client.withDeadline(Duration.ofSeconds(1)).isServerLive())
        .isInstanceOf(IllegalStateException.class);
  }

  @Test
  void builder_neitherOrBothTargetAndChannel_rejected() {
    assertThatThrownBy(() -> InferenceClient.builder().build())
        .isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> InferenceClient.builder().target("x:1").channel(channel).build())
        .isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> InferenceClient.builder().defaultDeadline(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
