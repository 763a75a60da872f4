package io.cacheai.compress;

import static org.assertj.core.api.Assertions.assertThat;

import io.cacheai.graph.Attributes;
import io.cacheai.graph.ConstTensor;
import io.cacheai.graph.Graph;
import io.cacheai.graph.Node;
import io.cacheai.graph.OpType;
import io.cacheai.graph.ValueInfo;
import io.cacheai.runtime.GraphModel;
import io.cacheai.runtime.Int8Gemm;
import io.cacheai.runtime.Tensor;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * QLinearConv and QLinearGemm against the fp32 ops on random data, on both int8 implementations,
 * within the bound the quantization steps imply: per output, |error| ≤ Σ_k (|x_k|·s_w/2 +
 * |w_k|·s_x/2 + s_x·s_w/4) + s_x·s_w/2 (weight rounding, activation rounding, their product, bias
 * rounding); both implementations must agree bit for bit.
 */
class QuantizedKernelsTest {
  private static final int BATCH = 3;

  private static Graph graph(OpType op, long[] inShape, long[] weightShape, Random random) {
    float[] w = new float[(int) io.cacheai.graph.Shapes.elementCount(weightShape)];
    for (int i = 0; i < w.length; i++) {
      w[i] = (float) random.nextGaussian() * (1 + i % 3);
    }
    float[] b = new float[(int) weightShape[0]];
    for (int i = 0; i < b.length; i++) {
      b[i] = (float) random.nextGaussian();
    }
    Map<String, Object> attributes = new TreeMap<>();
    long[] outShape;
    if (op == OpType.CONV) {
      attributes.put("kernel_shape", new long[] {weightShape[2], weightShape[3]});
      if (weightShape[2] > 1) { // a 1×1 kernel stays pointwise: the quantize-transposed path
        attributes.put("pads", new long[] {1, 2, 1, 0});
        attributes.put("strides", new long[] {2, 1});
      }
      outShape = new long[] {-1, weightShape[0], -2, -2}; // filled by shape inference below
    } else {
      attributes.put("transB", 1L);
      outShape = new long[] {-1, weightShape[0]};
    }
    Node node =
        new Node(op, "layer", List.of("x", "w", "b"), List.of("y"), new Attributes(attributes));
    long[] in = inShape.clone();
    in[0] = ValueInfo.BATCH;
    Map<String, ConstTensor> constants =
        Map.of(
            "w",
            ConstTensor.ofFloats(weightShape, w),
            "b",
            ConstTensor.ofFloats(new long[] {b.length}, b));
    Graph probe =
        new Graph("t", 13, List.of(new ValueInfo("x", in)), List.of(), constants, List.of(node));
    long[] y = io.cacheai.graph.ShapeInference.infer(probe, 1).get("y").clone();
    y[0] = ValueInfo.BATCH;
    return new Graph(
        "t",
        13,
        List.of(new ValueInfo("x", in)),
        List.of(new ValueInfo("y", y)),
        constants,
        List.of(node));
  }

  @ParameterizedTest
  @ValueSource(strings = {"Conv", "Conv1x1", "Gemm"})
  void int8Layer_vsFp32_withinTheQuantizationBound(String opName) {
    Random random = new Random(opName.hashCode());
    boolean conv = opName.startsWith("Conv");
    boolean pointwise = opName.equals("Conv1x1");
    long[] inShape =
        pointwise
            ? new long[] {BATCH, 70, 5, 7}
            : conv ? new long[] {BATCH, 3, 9, 8} : new long[] {BATCH, 70};
    long[] weightShape =
        pointwise
            ? new long[] {24, 70, 1, 1}
            : conv ? new long[] {20, 3, 3, 3} : new long[] {37, 70};
    Graph graph = graph(conv ? OpType.CONV : OpType.GEMM, inShape, weightShape, random);
    float[] x = new float[(int) io.cacheai.graph.Shapes.elementCount(inShape)];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) (random.nextDouble() * 3 - 0.5); // asymmetric: zero point ≠ 128
    }
    Dataset data =
        new Dataset(x, java.util.Arrays.copyOfRange(inShape, 1, inShape.length), null, "random");
    Map<String, GraphQuantizer.Layer> layers = GraphQuantizer.weightedLayers(graph);
    assertThat(layers).containsKey("layer");
    Map<String, ActivationRange> ranges =
        ActivationCalibrator.calibrate(
            graph, java.util.Set.of("x"), data, BATCH, CalibrationMethod.MINMAX, d -> {});
    QuantizedGraph quantized =
        GraphQuantizer.quantize(graph, layers, Map.of("layer", LayerPrecision.INT8), ranges);
    assertThat(quantized.graph().nodes().get(0).op())
        .isEqualTo(conv ? OpType.QLINEAR_CONV : OpType.QLINEAR_GEMM);

    Map<String, Tensor> request = Map.of("x", Tensor.ofFloats(inShape, x));
    float[] expected;
    float[] reference;
    float[] nativeY;
    try (GraphModel fp32 = new GraphModel(graph);
        GraphModel ref =
            new GraphModel(quantized.graph(), quantized.packed(), Int8Gemm.reference());
        GraphModel nat =
            new GraphModel(quantized.graph(), quantized.packed(), Int8Gemm.nativeKernels())) {
      expected = fp32.infer(request).get("y").toFloatArray();
      reference = ref.infer(request).get("y").toFloatArray();
      nativeY = nat.infer(request).get("y").toFloatArray();
    }
    assertThat(nativeY).containsExactly(reference);

    float sx = ranges.get("x").scale();
    float maxX = 0;
    for (float v : x) {
      maxX = Math.max(maxX, Math.abs(v));
    }
    float[] w = graph.constants().get("w").floats();
    int channels = (int) weightShape[0];
    int k = w.length / channels;
    int perChannel = expected.length / BATCH / channels;
    for (int i = 0; i < expected.length; i++) {
      int channel = conv ? (i / perChannel) % channels : i % channels;
      float maxW = 0;
      for (int t = 0; t < k; t++) {
        maxW = Math.max(maxW, Math.abs(w[channel * k + t]));
      }
      float sw = maxW / 127;
      double bound = k * (maxX * sw / 2 + maxW * sx / 2 + sx * sw / 4) + sx * sw / 2;
      assertThat((double) Math.abs(reference[i] - expected[i]))
          .as("output %d (channel %d)", i, channel)
          .isLessThanOrEqualTo(bound);
    }
  }

  /**
   * Conv → ReLU → MaxPool 2×2 → Conv → MaxPool 2 stride 1, both convolutions int8: the native plan
   * fuses each pool into its convolution (the second one on the direct path, no patch matrix), the
   * reference runs every node alone; the outputs must be equal bit for bit, on random and on
   * saturating inputs.
   */
  @org.junit.jupiter.api.Test
  void int8ConvReluPoolChain_fusedNativeEqualsReference() {
    Random random = new Random(42);
    long[] inShape = {BATCH, 4, 12, 11};
    long[] w1Shape = {16, 4, 3, 3}; // 16 outputs, pooled: the channels-in-lanes kernel
    long[] w2Shape = {6, 16, 3, 3}; // 6 outputs, pooled: the wide-row kernel
    Map<String, ConstTensor> constants = new TreeMap<>();
    constants.put("w1", ConstTensor.ofFloats(w1Shape, gaussian(random, 16 * 4 * 9)));
    constants.put("b1", ConstTensor.ofFloats(new long[] {16}, gaussian(random, 16)));
    constants.put("w2", ConstTensor.ofFloats(w2Shape, gaussian(random, 6 * 16 * 9)));
    constants.put("b2", ConstTensor.ofFloats(new long[] {6}, gaussian(random, 6)));
    List<Node> nodes =
        List.of(
            new Node(
                OpType.CONV,
                "conv1",
                List.of("x", "w1", "b1"),
                List.of("c1"),
                new Attributes(
                    Map.of("kernel_shape", new long[] {3, 3}, "pads", new long[] {1, 1, 1, 1}))),
            new Node(OpType.RELU, "relu1", List.of("c1"), List.of("r1"), new Attributes(Map.of())),
            new Node(
                OpType.MAX_POOL,
                "pool1",
                List.of("r1"),
                List.of("p1"),
                new Attributes(
                    Map.of("kernel_shape", new long[] {2, 2}, "strides", new long[] {2, 2}))),
            new Node(
                OpType.CONV,
                "conv2",
                List.of("p1", "w2", "b2"),
                List.of("c2"),
                new Attributes(Map.of("kernel_shape", new long[] {3, 3}))),
            new Node(
                OpType.MAX_POOL,
                "pool2",
                List.of("c2"),
                List.of("y"),
                new Attributes(
                    Map.of("kernel_shape", new long[] {2, 2}, "strides", new long[] {1, 1}))));
    long[] in = inShape.clone();
    in[0] = ValueInfo.BATCH;
    Graph graph =
        new Graph(
            "chain",
            13,
            List.of(new ValueInfo("x", in)),
            List.of(new ValueInfo("y", new long[] {ValueInfo.BATCH, 6, 3, 2})),
            constants,
            nodes);
    float[] x = new float[(int) io.cacheai.graph.Shapes.elementCount(inShape)];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) (random.nextDouble() * 3 - 0.5);
    }
    Dataset data =
        new Dataset(x, java.util.Arrays.copyOfRange(inShape, 1, inShape.length), null, "random");
    Map<String, GraphQuantizer.Layer> layers = GraphQuantizer.weightedLayers(graph);
    Map<String, ActivationRange> ranges =
        ActivationCalibrator.calibrate(
            graph, java.util.Set.of("x", "p1"), data, BATCH, CalibrationMethod.MINMAX, d -> {});
    QuantizedGraph quantized =
        GraphQuantizer.quantize(
            graph,
            layers,
            Map.of("conv1", LayerPrecision.INT8, "conv2", LayerPrecision.INT8),
            ranges);
    float[] saturating = x.clone();
    for (int i = 0; i < saturating.length; i++) {
      saturating[i] = i % 3 == 0 ? 1e9f : i % 3 == 1 ? -1e9f : saturating[i];
    }
    try (GraphModel ref =
            new GraphModel(quantized.graph(), quantized.packed(), Int8Gemm.reference());
        GraphModel nat =
            new GraphModel(quantized.graph(), quantized.packed(), Int8Gemm.nativeKernels())) {
      for (float[] input : List.of(x, saturating)) {
        Map<String, Tensor> request = Map.of("x", Tensor.ofFloats(inShape, input));
        float[] reference = ref.infer(request).get("y").toFloatArray();
        assertThat(reference).hasSize(BATCH * 6 * 3 * 2);
        assertThat(nat.infer(request).get("y").toFloatArray()).containsExactly(reference);
      }
    }
  }

  /**
   * Gemm → ReLU → Gemm → ReLU → Gemm, all int8 (an MLP head): the native plan runs the three layers
   * as one chained call, the reference one Java kernel per node; equal bit for bit.
   */
  @org.junit.jupiter.api.Test
  void int8GemmChain_fusedNativeEqualsReference() {
    Random random = new Random(7);
    int[] widths = {70, 40, 24, 10};
    Map<String, ConstTensor> constants = new TreeMap<>();
    List<Node> nodes = new java.util.ArrayList<>();
    String x = "x";
    for (int l = 0; l < 3; l++) {
      constants.put(
          "w" + l,
          ConstTensor.ofFloats(
              new long[] {widths[l + 1], widths[l]}, gaussian(random, widths[l + 1] * widths[l])));
      constants.put(
          "b" + l,
          ConstTensor.ofFloats(new long[] {widths[l + 1]}, gaussian(random, widths[l + 1])));
      String y = l == 2 ? "y" : "g" + l;
      nodes.add(
          new Node(
              OpType.GEMM,
              "fc" + l,
              List.of(x, "w" + l, "b" + l),
              List.of(y),
              new Attributes(Map.of("transB", 1L))));
      if (l < 2) {
        nodes.add(
            new Node(
                OpType.RELU, "relu" + l, List.of(y), List.of("r" + l), new Attributes(Map.of())));
        x = "r" + l;
      }
    }
    Graph graph =
        new Graph(
            "mlp",
            13,
            List.of(new ValueInfo("x", new long[] {ValueInfo.BATCH, 70})),
            List.of(new ValueInfo("y", new long[] {ValueInfo.BATCH, 10})),
            constants,
            nodes);
    long[] inShape = {BATCH, 70};
    float[] input = new float[BATCH * 70];
    for (int i = 0; i < input.length; i++) {
      input[i] = (float) (random.nextDouble() * 3 - 0.5);
    }
    Dataset data = new Dataset(input, new long[] {70}, null, "random");
    Map<String, ActivationRange> ranges =
        ActivationCalibrator.calibrate(
            graph,
            java.util.Set.of("x", "r0", "r1"),
            data,
            BATCH,
            CalibrationMethod.MINMAX,
            d -> {});
    QuantizedGraph quantized =
        GraphQuantizer.quantize(
            graph,
            GraphQuantizer.weightedLayers(graph),
            Map.of(
                "fc0", LayerPrecision.INT8, "fc1", LayerPrecision.INT8, "fc2", LayerPrecision.INT8),
            ranges);
    float[] saturating = input.clone();
    for (int i = 0; i < saturating.length; i += 4) {
      saturating[i] = i % 8 == 0 ? 1e9f : -1e9f;
    }
    try (GraphModel ref =
            new GraphModel(quantized.graph(), quantized.packed(), Int8Gemm.reference());
        GraphModel nat =
            new GraphModel(quantized.graph(), quantized.packed(), Int8Gemm.nativeKernels())) {
      for (float[] values : List.of(input, saturating)) {
        Map<String, Tensor> request = Map.of("x", Tensor.ofFloats(inShape, values));
        float[] reference = ref.infer(request).get("y").toFloatArray();
        assertThat(reference).hasSize(BATCH * 10);
        assertThat(nat.infer(request).get("y").toFloatArray()).containsExactly(reference);
      }
    }
  }

  private static float[] gaussian(Random random, int count) {
    float[] values = new float[count];
    for (int i = 0; i < count; i++) {
      values[i] = (float) random.nextGaussian();
    }
    return values;
  }
}
