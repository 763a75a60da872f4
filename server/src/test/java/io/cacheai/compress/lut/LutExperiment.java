package io.cacheai.compress.lut;

import io.cacheai.compress.Dataset;
import io.cacheai.compress.Evaluation;
import io.cacheai.compress.QuantizedGraph;
import io.cacheai.graph.Graph;
import io.cacheai.onnx.OnnxImporter;
import io.cacheai.runtime.GraphModel;
import java.nio.file.Path;
import java.util.List;

/**
 * Not a test: the harness that measured the README "Cache AI" table (build once, then each
 * fine-tuning setting of {@code -Dx.configs=epochs:lr:distill:tau;...}, all on the full 10k test
 * set). Run with the server test classpath: {@code java -Dx.model=mnist-cnn -Dx.layers=/9/Gemm
 * -Dx.samples=3000 -Dx.ftimages=60000 -Dx.ftshift=0 -cp ... io.cacheai.compress.lut.LutExperiment}.
 */
class LutExperiment {
  public static void main(String[] args) throws Exception {
    Path root = Path.of(System.getProperty("user.dir")).getParent();
    String model = System.getProperty("x.model", "mnist-cnn");
    int samples = Integer.getInteger("x.samples", 10000);
    String configs = System.getProperty("x.configs", "3:1e-3:0.5:2");
    String layers = System.getProperty("x.layers", "");
    int shift = Integer.getInteger("x.shift", 1);
    Dataset train = Dataset.read(root.resolve("tools/mnist/train-data/train-images-idx3-ubyte"));
    Dataset test = Dataset.read(root.resolve("tools/mnist/data/t10k-images-idx3-ubyte.gz"));
    Graph graph =
        OnnxImporter.importFile(
            root.resolve("server/src/main/resources/io/cacheai/models/" + model + "/1/model.onnx"));
    LutOptions o = LutOptions.defaults().withSamples(samples).withShiftRadiusPx(shift);
    if (!layers.isEmpty()) {
      o = o.withLayers(List.of(layers.split(",")));
    }
    long t0 = System.nanoTime();
    LutCompressor.Result r =
        LutCompressor.compress(
            graph, train, o, LutFineTune.Options.defaults().withEpochs(0), (p, d, t) -> {});
    long ms = (System.nanoTime() - t0) / 1_000_000;
    Evaluation ref;
    try (GraphModel m = new GraphModel(graph)) {
      ref = Evaluation.run(m, test, d -> {});
    }
    String head =
        model
            + " ftimages="
            + Integer.getInteger("x.ftimages", samples)
            + " ftshift="
            + Integer.getInteger("x.ftshift", shift)
            + " samples="
            + samples
            + " shift="
            + shift
            + " layers="
            + layers;
    report(head + " build " + ms + " ms", r.graph(), graph, test, ref);
    for (LutLayerReport l : r.layers()) {
      System.out.println("XRESULT   calib " + l.line());
    }
    int ftImages = Integer.getInteger("x.ftimages", samples);
    int ftShift = Integer.getInteger("x.ftshift", shift);
    Dataset fit = ShiftAugment.shifted(train.range(0, ftImages), ftShift);
    for (String c : configs.split(";")) {
      String[] f = c.split(":");
      LutFineTune.Options fo =
          LutFineTune.Options.defaults()
              .withEpochs(Integer.parseInt(f[0]))
              .withLearningRate(Double.parseDouble(f[1]))
              .withDistillWeight(Double.parseDouble(f[2]))
              .withTemperature(Double.parseDouble(f[3]));
      long t1 = System.nanoTime();
      LutFineTune.Outcome out = LutFineTune.fineTune(r.graph(), graph, fit, fo, (p, d, t) -> {});
      long ms1 = (System.nanoTime() - t1) / 1_000_000;
      report(
          head + " finetune " + c + " " + ms1 + " ms " + out.note(), out.graph(), graph, test, ref);
    }
  }

  static void report(String head, QuantizedGraph q, Graph graph, Dataset test, Evaluation ref)
      throws Exception {
    Evaluation got;
    try (GraphModel m = q.model()) {
      got = Evaluation.run(m, test, d -> {});
    }
    System.out.printf(
        "XRESULT %s: fp32 %.2f%% acc %.2f%% agree %.2f%%%n",
        head, ref.accuracyPct(), got.accuracyPct(), got.agreementPct(ref));
    for (LutDiagnostics.Measure m : LutDiagnostics.measure(q, graph, test, d -> {})) {
      System.out.printf(
          "XRESULT   test %s key hit %.2f%% NMSE %.4f%n", m.layer(), m.keyHitRatePct(), m.nmse());
    }
    System.out.flush();
  }
}
