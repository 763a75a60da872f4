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
}
