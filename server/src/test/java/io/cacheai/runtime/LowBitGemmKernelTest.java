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
import io.cacheai.graph.ValueInfo;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A ReLU fused into {@link LowBitGemmKernel} (the plan runs the Gemm at the ReLU's place) gives
 * exactly max(Gemm, 0) of the unfused layer, on the native and the reference plans, K a multiple of
 * 32 or not.
 */
class LowBitGemmKernelTest {
  private static Graph graph(int k, int n, boolean relu, float[] w, float[] b) {
    List<Node> nodes = new ArrayList<>();
    nodes.add(
        new Node(
            OpType.GEMM,
            "layer",
            List.of("x", "w", "b"),
            List.of(relu ? "z" : "y"),
            new Attributes(Map.of("transB", 1L))));
    if (relu) {
      nodes.add(new Node(OpType.RELU, "act", List.of("z"), List.of("y"), new Attributes(Map.of())));
    }
    return new Graph(
        "t",
        13,
        List.of(new ValueInfo("x", new long[] {ValueInfo.BATCH, k})),
        List.of(new ValueInfo("y", new long[] {ValueInfo.BATCH, n})),
        Map.of(
            "w", ConstTensor.ofFloats(new long[] {n, k}, w),
            "b", ConstTensor.ofFloats(new long[] {n}, b)),
        nodes);
  }

  private static float[] run(Graph graph, Int8Gemm gemm, float[] x, int batch, int k) {
    QuantizedGraph q =
        GraphQuantizer.quantize(
            graph,
            GraphQuantizer.weightedLayers(graph),
            Map.of("layer", LayerPrecision.int4(32)),
            Map.of());
    assertThat(q.graph().nodes().get(0).op()).isEqualTo(OpType.LOW_BIT_GEMM);
    try (GraphModel model = new GraphModel(q.graph(), q.packed(), gemm)) {
      return model
          .infer(Map.of("x", Tensor.ofFloats(new long[] {batch, k}, x)))
          .get("y")
          .toFloatArray();
    }
  }

  @ParameterizedTest(name = "k={0} n={1} batch={2}")
  @CsvSource({"800, 120, 1", "84, 10, 3", "120, 84, 2"})
  void fusedRelu_equalsMaxOfUnfused(int k, int n, int batch) {
    Random random = new Random(k * 7L + n);
    float[] w = new float[n * k];
    for (int i = 0; i < w.length; i++) {
      w[i] = (float) random.nextGaussian();
    }
    float[] b = new float[n];
    for (int i = 0; i < n; i++) {
      b[i] = (float) random.nextGaussian();
    }
    float[] x = new float[batch * k];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) random.nextGaussian();
    }
    for (Int8Gemm gemm : new Int8Gemm[] {Int8Gemm.reference(), Int8Gemm.nativeKernels()}) {
      float[] plain = run(graph(k, n, false, w, b), gemm, x, batch, k);
      float[] fused = run(graph(k, n, true, w, b), gemm, x, batch, k);
      boolean negative = false;
      for (int i = 0; i < plain.length; i++) {
        negative |= plain[i] < 0;
        plain[i] = plain[i] < 0f ? 0f : plain[i];
      }
      assertThat(negative).isTrue();
      assertThat(fused).containsExactly(plain);
    }
  }
}
