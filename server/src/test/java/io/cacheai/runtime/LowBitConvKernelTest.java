package io.cacheai.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.cacheai.compress.GraphQuantizer;
import io.cacheai.compress.LayerPrecision;
import io.cacheai.compress.QuantizedGraph;
import io.cacheai.graph.Attributes;
import io.cacheai.graph.ConstTensor;
import io.cacheai.graph.Graph;
import io.cacheai.graph.Node;
import io.cacheai.graph.OpType;
import io.cacheai.graph.PackedTensor;
import io.cacheai.graph.ValueInfo;
import io.cacheai.kernels.FloatBuffers;
import io.cacheai.kernels.LowBitConv;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@link LowBitConvKernel}'s native path (s4g32 weights, dynamic u8 activations) against its fp32
 * path on the same dequantized weights ({@link Int8Gemm#reference()} plans run it), on odd shapes
 * (strides, pads, dilation, K not a multiple of 32, batch 3, a fused ReLU): per output |error| ≤
 * Σ_k |w_k| · dx (dx = the image's u8 step) · 1.0001 + 1e-5 · Σ|w·x| — the activation-rounding
 * bound the q4 kernels are held to. Weights whose scales change inside a run of 32 keep the fp32
 * path: equal bit for bit.
 */
class LowBitConvKernelTest {
  private static final int BATCH = 3;

  private static Graph graph(
      long[] inShape,
      long[] weightShape,
      long[] pads,
      long[] strides,
      long dilation,
      boolean relu,
      Random random) {
    return graph(inShape, weightShape, pads, strides, dilation, relu, false, random);
  }

  /** As above, with a 2×2 / stride-2 MaxPool after the (ReLU'd) convolution when {@code pool}. */
  private static Graph graph(
      long[] inShape,
      long[] weightShape,
      long[] pads,
      long[] strides,
      long dilation,
      boolean relu,
      boolean pool,
      Random random) {
    float[] w = new float[(int) io.cacheai.graph.Shapes.elementCount(weightShape)];
    for (int i = 0; i < w.length; i++) {
      w[i] = (float) random.nextGaussian() * (1 + i % 3);
    }
    float[] b = new float[(int) weightShape[0]];
    for (int i = 0; i < b.length; i++) {
      b[i] = (float) random.nextGaussian();
    }
    Map<String, Object> attributes = new TreeMap<>();
    attributes.put("kernel_shape", new long[] {weightShape[2], weightShape[3]});
    attributes.put("pads", pads);
    attributes.put("strides", strides);
    attributes.put("dilations", new long[] {dilation, dilation});
    List<Node> nodes = new ArrayList<>();
    nodes.add(
        new Node(
            OpType.CONV,
            "layer",
            List.of("x", "w", "b"),
            List.of(relu ? "z" : pool ? "c" : "y"),
            new Attributes(attributes)));
    if (relu) {
      nodes.add(
          new Node(
              OpType.RELU,
              "act",
              List.of("z"),
              List.of(pool ? "c" : "y"),
              new Attributes(Map.of())));
    }
    if (pool) {
      Map<String, Object> poolAttributes = new TreeMap<>();
      poolAttributes.put("kernel_shape", new long[] {2, 2});
      poolAttributes.put("strides", new long[] {2, 2});
      nodes.add(
          new Node(
              OpType.MAX_POOL, "pool", List.of("c"), List.of("y"), new Attributes(poolAttributes)));
    }
    long[] in = inShape.clone();
    in[0] = ValueInfo.BATCH;
    Map<String, ConstTensor> constants =
        Map.of(
            "w",
            ConstTensor.ofFloats(weightShape, w),
            "b",
            ConstTensor.ofFloats(new long[] {b.length}, b));
    Graph probe = new Graph("t", 13, List.of(new ValueInfo("x", in)), List.of(), constants, nodes);
    long[] y = io.cacheai.graph.ShapeInference.infer(probe, 1).get("y").clone();
    y[0] = ValueInfo.BATCH;
    return new Graph(
        "t", 13, List.of(new ValueInfo("x", in)), List.of(new ValueInfo("y", y)), constants, nodes);
  }

  @ParameterizedTest(name = "{0} C={1} {2}x{3} M={4} k{5} s{6} p{7} d{8} relu={9}")
  @CsvSource({
    "int4, 1, 28, 28, 16, 5, 1, 0, 1, true", // MNIST conv1: K = 25
    "int4, 16, 12, 12, 32, 5, 1, 1, 1, true", // MNIST conv2: K = 400
    "int3, 3, 9, 8, 20, 3, 2, 1, 1, false", // K = 27, one scale per row, stride 2
    "int2, 5, 11, 7, 7, 3, 1, 2, 2, true", // K = 45, dilation 2
    "int4, 37, 5, 7, 24, 1, 1, 0, 1, false", // pointwise
    "int4, 4, 6, 6, 3, 2, 3, 1, 1, false", // stride 3, K = 16
    "int4g16, 5, 9, 9, 6, 3, 1, 1, 1, true" // scales every 16: the fp32 path
  })
  void lowBitConv_nativeVsFp32_withinActivationRoundingBound(
      String precisionName,
      int channels,
      int h,
      int w,
      int m,
      int kernel,
      int stride,
      int pad,
      int dilation,
      boolean relu) {
    Assumptions.assumeTrue(NativeInt8Gemm.AVAILABLE, "native kernels");
    Random random = new Random(31L * channels + 7L * m + kernel);
    long[] inShape = {BATCH, channels, h, w};
    long[] weightShape = {m, channels, kernel, kernel};
    Graph graph =
        graph(
            inShape,
            weightShape,
            new long[] {pad, pad + (stride > 1 ? 1 : 0), pad, pad},
            new long[] {stride, stride},
            dilation,
            relu,
            random);
    int k = channels * kernel * kernel;
    LayerPrecision precision =
        switch (precisionName) {
          case "int4" -> LayerPrecision.int4(32);
          case "int3" -> LayerPrecision.int3(k);
          case "int2" -> LayerPrecision.int2(32);
          default -> LayerPrecision.int4(16);
        };
    QuantizedGraph quantized =
        GraphQuantizer.quantize(
            graph, GraphQuantizer.weightedLayers(graph), Map.of("layer", precision), Map.of());
    assertThat(quantized.graph().nodes().get(0).op()).isEqualTo(OpType.LOW_BIT_CONV);

    float[] x = new float[(int) io.cacheai.graph.Shapes.elementCount(inShape)];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) (random.nextDouble() * 3 - 0.7); // asymmetric: zero point ≠ 0
    }
    Map<String, Tensor> request = Map.of("x", Tensor.ofFloats(inShape, x));
    float[] reference;
    float[] nativeY;
    try (GraphModel ref =
            new GraphModel(quantized.graph(), quantized.packed(), Int8Gemm.reference());
        GraphModel nat =
            new GraphModel(quantized.graph(), quantized.packed(), Int8Gemm.nativeKernels())) {
      reference = ref.infer(request).get("y").toFloatArray();
      nativeY = nat.infer(request).get("y").toFloatArray();
    }
    if (precisionName.equals("int4g16") || LowBitConv.body() < 1) {
      assertThat(nativeY).containsExactly(reference);
      return;
    }
    assertThat(nativeY).isNotEqualTo(reference); // u8 activations: the native path ran

    PackedTensor packed =
        quantized
            .packed()
            .get(quantized.graph().nodes().get(0).attributes().getString("weight", null));
    FloatBuffer dequantized = FloatBuffers.allocate(m * k);
    LowBitWeights.dequantize(packed, dequantized);
    float[] wd = new float[m * k];
    dequantized.get(0, wd);
    int imageLength = x.length / BATCH;
    int pixels = reference.length / BATCH / m;
    float[][] xMax = new float[BATCH][1];
    for (int b = 0; b < BATCH; b++) {
      float lo = 0;
      float hi = 0;
      for (int i = 0; i < imageLength; i++) {
        lo = Math.min(lo, x[b * imageLength + i]);
        hi = Math.max(hi, x[b * imageLength + i]);
        xMax[b][0] = Math.max(xMax[b][0], Math.abs(x[b * imageLength + i]));
      }
      float dx = (hi - lo) / 255;
      for (int j = 0; j < m; j++) {
        double sumW = 0;
        for (int t = 0; t < k; t++) {
          sumW += Math.abs(wd[j * k + t]);
        }
        double tolerance = tolerance(wd, j, k, dx, xMax[b][0]);
        for (int p = 0; p < pixels; p++) {
          int i = (b * m + j) * pixels + p;
          assertThat((double) Math.abs(nativeY[i] - reference[i]))
              .as("image %d channel %d pixel %d", b, j, p)
              .isLessThanOrEqualTo(tolerance);
          if (relu) {
            assertThat(nativeY[i]).isGreaterThanOrEqualTo(0f);
          }
        }
      }
    }
  }

  /**
   * The activation-rounding bound of output channel j, plus — for one scale per row, where the int8
   * kernels run with the fp32 bias rounded onto the accumulator grid — half a step of it (dx · d_j
   * ≤ dx · max|w_j|).
   */
  private static double tolerance(float[] wd, int j, int k, float dx, float xMax) {
    double sumW = 0;
    double maxW = 0;
    for (int t = 0; t < k; t++) {
      sumW += Math.abs(wd[j * k + t]);
      maxW = Math.max(maxW, Math.abs(wd[j * k + t]));
    }
    // K > 32: the int8 kernels run the row re-rounded to int8, s = max|w|/127 (LowBitConvKernel)
    double reround = 0;
    if (k > 32 && maxW > 0) {
      float s = (float) maxW / 127f;
      for (int t = 0; t < k; t++) {
        float w = wd[j * k + t];
        double q = Math.max(-127, Math.min(127, Math.rint(w / s)));
        reround += Math.abs(w - q * s);
      }
    }
    return sumW * dx * 1.0001
        + 0.5001 * dx * maxW
        + reround * (xMax + dx) * 1.0001
        + 1e-5 * sumW * xMax
        + 1e-6;
  }

  /**
   * Conv → ReLU → MaxPool 2×2, int4 g32, pool fused into the convolution's store (the profile shows
   * one kernel): for K ≤ 32 (one weight scale per output channel) by the int8 direct kernel, else
   * by the s4g32 kernel then a native crop-and-pool; held to the same bound as the unpooled output
   * (a max moves no more than its inputs do) vs the fp32 path's pooled output.
   */
  @ParameterizedTest(name = "C={0} {1}x{1} M={2} pad={3}")
  @CsvSource({
    "1, 28, 20, 0", // MNIST conv1: K = 25, the int8 kernel pools
    "1, 28, 16, 2",
    "2, 13, 7, 1",
    "3, 9, 33, 0",
    "20, 12, 50, 0", // MNIST conv2: K = 500, 16 scales per row: s4g32, then cropPool
    "5, 9, 7, 1" // K = 125
  })
  void lowBitConv_perChannelScalesWithPool_fusedAndWithinBound(
      int channels, int size, int m, int pad) {
    Assumptions.assumeTrue(NativeInt8Gemm.AVAILABLE, "native kernels");
    Assumptions.assumeTrue(io.cacheai.kernels.Int8KqConv.available(), "kw-quad kernel");
    Random random = new Random(97L * m + size);
    long[] inShape = {BATCH, channels, size, size};
    int kernel = channels == 3 ? 3 : 5;
    Graph graph =
        graph(
            inShape,
            new long[] {m, channels, kernel, kernel},
            new long[] {pad, pad, pad, pad},
            new long[] {1, 1},
            1,
            true,
            true,
            random);
    int k = channels * kernel * kernel;
    QuantizedGraph quantized =
        GraphQuantizer.quantize(
            graph,
            GraphQuantizer.weightedLayers(graph),
            Map.of("layer", LayerPrecision.int4(32)),
            Map.of());
    float[] x = new float[(int) io.cacheai.graph.Shapes.elementCount(inShape)];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) (random.nextDouble() * 3 - 0.7);
    }
    x[0] = 255f; // an adversarial outlier: a coarse step, most values near the zero point
    Map<String, Tensor> request = Map.of("x", Tensor.ofFloats(inShape, x));
    float[] reference;
    float[] nativeY;
    try (GraphModel ref =
            new GraphModel(quantized.graph(), quantized.packed(), Int8Gemm.reference());
        GraphModel nat =
            new GraphModel(quantized.graph(), quantized.packed(), Int8Gemm.nativeKernels())) {
      reference = ref.infer(request).get("y").toFloatArray();
      nativeY = nat.infer(request).get("y").toFloatArray();
    }
    assertThat(nativeY).isNotEqualTo(reference); // u8 activations: the native path ran
    PackedTensor packed =
        quantized
            .packed()
            .get(quantized.graph().nodes().get(0).attributes().getString("weight", null));
    FloatBuffer dequantized = FloatBuffers.allocate(m * k);
    LowBitWeights.dequantize(packed, dequantized);
    float[] wd = new float[m * k];
    dequantized.get(0, wd);
    int imageLength = x.length / BATCH;
    int outputs = reference.length / BATCH / m;
    for (int b = 0; b < BATCH; b++) {
      float lo = 0;
      float hi = 0;
      float xMax = 0;
      for (int i = 0; i < imageLength; i++) {
        lo = Math.min(lo, x[b * imageLength + i]);
        hi = Math.max(hi, x[b * imageLength + i]);
        xMax = Math.max(xMax, Math.abs(x[b * imageLength + i]));
      }
      float dx = (hi - lo) / 255;
      for (int j = 0; j < m; j++) {
        double tolerance = tolerance(wd, j, k, dx, xMax);
        for (int p = 0; p < outputs; p++) {
          int i = (b * m + j) * outputs + p;
          assertThat((double) Math.abs(nativeY[i] - reference[i]))
              .as("image %d channel %d output %d", b, j, p)
              .isLessThanOrEqualTo(tolerance);
          assertThat(nativeY[i]).isGreaterThanOrEqualTo(0f);
        }
      }
    }
  }

  /** A non-finite value under a fused pool: the Java path, the same non-finite outputs. */
  @ParameterizedTest(name = "x[{0}] = {1}")
  @CsvSource({"5, NaN", "700, Infinity", "1000, -Infinity"})
  void lowBitConv_pooledNonFiniteInput_javaPathPropagatesIt(int at, float value) {
    Assumptions.assumeTrue(NativeInt8Gemm.AVAILABLE, "native kernels");
    Random random = new Random(at);
    long[] inShape = {2, 1, 28, 28};
    Graph graph =
        graph(
            inShape,
            new long[] {16, 1, 5, 5},
            new long[] {0, 0, 0, 0},
            new long[] {1, 1},
            1,
            true,
            true,
            random);
    QuantizedGraph quantized =
        GraphQuantizer.quantize(
            graph,
            GraphQuantizer.weightedLayers(graph),
            Map.of("layer", LayerPrecision.int4(32)),
            Map.of());
    float[] x = new float[2 * 28 * 28];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) random.nextDouble();
    }
    x[at] = value;
    Map<String, Tensor> request = Map.of("x", Tensor.ofFloats(inShape, x));
    try (GraphModel ref =
            new GraphModel(quantized.graph(), quantized.packed(), Int8Gemm.reference());
        GraphModel nat =
            new GraphModel(quantized.graph(), quantized.packed(), Int8Gemm.nativeKernels())) {
      float[] expected = ref.infer(request).get("y").toFloatArray();
      float[] actual = nat.infer(request).get("y").toFloatArray();
      assertThat(actual).hasSameSizeAs(expected);
      int nonFinite = 0;
      for (int i = 0; i < expected.length; i++) {
        if (!Float.isFinite(expected[i])) {
          nonFinite++;
          assertThat(Float.compare(actual[i], expected[i])).as("output %d", i).isZero();
        } else {
          assertThat(actual[i])
              .as("output %d", i)
              .isCloseTo(
                  expected[i],
                  org.assertj.core.data.Offset.offset(1e-4f * (1 + Math.abs(expected[i]))));
        }
      }
      assertThat(nonFinite).isPositive();
    }
  }

  @ParameterizedTest(name = "x[{0}] = {1}")
  @CsvSource({"5, NaN", "700, Infinity", "1000, -Infinity"})
  void lowBitConv_nonFiniteInput_fp32PathPropagatesIt(int at, float value) {
    Assumptions.assumeTrue(NativeInt8Gemm.AVAILABLE, "native kernels");
    Random random = new Random(at);
    long[] inShape = {2, 1, 28, 28};
    Graph graph =
        graph(
            inShape,
            new long[] {16, 1, 5, 5},
            new long[] {0, 0, 0, 0},
            new long[] {1, 1},
            1,
            true,
            random);
    QuantizedGraph quantized =
        GraphQuantizer.quantize(
            graph,
            GraphQuantizer.weightedLayers(graph),
            Map.of("layer", LayerPrecision.int4(32)),
            Map.of());
    float[] x = new float[2 * 28 * 28];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) random.nextDouble();
    }
    x[at] = value;
    Map<String, Tensor> request = Map.of("x", Tensor.ofFloats(inShape, x));
    try (GraphModel ref =
            new GraphModel(quantized.graph(), quantized.packed(), Int8Gemm.reference());
        GraphModel nat =
            new GraphModel(quantized.graph(), quantized.packed(), Int8Gemm.nativeKernels())) {
      float[] expected = ref.infer(request).get("y").toFloatArray();
      assertThat(nat.infer(request).get("y").toFloatArray()).containsExactly(expected);
      boolean nonFinite = false;
      for (float v : expected) {
        nonFinite |= !Float.isFinite(v);
      }
      assertThat(nonFinite).isTrue();
    }
  }
}
