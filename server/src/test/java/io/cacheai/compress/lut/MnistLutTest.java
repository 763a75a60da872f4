package io.cacheai.compress.lut;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.cacheai.bundle.BundleWriter;
import io.cacheai.bundle.PackedTensors;
import io.cacheai.compress.Dataset;
import io.cacheai.compress.Evaluation;
import io.cacheai.graph.Graph;
import io.cacheai.graph.OpType;
import io.cacheai.onnx.OnnxImporter;
import io.cacheai.proto.v1.Producer;
import io.cacheai.runtime.GraphModel;
import io.cacheai.runtime.Model;
import io.cacheai.runtime.Tensor;
import io.cacheai.serve.BundleModelLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The Cache AI targets of issue 5 on the committed MNIST test set: tables fitted on images 0..999,
 * the bundle written, mapped and served ({@link BundleModelLoader}), evaluated on images 1000..9999
 * against the fp32 model.
 */
class MnistLutTest {
  private static Path root;
  private static Dataset calibration;
  private static Dataset evaluation;

  @BeforeAll
  static void readData() throws Exception {
    root = Path.of(System.getProperty("user.dir")).getParent();
    Dataset all = Dataset.read(root.resolve("tools/mnist/data/t10k-images-idx3-ubyte.gz"));
    calibration = all.range(0, 1000);
    evaluation = all.range(1000, 10_000);
  }

  static Path onnx(String model) {
    return root.resolve("server/src/main/resources/io/cacheai/models/" + model + "/1/model.onnx");
  }

  @ParameterizedTest(name = "{0} w={1} {2} {6}-bit")
  @CsvSource({
    // model, width, encoder, min accuracy %, min agreement %, min replaced-layer ratio, table bits
    // width 0 = per layer for >= 10x (the size target), default layer rule (CNN: /9 only,
    // /11 has C=2) and fine-tuning (6 epochs on the 9000 shifted calibration rows): measured
    // 78.33 / 96.60 %, below the 98.5% with 1000 test images as calibration (the training
    // set reaches it for the CNN: MnistLutTrainTest); these floors guard the measured figures.
    // The MLP's since soft keys (SoftKeyFineTune, 12 epochs): 87.62 / 94.13 / 97.33 %
    "mnist-mlp, 0, tree, 87, 87, 10, 8",
    "mnist-cnn, 0, tree, 95.5, 95.5, 10, 8",
    // 4-bit tables (--lut-table-bits 4): at >= 10x twice the codebooks; floors at the figures
    // measured before fine-tuning and the layer rule (89.47 / 91.94 %)
    "mnist-mlp, 0, tree, 93.5, 93.5, 10, 4",
    "mnist-cnn, 0, tree, 91, 91, 10, 4",
    // the other end of the trade: ~2x smaller layers, 97.08 / 98.14 / 97.54 % measured
    "mnist-mlp, 8, tree, 96.8, 96.8, 1.8, 8",
    "mnist-cnn, 8, tree, 97.5, 97.5, 1.8, 8",
    "mnist-cnn, 16, centroid, 97, 97, 2, 8",
  })
  void compress_servedLookupBundle(
      String model,
      int width,
      String encoder,
      double minAccuracyPct,
      double minAgreementPct,
      double minLayerRatio,
      int tableBits,
      @TempDir Path dir)
      throws Exception {
    Graph graph = OnnxImporter.importFile(onnx(model));
    LutOptions options =
        LutOptions.defaults()
            .withWidth(width)
            .withEncoder(LutOptions.Encoder.parse(encoder))
            .withTableBits(tableBits);
    LutCompressor.Result result =
        LutCompressor.compress(graph, calibration, options, (phase, done, total) -> {});
    assertThat(result.graph().graph().nodes()).anyMatch(n -> n.op() == OpType.LOOKUP_GEMM);

    Path bundle = dir.resolve("model.cai");
    BundleWriter writer = new BundleWriter(result.graph().graph());
    result.graph().packed().forEach((name, t) -> PackedTensors.add(writer, name, t));
    long sizeBytes =
        writer
            .producer(Producer.newBuilder().setSourceName(model).setCompression("cacheai").build())
            .write(bundle);

    Evaluation reference;
    try (GraphModel fp32 = new GraphModel(graph)) {
      reference = Evaluation.run(fp32, evaluation, d -> {});
    }
    Evaluation served;
    java.util.List<LutDiagnostics.Measure> measures;
    Map<String, Double> liveKeyHits;
    try (Model loaded = new BundleModelLoader().load(model, bundle);
        GraphModel inMemory = result.graph().model()) {
      assertThat(loaded.platform()).isEqualTo("cai_cacheai");
      served = Evaluation.run(loaded, evaluation, d -> {});
      liveKeyHits = ((io.cacheai.runtime.LookupHitRatios) loaded).lookupKeyHitRatios();
      long[] shape = {50, 1, 28, 28};
      Map<String, Tensor> request =
          Map.of("input", Tensor.ofFloats(shape, evaluation.slice(0, 50)));
      assertThat(loaded.infer(request).get("logits").toFloatArray())
          .containsExactly(inMemory.infer(request).get("logits").toFloatArray());
    }
    measures = LutDiagnostics.measure(result.graph(), graph, evaluation, d -> {});
    for (LutLayerReport r : result.layers()) {
      System.out.println(model + " calibration: " + r.line());
    }
    for (LutDiagnostics.Measure m : measures) {
      System.out.printf(
          java.util.Locale.ROOT,
          "%s test: %s key hit %.2f%% NMSE %.4f%n",
          model,
          m.layer(),
          m.keyHitRatePct(),
          m.nmse());
    }
    if (encoder.equals("tree")) {
      // The server's live figure (sampled runs) estimates the offline key hit rate.
      System.out.println(model + " live key hit ratios: " + liveKeyHits);
      assertThat(liveKeyHits).hasSize(measures.size());
      double live = liveKeyHits.values().stream().mapToDouble(v -> v * 100).average().orElseThrow();
      double offline =
          measures.stream()
              .mapToDouble(LutDiagnostics.Measure::keyHitRatePct)
              .average()
              .orElseThrow();
      assertThat(live).as("live vs offline key hit rate, %").isCloseTo(offline, within(5.0));
    } else {
      assertThat(liveKeyHits).as("no tree, no key hit rate").isEmpty();
    }
    double ratio = (double) Files.size(onnx(model)) / sizeBytes;
    System.out.printf(
        java.util.Locale.ROOT,
        "%s cacheai w=%d %s %d-bit: fp32 %.2f%%, served %.2f%%, agreement %.2f%%, %d bytes (%.2fx"
            + " smaller than the ONNX)%n",
        model,
        width,
        encoder,
        tableBits,
        reference.accuracyPct(),
        served.accuracyPct(),
        served.agreementPct(reference),
        sizeBytes,
        ratio);
    for (LutLayerReport r : result.layers()) {
      assertThat(r.ratio()).as(r.layer() + " size ratio").isGreaterThanOrEqualTo(minLayerRatio);
    }
    assertThat(served.accuracyPct()).as("accuracy").isGreaterThanOrEqualTo(minAccuracyPct);
    assertThat(served.agreementPct(reference))
        .as("agreement")
        .isGreaterThanOrEqualTo(minAgreementPct);
  }
}
