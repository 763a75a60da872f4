package io.cacheai.compress;

import static org.assertj.core.api.Assertions.assertThat;

import io.cacheai.graph.Graph;
import io.cacheai.onnx.OnnxImporter;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Probe subsets and the one-layer-at-a-time ranking, on the MNIST MLP. */
class SensitivityProbeTest {
  @Test
  void probeSamples_smallModelsAll_bigModelsAboutABudgetOfEvaluations() {
    assertThat(SensitivityProbe.probeSamples(1000, 3, 8)).isEqualTo(1000);
    assertThat(SensitivityProbe.probeSamples(1000, 8, 8)).isEqualTo(1000);
    assertThat(SensitivityProbe.probeSamples(1000, 50, 8)).isEqualTo(160); // 50 probes ~ 8 evals
    assertThat(SensitivityProbe.probeSamples(16, 94, 16)).isEqualTo(4); // the floor
    assertThat(SensitivityProbe.probeSamples(16, 47, 48)).isEqualTo(16); // never more than the data
  }

  @Test
  void rank_mlpAtInt2_ordersByMeasuredLossAndFp32CostsNothing() throws Exception {
    Path root = Path.of(System.getProperty("user.dir")).getParent();
    Graph mlp =
        OnnxImporter.importFile(
            root.resolve("server/src/main/resources/io/cacheai/models/mnist-mlp/1/model.onnx"));
    Dataset data =
        Dataset.read(root.resolve("tools/mnist/data/t10k-images-idx3-ubyte.gz")).range(0, 200);
    QuantizedGraph base = new QuantizedGraph(mlp, Map.of());
    Map<String, GraphQuantizer.Layer> layers = GraphQuantizer.weightedLayers(mlp);
    SensitivityProbe probe =
        new SensitivityProbe(new HashMap<>(), base, layers, Map.of(), data, 3, 8, (p, d, t) -> {});
    assertThat(probe.samples()).isEqualTo(200);
    SensitivityProbe.Loss none = probe.measure(Map.of(), "fp32");
    assertThat(none.dropPt()).isZero();
    assertThat(none.nmse()).isZero();

    // each layer alone at int2: the least harmful first
    List<String> ranked =
        probe.rank(layers.keySet(), n -> Map.of(n, LayerPrecision.int2(32)), "int2");
    assertThat(ranked).containsExactlyInAnyOrderElementsOf(layers.keySet());
    SensitivityProbe.Loss first = probe.measure(Map.of(ranked.get(0), LayerPrecision.int2(32)), "");
    SensitivityProbe.Loss last = probe.measure(Map.of(ranked.get(2), LayerPrecision.int2(32)), "");
    assertThat(SensitivityProbe.Loss.WORST_FIRST.compare(last, first)).isLessThanOrEqualTo(0);
    assertThat(last.nmse()).isPositive();
  }
}
