package io.cacheai.compress.lut;

import static org.assertj.core.api.Assertions.assertThat;

import io.cacheai.compress.Dataset;
import io.cacheai.compress.Evaluation;
import io.cacheai.compress.QuantizedGraph;
import io.cacheai.graph.Graph;
import io.cacheai.graph.OpType;
import io.cacheai.graph.PackedTensor;
import io.cacheai.onnx.OnnxImporter;
import io.cacheai.runtime.GraphModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * The Cache AI defaults at ≥ 10× on the MNIST CNN and MLP, calibrated on the MNIST TRAINING set
 * (the first {@value #SAMPLES} images, with labels; fetched by {@code tools/mnist/fetch-train.sh}
 * into the git-ignored {@code tools/mnist/train-data/}) and evaluated on the full committed 10k
 * test set: accuracy and top-1 agreement with fp32 as floors a bit below the measured figures,
 * every replaced layer ≥ 10× smaller, the default layer choice, and a fine-tuning that is the same
 * bytes twice for a seed. Without the training set the test is skipped, or fails under {@code
 * CI=1}.
 */
class MnistLutTrainTest {
  /** Training images the tables are built from (×9 shifted copies for the fit). */
  static final int SAMPLES = 3000;

  /** Training images the fine-tuning runs on (all of them, not shifted). */
  static final int FINE_TUNE_SAMPLES = 60_000;

  private static Path root;
  private static Dataset train;
  private static Dataset test;

  @BeforeAll
  static void readData() throws Exception {
    root = Path.of(System.getProperty("user.dir")).getParent();
    Path images = root.resolve("tools/mnist/train-data/train-images-idx3-ubyte");
    if (!Files.exists(images)) {
      String message =
          "MNIST training set missing at " + images + ": run tools/mnist/fetch-train.sh";
      if ("1".equals(System.getenv("CI"))) {
        Assertions.fail(message);
      }
      Assumptions.abort(message);
    }
    train = Dataset.read(images);
    test = Dataset.read(root.resolve("tools/mnist/data/t10k-images-idx3-ubyte.gz"));
  }

  private static Graph graph(String model) throws Exception {
    return OnnxImporter.importFile(
        root.resolve("server/src/main/resources/io/cacheai/models/" + model + "/1/model.onnx"));
  }

  private static void check(
      String model,
      String tableLayer,
      boolean softKeys,
      double minAccuracyPct,
      double minAgreementPct)
      throws Exception {
    check(model, tableLayer, softKeys, LutOptions.defaults(), minAccuracyPct, minAgreementPct);
  }

  private static void check(
      String model,
      String tableLayer,
      boolean softKeys,
      LutOptions options,
      double minAccuracyPct,
      double minAgreementPct)
      throws Exception {
    Graph graph = graph(model);
    LutCompressor.Result result =
        LutCompressor.compress(
            graph,
            train,
            options.withSamples(SAMPLES),
            LutFineTune.Options.defaults().withSamples(FINE_TUNE_SAMPLES),
            (p, d, t) -> {});
    assertThat(result.layers()).extracting(LutLayerReport::layer).containsExactly(tableLayer);
    for (LutLayerReport r : result.layers()) {
      System.out.println(model + " calibration: " + r.line());
      assertThat(r.ratio()).as(r.layer() + " size ratio").isGreaterThanOrEqualTo(10.0);
    }
    result.notes().forEach(n -> System.out.println(model + ": " + n));
    assertThat(result.notes()).anyMatch(n -> n.startsWith("fine-tuned " + tableLayer));
    // soft keys where the tables read Relu(Gemm) (MLP); the CNN's read a flattened pooling
    assertThat(result.notes())
        .anyMatch(
            n ->
                n.startsWith(
                    softKeys ? "soft keys: trained" : "soft keys not used for " + tableLayer));
    Evaluation reference;
    try (GraphModel fp32 = new GraphModel(graph)) {
      reference = Evaluation.run(fp32, test, d -> {});
    }
    Evaluation lut;
    try (GraphModel m = result.graph().model()) {
      lut = Evaluation.run(m, test, d -> {});
    }
    System.out.printf(
        Locale.ROOT,
        "%s cacheai (tables from %d training images, fine-tuned on %d, 10k test): fp32 %.2f%%,"
            + " tables %.2f%%, agreement %.2f%%%n",
        model,
        SAMPLES,
        FINE_TUNE_SAMPLES,
        reference.accuracyPct(),
        lut.accuracyPct(),
        lut.agreementPct(reference));
    assertThat(lut.accuracyPct()).as("accuracy").isGreaterThanOrEqualTo(minAccuracyPct);
    assertThat(lut.agreementPct(reference)).as("agreement").isGreaterThanOrEqualTo(minAgreementPct);
  }

  @Test
  void compress_cnnDefaults_tablesForWideLayerOnly() throws Exception {
    // /11/Gemm (120->84) would have C=2 at 10x: kept exact by the default rule
    check("mnist-cnn", "/9/Gemm", false, CNN_MIN_ACCURACY_PCT, CNN_MIN_AGREEMENT_PCT);
  }

  @Test
  void compress_mlpDepth2Folded_meetsTheTargets() throws Exception {
    // --lut-depth 2: 4 groups x 43 codebooks of 4 keys, key 0 folded (3 rows stored each, w=6),
    // the L2-SP pull toward fp32 (both auto below depth 4); README "Key-0 folding"
    check(
        "mnist-mlp",
        "/3/Gemm",
        true,
        LutOptions.defaults().withDepth(2),
        MLP_DEPTH2_MIN_ACCURACY_PCT,
        MLP_DEPTH2_MIN_AGREEMENT_PCT);
  }

  // A measurement run (-Dcacheai.measure=true): the MLP defaults (depth 4, 4 groups x 9 codebooks
  // of 16 keys, not folded, no L2-SP), below the targets; CI runs the depth-2 form instead, since
  // both together would take CI past 25 min.
  @Test
  @EnabledIfSystemProperty(named = "cacheai.measure", matches = "true")
  void compress_mlpDefaults_onlyMiddleLayer() throws Exception {
    check("mnist-mlp", "/3/Gemm", true, MLP_MIN_ACCURACY_PCT, MLP_MIN_AGREEMENT_PCT);
  }

  @Test
  void fineTune_sameSeed_sameBytes() throws Exception {
    Graph graph = graph("mnist-mlp");
    Dataset small = train.range(0, 300);
    LutOptions options = LutOptions.defaults().withShiftRadiusPx(0);
    LutCompressor.Result built =
        LutCompressor.compress(
            graph, small, options, LutFineTune.Options.defaults().withEpochs(0), (p, d, t) -> {});
    LutFineTune.Options tune = LutFineTune.Options.defaults().withEpochs(2).withSeed(7);
    QuantizedGraph a =
        LutFineTune.fineTune(built.graph(), graph, small, tune, (p, d, t) -> {}).graph();
    QuantizedGraph b =
        LutFineTune.fineTune(built.graph(), graph, small, tune, (p, d, t) -> {}).graph();
    QuantizedGraph other =
        LutFineTune.fineTune(built.graph(), graph, small, tune.withSeed(8), (p, d, t) -> {})
            .graph();
    assertThat(bytes(a)).isEqualTo(bytes(b));
    assertThat(bytes(a)).isNotEqualTo(bytes(other));
    assertThat(bytes(a)).isNotEqualTo(bytes(built.graph()));
    assertThat(a.graph().constants().get("5.weight").floats())
        .containsExactly(b.graph().constants().get("5.weight").floats());
    assertThat(a.graph().nodes()).anyMatch(n -> n.op() == OpType.LOOKUP_GEMM);
  }

  /** Every packed tensor's bytes, concatenated in name order. */
  static byte[] bytes(QuantizedGraph q) {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    for (Map.Entry<String, PackedTensor> e : new java.util.TreeMap<>(q.packed()).entrySet()) {
      java.nio.ByteBuffer data = e.getValue().data();
      byte[] b = new byte[data.remaining()];
      data.get(b);
      out.writeBytes(b);
    }
    return out.toByteArray();
  }

  // floors a bit below the measured figures with 4-bit tables (the default; CNN 98.92% / 99.03%,
  // fixed keys: the soft keys do not apply to its tables; MLP 97.15% / 97.42% with the soft keys,
  // 94.28% / 94.37% with fixed keys only; int8 tables gave 98.38% / 98.52% and 83.40% / 83.43%).
  // The targets are 98.5% / 99%: the CNN floor is the accuracy target itself, the MLP does
  // not reach them (README "Cache AI", "Soft keys")
  static final double CNN_MIN_ACCURACY_PCT = 98.5;
  static final double CNN_MIN_AGREEMENT_PCT = 98.7;
  // MLP defaults (depth 4 since grouped tables, mixup rows): 98.18% / 98.39% from the CLI
  static final double MLP_MIN_ACCURACY_PCT = 97.9;
  static final double MLP_MIN_AGREEMENT_PCT = 98.0;
  // MLP with --lut-depth 2 (folded, L2-SP): the accuracy target itself, and agreement a
  // little below the 99.05 % the CLI measured with the same 3000 / 60000 images (seed 2: 98.90 %)
  static final double MLP_DEPTH2_MIN_ACCURACY_PCT = 98.5;
  static final double MLP_DEPTH2_MIN_AGREEMENT_PCT = 98.9;
}
