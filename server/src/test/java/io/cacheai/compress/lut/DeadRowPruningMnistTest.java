package io.cacheai.compress.lut;

import static org.assertj.core.api.Assertions.assertThat;

import io.cacheai.compress.CalibrationMethod;
import io.cacheai.compress.Compressor;
import io.cacheai.compress.Dataset;
import io.cacheai.compress.QuantizedGraph;
import io.cacheai.graph.Graph;
import io.cacheai.graph.Node;
import io.cacheai.graph.OpType;
import io.cacheai.onnx.OnnxImporter;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@link DeadRowPruning} on the real MNIST MLP compressed as {@link GroupedTablesTest} does (first
 * 300 committed test images, soft keys and fixed keys 1 epoch each): /1/Gemm loses the rows no tree
 * reads, and the pruned model gives the same keys on the calibration rows and on all 10 000 test
 * images and the same logits bit for bit — with the rest fp32 and with it quantized to int8 (per
 * row scales, so a row's int8 weights do not depend on the rows pruned away). With pruning on,
 * {@link LutCompressor} gives exactly the pruned model.
 */
class DeadRowPruningMnistTest {
  private static Graph graph;
  private static Dataset calibration;
  private static Dataset test;

  @BeforeAll
  static void read() throws Exception {
    Path root = Path.of(System.getProperty("user.dir")).getParent();
    graph =
        OnnxImporter.importFile(
            root.resolve("server/src/main/resources/io/cacheai/models/mnist-mlp/1/model.onnx"));
    test = Dataset.read(root.resolve("tools/mnist/data/t10k-images-idx3-ubyte.gz"));
    calibration = test.range(0, 300);
  }

  private static LutCompressor.Result compress(boolean prune) {
    return LutCompressor.compress(
        graph,
        calibration,
        LutOptions.defaults().withShiftRadiusPx(0).withSamples(300).withPrune(prune),
        LutFineTune.Options.defaults().withEpochs(1).withSoftKeyEpochs(1).withSeed(3),
        (p, d, t) -> {});
  }

  private static Node table(QuantizedGraph q) {
    return q.graph().nodes().stream()
        .filter(n -> n.op() == OpType.LOOKUP_GEMM)
        .findFirst()
        .orElseThrow();
  }

  private static byte[] keys(QuantizedGraph q, Dataset data) {
    Node table = table(q);
    String input = table.inputs().get(0);
    float[] act = Activations.collect(q, List.of(input), data, d -> {}).get(input);
    return TableKeys.encode(table, q.packed(), act, data.count(), true);
  }

  private static int[] logits(QuantizedGraph q, Dataset data) {
    String output = q.graph().outputs().get(0).name();
    return DeadRowPruningTest.bits(
        Activations.collect(q, List.of(output), data, d -> {}).get(output));
  }

  @Test
  void prune_mnistMlp_sameKeysAndLogitsBitForBitFp32AndInt8Rest() {
    LutCompressor.Result whole = compress(false);
    assertThat(whole.notes()).contains("dead-row pruning off (--lut-prune false)");
    DeadRowPruning.Outcome outcome = DeadRowPruning.prune(whole.graph(), true);
    QuantizedGraph pruned = outcome.graph();
    assertThat(outcome.note()).matches("pruned /1/Gemm to \\d+ of 256 rows .*");
    long rows = table(pruned).attributes().getLongs("weight_shape")[1];
    assertThat(rows).isLessThan(200); // 4 groups x 4 levels over 9 slices read at most 144
    assertThat(pruned.graph().constants().get("1.weight").shape()[0]).isEqualTo(rows);
    assertThat(pruned.graph().constants().get("1.bias").shape()).containsExactly(rows);

    for (Dataset data : List.of(calibration, test)) {
      assertThat(keys(pruned, data)).containsExactly(keys(whole.graph(), data));
    }
    assertThat(logits(pruned, test)).containsExactly(logits(whole.graph(), test));

    // with pruning on, the compressor itself gives that model
    LutCompressor.Result on = compress(true);
    assertThat(on.notes()).contains(outcome.note());
    assertThat(MnistLutTrainTest.bytes(on.graph())).isEqualTo(MnistLutTrainTest.bytes(pruned));
    assertThat(on.graph().graph().constants().get("1.weight").floats())
        .containsExactly(pruned.graph().constants().get("1.weight").floats());
    assertThat(on.scorePct()).isEqualTo(whole.scorePct());
    assertThat(on.agreementPct()).isEqualTo(whole.agreementPct());

    // the int8 rest (--lut-rest default): per-row weight scales, the input's range unchanged
    Compressor.Options int8 =
        Compressor.Options.of(Compressor.Method.INT8, CalibrationMethod.parse("percentile"), 300);
    LutRest.Result restWhole = LutRest.apply(graph, whole, int8, 10, calibration, (p, d, t) -> {});
    LutRest.Result restPruned = LutRest.apply(graph, on, int8, 10, calibration, (p, d, t) -> {});
    assertThat(restPruned.layers()).isEqualTo(restWhole.layers());
    assertThat(restPruned.layers().get("/1/Gemm")).isEqualTo("int8");
    assertThat(logits(restPruned.graph(), test)).containsExactly(logits(restWhole.graph(), test));
  }
}
