package io.cacheai.compress.lut;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.cacheai.compress.GraphQuantizer;
import io.cacheai.graph.Attributes;
import io.cacheai.graph.ConstTensor;
import io.cacheai.graph.Graph;
import io.cacheai.graph.Node;
import io.cacheai.graph.OpType;
import io.cacheai.graph.ValueInfo;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class NextLayerRefitTest {
  private static final int D = 3;
  private static final int M = 2;

  /** One Gemm y = alpha·x·W' + beta·b, W stored [M][D] (transB) or [D][M], all ones. */
  private static Graph gemm(boolean transB) {
    Node node =
        new Node(
            OpType.GEMM,
            "g",
            List.of("x", "w", "b"),
            List.of("y"),
            new Attributes(Map.of("transB", transB ? 1L : 0L, "alpha", 2f, "beta", 0.5f)));
    long[] shape = transB ? new long[] {M, D} : new long[] {D, M};
    return new Graph(
        "t",
        13,
        List.of(new ValueInfo("x", new long[] {ValueInfo.BATCH, D})),
        List.of(new ValueInfo("y", new long[] {ValueInfo.BATCH, M})),
        Map.of(
            "w", ConstTensor.ofFloats(shape, new float[] {1, 1, 1, 1, 1, 1}),
            "b", ConstTensor.ofFloats(new long[] {M}, new float[] {1, 1})),
        List.of(node));
  }

  @ParameterizedTest
  @ValueSource(booleans = {true, false})
  void refit_linearTargets_recoversWeightsInTheNodesLayout(boolean transB) {
    Graph graph = gemm(transB);
    GraphQuantizer.Layer layer = NextLayerRefit.target(graph, -1);
    double[][] want = {{0.5, -1, 2}, {3, 0.25, -0.75}};
    double[] wantBias = {0.1, -2};
    int n = 200;
    Random random = new Random(7);
    float[] x = new float[n * D];
    float[] y = new float[n * M];
    for (int i = 0; i < n; i++) {
      for (int k = 0; k < D; k++) {
        x[i * D + k] = (float) random.nextGaussian();
      }
      for (int j = 0; j < M; j++) {
        double v = wantBias[j];
        for (int k = 0; k < D; k++) {
          v += want[j][k] * x[i * D + k];
        }
        y[i * M + j] = (float) v;
      }
    }

    Graph refitted = NextLayerRefit.refit(graph, layer, x, y, n, 1e-9);

    GraphQuantizer.Layer after = GraphQuantizer.weightedLayers(refitted).get("g");
    for (int j = 0; j < M; j++) {
      for (int k = 0; k < D; k++) {
        assertThat((double) after.weight()[j * D + k]).isCloseTo(want[j][k], within(1e-4));
      }
      assertThat((double) after.bias()[j]).isCloseTo(wantBias[j], within(1e-4));
    }
    assertThat(refitted.constants().get("w").shape())
        .containsExactly(graph.constants().get("w").shape());
  }
}
