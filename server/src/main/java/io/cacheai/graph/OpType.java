package io.cacheai.graph;

import java.util.Arrays;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * The ONNX operators cacheai can run: the one place the supported set is written down. The importer
 * refuses a model with any other op; shape inference and the runtime each handle every value.
 *
 * <p>Integer-valued ops (Shape, Cast to an integer type, and Slice, Concat, Reshape, Squeeze,
 * Unsqueeze, Add, Sub, Mul, Div over integers) are evaluated when a plan is built, from the
 * request's input shapes ({@link ShapeInference}); only float tensors are computed per request.
 */
public enum OpType {
  ABS("Abs"),
  ADD("Add"),
  AVERAGE_POOL("AveragePool"),
  BATCH_NORMALIZATION("BatchNormalization"),
  CAST("Cast"),
  CLIP("Clip"),
  CONCAT("Concat"),
  CONSTANT("Constant"),
  CONV("Conv"),
  CONV_TRANSPOSE("ConvTranspose"),
  DIV("Div"),
  EXP("Exp"),
  FLATTEN("Flatten"),
  GEMM("Gemm"),
  GLOBAL_AVERAGE_POOL("GlobalAveragePool"),
  HARD_SIGMOID("HardSigmoid"),
  IDENTITY("Identity"),
  MAT_MUL("MatMul"),
  MAX_POOL("MaxPool"),
  MUL("Mul"),
  NEG("Neg"),
  POW("Pow"),
  REDUCE_MEAN("ReduceMean"),
  RELU("Relu"),
  RESHAPE("Reshape"),
  RESIZE("Resize"),
  SHAPE("Shape"),
  SIGMOID("Sigmoid"),
  SLICE("Slice"),
  SOFTMAX("Softmax"),
  SQRT("Sqrt"),
  SQUEEZE("Squeeze"),
  SUB("Sub"),
  TANH("Tanh"),
  TRANSPOSE("Transpose"),
  UNSQUEEZE("Unsqueeze");

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
