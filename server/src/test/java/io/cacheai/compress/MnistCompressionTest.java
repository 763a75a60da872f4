package io.cacheai.compress;

import static org.assertj.core.api.Assertions.assertThat;

import io.cacheai.bundle.BundleWriter;
import io.cacheai.bundle.PackedTensors;
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
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The targets of issue 4 on the committed MNIST test set: calibrate on images 0..999, evaluate the
 * bundle as served (written, mapped, loaded by {@link BundleModelLoader}) on images 1000..9999
 * against the fp32 model on the same images.
 */
class MnistCompressionTest {
  private static Path root;
  private static Dataset calibration;
  private static Dataset evaluation;
  private static final Map<String, Evaluation> FP32 = new HashMap<>();

  @BeforeAll
  static void readData() throws Exception {
    root = Path.of(System.getProperty("user.dir")).getParent();
    Dataset all = Dataset.read(root.resolve("tools/mnist/data/t10k-images-idx3-ubyte.gz"));
    assertThat(all.count()).isEqualTo(10_000);
    calibration = all.range(0, 1000);
    evaluation = all.range(1000, 10_000);
  }

  private static Path onnx(String model) {
    return root.resolve("server/src/main/resources/io/cacheai/models/" + model + "/1/model.onnx");
  }

  private static synchronized Evaluation fp32(String model, Graph graph) {
    return FP32.computeIfAbsent(
        model,
        m -> {
          try (GraphModel fp32 = new GraphModel(graph)) {
            return Evaluation.run(fp32, evaluation, d -> {});
          }
        });
  }

  @ParameterizedTest(name = "{0} {1}")
  @CsvSource({
    // model, method, max top-1 loss (pt), min size ratio vs the ONNX file
    "mnist-mlp, int8, 0.3, 3.9",
    "mnist-cnn, int8, 0.3, 3.5", // panels pad 84 and 10 channels to 96 and 16
    "mnist-mlp, int4, 0.5, 5.9", // q4g32 blocks: 5 bits per weight
    "mnist-cnn, int4, 0.5, 5.9",
    "mnist-mlp, mixed, 0.5, 10",
    "mnist-cnn, mixed, 0.5, 10",
  })
  void compress_servedBundleMeetsAccuracyAndSize(
      String model, String method, double maxLossPt, double minRatio, @TempDir Path dir)
      throws Exception {
    Graph graph = OnnxImporter.importFile(onnx(model));
    Compressor.Method m = Compressor.Method.parse(method);
    Compressor.Result result =
        Compressor.compress(
            graph,
            calibration,
            Compressor.Options.of(m, CalibrationMethod.PERCENTILE, 1000)
                .withTargetBytes(Files.size(onnx(model)) / 10),
            (phase, done, total) -> {});
    assertThat(result.graph().graph().nodes())
        .anyMatch(n -> n.op().domain().equals(OpType.CACHEAI_DOMAIN));

    Path bundle = dir.resolve("model.cai");
    BundleWriter writer = new BundleWriter(result.graph().graph());
    result.graph().packed().forEach((name, t) -> PackedTensors.add(writer, name, t));
    long sizeBytes =
        writer
            .producer(Producer.newBuilder().setSourceName(model).setCompression(method).build())
            .write(bundle);
    double ratio = (double) Files.size(onnx(model)) / sizeBytes;

    Evaluation reference = fp32(model, graph);
    Evaluation served;
    try (Model loaded = new BundleModelLoader().load(model, bundle);
        GraphModel inMemory = result.graph().model()) {
      assertThat(loaded.platform()).isEqualTo("cai_" + method);
      served = Evaluation.run(loaded, evaluation, d -> {});
      // bundle round trip: the mapped model computes exactly what the compressor evaluated
      long[] shape = {50, 1, 28, 28};
      Map<String, Tensor> request =
          Map.of("input", Tensor.ofFloats(shape, evaluation.slice(0, 50)));
      assertThat(loaded.infer(request).get("logits").toFloatArray())
          .containsExactly(inMemory.infer(request).get("logits").toFloatArray());
    }
    double lossPt = reference.accuracyPct() - served.accuracyPct();
    System.out.printf(
        "%s %s: fp32 %.2f%%, served %.2f%% (loss %.2f pt), agreement %.2f%%, %d bytes, %.2fx"
            + " smaller than the ONNX; layers %s; fallback %s%n",
        model,
        method,
        reference.accuracyPct(),
        served.accuracyPct(),
        lossPt,
        served.agreementPct(reference),
        sizeBytes,
        ratio,
        result.precisions(),
        result.notes());
    assertThat(lossPt).as("top-1 loss in points").isLessThanOrEqualTo(maxLossPt);
    assertThat(ratio).as("size ratio vs ONNX").isGreaterThanOrEqualTo(minRatio);
  }
}
