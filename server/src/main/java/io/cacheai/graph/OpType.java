package io.cacheai.graph;

import java.util.Arrays;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * The ONNX operators cacheai can run: the one place the supported set is written down. The importer
 * refuses a model with any other op; shape inference and the runtime each handle every value.
 */
public enum OpType {
  ADD("Add"),
  AVERAGE_POOL("AveragePool"),
  BATCH_NORMALIZATION("BatchNormalization"),
  CONSTANT("Constant"),
  CONV("Conv"),
  FLATTEN("Flatten"),
  GEMM("Gemm"),
  IDENTITY("Identity"),
  MAT_MUL("MatMul"),
  MAX_POOL("MaxPool"),
  RELU("Relu"),
  RESHAPE("Reshape"),
  SOFTMAX("Softmax");

  private final String onnxName;

  OpType(String onnxName) {
    this.onnxName = onnxName;
  }

  /** The op's name in ONNX, e.g. "BatchNormalization". */
  public String onnxName() {
    return onnxName;
  }

  /** The supported op named {@code onnxName}, if it is one. */
  public static Optional<OpType> fromOnnxName(String onnxName) {
    return Arrays.stream(values()).filter(op -> op.onnxName.equals(onnxName)).findFirst();
  }

  /** The supported ops' ONNX names, sorted, comma-separated (for error messages). */
  public static String supportedNames() {
    return Arrays.stream(values()).map(OpType::onnxName).sorted().collect(Collectors.joining(", "));
  }
}
