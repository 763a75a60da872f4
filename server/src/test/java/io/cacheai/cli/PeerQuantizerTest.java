package io.cacheai.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.cacheai.compress.Dataset;
import io.cacheai.compress.Evaluation;
import io.cacheai.ocr.OrtModel;
import io.cacheai.runtime.Model;
import io.cacheai.runtime.Tensor;
import io.cacheai.serve.BundleModelLoader;
import io.cacheai.serve.TestLoaders;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import picocli.CommandLine;

/**
 * cacheai's int8 ({@code cacheai compress --method int8}) next to ONNX Runtime's own static int8
 * quantization ({@code tools/quant/ort_quantize_static.py}) on the MNIST models, both calibrated on
 * the same 1000 test images and evaluated on the other 9000: accuracy, size on disk, and batch-1
 * latency — ours on our runtime, ORT's int8 and the fp32 model on ONNX Runtime Java (one thread),
 * same run, round-robin. Skipped when python3 cannot import onnxruntime and onnx ({@code pip
 * install -r tools/quant/requirements.txt}); the peer is a comparison, not a product dependency.
 */
class PeerQuantizerTest {
  private static final Path MNIST =
      OrtStaticQuantizer.ROOT.resolve("tools/mnist/data/t10k-images-idx3-ubyte.gz");
  private static final int CALIBRATION = 1000;

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
  @ValueSource(strings = {"mnist-cnn", "mnist-mlp"})
  void int8_oursAndOnnxRuntimes_sameCalibration(String name) throws Exception {
    Assumptions.assumeTrue(
        OrtStaticQuantizer.available(),
        "python3 cannot import onnxruntime/onnx: pip install -r tools/quant/requirements.txt");
    Path onnx = dir.resolve(name + ".onnx");
    try (InputStream in =
        getClass().getResourceAsStream("/io/cacheai/models/" + name + "/1/model.onnx")) {
      Files.copy(in, onnx);
    }
    Dataset all = Dataset.read(MNIST);
    Dataset evaluation = all.range(CALIBRATION, all.count());
    Path cait = OrtStaticQuantizer.writeCait(all.range(0, CALIBRATION), dir.resolve("calib.cait"));
    Path ortInt8 = dir.resolve(name + ".ort-int8.onnx");
    String log = OrtStaticQuantizer.quantize(onnx, cait, ortInt8, "percentile");
    Path cai = dir.resolve(name + ".cai");
    int code =
        run(
            "compress",
            onnx.toString(),
            "--calibration",
            cait.toString(),
            "--samples",
            Integer.toString(CALIBRATION),
            "--method",
            "int8",
            "--out",
            cai.toString());
    assertThat(code).as("compress: %s", err).isZero();

    try (Model ortFp32 = new OrtModel(Files.readAllBytes(onnx));
        Model ortQ = new OrtModel(Files.readAllBytes(ortInt8));
        Model ours = new BundleModelLoader().load(name, cai)) {
      Evaluation fp32 = Evaluation.run(ortFp32, evaluation, d -> {});
      Evaluation theirs = Evaluation.run(ortQ, evaluation, d -> {});
      Evaluation mine = Evaluation.run(ours, evaluation, d -> {});
      Map<String, Tensor> request =
          Map.of(
              ours.inputs().get(0).name(),
              Tensor.ofFloats(evaluation.batchShape(1), evaluation.slice(0, 1)));
      double[] ms = LatencyProbe.medianMs(List.of(ortFp32, ortQ, ours), request, 300, 2000);
      System.out.println(log);
      System.out.printf(
          Locale.ROOT,
          "| %s | fp32 (ORT) | %.2f%% | — | %d | 1.00× | %.4f ms |%n"
              + "| %s | int8 ORT quantize_static (ORT) | %.2f%% | %.2f%% | %d | %.2f× | %.4f ms |%n"
              + "| %s | int8 cacheai compress (cacheai) | %.2f%% | %.2f%% | %d | %.2f× | %.4f ms |%n",
          name,
          fp32.accuracyPct(),
          Files.size(onnx),
          ms[0],
          name,
          theirs.accuracyPct(),
          theirs.agreementPct(fp32),
          Files.size(ortInt8),
          (double) Files.size(onnx) / Files.size(ortInt8),
          ms[1],
          name,
          mine.accuracyPct(),
          mine.agreementPct(fp32),
          Files.size(cai),
          (double) Files.size(onnx) / Files.size(cai),
          ms[2]);
      // both quantizers must stay within the int8 budget of the fp32 model
      assertThat(fp32.accuracyPct() - theirs.accuracyPct()).isLessThanOrEqualTo(0.3);
      assertThat(fp32.accuracyPct() - mine.accuracyPct()).isLessThanOrEqualTo(0.3);
    }
  }
}
