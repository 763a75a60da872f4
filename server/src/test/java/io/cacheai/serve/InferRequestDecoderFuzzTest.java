package io.cacheai.serve;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.google.protobuf.ByteString;
import inference.GrpcService.InferParameter;
import inference.GrpcService.InferTensorContents;
import inference.GrpcService.ModelInferRequest;
import inference.GrpcService.ModelInferRequest.InferInputTensor;
import inference.GrpcService.ModelInferRequest.InferRequestedOutputTensor;
import io.cacheai.onnx.OnnxImporter;
import io.cacheai.runtime.DataType;
import io.cacheai.runtime.GraphModel;
import io.cacheai.runtime.Tensor;
import io.cacheai.runtime.TensorSpec;
import io.grpc.Status;
import io.grpc.StatusException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Fuzzes ModelInfer request validation and decoding ({@link InferRequestDecoder}) against the
 * embedded MNIST models (and a BYTES echo model, for that datatype's own decoding), with requests
 * built from the fuzzer's data: input names, datatypes, shapes, raw bytes and typed contents,
 * requested outputs. Each choice's first option (what an exhausted input yields) is the valid one,
 * so the empty input is a valid one-digit raw request and the fuzzer starts from accepted requests
 * (inputs directory {@code
 * src/test/resources/io/cacheai/serve/InferRequestDecoderFuzzTestInputs/<method>/}).
 *
 * <p>The contract checked: a request is refused with INVALID_ARGUMENT and a message, or accepted —
 * and then the model runs on it without an exception and returns every requested output with the
 * request's batch size; either way decoding allocates in proportion to the request's size, not to
 * the sizes it declares.
 */
class InferRequestDecoderFuzzTest {
  private static final int MAX_BATCH_SIZE = 4;
  private static final List<ServedModel> MODELS =
      List.of(
          served("mnist-mlp", ModelConfig.DEFAULT),
          served("mnist-cnn", new ModelConfig(MAX_BATCH_SIZE, Optional.empty())),
          // BYTES elements have their own decoding (length-prefixed raw, bytes_contents)
          new ServedModel(
              "echo-bytes",
              1,
              new EchoModel(new TensorSpec("input", DataType.BYTES, new long[] {-1, 2})),
              ModelConfig.DEFAULT));
  private static final InferRequestDecoder DECODER = new InferRequestDecoder();

  /**
   * Decoding may allocate about as much as the request holds (typed values become a buffer), never
   * what its shape merely declares: a small request must not cost gigabytes. Measured on a second
   * decoding of the same request, so that class loading (and Jazzer instrumenting the classes) on
   * the first pass through a code path is not counted; the base is still generous.
   */
  private static final long MAX_DECODE_BASE_BYTES = 64L << 20;

  private static final com.sun.management.ThreadMXBean THREADS =
      (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();

  /** A cap on the elements this test fills with data, so that one run stays fast. */
  private static final long MAX_FILLED_ELEMENTS = 1 << 14;

  @FuzzTest(maxDuration = "5m")
  void decode_fuzzedRequest_invalidArgumentOrRuns(FuzzedDataProvider data) {
    ServedModel served = MODELS.get(data.consumeInt(0, MODELS.size() - 1));
    ModelInferRequest request = request(data, served);
    try {
      DECODER.decode(request, served); // a first pass loads the classes this request's path needs
    } catch (StatusException | RuntimeException e) {
      // judged on the measured pass below
    }
    DecodedRequest decoded;
    long allocatedBefore = THREADS.getCurrentThreadAllocatedBytes();
    try {
      decoded = DECODER.decode(request, served);
    } catch (StatusException e) {
      assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
      assertThat(e.getStatus().getDescription()).isNotBlank();
      return;
    } finally {
      long allocatedBytes = THREADS.getCurrentThreadAllocatedBytes() - allocatedBefore;
      assertThat(allocatedBytes)
          .as("heap bytes allocated decoding a %d-byte request", request.getSerializedSize())
          .isLessThan(MAX_DECODE_BASE_BYTES + 16L * request.getSerializedSize());
    }
    Tensor input = decoded.inputs().get("input");
    long batch = input.shape()[0];
    Map<String, Tensor> outputs = served.model().infer(decoded.inputs());
    for (String name : decoded.outputNames()) {
      long[] expected =
          served.model() instanceof EchoModel ? input.shape() : new long[] {batch, 10};
      assertThat(outputs.get(name).shape()).as("output %s", name).containsExactly(expected);
    }
  }

  private static ModelInferRequest request(FuzzedDataProvider data, ServedModel served) {
    TensorSpec spec = served.model().inputs().get(0);
    ModelInferRequest.Builder request =
        ModelInferRequest.newBuilder().setModelName(served.name()).setId(data.consumeString(8));
    boolean raw = !data.consumeBoolean();
    int inputCount = choose(data, 1, 0, 2);
    for (int i = 0; i < inputCount; i++) {
      String name = data.consumeBoolean() ? data.consumeString(12) : spec.name();
      String datatype =
          switch (data.consumeInt(0, 2)) {
            case 0 -> spec.dataType().wireName();
            case 1 -> data.pickValue(DataType.values()).wireName();
            default -> data.consumeString(8);
          };
      long[] shape = shape(data, spec);
      InferInputTensor.Builder input =
          InferInputTensor.newBuilder().setName(name).setDatatype(datatype);
      Arrays.stream(shape).forEach(input::addShape);
      long elements = elementsOrMinusOne(shape);
      if (raw) {
        request.addRawInputContents(rawContents(data, elements));
      }
      if (!raw || data.consumeBoolean()) {
        input.setContents(typedContents(data, elements));
      }
      request.addInputs(input);
    }
    switch (data.consumeInt(0, 2)) {
      case 1 -> request.addRawInputContents(ByteString.copyFrom(data.consumeBytes(64)));
      case 2 -> {
        if (request.getRawInputContentsCount() > 0) {
          List<ByteString> kept = new ArrayList<>(request.getRawInputContentsList());
          kept.remove(kept.size() - 1);
          request.clearRawInputContents().addAllRawInputContents(kept);
        }
      }
      default -> {}
    }
    int outputCount = data.consumeInt(0, 2);
    for (int i = 0; i < outputCount; i++) {
      InferRequestedOutputTensor.Builder output =
          InferRequestedOutputTensor.newBuilder()
              .setName(data.consumeBoolean() ? data.consumeString(12) : "logits");
      if (data.consumeBoolean()) {
        output.putParameters(
            "classification", InferParameter.newBuilder().setInt64Param(data.consumeInt()).build());
      }
      request.addOutputs(output);
    }
    return request.build();
  }

  /** The model's shape with a small batch, or one dimension replaced, or any dims at all. */
  private static long[] shape(FuzzedDataProvider data, TensorSpec spec) {
    long[] shape = spec.shape();
    switch (data.consumeInt(0, 2)) {
      case 0 -> {
        for (int i = 0; i < shape.length; i++) {
          if (shape[i] == TensorSpec.DYNAMIC) {
            shape[i] = data.consumeInt(1, MAX_BATCH_SIZE + 1);
          }
        }
      }
      case 1 -> {
        for (int i = 0; i < shape.length; i++) {
          if (shape[i] == TensorSpec.DYNAMIC) {
            shape[i] = 1;
          }
        }
        shape[data.consumeInt(0, shape.length - 1)] = data.consumeLong();
      }
      default -> shape = data.consumeLongs(6);
    }
    return shape;
  }

  private static long elementsOrMinusOne(long[] shape) {
    try {
      return Tensor.elementCount(shape);
    } catch (ArithmeticException | IllegalArgumentException e) {
      return -1;
    }
  }

  /** Exactly the FP32 bytes the shape needs (fuzzer bytes, zero padded), or any bytes. */
  private static ByteString rawContents(FuzzedDataProvider data, long elements) {
    if (data.consumeInt(0, 1) == 0 && elements >= 0 && elements <= MAX_FILLED_ELEMENTS) {
      int length = (int) elements * Float.BYTES;
      return ByteString.copyFrom(Arrays.copyOf(data.consumeBytes(length), length));
    }
    return ByteString.copyFrom(data.consumeBytes(data.consumeInt(0, 4096)));
  }

  /** Exactly the fp32_contents the shape needs, or one arbitrary typed field. */
  private static InferTensorContents typedContents(FuzzedDataProvider data, long elements) {
    InferTensorContents.Builder contents = InferTensorContents.newBuilder();
    if (data.consumeInt(0, 1) == 0 && elements >= 0 && elements <= MAX_FILLED_ELEMENTS) {
      int length = (int) elements * Float.BYTES;
      ByteBuffer bytes =
          ByteBuffer.wrap(Arrays.copyOf(data.consumeBytes(length), length))
              .order(ByteOrder.LITTLE_ENDIAN);
      for (int i = 0; i < elements; i++) {
        contents.addFp32Contents(bytes.getFloat(i * Float.BYTES));
      }
      return contents.build();
    }
    int count = data.consumeInt(0, 64);
    switch (data.consumeInt(0, 7)) {
      case 0 -> contents.addAllFp32Contents(boxed(data, count, () -> data.consumeFloat()));
      case 1 -> contents.addAllBoolContents(boxed(data, count, data::consumeBoolean));
      case 2 -> contents.addAllIntContents(boxed(data, count, data::consumeInt));
      case 3 -> contents.addAllInt64Contents(boxed(data, count, data::consumeLong));
      case 4 -> contents.addAllUintContents(boxed(data, count, data::consumeInt));
      case 5 -> contents.addAllUint64Contents(boxed(data, count, data::consumeLong));
      case 6 -> contents.addAllFp64Contents(boxed(data, count, data::consumeDouble));
      default -> {
        for (int i = 0; i < count; i++) {
          contents.addBytesContents(ByteString.copyFrom(data.consumeBytes(16)));
        }
      }
    }
    return contents.build();
  }

  private static <T> List<T> boxed(
      FuzzedDataProvider data, int count, java.util.function.Supplier<T> next) {
    List<T> values = new ArrayList<>(count);
    for (int i = 0; i < count && data.remainingBytes() > 0; i++) {
      values.add(next.get());
    }
    return values;
  }

  /** {@code options[i]} for a fuzzed i; the first when the data is exhausted. */
  private static int choose(FuzzedDataProvider data, int... options) {
    return options[data.consumeInt(0, options.length - 1)];
  }

  private static ServedModel served(String name, ModelConfig config) {
    String resource = EmbeddedModels.ROOT + name + "/1/model.onnx";
    try (InputStream in =
        InferRequestDecoderFuzzTest.class.getClassLoader().getResourceAsStream(resource)) {
      return new ServedModel(
          name, 1, new GraphModel(OnnxImporter.importBytes(in.readAllBytes())), config);
    } catch (java.io.IOException e) {
      throw new UncheckedIOException(e);
    } catch (Exception e) {
      throw new IllegalStateException(resource + ": " + e.getMessage(), e);
    }
  }
}
