package io.cacheai.runtime;

import static io.cacheai.onnx.OnnxModelBuilder.floatAttr;
import static io.cacheai.onnx.OnnxModelBuilder.intAttr;
import static io.cacheai.onnx.OnnxModelBuilder.intsAttr;
import static io.cacheai.onnx.OnnxModelBuilder.stringAttr;
import static io.cacheai.onnx.OnnxModelBuilder.tensorAttr;
import static org.assertj.core.api.Assertions.assertThat;

import io.cacheai.graph.Graph;
import io.cacheai.graph.OpType;
import io.cacheai.onnx.OnnxImporter;
import io.cacheai.onnx.OnnxModelBuilder;
import io.cacheai.onnx.proto.Onnx.AttributeProto;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Every supported op and its main attribute variants, executor vs ONNX Runtime. */
class OpsVsOrtTest {
  private static final float TOLERANCE = 1e-5f;
  private static final float SUM_TOLERANCE = 1e-4f;

  private static long count(long... dims) {
    long n = 1;
    for (long d : dims) {
      n *= d;
    }
    return n;
  }

  private static float[] random(long seed, long... dims) {
    return OrtComparison.random(new Random(seed), (int) count(dims));
  }

  private static float[] positive(long seed, long... dims) {
    float[] values = random(seed, dims);
    for (int i = 0; i < values.length; i++) {
      values[i] = 0.5f + Math.abs(values[i]);
    }
    return values;
  }

  /** One op on input x of {@code shape} (batch symbolic), with optional constant inputs. */
  private static void check(
      String op, long[] shape, int opset, List<Object[]> constants, float tolerance,
      AttributeProto... attributes)
      throws Exception {
    long[] declared = shape.clone();
    declared[0] = -1;
    OnnxModelBuilder builder = new OnnxModelBuilder().opset(opset).input("x", declared);
    List<String> inputs = new ArrayList<>(List.of("x"));
    int i = 0;
    for (Object[] constant : constants) {
      String name = "c" + i++;
      if (constant[1] instanceof long[] ints) {
        builder.int64s(name, ints);
      } else {
        builder.floats(name, (long[]) constant[0], (float[]) constant[1]);
      }
      inputs.add(constant.length > 2 ? "" : name);
    }
    byte[] onnx = builder.node(op, op + "_under_test", inputs, "y", attributes).output("y").build();
    OrtComparison.assertMatches(
        onnx, Map.of("x", random(42, shape)), Map.of("x", shape), "y", tolerance);
  }

  private static Object[] c(long[] dims, float[] values) {
    return new Object[] {dims, values};
  }

  private static long[] s(long... dims) {
    return dims;
  }

  static Stream<Arguments> convCases() {
    return Stream.of(
        Arguments.of("plain", new AttributeProto[0]),
        Arguments.of("pads", new AttributeProto[] {intsAttr("pads", 1, 1, 1, 1)}),
        Arguments.of(
            "asymmetricPadsStrides",
            new AttributeProto[] {intsAttr("pads", 0, 1, 2, 1), intsAttr("strides", 2, 2)}),
        Arguments.of("dilations", new AttributeProto[] {intsAttr("dilations", 2, 2)}),
        Arguments.of(
            "sameUpperStride2",
            new AttributeProto[] {stringAttr("auto_pad", "SAME_UPPER"), intsAttr("strides", 2, 2)}),
        Arguments.of(
            "sameLowerStride2",
            new AttributeProto[] {stringAttr("auto_pad", "SAME_LOWER"), intsAttr("strides", 2, 2)}),
        Arguments.of("valid", new AttributeProto[] {stringAttr("auto_pad", "VALID")}));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("convCases")
  void conv_variants_matchOrt(String name, AttributeProto[] attributes) throws Exception {
    long[] x = s(2, 3, 9, 8);
    long[] w = s(4, 3, 3, 3);
    check("Conv", x, 13, List.of(c(w, random(1, w)), c(s(4), random(2, 4))), SUM_TOLERANCE,
        attributes);
    check("Conv", x, 13, List.of(c(w, random(3, w))), SUM_TOLERANCE, attributes);
  }

  @Test
  void conv_kernelShapeAttributeAndNonSquare_matchesOrt() throws Exception {
    long[] w = s(5, 2, 2, 3);
    check("Conv", s(3, 2, 7, 6), 11, List.of(c(w, random(4, w)), c(s(5), random(5, 5))),
        SUM_TOLERANCE, intsAttr("kernel_shape", 2, 3), intsAttr("strides", 1, 2));
  }

  @Test
  void gemm_transposesAlphaBeta_matchOrt() throws Exception {
    for (int transB = 0; transB <= 1; transB++) {
      long[] b = transB == 1 ? s(6, 5) : s(5, 6);
      check("Gemm", s(3, 5), 13, List.of(c(b, random(6, b)), c(s(6), random(7, 6))),
          SUM_TOLERANCE, intAttr("transB", transB), floatAttr("alpha", 0.5f),
          floatAttr("beta", 2f));
      check("Gemm", s(3, 5), 13, List.of(c(b, random(8, b)), c(s(1, 6), random(9, 6))),
          SUM_TOLERANCE, intAttr("transB", transB));
      check("Gemm", s(3, 5), 13, List.of(c(b, random(8, b)), c(s(1), random(9, 1))),
          SUM_TOLERANCE, intAttr("transB", transB));
      check("Gemm", s(3, 5), 13, List.of(c(b, random(10, b))), SUM_TOLERANCE,
          intAttr("transB", transB));
    }
  }

  @Test
  void gemm_transA_matchesOrt() throws Exception {
    // A is [K, M] = [5, 3] with transA: the fixed-size case (no batch on axis 0).
    byte[] onnx =
        new OnnxModelBuilder()
            .input("a", 5, 3)
            .floats("b", s(5, 4), random(11, 5, 4))
            .floats("c", s(3, 4), random(12, 3, 4))
            .node("Gemm", "g", List.of("a", "b", "c"), "y", intAttr("transA", 1),
                floatAttr("alpha", 1.5f), floatAttr("beta", 0.25f))
            .output("y")
            .build();
    OrtComparison.assertMatches(
        onnx, Map.of("a", random(13, 5, 3)), Map.of("a", s(5, 3)), "y", SUM_TOLERANCE);
  }

  @Test
  void matMul_2dAndNdBy2d_matchOrt() throws Exception {
    check("MatMul", s(4, 7), 13, List.of(c(s(7, 3), random(14, 7, 3))), SUM_TOLERANCE);
    check("MatMul", s(2, 3, 7), 13, List.of(c(s(7, 5), random(15, 7, 5))), SUM_TOLERANCE);
  }

  @Test
  void add_broadcasting_matchesOrt() throws Exception {
    check("Add", s(2, 3, 4), 13, List.of(c(s(4), random(16, 4))), TOLERANCE);
    check("Add", s(2, 3, 4), 13, List.of(c(s(3, 1), random(17, 3, 1))), TOLERANCE);
    check("Add", s(2, 3, 4), 13, List.of(c(s(1, 3, 4), random(18, 1, 3, 4))), TOLERANCE);
    check("Add", s(2, 3, 1), 13, List.of(c(s(1, 4), random(18, 1, 4))), TOLERANCE);
    check("Add", s(2, 3), 13, List.of(c(s(2, 3), random(19, 2, 3))), TOLERANCE);
  }

  @Test
  void add_twoGraphInputs_matchesOrt() throws Exception {
    byte[] onnx =
        new OnnxModelBuilder()
            .input("a", -1, 3, 4)
            .input("b", -1, 1, 4)
            .node("Add", "add", List.of("a", "b"), "y")
            .output("y")
            .build();
    OrtComparison.assertMatches(
        onnx,
        Map.of("a", random(20, 2, 3, 4), "b", random(21, 2, 1, 4)),
        Map.of("a", s(2, 3, 4), "b", s(2, 1, 4)),
        "y",
        TOLERANCE);
  }

  @Test
  void relu_identity_matchOrt() throws Exception {
    check("Relu", s(3, 5, 2), 13, List.of(), TOLERANCE);
    check("Identity", s(3, 5, 2), 13, List.of(), TOLERANCE);
  }

  @Test
  void flatten_axes_matchOrt() throws Exception {
    for (int axis = 0; axis <= 3; axis++) {
      check("Flatten", s(2, 3, 4, 5), 13, List.of(), TOLERANCE, intAttr("axis", axis));
    }
    check("Flatten", s(2, 3, 4, 5), 13, List.of(), TOLERANCE, intAttr("axis", -2));
  }

  @Test
  void reshape_zeroAndMinusOne_matchOrt() throws Exception {
    check("Reshape", s(2, 3, 4), 13, List.of(new Object[] {null, new long[] {0, -1}}), TOLERANCE);
    check("Reshape", s(2, 3, 4), 13, List.of(new Object[] {null, new long[] {-1, 4}}), TOLERANCE);
    check("Reshape", s(2, 3, 4), 13, List.of(new Object[] {null, new long[] {0, 2, 0, 6}}),
        TOLERANCE);
  }

  @Test
  void softmax_axesAcrossOpsets_matchOrt() throws Exception {
    for (int axis : new int[] {1, 2, -1}) {
      check("Softmax", s(2, 3, 4), 13, List.of(), TOLERANCE, intAttr("axis", axis));
      check("Softmax", s(2, 3, 4), 11, List.of(), TOLERANCE, intAttr("axis", axis));
    }
    check("Softmax", s(2, 3, 4), 13, List.of(), TOLERANCE);
    check("Softmax", s(2, 3, 4), 11, List.of(), TOLERANCE);
  }

  @Test
  void maxPool_variants_matchOrt() throws Exception {
    long[] x = s(2, 3, 9, 8);
    check("MaxPool", x, 13, List.of(), TOLERANCE, intsAttr("kernel_shape", 2, 2),
        intsAttr("strides", 2, 2));
    check("MaxPool", x, 13, List.of(), TOLERANCE, intsAttr("kernel_shape", 3, 3),
        intsAttr("strides", 2, 2), intAttr("ceil_mode", 1));
    check("MaxPool", x, 13, List.of(), TOLERANCE, intsAttr("kernel_shape", 3, 3),
        intsAttr("pads", 1, 1, 1, 1));
    check("MaxPool", x, 13, List.of(), TOLERANCE, intsAttr("kernel_shape", 2, 2),
        intsAttr("dilations", 2, 2));
    check("MaxPool", x, 13, List.of(), TOLERANCE, intsAttr("kernel_shape", 3, 2),
        stringAttr("auto_pad", "SAME_UPPER"), intsAttr("strides", 2, 2));
  }

  @Test
  void averagePool_variants_matchOrt() throws Exception {
    long[] x = s(2, 3, 9, 8);
    check("AveragePool", x, 13, List.of(), TOLERANCE, intsAttr("kernel_shape", 2, 2),
        intsAttr("strides", 2, 2));
    for (int include = 0; include <= 1; include++) {
      check("AveragePool", x, 13, List.of(), TOLERANCE, intsAttr("kernel_shape", 3, 3),
          intsAttr("pads", 1, 1, 1, 1), intAttr("count_include_pad", include));
      check("AveragePool", x, 13, List.of(), TOLERANCE, intsAttr("kernel_shape", 3, 3),
          intsAttr("strides", 2, 2), intsAttr("pads", 1, 0, 1, 0),
          intAttr("count_include_pad", include), intAttr("ceil_mode", 1));
    }
  }

  @Test
  void batchNormalization_standalone_runsAsOwnOpAndMatchesOrt() throws Exception {
    long[] x = s(2, 4, 3, 3);
    check("BatchNormalization", x, 13,
        List.of(c(s(4), random(22, 4)), c(s(4), random(23, 4)), c(s(4), random(24, 4)),
            c(s(4), positive(25, 4))),
        TOLERANCE, floatAttr("epsilon", 1e-3f));
  }

  @Test
  void batchNormalization_afterConv_isFoldedAndMatchesOrt() throws Exception {
    long[] x = s(2, 3, 8, 8);
    byte[] onnx =
        new OnnxModelBuilder()
            .input("x", -1, 3, 8, 8)
            .floats("w", s(4, 3, 3, 3), random(26, 4, 3, 3, 3))
            .floats("b", s(4), random(27, 4))
            .floats("scale", s(4), random(28, 4))
            .floats("bias", s(4), random(29, 4))
            .floats("mean", s(4), random(30, 4))
            .floats("var", s(4), positive(31, 4))
            .node("Conv", "conv", List.of("x", "w", "b"), "h", intsAttr("pads", 1, 1, 1, 1))
            .node("BatchNormalization", "bn", List.of("h", "scale", "bias", "mean", "var"), "z",
                floatAttr("epsilon", 1e-5f))
            .node("Relu", "relu", List.of("z"), "y")
            .output("y")
            .build();
    Graph graph = OnnxImporter.importBytes(onnx);
    assertThat(graph.nodes()).extracting(n -> n.op())
        .containsExactly(OpType.CONV, OpType.RELU);
    OrtComparison.assertMatches(
        onnx, Map.of("x", random(32, x)), Map.of("x", x), "y", SUM_TOLERANCE);
  }

  @Test
  void batchNormalization_afterConvWithOtherConsumer_isNotFolded() throws Exception {
    long[] x = s(2, 2, 5, 5);
    byte[] onnx =
        new OnnxModelBuilder()
            .input("x", -1, 2, 5, 5)
            .floats("w", s(2, 2, 1, 1), random(33, 2, 2, 1, 1))
            .floats("scale", s(2), random(34, 2))
            .floats("bias", s(2), random(35, 2))
            .floats("mean", s(2), random(36, 2))
            .floats("var", s(2), positive(37, 2))
            .node("Conv", "conv", List.of("x", "w"), "h")
            .node("BatchNormalization", "bn", List.of("h", "scale", "bias", "mean", "var"), "z")
            .node("Add", "add", List.of("z", "h"), "y")
            .output("y")
            .build();
    Graph graph = OnnxImporter.importBytes(onnx);
    assertThat(graph.nodes()).extracting(n -> n.op()).contains(OpType.BATCH_NORMALIZATION);
    OrtComparison.assertMatches(
        onnx, Map.of("x", random(38, x)), Map.of("x", x), "y", SUM_TOLERANCE);
  }

  @Test
  void constantNode_feedsAdd_matchesOrt() throws Exception {
    byte[] onnx =
        new OnnxModelBuilder()
            .input("x", -1, 3)
            .node("Constant", "k", List.of(), "k_out",
                tensorAttr("value", OnnxModelBuilder.floatTensor("", s(3),
                    new float[] {1f, -2f, 3.5f})))
            .node("Add", "add", List.of("x", "k_out"), "y")
            .output("y")
            .build();
    OrtComparison.assertMatches(
        onnx, Map.of("x", random(39, 4, 3)), Map.of("x", s(4, 3)), "y", TOLERANCE);
  }
}
