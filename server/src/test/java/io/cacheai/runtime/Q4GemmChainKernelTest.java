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
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Three int4 LowBitGemm layers (ReLU, none, ReLU) planned as one {@link Q4GemmChainKernel} give the
 * same output bit for bit as the same layers run one kernel each (the intermediates made graph
 * outputs, which keeps the plan from chaining them).
 */
class Q4GemmChainKernelTest {
  private static Graph mlp(int[] widths, Random random, boolean exposeIntermediates) {
    List<Node> nodes = new ArrayList<>();
    Map<String, ConstTensor> constants = new HashMap<>();
    List<ValueInfo> outputs = new ArrayList<>();
    String in = "x";
    for (int l = 0; l < 3; l++) {
      int k = widths[l];
      int n = widths[l + 1];
      float[] w = new float[n * k];
      for (int i = 0; i < w.length; i++) {
        w[i] = (float) random.nextGaussian() * 0.2f;
      }
      float[] b = new float[n];
      for (int i = 0; i < n; i++) {
        b[i] = (float) random.nextGaussian() * 0.3f;
      }
      constants.put("w" + l, ConstTensor.ofFloats(new long[] {n, k}, w));
      constants.put("b" + l, ConstTensor.ofFloats(new long[] {n}, b));
      boolean relu = l != 1;
      String out = l == 2 ? "y" : "h" + l;
      String gemmOut = relu ? out + "_pre" : out;
      nodes.add(
          new Node(
              OpType.GEMM,
              "layer" + l,
              List.of(in, "w" + l, "b" + l),
              List.of(gemmOut),
              new Attributes(Map.of("transB", 1L))));
      if (relu) {
        nodes.add(
            new Node(
                OpType.RELU, "act" + l, List.of(gemmOut), List.of(out), new Attributes(Map.of())));
      }
      if (exposeIntermediates && l < 2) {
        outputs.add(new ValueInfo(out, new long[] {ValueInfo.BATCH, n}));
      }
      in = out;
    }
    outputs.add(new ValueInfo("y", new long[] {ValueInfo.BATCH, widths[3]}));
    return new Graph(
        "mlp",
        13,
        List.of(new ValueInfo("x", new long[] {ValueInfo.BATCH, widths[0]})),
        outputs,
        constants,
        nodes);
  }

  private static float[] run(Graph graph, float[] x, int batch, int k, boolean expectChain) {
    Map<String, LayerPrecision> precisions = new HashMap<>();
    for (int l = 0; l < 3; l++) {
      precisions.put("layer" + l, LayerPrecision.int4(32));
    }
    QuantizedGraph q =
        GraphQuantizer.quantize(graph, GraphQuantizer.weightedLayers(graph), precisions, Map.of());
    try (GraphModel model = new GraphModel(q.graph(), q.packed(), Int8Gemm.nativeKernels())) {
      float[] y =
          model
              .infer(Map.of("x", Tensor.ofFloats(new long[] {batch, k}, x)))
              .get("y")
              .toFloatArray();
      boolean chained =
          model.planFor(new long[][] {{batch, k}}).kernels().stream()
              .anyMatch(kernel -> kernel instanceof Q4GemmChainKernel);
      if (NativeInt8Gemm.AVAILABLE && !NodeProfile.ENABLED) { // profiling wraps every kernel
        assertThat(chained).as("plan holds a Q4GemmChainKernel").isEqualTo(expectChain);
      }
      return y;
    }
  }

  @ParameterizedTest(name = "widths={0},{1},{2},{3} batch={4}")
  @CsvSource({"800, 120, 84, 10, 1", "800, 120, 84, 10, 3", "50, 33, 7, 5, 2", "64, 96, 40, 65, 1"})
  void chain_equalsOneKernelPerLayer(int k, int n1, int n2, int n3, int batch) {
    int[] widths = {k, n1, n2, n3};
    Random xs = new Random(k + batch);
    float[] x = new float[batch * k];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) xs.nextGaussian();
    }
    float[] chained = run(mlp(widths, new Random(42), false), x, batch, k, true);
    float[] separate = run(mlp(widths, new Random(42), true), x, batch, k, false);
    assertThat(chained).hasSize(batch * n3);
    assertThat(chained).containsExactly(separate);
  }
}
