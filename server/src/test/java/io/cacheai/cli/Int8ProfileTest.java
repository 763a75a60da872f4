package io.cacheai.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.cacheai.compress.Dataset;
import io.cacheai.ocr.OrtModel;
import io.cacheai.ocr.PpOcrModels;
import io.cacheai.runtime.Model;
import io.cacheai.runtime.NodeProfile;
import io.cacheai.runtime.Tensor;
import io.cacheai.serve.BundleModelLoader;
import io.cacheai.serve.TestLoaders;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import picocli.CommandLine;

/**
 * Where the time of a compressed model goes, kernel by kernel ({@link NodeProfile}): the MNIST
 * models at batch 1 and PP-OCRv4 rec int8 at batch 8 (48×320), each next to ONNX Runtime fp32 on
 * the same ONNX in the same run. Runs with {@code -Dcacheai.profile=true} (prints the per-kernel
 * tables) or {@code -Dcacheai.measure=true} (latency only, no timers around the kernels).
 *
 * <pre>
 * ./mvnw -B -q verify -pl server -am -Dcacheai.profile=true -Dtest=Int8ProfileTest \
 *     -Dsurefire.failIfNoSpecifiedTests=false
 * </pre>
 */
class Int8ProfileTest {
  private static final Path MNIST =
      OrtStaticQuantizer.ROOT.resolve("tools/mnist/data/t10k-images-idx3-ubyte.gz");

  @TempDir Path dir;

  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  private int run(String... args) {
    CommandLine commandLine = Main.commandLine(new ServeCommand(new TestLoaders()));
    commandLine.setOut(new PrintWriter(out, true));
    commandLine.setErr(new PrintWriter(err, true));
    return commandLine.execute(args);
  }

  @ParameterizedTest
  @CsvSource({
    "mnist-cnn,int8",
    "mnist-cnn,int4",
    "mnist-cnn,mixed",
    "mnist-mlp,int8",
    "mnist-mlp,mixed"
  })
  void profile_mnistBatch1(String name, String method) throws Exception {
    Assumptions.assumeTrue(
        NodeProfile.ENABLED || OcrInt8CompressTest.MEASURE,
        "-Dcacheai.profile=true or -Dcacheai.measure=true");
    Path cai = MnistCompressed.bundle(dir, name, method);
    Path onnx = dir.resolve(name + ".onnx");
    Dataset data = Dataset.read(MNIST);
    try (Model ort = new OrtModel(Files.readAllBytes(onnx));
        Model ours = new BundleModelLoader().load(name, cai)) {
      Map<String, Tensor> request =
          Map.of(
              ours.inputs().get(0).name(),
              Tensor.ofFloats(data.batchShape(1), data.slice(1000, 1)));
      profile(List.of(ort, ours), request, 300, 2000, name + " " + method + " batch 1");
    }
  }

  /**
   * The MNIST CNN's k×k conv2 ({@code /4/Conv}) as a {@code LookupConv} (4-bit tables, the rest
   * int8) next to the same model all int8 and the fp32 ONNX on our runtime, batch 1: the kernel
   * rows of {@code /4/Conv} compare the three forms of the layer. The tables are built on 300
   * images without shifts or fine-tuning (their accuracy is not under test here, their speed is).
   */
  @Test
  void profile_mnistCnnConvTablesBatch1() throws Exception {
    Assumptions.assumeTrue(NodeProfile.ENABLED, "-Dcacheai.profile=true");
    Path onnx = MnistCompressed.onnx(dir, "mnist-cnn");
    Path tables = dir.resolve("conv-tables.cai");
    Path int8 = dir.resolve("int8.cai");
    String[] common = {"--calibration", MNIST.toString(), "--samples", "300"};
    assertThat(
            run(
                concat(
                    new String[] {"compress", onnx.toString()},
                    common,
                    new String[] {
                      "--method",
                      "cacheai",
                      "--lut-layers",
                      "/4/Conv",
                      "--lut-shift",
                      "0",
                      "--lut-finetune-epochs",
                      "0",
                      "--out",
                      tables.toString()
                    })))
        .as("compress: %s", err)
        .isZero();
    assertThat(
            run(
                concat(
                    new String[] {"compress", onnx.toString()},
                    common,
                    new String[] {"--method", "int8", "--out", int8.toString()})))
        .as("compress: %s", err)
        .isZero();
    Dataset data = Dataset.read(MNIST);
    Map<String, Tensor> request =
        Map.of("input", Tensor.ofFloats(data.batchShape(1), data.slice(1000, 1)));
    try (Model ort = new OrtModel(Files.readAllBytes(onnx));
        Model fp32 =
            new io.cacheai.runtime.GraphModel(io.cacheai.onnx.OnnxImporter.importFile(onnx));
        Model lut = new BundleModelLoader().load("mnist-cnn-conv-tables", tables);
        Model q8 = new BundleModelLoader().load("mnist-cnn-int8", int8)) {
      profile(List.of(ort, fp32, lut, q8), request, 300, 3000, "mnist-cnn conv2 forms batch 1");
    }
  }

  private static String[] concat(String[]... parts) {
    return java.util.Arrays.stream(parts).flatMap(java.util.Arrays::stream).toArray(String[]::new);
  }

  @Test
  void profile_ppOcrInt8Batch8() throws Exception {
    Assumptions.assumeTrue(NodeProfile.ENABLED, "-Dcacheai.profile=true");
    Assumptions.assumeTrue(PpOcrModels.missingOps().isEmpty(), "PP-OCRv4 rec ops");
    byte[] onnxBytes = PpOcrModels.recognizer();
    // the compressed bundle is kept between runs (compressing takes minutes on this VM)
    Path cache = Path.of(System.getProperty("cacheai.profile.cache", "target/profile-cache"));
    Files.createDirectories(cache);
    Path cai = cache.resolve("rec-int8.cai");
    if (!Files.exists(cai)) {
      Path onnx = dir.resolve("rec.onnx");
      Files.write(onnx, onnxBytes);
      Path calibration = OcrInt8CompressTest.writeCalibrationFolder(dir.resolve("calibration"), 60);
      int code =
          run(
              "compress",
              onnx.toString(),
              "--calibration",
              calibration.toString(),
              "--method",
              "int8",
              "--budget",
              "100",
              "--out",
              cai.toString());
      assertThat(code).as("compress: %s", err).isZero();
    }
    int batch = Integer.getInteger("cacheai.profile.batch", 8);
    try (Model ort = new OrtModel(onnxBytes);
        Model ours = new BundleModelLoader().load("rec", cai)) {
      Map<String, Tensor> request =
          Map.of(
              "x", OcrInt8CompressTest.preparedBatch(OcrInt8CompressTest.evaluationLines(), batch));
      profile(List.of(ort, ours), request, 3, 10, "PP-OCRv4 rec int8 batch " + batch);
    }
  }

  /** Warm-up, reset, the timed rounds; prints the medians and every profile's tables. */
  private static void profile(
      List<Model> models, Map<String, Tensor> request, int warmup, int runs, String title) {
    LatencyProbe.medianMs(models, request, warmup, 1);
    NodeProfile.all().forEach(NodeProfile::reset);
    double[] ms = LatencyProbe.medianMs(models, request, 0, runs);
    System.out.printf(
        Locale.ROOT,
        "%s: ORT fp32 %.4f ms, ours %.4f ms (ORT / ours = %.2f; medians of %d, profiling %s)%n",
        title,
        ms[0],
        ms[1],
        ms[0] / ms[1],
        runs,
        NodeProfile.ENABLED ? "on" : "off");
    for (NodeProfile profile : NodeProfile.all()) {
      String table = profile.table();
      if (!table.contains(", 0 requests")) {
        System.out.println(table);
        System.out.println(profile.byKind());
      }
    }
  }
}
