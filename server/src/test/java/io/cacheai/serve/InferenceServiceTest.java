package io.cacheai.serve;

import static io.cacheai.serve.OipRequests.affineRaw;
import static io.cacheai.serve.OipRequests.affineTyped;
import static io.cacheai.serve.OipRequests.floats;
import static io.cacheai.serve.OipRequests.fp32;
import static io.cacheai.serve.OipRequests.input;
import static io.cacheai.serve.OipRequests.rawFloats;
import static io.cacheai.serve.OipRequests.typedOutput;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import inference.GRPCInferenceServiceGrpc;
import inference.GrpcService.InferParameter;
import inference.GrpcService.InferTensorContents;
import inference.GrpcService.ModelInferRequest;
import inference.GrpcService.ModelInferRequest.InferRequestedOutputTensor;
import inference.GrpcService.ModelInferResponse;
import inference.GrpcService.ModelMetadataRequest;
import inference.GrpcService.ModelMetadataResponse;
import inference.GrpcService.ModelReadyRequest;
import inference.GrpcService.ModelStreamInferResponse;
import inference.GrpcService.ServerLiveRequest;
import inference.GrpcService.ServerMetadataRequest;
import inference.GrpcService.ServerMetadataResponse;
import inference.GrpcService.ServerReadyRequest;
import io.cacheai.runtime.DataType;
import io.cacheai.runtime.TensorSpec;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The real {@link InferenceService} in-process, over test-double models. */
class InferenceServiceTest {
  private static final float[] X = {1, 2, 3, 4, 5, 6, 7, 8};
  private static final float[] Y = {3, 5, 7, 9, 11, 13, 15, 17};
  private static final float[] SUM = {10, 26};

  private final AffineModel affine1 = new AffineModel();
  private final AffineModel affine2 = new AffineModel();
  private ModelRepository repository;
  private Server server;
  private ManagedChannel channel;
  private GRPCInferenceServiceGrpc.GRPCInferenceServiceBlockingStub stub;

  @BeforeEach
  void setUp() throws Exception {
    repository =
        ModelRepository.of(
            List.of(
                new ServedModel("affine", 1, affine1, ModelConfig.DEFAULT),
                new ServedModel("affine", 2, affine2, ModelConfig.DEFAULT),
                new ServedModel(
                    "limited", 1, new AffineModel(), new ModelConfig(2, Optional.empty())),
                new ServedModel(
                    "pair",
                    1,
                    new EchoModel(spec("a", DataType.FP32, -1, 2), spec("b", DataType.FP32, -1, 2)),
                    ModelConfig.DEFAULT),
                new ServedModel("all-types", 1, new EchoModel(allTypes()), ModelConfig.DEFAULT),
                new ServedModel(
                    "i8", 1, new EchoModel(spec("v", DataType.INT8, -1)), ModelConfig.DEFAULT),
                new ServedModel(
                    "u8", 1, new EchoModel(spec("v", DataType.UINT8, -1)), ModelConfig.DEFAULT),
                new ServedModel(
                    "f16", 1, new EchoModel(spec("v", DataType.FP16, -1)), ModelConfig.DEFAULT),
                new ServedModel(
                    "text", 1, new EchoModel(spec("v", DataType.BYTES, -1)), ModelConfig.DEFAULT)));
    String name = InProcessServerBuilder.generateName();
    server =
        InProcessServerBuilder.forName(name)
            .directExecutor()
            .addService(new InferenceService(repository, "test-version"))
            .build()
            .start();
    channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    stub = GRPCInferenceServiceGrpc.newBlockingStub(channel);
  }

  @AfterEach
  void tearDown() throws Exception {
    channel.shutdownNow();
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    repository.close();
  }

  private static TensorSpec spec(String name, DataType type, long... shape) {
    return new TensorSpec(name, type, shape);
  }

  private static TensorSpec[] allTypes() {
    return new TensorSpec[] {
      spec("bool", DataType.BOOL, -1),
      spec("i8", DataType.INT8, -1),
      spec("i16", DataType.INT16, -1),
      spec("i32", DataType.INT32, -1),
      spec("i64", DataType.INT64, -1),
      spec("u8", DataType.UINT8, -1),
      spec("u16", DataType.UINT16, -1),
      spec("u32", DataType.UINT32, -1),
      spec("u64", DataType.UINT64, -1),
      spec("f32", DataType.FP32, -1),
      spec("f64", DataType.FP64, -1),
      spec("bytes", DataType.BYTES, -1),
    };
  }

  @Test
  void serverLive_isTrue() {
    assertThat(stub.serverLive(ServerLiveRequest.getDefaultInstance()).getLive()).isTrue();
  }

  @Test
  void serverReady_isTrueWhileServingModels() {
    assertThat(stub.serverReady(ServerReadyRequest.getDefaultInstance()).getReady()).isTrue();
  }

  @Test
  void modelReady_trueForServedVersionsOnly() {
    assertThat(ready("affine", "")).isTrue();
    assertThat(ready("affine", "1")).isTrue();
    assertThat(ready("affine", "2")).isTrue();
    assertThat(ready("affine", "3")).isFalse();
    assertThat(ready("affine", "x")).isFalse();
    assertThat(ready("nope", "")).isFalse();
  }

  private boolean ready(String name, String version) {
    return stub.modelReady(ModelReadyRequest.newBuilder().setName(name).setVersion(version).build())
        .getReady();
  }

  @Test
  void serverMetadata_namesCacheaiAndVersion() {
    ServerMetadataResponse metadata =
        stub.serverMetadata(ServerMetadataRequest.getDefaultInstance());
    assertThat(metadata.getName()).isEqualTo("cacheai");
    assertThat(metadata.getVersion()).isEqualTo("test-version");
    assertThat(metadata.getExtensionsList()).containsExactly("model_repository", "statistics");
  }

  @Test
  void modelMetadata_reportsTensorsVersionsAndPlatform() {
    ModelMetadataResponse metadata =
        stub.modelMetadata(ModelMetadataRequest.newBuilder().setName("affine").build());
    assertThat(metadata.getName()).isEqualTo("affine");
    assertThat(metadata.getVersionsList()).containsExactly("1", "2");
    assertThat(metadata.getPlatform()).isEqualTo("test_affine");
    assertThat(metadata.getInputsCount()).isEqualTo(1);
    assertThat(metadata.getInputs(0).getName()).isEqualTo("x");
    assertThat(metadata.getInputs(0).getDatatype()).isEqualTo("FP32");
    assertThat(metadata.getInputs(0).getShapeList()).containsExactly(-1L, 4L);
    assertThat(metadata.getOutputsList())
        .extracting(t -> t.getName() + ":" + t.getDatatype() + t.getShapeList())
        .containsExactly("y:FP32[-1, 4]", "sum:FP32[-1, 1]");
  }

  @Test
  void modelMetadata_unknownModelOrVersion_notFound() {
    assertStatus(
        () -> stub.modelMetadata(ModelMetadataRequest.newBuilder().setName("nope").build()),
        Status.Code.NOT_FOUND,
        "model 'nope' is not served; served models: [affine, all-types, f16, i8, limited, pair,"
            + " text, u8]");
    assertStatus(
        () ->
            stub.modelMetadata(
                ModelMetadataRequest.newBuilder().setName("affine").setVersion("9").build()),
        Status.Code.NOT_FOUND,
        "model 'affine' has no version '9'; served versions: [1, 2]");
  }

  @Test
  void modelInfer_typed_returnsTypedResultsOfNewestVersion() {
    ModelInferResponse response = stub.modelInfer(affineTyped("", X).setId("req-7").build());
    assertThat(response.getModelName()).isEqualTo("affine");
    assertThat(response.getModelVersion()).isEqualTo("2");
    assertThat(response.getId()).isEqualTo("req-7");
    assertThat(response.getRawOutputContentsCount()).isZero();
    assertThat(response.getOutputsList()).extracting(o -> o.getName()).containsExactly("y", "sum");
    assertThat(response.getOutputs(0).getDatatype()).isEqualTo("FP32");
    assertThat(response.getOutputs(0).getShapeList()).containsExactly(2L, 4L);
    assertThat(typedOutput(response, 0)).containsExactly(Y);
    assertThat(response.getOutputs(1).getShapeList()).containsExactly(2L, 1L);
    assertThat(typedOutput(response, 1)).containsExactly(SUM);
  }

  @Test
  void modelInfer_explicitVersion_usesThatVersion() {
    ModelInferResponse response = stub.modelInfer(affineTyped("1", X).build());
    assertThat(response.getModelVersion()).isEqualTo("1");
    assertThat(typedOutput(response, 0)).containsExactly(Y);
  }

  @Test
  void modelInfer_raw_returnsRawResults() {
    ModelInferResponse response = stub.modelInfer(affineRaw("", X).build());
    assertThat(response.getOutputsList()).allSatisfy(o -> assertThat(o.hasContents()).isFalse());
    assertThat(response.getRawOutputContentsCount()).isEqualTo(2);
    assertThat(floats(response.getRawOutputContents(0))).containsExactly(Y);
    assertThat(floats(response.getRawOutputContents(1))).containsExactly(SUM);
  }

  @Test
  void modelInfer_requestedOutputs_onlyThoseInRequestedOrder() {
    ModelInferResponse onlySum =
        stub.modelInfer(affineTyped("", X).addOutputs(output("sum")).build());
    assertThat(onlySum.getOutputsList()).extracting(o -> o.getName()).containsExactly("sum");
    assertThat(typedOutput(onlySum, 0)).containsExactly(SUM);

    ModelInferResponse reversed =
        stub.modelInfer(affineRaw("", X).addOutputs(output("sum")).addOutputs(output("y")).build());
    assertThat(reversed.getOutputsList()).extracting(o -> o.getName()).containsExactly("sum", "y");
    assertThat(floats(reversed.getRawOutputContents(0))).containsExactly(SUM);
    assertThat(floats(reversed.getRawOutputContents(1))).containsExactly(Y);
  }

  @Test
  void modelInfer_emptyBatch_returnsEmptyOutputs() {
    ModelInferResponse response = stub.modelInfer(affineTyped("").build());
    assertThat(response.getOutputs(0).getShapeList()).containsExactly(0L, 4L);
    assertThat(typedOutput(response, 0)).isEmpty();
  }

  private static InferRequestedOutputTensor output(String name) {
    return InferRequestedOutputTensor.newBuilder().setName(name).build();
  }

  @Test
  void modelInfer_everyDatatypeTyped_roundTrips() {
    ModelInferRequest.Builder request = ModelInferRequest.newBuilder().setModelName("all-types");
    request.addInputs(
        input("bool", "BOOL", 2)
            .setContents(
                InferTensorContents.newBuilder().addBoolContents(true).addBoolContents(false)));
    request.addInputs(input("i8", "INT8", 2).setContents(ints(-128, 127)));
    request.addInputs(input("i16", "INT16", 2).setContents(ints(-32768, 32767)));
    request.addInputs(input("i32", "INT32", 2).setContents(ints(Integer.MIN_VALUE, 7)));
    request.addInputs(
        input("i64", "INT64", 2)
            .setContents(
                InferTensorContents.newBuilder()
                    .addInt64Contents(Long.MIN_VALUE)
                    .addInt64Contents(1L << 40)));
    request.addInputs(input("u8", "UINT8", 2).setContents(uints(0, 255)));
    request.addInputs(input("u16", "UINT16", 2).setContents(uints(0, 65535)));
    request.addInputs(input("u32", "UINT32", 2).setContents(uints(0, -1)));
    request.addInputs(
        input("u64", "UINT64", 2)
            .setContents(
                InferTensorContents.newBuilder().addUint64Contents(-1L).addUint64Contents(3)));
    request.addInputs(input("f32", "FP32", 2).setContents(fp32(1.5f, -0.0f)));
    request.addInputs(
        input("f64", "FP64", 2)
            .setContents(
                InferTensorContents.newBuilder().addFp64Contents(Math.PI).addFp64Contents(-1e300)));
    request.addInputs(
        input("bytes", "BYTES", 2)
            .setContents(
                InferTensorContents.newBuilder()
                    .addBytesContents(ByteString.copyFromUtf8("héllo"))
                    .addBytesContents(ByteString.EMPTY)));

    ModelInferResponse response = stub.modelInfer(request.build());

    assertThat(response.getRawOutputContentsCount()).isZero();
    assertThat(response.getOutputsCount()).isEqualTo(request.getInputsCount());
    for (int i = 0; i < request.getInputsCount(); i++) {
      var in = request.getInputs(i);
      var out = response.getOutputs(i);
      assertThat(out.getName()).isEqualTo(in.getName() + "_out");
      assertThat(out.getDatatype()).isEqualTo(in.getDatatype());
      assertThat(out.getShapeList()).isEqualTo(in.getShapeList());
      assertThat(out.getContents()).as(in.getName()).isEqualTo(in.getContents());
    }
  }

  @Test
  void modelInfer_everyDatatypeRaw_roundTrips() {
    ModelInferRequest.Builder request = ModelInferRequest.newBuilder().setModelName("all-types");
    for (TensorSpec spec : allTypes()) {
      request.addInputs(input(spec.name(), spec.dataType().wireName(), 3));
      byte[] bytes;
      if (spec.dataType() == DataType.BYTES) {
        bytes = bytesRaw("a", "", "xyz");
      } else {
        bytes = new byte[3 * spec.dataType().sizeBytes()];
        for (int b = 0; b < bytes.length; b++) {
          bytes[b] = (byte) (b * 37 + spec.name().length());
        }
        if (spec.dataType() == DataType.BOOL) {
          bytes = new byte[] {1, 0, 1};
        }
      }
      request.addRawInputContents(ByteString.copyFrom(bytes));
    }

    ModelInferResponse response = stub.modelInfer(request.build());

    assertThat(response.getOutputsList()).allSatisfy(o -> assertThat(o.hasContents()).isFalse());
    assertThat(response.getRawOutputContentsList()).isEqualTo(request.getRawInputContentsList());
  }

  @Test
  void modelInfer_fp16Raw_roundTrips() {
    ByteString half = ByteString.copyFrom(new byte[] {0x00, 0x3c, 0x00, (byte) 0xc0});
    ModelInferResponse response =
        stub.modelInfer(
            ModelInferRequest.newBuilder()
                .setModelName("f16")
                .addInputs(input("v", "FP16", 2))
                .addRawInputContents(half)
                .build());
    assertThat(response.getRawOutputContentsList()).containsExactly(half);
  }

  private static byte[] bytesRaw(String... values) {
    ByteBuffer out = ByteBuffer.allocate(256).order(ByteOrder.LITTLE_ENDIAN);
    for (String value : values) {
      byte[] utf8 = value.getBytes(java.nio.charset.StandardCharsets.UTF_8);
      out.putInt(utf8.length).put(utf8);
    }
    byte[] bytes = new byte[out.position()];
    out.flip().get(bytes);
    return bytes;
  }

  private static InferTensorContents.Builder ints(int... values) {
    InferTensorContents.Builder contents = InferTensorContents.newBuilder();
    for (int v : values) {
      contents.addIntContents(v);
    }
    return contents;
  }

  private static InferTensorContents.Builder uints(int... values) {
    InferTensorContents.Builder contents = InferTensorContents.newBuilder();
    for (int v : values) {
      contents.addUintContents(v);
    }
    return contents;
  }

  static Stream<Arguments> badRequests() {
    float[] four = {1, 2, 3, 4};
    return Stream.of(
        bad(
            "unknown model",
            ModelInferRequest.newBuilder().setModelName("nope"),
            Status.Code.NOT_FOUND,
            "model 'nope' is not served; served models: [affine, all-types, f16, i8, limited,"
                + " pair, text, u8]"),
        bad(
            "unknown version",
            affineTyped("7", four),
            Status.Code.NOT_FOUND,
            "model 'affine' has no version '7'; served versions: [1, 2]"),
        bad(
            "non-numeric version",
            affineTyped("latest", four),
            Status.Code.NOT_FOUND,
            "model 'affine' has no version 'latest'; served versions: [1, 2]"),
        bad(
            "unknown input",
            ModelInferRequest.newBuilder()
                .setModelName("affine")
                .addInputs(input("input", "FP32", 1, 4).setContents(fp32(four))),
            Status.Code.INVALID_ARGUMENT,
            "unknown input 'input'; model 'affine' expects inputs [x]"),
        bad(
            "duplicate input",
            affineTyped("", four).addInputs(input("x", "FP32", 1, 4).setContents(fp32(four))),
            Status.Code.INVALID_ARGUMENT,
            "input 'x' is given more than once"),
        bad(
            "missing input",
            ModelInferRequest.newBuilder()
                .setModelName("pair")
                .addInputs(input("a", "FP32", 1, 2).setContents(fp32(1, 2))),
            Status.Code.INVALID_ARGUMENT,
            "missing input 'b' (FP32[-1,2]); model 'pair' expects inputs [a, b]"),
        bad(
            "datatype mismatch",
            ModelInferRequest.newBuilder()
                .setModelName("affine")
                .addInputs(
                    input("x", "FP64", 1, 4)
                        .setContents(
                            InferTensorContents.newBuilder()
                                .addFp64Contents(1)
                                .addFp64Contents(2)
                                .addFp64Contents(3)
                                .addFp64Contents(4))),
            Status.Code.INVALID_ARGUMENT,
            "input 'x': datatype FP64 does not match model datatype FP32"),
        bad(
            "unknown datatype",
            ModelInferRequest.newBuilder()
                .setModelName("affine")
                .addInputs(input("x", "FLOAT", 1, 4).setContents(fp32(four))),
            Status.Code.INVALID_ARGUMENT,
            "input 'x': unknown datatype 'FLOAT', expected FP32"),
        bad(
            "rank mismatch",
            ModelInferRequest.newBuilder()
                .setModelName("affine")
                .addInputs(input("x", "FP32", 4).setContents(fp32(four))),
            Status.Code.INVALID_ARGUMENT,
            "input 'x': shape [4] does not match expected [-1,4]"),
        bad(
            "fixed dimension mismatch",
            ModelInferRequest.newBuilder()
                .setModelName("affine")
                .addInputs(input("x", "FP32", 2, 2).setContents(fp32(four))),
            Status.Code.INVALID_ARGUMENT,
            "input 'x': shape [2,2] does not match expected [-1,4]"),
        bad(
            "negative dimension",
            ModelInferRequest.newBuilder()
                .setModelName("affine")
                .addInputs(input("x", "FP32", -1, 4).setContents(fp32(four))),
            Status.Code.INVALID_ARGUMENT,
            "input 'x': shape [-1,4] has a negative dimension -1"),
        bad(
            "element count overflows",
            ModelInferRequest.newBuilder()
                .setModelName("affine")
                .addInputs(input("x", "FP32", 1L << 62, 4).setContents(fp32(four))),
            Status.Code.INVALID_ARGUMENT,
            "input 'x': shape [4611686018427387904,4] overflows 64-bit size"),
        bad(
            "tensor too large",
            ModelInferRequest.newBuilder()
                .setModelName("affine")
                .addInputs(input("x", "FP32", 1L << 30, 4)),
            Status.Code.INVALID_ARGUMENT,
            "input 'x': shape [1073741824,4] holds 4294967296 elements, more than one tensor may"
                + " hold (536870911 of FP32)"),
        bad(
            "batch over max_batch_size",
            ModelInferRequest.newBuilder()
                .setModelName("limited")
                .addInputs(input("x", "FP32", 3, 4).setContents(fp32(new float[12]))),
            Status.Code.INVALID_ARGUMENT,
            "input 'x': batch size 3 (shape [3,4]) exceeds max_batch_size=2"),
        bad(
            "typed and raw contents",
            affineTyped("", four).addRawInputContents(rawFloats(four)),
            Status.Code.INVALID_ARGUMENT,
            "input 'x': both contents and raw_input_contents are given; use one of them"),
        bad(
            "raw for some inputs only",
            ModelInferRequest.newBuilder()
                .setModelName("pair")
                .addInputs(input("a", "FP32", 1, 2))
                .addInputs(input("b", "FP32", 1, 2).setContents(fp32(1, 2)))
                .addRawInputContents(rawFloats(1, 2)),
            Status.Code.INVALID_ARGUMENT,
            "raw_input_contents has 1 entries but the request has 2 inputs; give raw contents for"
                + " every input, in input order, or for none"),
        bad(
            "raw byte length",
            ModelInferRequest.newBuilder()
                .setModelName("affine")
                .addInputs(input("x", "FP32", 1, 4))
                .addRawInputContents(rawFloats(1, 2, 3)),
            Status.Code.INVALID_ARGUMENT,
            "input 'x': raw_input_contents[0] has 12 bytes, expected 16 (4 elements x 4 bytes of"
                + " FP32, shape [1,4])"),
        bad(
            "raw BYTES element too long",
            ModelInferRequest.newBuilder()
                .setModelName("text")
                .addInputs(input("v", "BYTES", 1))
                .addRawInputContents(ByteString.copyFrom(new byte[] {9, 0, 0, 0, 'a'})),
            Status.Code.INVALID_ARGUMENT,
            "input 'v': raw_input_contents[0] BYTES element 0 declares 9 bytes, only 1 remain"),
        bad(
            "typed element count",
            ModelInferRequest.newBuilder()
                .setModelName("affine")
                .addInputs(input("x", "FP32", 1, 4).setContents(fp32(1, 2, 3))),
            Status.Code.INVALID_ARGUMENT,
            "input 'x': contents.fp32_contents has 3 values, shape [1,4] needs 4"),
        bad(
            "no contents at all",
            ModelInferRequest.newBuilder()
                .setModelName("affine")
                .addInputs(input("x", "FP32", 1, 4)),
            Status.Code.INVALID_ARGUMENT,
            "input 'x': contents.fp32_contents has 0 values, shape [1,4] needs 4"),
        bad(
            "shape checked before contents",
            ModelInferRequest.newBuilder()
                .setModelName("affine")
                .addInputs(
                    input("x", "FP32", 1, 1)
                        .setContents(InferTensorContents.newBuilder().addInt64Contents(1))),
            Status.Code.INVALID_ARGUMENT,
            "input 'x': shape [1,1] does not match expected [-1,4]"),
        bad(
            "wrong typed field for FP32",
            ModelInferRequest.newBuilder()
                .setModelName("affine")
                .addInputs(
                    input("x", "FP32", 1, 4)
                        .setContents(
                            InferTensorContents.newBuilder()
                                .addAllInt64Contents(List.of(1L, 2L, 3L, 4L)))),
            Status.Code.INVALID_ARGUMENT,
            "input 'x': datatype FP32 takes contents.fp32_contents, but contents.int64_contents"
                + " was given"),
        bad(
            "INT8 value out of range",
            ModelInferRequest.newBuilder()
                .setModelName("i8")
                .addInputs(input("v", "INT8", 2).setContents(ints(1, 300))),
            Status.Code.INVALID_ARGUMENT,
            "input 'v': contents.int_contents[1]=300 is out of range for INT8 [-128,127]"),
        bad(
            "UINT8 value out of range",
            ModelInferRequest.newBuilder()
                .setModelName("u8")
                .addInputs(input("v", "UINT8", 1).setContents(uints(-1))),
            Status.Code.INVALID_ARGUMENT,
            "input 'v': contents.uint_contents[0]=4294967295 is out of range for UINT8 [0,255]"),
        bad(
            "FP16 typed",
            ModelInferRequest.newBuilder()
                .setModelName("f16")
                .addInputs(
                    input("v", "FP16", 1)
                        .setContents(InferTensorContents.newBuilder().addFp32Contents(1))),
            Status.Code.INVALID_ARGUMENT,
            "input 'v': datatype FP16 has no typed contents field; send it in raw_input_contents"),
        bad(
            "unknown requested output",
            affineTyped("", four).addOutputs(output("logits")),
            Status.Code.INVALID_ARGUMENT,
            "unknown requested output 'logits'; model 'affine' has outputs [y, sum]"),
        bad(
            "duplicate requested output",
            affineTyped("", four).addOutputs(output("y")).addOutputs(output("y")),
            Status.Code.INVALID_ARGUMENT,
            "requested output 'y' is given more than once"),
        bad(
            "classification requested",
            affineTyped("", four)
                .addOutputs(
                    InferRequestedOutputTensor.newBuilder()
                        .setName("y")
                        .putParameters(
                            "classification",
                            InferParameter.newBuilder().setInt64Param(3).build())),
            Status.Code.INVALID_ARGUMENT,
            "requested output 'y': parameter 'classification' (classification extension) is not"
                + " supported"),
        bad(
            "model refuses a value",
            affineTyped("", 1, Float.NaN, 3, 4),
            Status.Code.INVALID_ARGUMENT,
            "model 'affine/2' refused the request: input 'x': NaN at element 1 is not accepted"),
        bad(
            "model crashes",
            affineRaw("1", AffineModel.CRASH, 0, 0, 0),
            Status.Code.INTERNAL,
            "model 'affine/1' failed: IllegalStateException: simulated executor crash"));
  }

  private static Arguments bad(
      String scenario, ModelInferRequest.Builder request, Status.Code code, String message) {
    return Arguments.of(scenario, request.build(), code, message);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("badRequests")
  void modelInfer_badRequest_exactStatusThenNextRequestSucceeds(
      String scenario, ModelInferRequest request, Status.Code code, String message) {
    assertStatus(() -> stub.modelInfer(request), code, message);

    ModelInferResponse next = stub.modelInfer(affineTyped("", X).build());
    assertThat(typedOutput(next, 0)).containsExactly(Y);
    assertThat(typedOutput(next, 1)).containsExactly(SUM);
  }

  @Test
  void modelStreamInfer_badRequestMidStream_errorMessageThenGoodOnesSucceed() throws Exception {
    GRPCInferenceServiceGrpc.GRPCInferenceServiceStub async =
        GRPCInferenceServiceGrpc.newStub(channel);
    List<ModelStreamInferResponse> responses = new ArrayList<>();
    CompletableFuture<Void> done = new CompletableFuture<>();
    StreamObserver<ModelInferRequest> requests =
        async.modelStreamInfer(
            new StreamObserver<>() {
              @Override
              public void onNext(ModelStreamInferResponse value) {
                synchronized (responses) {
                  responses.add(value);
                }
              }

              @Override
              public void onError(Throwable t) {
                done.completeExceptionally(t);
              }

              @Override
              public void onCompleted() {
                done.complete(null);
              }
            });
    requests.onNext(affineTyped("", X).setId("1").build());
    requests.onNext(affineTyped("", 1, 2, 3).setId("2").build());
    requests.onNext(affineRaw("", X).setId("3").build());
    requests.onNext(affineTyped("5", X).setId("4").build());
    requests.onNext(affineTyped("1", X).setId("5").build());
    requests.onCompleted();
    done.get(5, TimeUnit.SECONDS);

    assertThat(responses).hasSize(5);
    assertThat(responses.get(0).getErrorMessage()).isEmpty();
    assertThat(responses.get(0).getInferResponse().getId()).isEqualTo("1");
    assertThat(typedOutput(responses.get(0).getInferResponse(), 0)).containsExactly(Y);

    assertThat(responses.get(1).getErrorMessage())
        .isEqualTo(
            "INVALID_ARGUMENT: input 'x': contents.fp32_contents has 3 values, shape [0,4] needs"
                + " 0");
    assertThat(responses.get(1).getInferResponse().getId()).isEqualTo("2");

    assertThat(responses.get(2).getErrorMessage()).isEmpty();
    assertThat(floats(responses.get(2).getInferResponse().getRawOutputContents(0)))
        .containsExactly(Y);

    assertThat(responses.get(3).getErrorMessage())
        .isEqualTo("NOT_FOUND: model 'affine' has no version '5'; served versions: [1, 2]");
    assertThat(responses.get(3).getInferResponse().getId()).isEqualTo("4");

    assertThat(responses.get(4).getErrorMessage()).isEmpty();
    assertThat(responses.get(4).getInferResponse().getModelVersion()).isEqualTo("1");
    assertThat(typedOutput(responses.get(4).getInferResponse(), 1)).containsExactly(SUM);
  }

  @Test
  void modelInfer_concurrentGoodAndBadRequests_goodOnesAllCorrect() throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(4);
    CountDownLatch start = new CountDownLatch(1);
    try {
      List<Future<Integer>> workers = new ArrayList<>();
      for (int w = 0; w < 4; w++) {
        int worker = w;
        workers.add(
            pool.submit(
                () -> {
                  start.await();
                  int good = 0;
                  for (int i = 0; i < 100; i++) {
                    float base = worker * 1000 + i;
                    if (i % 3 == 0) {
                      assertThatThrownBy(
                              () -> stub.modelInfer(affineTyped("", base, Float.NaN, 0, 0).build()))
                          .isInstanceOf(StatusRuntimeException.class);
                      continue;
                    }
                    ModelInferResponse r = stub.modelInfer(affineRaw("", base, 1, 2, 3).build());
                    assertThat(floats(r.getRawOutputContents(0)))
                        .containsExactly(2 * base + 1, 3, 5, 7);
                    good++;
                  }
                  return good;
                }));
      }
      start.countDown();
      int good = 0;
      for (Future<Integer> worker : workers) {
        good += worker.get(30, TimeUnit.SECONDS);
      }
      assertThat(good).isEqualTo(4 * 66);
    } finally {
      pool.shutdownNow();
    }
  }

  static void assertStatus(Runnable call, Status.Code code, String description) {
    assertThatThrownBy(call::run)
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(code);
              assertThat(e.getStatus().getDescription()).isEqualTo(description);
            });
  }

  static void assertStatusCode(Runnable call, Status.Code code) {
    assertThatThrownBy(call::run)
        .isInstanceOfSatisfying(
            StatusRuntimeException.class, e -> assertThat(e.getStatus().getCode()).isEqualTo(code));
  }
}
