package io.cacheai.graph;

import java.util.Arrays;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * The operators cacheai can run: the one place the supported set is written down. The importer
 * refuses a model with any other op; shape inference and the runtime each handle every value.
 *
 * <p>Integer-valued ops (Shape, Cast to an integer type, and Slice, Concat, Reshape, Squeeze,
 * Unsqueeze, Add, Sub, Mul, Div over integers) are evaluated when a plan is built, from the
 * request's input shapes ({@link ShapeInference}); only float tensors are computed per request.
 *
 * <p>Most are ONNX operators of the default domain. The six of domain {@value #CACHEAI_DOMAIN} are
 * cacheai's own quantized operators, written only by the compressor ({@code io.cacheai.compress})
 * into {@code .cai} bundles, never accepted from an ONNX file. They take one activation input and
 * name their stored weights by attribute ({@code weight}, optional {@code bias}: keys of the
 * graph's {@link PackedTensor} map), with {@code weight_shape} giving the fp32 weight's shape:
 *
 * <ul>
 *   <li>{@code QLinearGemm}: y[M,N] = x·Wᵀ + b with x quantized per tensor to u8 ({@code x_scale},
 *       {@code x_zero_point}), W int8 per output channel [N,K], b int32 at scale x_scale·w_scale;
 *       the s32 accumulator is rescaled to fp32.
 *   <li>{@code QLinearConv}: the same for a Conv (ONNX Conv attributes kept), W [M,C/g,kH,kW].
 *   <li>{@code LowBitGemm} / {@code LowBitConv}: weight-only low-bit (4-, 3- or 2-bit, scale per
 *       group along K, or the native q4g32 blocks); activations stay fp32; b fp32.
 *   <li>{@code LookupGemm} ("Cache AI"): a Gemm turned into table lookups (MADDNESS / LUT-NN): the
 *       input row of D values, zero-padded to C·w, is cut into C sub-vectors of width w, each
 *       hashed to a key 0..K−1 (a depth-log2 K tree of threshold comparisons, or the nearest of K
 *       centroids), and y[m] = bias[m] + scale[m]·Σ_c tables[c][key_c][m]. Its stored tensors are
 *       named by the attributes {@code tables} (int8 [C,K,M], layout "lut16", or signed 4-bit,
 *       layout "lut16x4"), {@code scale} and {@code bias} (fp32 [M]), {@code split_dims} (int32
 *       [C,log2 K]), {@code thresholds} (fp32 [C,K−1]) and {@code centroids} (fp32 [C,K,w]); {@code
 *       keys} is K, the keys per codebook (4, 8 or 16; absent: 16), {@code weight_shape} is the
 *       replaced weight's [M,D], {@code width} is w, {@code encoder} is "tree" or "centroid";
 *       {@code groups} G splits the outputs into G groups with their own codebooks; {@code
 *       fold_key0} 1 (absent: 0) says key 0's rows are zero and not stored, tables [C,K−1,M]. A
 *       {@code LookupConv} accepts only K = 16 and fold_key0 = 0. See {@code
 *       io.cacheai.runtime.LookupKernels} for the exact semantics.
 *   <li>{@code LookupConv} ("Cache AI" k×k Conv, group 1): x [N,C,H,W] → y [N,M,oH,oW]; each output
 *       pixel's patch (im2col row of D = C·kH·kW values, order (c, ky, kx), zero where the window
 *       reads padding; {@link Im2Col}) is one LookupGemm row. The LookupGemm attributes and tensors
 *       ({@code weight_shape} [M,D]) plus the Conv's own {@code kernel_shape}, {@code strides},
 *       {@code pads}, {@code dilations}, {@code auto_pad}.
 * </ul>
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
  UNSQUEEZE("Unsqueeze"),
  QLINEAR_GEMM(OpType.CACHEAI_DOMAIN, "QLinearGemm"),
  QLINEAR_CONV(OpType.CACHEAI_DOMAIN, "QLinearConv"),
  LOW_BIT_GEMM(OpType.CACHEAI_DOMAIN, "LowBitGemm"),
  LOW_BIT_CONV(OpType.CACHEAI_DOMAIN, "LowBitConv"),
  LOOKUP_GEMM(OpType.CACHEAI_DOMAIN, "LookupGemm"),
  LOOKUP_CONV(OpType.CACHEAI_DOMAIN, "LookupConv");

  /** The domain of cacheai's own (quantized) operators. */
  public static final String CACHEAI_DOMAIN = "ai.cacheai";

  private final String domain;
  private final String onnxName;

  OpType(String onnxName) {
    this("", onnxName);
  }

  OpType(String domain, String onnxName) {
    this.domain = domain;
    this.onnxName = onnxName;
  }

  /** The operator's domain: "" for the default ONNX domain, {@value #CACHEAI_DOMAIN} for ours. */
  public String domain() {
    return domain;
  }

  /** The op named {@code name} in {@code domain} ("" or "ai.onnx" for the default domain). */
  public static Optional<OpType> fromName(String domain, String name) {
    String normalized = domain.equals("ai.onnx") ? "" : domain;
    return Arrays.stream(values())
        .filter(op -> op.domain.equals(normalized) && op.onnxName.equals(name))
        .findFirst();
  }

  /** The op's name in ONNX, e.g. "BatchNormalization". */
  public String onnxName() {
    return onnxName;
  }

  /** The supported op of the default ONNX domain named {@code onnxName}, if it is one. */
  public static Optional<OpType> fromOnnxName(String onnxName) {
    return fromName("", onnxName);
  }

  /** The supported default-domain ops' names, sorted, comma-separated (for error messages). */
  public static String supportedNames() {
    return Arrays.stream(values())
        .filter(op -> op.domain.isEmpty())
        .map(OpType::onnxName)
        .sorted()
        .collect(Collectors.joining(", "));
  }
}
