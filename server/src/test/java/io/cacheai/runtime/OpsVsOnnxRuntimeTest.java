package io.cacheai.runtime;

import static io.cacheai.onnx.OnnxModelBuilder.floatAttr;
import static io.cacheai.onnx.OnnxModelBuilder.intAttr;
import static io.cacheai.onnx.OnnxModelBuilder.intsAttr;
import static org.assertj.core.api.Assertions.assertThat;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.cacheai.onnx.OnnxImporter;
import io.cacheai.onnx.OnnxModelBuilder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Each op family of the executor against ONNX Runtime on small seeded random tensors: numpy
 * broadcasting, depthwise/dilated/strided convolution, reductions, data movement, batched MatMul,
 * both Softmax semantics, and a shape subgraph (Shape → Cast → Slice → Concat → Reshape) run at two
 * widths so it is re-evaluated per plan.
 */
class OpsVsOnnxRuntimeTest {
  /** Small tensors, short sums: fp32 results agree to a few ulps of O(1) values. */
  private static final float MAX_ABS_DIFF = 2e-5f;

  private static final OrtEnvironment ENV = OrtEnvironment.getEnvironment();

  static Stream<Arguments> cases() {
    List<Arguments> cases = new ArrayList<>();
    long[][][] broadcasts = {
      {{2, 3, 4, 5}, {2, 3, 4, 5}},
      {{2, 3, 4, 5}, {3, 1, 5}},
      {{2, 3, 4, 5}, {1}},
      {{1}, {2, 3, 4, 5}},
      {{2, 1, 4, 1}, {3, 1, 6}},
      {{2, 3, 4, 5}, {2, 3, 1, 1}},
    };
    for (String op : List.of("Add", "Sub", "Mul", "Div", "Pow")) {
      for (long[][] shapes : broadcasts) {
        cases.add(
            Arguments.of(
                op + " " + java.util.Arrays.deepToString(shapes),
                new OnnxModelBuilder()
                    .input("a", shapes[0])
                    .input("b", shapes[1])
                    .node(op, "n", List.of("a", "b"), "y")
                    .output("y")
                    .build(),
                inputs("a", shapes[0], "b", shapes[1])));
      }
    }
    for (String op : List.of("Relu", "Sigmoid", "Sqrt", "Abs", "Neg", "Exp", "Tanh")) {
      cases.add(unary(op, new OnnxModelBuilder()));
    }
    cases.add(
        Arguments.of(
            "HardSigmoid",
            new OnnxModelBuilder()
                .input("a", 2, 3, 4)
                .node(
                    "HardSigmoid",
                    "n",
                    List.of("a"),
                    "y",
                    floatAttr("alpha", 0.3f),
                    floatAttr("beta", 0.4f))
                .output("y")
                .build(),
            inputs("a", new long[] {2, 3, 4})));
    cases.add(
        Arguments.of(
            "Clip inputs (opset 12)",
            new OnnxModelBuilder()
                .opset(12)
                .input("a", 2, 3, 4)
                .floats("lo", new long[0], new float[] {0.2f})
                .floats("hi", new long[0], new float[] {0.9f})
                .node("Clip", "n", List.of("a", "lo", "hi"), "y")
                .output("y")
                .build(),
            inputs("a", new long[] {2, 3, 4})));
    cases.add(
        Arguments.of(
            "Clip attributes (opset 6)",
            new OnnxModelBuilder()
                .opset(6)
                .input("a", 2, 3, 4)
                .node(
                    "Clip", "n", List.of("a"), "y", floatAttr("min", 0.1f), floatAttr("max", 0.7f))
                .output("y")
                .build(),
            inputs("a", new long[] {2, 3, 4})));
    cases.add(conv("depthwise 3x3", 8, 8, 8, new long[] {3, 3}, null, null, null));
    cases.add(
        conv(
            "depthwise 5x5 stride 2x1 dilation 2 asymmetric pads",
            8,
            8,
            8,
            new long[] {5, 5},
            new long[] {2, 1},
            new long[] {2, 2},
            new long[] {2, 1, 1, 3}));
    cases.add(
        conv(
            "depthwise 3x3 stride 2",
            6,
            6,
            6,
            new long[] {3, 3},
            new long[] {2, 2},
            null,
            new long[] {1, 1, 1, 1}));
    cases.add(conv("grouped 2", 8, 6, 2, new long[] {3, 3}, null, new long[] {1, 2}, null));
    cases.add(conv("dilated dense", 4, 5, 1, new long[] {3, 1}, null, new long[] {3, 1}, null));
    cases.add(
        Arguments.of(
            "BatchNormalization standalone",
            new OnnxModelBuilder()
                .input("a", 2, 3, 4, 5)
                .floats("s", new long[] {3}, new float[] {0.5f, 1.5f, -1f})
                .floats("b", new long[] {3}, new float[] {0.1f, 0.2f, 0.3f})
                .floats("m", new long[] {3}, new float[] {0.4f, -0.2f, 0f})
                .floats("v", new long[] {3}, new float[] {0.9f, 2f, 0.1f})
                .node("Relu", "r", List.of("a"), "t")
                .node("BatchNormalization", "n", List.of("t", "s", "b", "m", "v"), "y")
                .output("y")
                .build(),
            inputs("a", new long[] {2, 3, 4, 5})));
    cases.add(
        single("ReduceMean last axis", new long[] {2, 3, 7}, "ReduceMean", intsAttr("axes", -1)));
    cases.add(
        single(
            "ReduceMean axes 0,2 no keepdims",
            new long[] {2, 3, 4, 5},
            "ReduceMean",
            intsAttr("axes", 0, 2),
            intAttr("keepdims", 0)));
    cases.add(single("ReduceMean all", new long[] {2, 3, 4}, "ReduceMean"));
    cases.add(single("GlobalAveragePool", new long[] {2, 3, 5, 7}, "GlobalAveragePool"));
    cases.add(
        single(
            "AveragePool 3x2",
            new long[] {2, 3, 6, 8},
            "AveragePool",
            intsAttr("kernel_shape", 3, 2),
            intsAttr("strides", 3, 2)));
    cases.add(
        single(
            "Transpose 0,2,3,1",
            new long[] {2, 3, 4, 5},
            "Transpose",
            intsAttr("perm", 0, 2, 3, 1)));
    cases.add(
        single(
            "Transpose 2,0,3,1,4",
            new long[] {2, 3, 4, 5, 6},
            "Transpose",
            intsAttr("perm", 2, 0, 3, 1, 4)));
    cases.add(
        Arguments.of(
            "Concat axis 1",
            new OnnxModelBuilder()
                .input("a", 2, 3, 4)
                .input("b", 2, 5, 4)
                .node("Concat", "n", List.of("a", "b"), "y", intAttr("axis", 1))
                .output("y")
                .build(),
            inputs("a", new long[] {2, 3, 4}, "b", new long[] {2, 5, 4})));
    cases.add(
        Arguments.of(
            "Slice steps and negative indices",
            new OnnxModelBuilder()
                .input("a", 4, 6, 8)
                .int64s("starts", -1, 1)
                .int64s("ends", -100, 7)
                .int64s("axes", 0, 2)
                .int64s("steps", -2, 3)
                .node("Slice", "n", List.of("a", "starts", "ends", "axes", "steps"), "y")
                .output("y")
                .build(),
            inputs("a", new long[] {4, 6, 8})));
    cases.add(
        Arguments.of(
            "Unsqueeze then Squeeze (opset 13 inputs)",
            new OnnxModelBuilder()
                .input("a", 3, 4)
                .int64s("ax", 0, 3)
                .int64s("sq", 0)
                .node("Unsqueeze", "u", List.of("a", "ax"), "t")
                .node("Squeeze", "s", List.of("t", "sq"), "y")
                .output("y")
                .build(),
            inputs("a", new long[] {3, 4})));
    cases.add(matMul(new long[] {2, 3, 4, 5}, new long[] {3, 5, 6}));
    cases.add(matMul(new long[] {4, 5}, new long[] {2, 3, 5, 6}));
    cases.add(matMul(new long[] {2, 1, 4, 5}, new long[] {3, 5, 2}));
    cases.add(matMul(new long[] {5}, new long[] {2, 5, 3}));
    cases.add(
        Arguments.of(
            "Softmax opset 11 axis 1 (flattens the rest)",
            new OnnxModelBuilder()
                .opset(11)
                .input("a", 2, 3, 4)
                .node("Softmax", "n", List.of("a"), "y", intAttr("axis", 1))
                .output("y")
                .build(),
            inputs("a", new long[] {2, 3, 4})));
    cases.add(
        Arguments.of(
            "Softmax opset 13 axis 1",
            new OnnxModelBuilder()
                .input("a", 2, 3, 4)
                .node("Softmax", "n", List.of("a"), "y", intAttr("axis", 1))
                .output("y")
                .build(),
            inputs("a", new long[] {2, 3, 4})));
    return cases.stream();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void op_matchesOnnxRuntime(String name, byte[] model, Map<String, long[]> shapes)
      throws Exception {
    assertMatchesOrt(model, shapes, name.startsWith("Pow") || name.startsWith("Sqrt"));
  }

  /**
   * Elementwise chains run fused (hard-swish, swish, scale-shift with reversed operands) and give
   * the same floats as node-by-node execution and as ONNX Runtime; a value also read elsewhere
   * (here: a second graph output) breaks the chain.
   */
  @Test
  void elementwiseChains_fused_matchUnfusedAndOnnxRuntime() throws Exception {
    byte[] model =
        new OnnxModelBuilder()
            .opset(12)
            .input("x", -1, 6, 5, 7)
            .floats("three", new long[0], new float[] {3f})
            .floats("zero", new long[0], new float[] {0f})
            .floats("six", new long[0], new float[] {6f})
            .floats("half", new long[] {1}, new float[] {0.5f})
            .floats("minus8", new long[] {1}, new float[] {-8f})
            .node("Add", "hs_add", List.of("x", "three"), "h1")
            .node("Clip", "hs_clip", List.of("h1", "zero", "six"), "h2")
            .node("Mul", "hs_mul", List.of("x", "h2"), "h3")
            .node("Div", "hs_div", List.of("h3", "six"), "hs")
            .node("Sigmoid", "sw_sig", List.of("hs"), "s1")
            .node("Mul", "sw_mul", List.of("s1", "hs"), "sw")
            .node("Sub", "rsub", List.of("minus8", "sw"), "r1")
            .node("Div", "rdiv", List.of("three", "r1"), "r2")
            .node("Mul", "scale", List.of("r2", "half"), "y")
            .output("y")
            .build();
    Map<String, long[]> shapes = Map.of("x", new long[] {2, 6, 5, 7});
    try (GraphModel fused = new GraphModel(OnnxImporter.importBytes(model));
        GraphModel plain = new GraphModel(OnnxImporter.importBytes(model), false)) {
      float[] viaFused = assertMatchesOrt(fused, model, shapes, false);
      float[] viaPlain = assertMatchesOrt(plain, model, shapes, false);
      assertThat(viaFused).containsExactly(viaPlain);
      List<Kernel> kernels = fused.planFor(new long[][] {{2, 6, 5, 7}}).kernels();
      assertThat(kernels).hasSize(2).allMatch(k -> k instanceof ElementwiseChainKernel);
    }
  }

  /**
   * A chain that reads only a convolution's output runs inside the convolution's store (native
   * epilogue): 1×1 Conv → hard-swish → scale → shift, the PP-OCR LCNet ending, and depthwise Conv →
   * swish. Same floats as node-by-node execution (within fp32 reordering) and as ONNX Runtime.
   */
  @Test
  void convThenChain_fusedIntoConv_matchesUnfusedAndOnnxRuntime() throws Exception {
    byte[] model =
        new OnnxModelBuilder()
            .opset(12)
            .input("x", -1, 16, 6, 9)
            .floats("w", new long[] {24, 16, 1, 1}, seeded(24 * 16, 21))
            .floats("b", new long[] {24}, seeded(24, 22))
            .floats("dw", new long[] {24, 1, 3, 3}, seeded(24 * 9, 23))
            .floats("three", new long[0], new float[] {3f})
            .floats("zero", new long[0], new float[] {0f})
            .floats("six", new long[0], new float[] {6f})
            .floats("scale", new long[] {1}, new float[] {0.75f})
            .floats("shift", new long[] {1}, new float[] {-0.125f})
            .node("Conv", "pw", List.of("x", "w", "b"), "c")
            .node("Add", "hs_add", List.of("c", "three"), "h1")
            .node("Clip", "hs_clip", List.of("h1", "zero", "six"), "h2")
            .node("Mul", "hs_mul", List.of("c", "h2"), "h3")
            .node("Div", "hs_div", List.of("h3", "six"), "h4")
            .node("Mul", "aff_mul", List.of("h4", "scale"), "h5")
            .node("Add", "aff_add", List.of("h5", "shift"), "h6")
            .node(
                "Conv",
                "depthwise",
                List.of("h6", "dw"),
                "d",
                intsAttr("pads", 1, 1, 1, 1),
                intAttr("group", 24))
            .node("Sigmoid", "sw_sig", List.of("d"), "s1")
            .node("Mul", "sw_mul", List.of("d", "s1"), "y")
            .output("y")
            .build();
    Map<String, long[]> shapes = Map.of("x", new long[] {2, 16, 6, 9});
    try (GraphModel fused = new GraphModel(OnnxImporter.importBytes(model));
        GraphModel plain = new GraphModel(OnnxImporter.importBytes(model), false)) {
      float[] viaFused = assertMatchesOrt(fused, model, shapes, false);
      float[] viaPlain = assertMatchesOrt(plain, model, shapes, false);
      for (int i = 0; i < viaFused.length; i++) {
        assertThat(viaFused[i]).isCloseTo(viaPlain[i], org.assertj.core.data.Offset.offset(1e-5f));
      }
      List<Kernel> kernels = fused.planFor(new long[][] {{2, 16, 6, 9}}).kernels();
      // The depthwise epilogue runs on every CPU; the 1x1 one where the packed product runs.
      int expected = io.cacheai.kernels.Fp32Kernels.packedGemmAvailable() ? 2 : 3;
      assertThat(kernels).hasSize(expected);
      assertThat(kernels.get(kernels.size() - 1)).isInstanceOf(DepthwiseConvKernel.class);
    }
    // A CPU without AVX2/AVX-512: OpenBLAS 1x1 product + Java chain, scalar depthwise epilogue.
    io.cacheai.kernels.Fp32Kernels.forceScalar(true);
    try (GraphModel fallback = new GraphModel(OnnxImporter.importBytes(model))) {
      assertMatchesOrt(fallback, model, shapes, false);
      assertThat(fallback.planFor(new long[][] {{2, 16, 6, 9}}).kernels()).hasSize(3);
    } finally {
      io.cacheai.kernels.Fp32Kernels.forceScalar(false);
    }
  }

  /** Conv → Mul(per channel) → Add(scalar) is folded into the Conv at import. */
  @Test
  void convScaleShift_foldedIntoConv_matchesOnnxRuntime() throws Exception {
    byte[] model =
        new OnnxModelBuilder()
            .input("x", -1, 2, 5, 5)
            .floats("w", new long[] {3, 2, 3, 3}, seeded(54, 11))
            .floats("s", new long[] {1, 3, 1, 1}, new float[] {0.5f, -2f, 1.5f})
            .floats("t", new long[0], new float[] {0.25f})
            .node("Conv", "c", List.of("x", "w"), "c_out", intsAttr("pads", 1, 1, 1, 1))
            .node("Mul", "scale", List.of("s", "c_out"), "m_out")
            .node("Add", "shift", List.of("m_out", "t"), "y")
            .output("y")
            .build();
    io.cacheai.graph.Graph graph = OnnxImporter.importBytes(model);
    assertThat(graph.nodes()).extracting(n -> n.op().onnxName()).containsExactly("Conv");
    try (GraphModel graphModel = new GraphModel(graph)) {
      assertMatchesOrt(graphModel, model, Map.of("x", new long[] {2, 2, 5, 5}), false);
    }
  }

  private static float[] seeded(int count, long seed) {
    Random random = new Random(seed);
    float[] values = new float[count];
    for (int i = 0; i < count; i++) {
      values[i] = (float) random.nextGaussian();
    }
    return values;
  }

  @Test
  void elementwiseChain_intermediateIsGraphOutput_notFusedAcrossIt() throws Exception {
    byte[] model =
        new OnnxModelBuilder()
            .input("x", 2, 3)
            .floats("two", new long[0], new float[] {2f})
            .node("Mul", "m", List.of("x", "two"), "t")
            .node("Relu", "r", List.of("t"), "y")
            .output("y")
            .output("t")
            .build();
    try (GraphModel graphModel = new GraphModel(OnnxImporter.importBytes(model))) {
      Map<String, Tensor> out =
          graphModel.infer(
              Map.of("x", Tensor.ofFloats(new long[] {2, 3}, new float[] {-1, 2, -3, 4, -5, 6})));
      assertThat(out.get("t").toFloatArray()).containsExactly(-2, 4, -6, 8, -10, 12);
      assertThat(out.get("y").toFloatArray()).containsExactly(0, 4, 0, 8, 0, 12);
    }
  }

  /** PP-OCR's pattern: the Reshape target is computed from the input's shape, width varies. */
  @Test
  void shapeSubgraph_foldedPerWidth_matchesOnnxRuntime() throws Exception {
    byte[] model =
        new OnnxModelBuilder()
            .opset(12)
            .input("x", -1, 4, -1)
            .int64s("zero", 0)
            .int64s("one", 1)
            .int64s("minus1", -1)
            .node("Shape", "shape", List.of("x"), "s")
            .node("Cast", "to32", List.of("s"), "s32", intAttr("to", 6))
            .node("Slice", "batch", List.of("s32", "zero", "one"), "n32")
            .node("Cast", "to64", List.of("n32"), "n", intAttr("to", 7))
            .node("Concat", "target", List.of("n", "minus1"), "t", intAttr("axis", 0))
            .node("Reshape", "flat", List.of("x", "t"), "f")
            .node("Softmax", "sm", List.of("f"), "y", intAttr("axis", 1))
            .output("y")
            .build();
    GraphModel graphModel = new GraphModel(OnnxImporter.importBytes(model));
    assertThat(graphModel.inputs().get(0).shape()).containsExactly(-1, 4, -1);
    for (long width : new long[] {5, 9}) {
      float[] ours =
          assertMatchesOrt(graphModel, model, Map.of("x", new long[] {2, 4, width}), false);
      assertThat(ours).hasSize((int) (2 * 4 * width));
    }
  }

  private static float[] assertMatchesOrt(
      byte[] model, Map<String, long[]> shapes, boolean positive) throws Exception {
    try (GraphModel graphModel = new GraphModel(OnnxImporter.importBytes(model))) {
      return assertMatchesOrt(graphModel, model, shapes, positive);
    }
  }

  private static float[] assertMatchesOrt(
      GraphModel graphModel, byte[] model, Map<String, long[]> shapes, boolean positive)
      throws Exception {
    Random random = new Random(42);
    Map<String, Tensor> ours = new LinkedHashMap<>();
    Map<String, OnnxTensor> theirs = new HashMap<>();
    try (OrtSession session = ENV.createSession(model, new OrtSession.SessionOptions())) {
      for (var entry : shapes.entrySet()) {
        int count = (int) Tensor.elementCount(entry.getValue());
        float[] values = new float[count];
        for (int i = 0; i < count; i++) {
          values[i] = positive ? 0.25f + 1.5f * random.nextFloat() : (float) random.nextGaussian();
        }
        ours.put(entry.getKey(), Tensor.ofFloats(entry.getValue(), values));
        theirs.put(
            entry.getKey(),
            OnnxTensor.createTensor(ENV, FloatBuffer.wrap(values), entry.getValue()));
      }
      Tensor result = graphModel.infer(ours).get("y");
      float[] expected;
      long[] expectedShape;
      try (OrtSession.Result run = session.run(theirs)) {
        OnnxTensor tensor = (OnnxTensor) run.get(0);
        expectedShape = tensor.getInfo().getShape();
        FloatBuffer buffer = tensor.getFloatBuffer();
        expected = new float[buffer.remaining()];
        buffer.get(expected);
      } finally {
        theirs.values().forEach(OnnxTensor::close);
      }
      assertThat(result.shape()).containsExactly(expectedShape);
      float[] actual = result.toFloatArray();
      for (int i = 0; i < expected.length; i++) {
        float tolerance = MAX_ABS_DIFF * Math.max(1f, Math.abs(expected[i]));
        assertThat(actual[i])
            .as("element %d", i)
            .isCloseTo(expected[i], org.assertj.core.data.Offset.offset(tolerance));
      }
      return actual;
    }
  }

  private static Map<String, long[]> inputs(Object... namesAndShapes) {
    Map<String, long[]> map = new LinkedHashMap<>();
    for (int i = 0; i < namesAndShapes.length; i += 2) {
      map.put((String) namesAndShapes[i], (long[]) namesAndShapes[i + 1]);
    }
    return map;
  }

  private static Arguments unary(String op, OnnxModelBuilder builder) {
    return Arguments.of(
        op,
        builder.input("a", 2, 3, 4).node(op, "n", List.of("a"), "y").output("y").build(),
        inputs("a", new long[] {2, 3, 4}));
  }

  private static Arguments single(
      String name,
      long[] shape,
      String op,
      io.cacheai.onnx.proto.Onnx.AttributeProto... attributes) {
    return Arguments.of(
        name,
        new OnnxModelBuilder()
            .input("a", shape)
            .node(op, "n", List.of("a"), "y", attributes)
            .output("y")
            .build(),
        inputs("a", shape));
  }

  private static Arguments matMul(long[] a, long[] b) {
    return Arguments.of(
        "MatMul " + java.util.Arrays.toString(a) + " x " + java.util.Arrays.toString(b),
        new OnnxModelBuilder()
            .input("a", a)
            .input("b", b)
            .node("MatMul", "n", List.of("a", "b"), "y")
            .output("y")
            .build(),
        inputs("a", a, "b", b));
  }

  private static Arguments conv(
      String name,
      int inChannels,
      int outChannels,
      int group,
      long[] kernel,
      long[] strides,
      long[] dilations,
      long[] pads) {
    Random random = new Random(7);
    long[] weightShape = {outChannels, inChannels / group, kernel[0], kernel[1]};
    float[] weight = new float[(int) Tensor.elementCount(weightShape)];
    for (int i = 0; i < weight.length; i++) {
      weight[i] = (float) random.nextGaussian() * 0.3f;
    }
    float[] bias = new float[outChannels];
    for (int i = 0; i < bias.length; i++) {
      bias[i] = (float) random.nextGaussian();
    }
    List<io.cacheai.onnx.proto.Onnx.AttributeProto> attributes = new ArrayList<>();
    attributes.add(intAttr("group", group));
    if (strides != null) {
      attributes.add(intsAttr("strides", strides));
    }
    if (dilations != null) {
      attributes.add(intsAttr("dilations", dilations));
    }
    if (pads != null) {
      attributes.add(intsAttr("pads", pads));
    }
    long[] input = {2, inChannels, 11, 13};
    return Arguments.of(
        "Conv " + name,
        new OnnxModelBuilder()
            .input("a", input)
            .floats("w", weightShape, weight)
            .floats("bias", new long[] {outChannels}, bias)
            .node(
                "Conv",
                "n",
                List.of("a", "w", "bias"),
                "y",
                attributes.toArray(io.cacheai.onnx.proto.Onnx.AttributeProto[]::new))
            .output("y")
            .build(),
        inputs("a", input));
  }
}
