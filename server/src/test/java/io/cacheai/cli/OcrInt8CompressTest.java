package io.cacheai.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.cacheai.ocr.OcrAccuracy;
import io.cacheai.ocr.OcrLineBatch;
import io.cacheai.ocr.OcrOptions;
import io.cacheai.ocr.OcrRecognizerModel;
import io.cacheai.ocr.OrtModel;
import io.cacheai.ocr.PpOcrModels;
import io.cacheai.ocr.PrescriptionLines;
import io.cacheai.ocr.TextLineRenderer;
import io.cacheai.onnx.OnnxImporter;
import io.cacheai.runtime.GraphModel;
import io.cacheai.runtime.Model;
import io.cacheai.runtime.Tensor;
import io.cacheai.serve.BundleModelLoader;
import io.cacheai.serve.TestLoaders;
import java.awt.image.BufferedImage;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * PP-OCRv4 rec compressed to int8 by {@code cacheai compress} from a folder of rendered line images
 * (the image-folder calibration reader), then read back from the {@code .cai} bundle: CER and
 * exact-line rate on the 60 rendered prescription lines of the OCR tests (a line set disjoint from
 * the calibration lines), fp32 vs int8 on our executor and ONNX Runtime fp32 as the peer; size
 * ratio; with {@link #MEASURE}, ONNX Runtime's own int8 of the same calibration lines and the
 * latency at 48×320, batch 1 and 8, all in the same run. Asserts the accuracy target (int8
 * CER within 1 pt of fp32) and the size; prints the rest (the README table).
 */
class OcrInt8CompressTest {
  /** The evaluation lines of {@code OcrRecognizerModelTest} (the README's accuracy figures). */
  static final long EVAL_SEED = 20261129L;

  static final int EVAL_LINES = 60;
  static final long CALIBRATION_SEED = 77L;
  static final int CALIBRATION_LINES = Integer.getInteger("cacheai.ocr.calibrationLines", 60);

  /**
   * {@code -Dcacheai.measure=true}: also quantize with ONNX Runtime's {@code quantize_static} (when
   * python3 has it) and time all models at 48×320 — minutes on this shared VM, so off in the
   * ordinary test run.
   */
  static final boolean MEASURE = Boolean.getBoolean("cacheai.measure");

  @TempDir Path dir;

  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  private int run(String... args) {
    CommandLine commandLine = Main.commandLine(new ServeCommand(new TestLoaders()));
    commandLine.setOut(new PrintWriter(out, true));
    commandLine.setErr(new PrintWriter(err, true));
    return commandLine.execute(args);
  }

  /** Rendered evaluation lines (the OCR tests' set). */
  static List<TextLineRenderer.Rendered> evaluationLines() {
    TextLineRenderer renderer = new TextLineRenderer(EVAL_SEED);
    List<TextLineRenderer.Rendered> lines = new ArrayList<>();
    for (String text : PrescriptionLines.generate(EVAL_LINES, EVAL_SEED)) {
      lines.add(renderer.render(text));
    }
    return lines;
  }

  /**
   * {@code count} calibration lines none of whose texts is an evaluation line, written as {@code
   * line-NNN.png} with a {@code labels.txt} of their texts into {@code folder}.
   */
  static Path writeCalibrationFolder(Path folder, int count) throws Exception {
    Set<String> evaluation = new HashSet<>(PrescriptionLines.generate(EVAL_LINES, EVAL_SEED));
    TextLineRenderer renderer = new TextLineRenderer(CALIBRATION_SEED);
    Files.createDirectories(folder);
    StringBuilder labels = new StringBuilder();
    int written = 0;
    for (String text : PrescriptionLines.generate(20 * count, CALIBRATION_SEED)) {
      if (written == count) {
        break;
      }
      if (evaluation.contains(text)) {
        continue;
      }
      String name = String.format(Locale.ROOT, "line-%03d.png", written++);
      Files.write(folder.resolve(name), renderer.render(text).png());
      labels.append(name).append('\t').append(text).append('\n');
    }
    Files.writeString(folder.resolve(ImageFolderData.LABELS), labels.toString());
    return folder;
  }

  @Test
  void compressInt8_ppOcrRec_cerWithinOnePointOfFp32() throws Exception {
    Assumptions.assumeTrue(
        PpOcrModels.missingOps().isEmpty(),
        "PP-OCRv4 rec needs ops the importer does not claim: " + PpOcrModels.missingOps());
    byte[] onnxBytes = PpOcrModels.recognizer();
    Path onnx = dir.resolve("rec.onnx");
    Files.write(onnx, onnxBytes);
    Path calibration = writeCalibrationFolder(dir.resolve("calibration"), CALIBRATION_LINES);
    Path cai = dir.resolve("rec-int8.cai");
    long startNs = System.nanoTime();
    int code =
        run(
            "compress",
            onnx.toString(),
            "--calibration",
            calibration.toString(),
            "--method",
            "int8",
            "--budget",
            System.getProperty("cacheai.ocr.budget", "100"),
            "--save-calibration",
            dir.resolve("calib.cait").toString(),
            "--out",
            cai.toString());
    System.out.println(out);
    assertThat(code).as("compress failed: %s", err).isZero();
    long compressMs = (System.nanoTime() - startNs) / 1_000_000;

    // the peer quantizer on the same calibration lines, when python3 has onnxruntime
    Path ortInt8 = null;
    if (MEASURE && OrtStaticQuantizer.available()) {
      ortInt8 = dir.resolve("rec.ort-int8.onnx");
      System.out.println(
          OrtStaticQuantizer.quantize(onnx, dir.resolve("calib.cait"), ortInt8, "percentile"));
    }
    List<TextLineRenderer.Rendered> lines = evaluationLines();
    try (OcrRecognizerModel fp32 = ocr(new GraphModel(OnnxImporter.importBytes(onnxBytes)));
        OcrRecognizerModel int8 = ocr(new BundleModelLoader().load("rec", cai));
        OcrRecognizerModel ort = ocr(new OrtModel(onnxBytes))) {
      OcrAccuracy fp32Accuracy = read(fp32, lines);
      OcrAccuracy int8Accuracy = read(int8, lines);
      OcrAccuracy ortAccuracy = read(ort, lines);
      OcrRecognizerModel ortQ =
          ortInt8 == null ? null : ocr(new OrtModel(Files.readAllBytes(ortInt8)));
      if (ortQ != null) {
        System.out.printf(
            Locale.ROOT,
            "  ORT int8 (quantize_static, %d bytes): %s%n",
            Files.size(ortInt8),
            read(ortQ, lines));
      }
      long onnxSize = Files.size(onnx);
      long caiSize = Files.size(cai);
      System.out.printf(
          Locale.ROOT,
          "PP-OCRv4 rec int8 (compress %d ms, %d calibration lines): %s%n"
              + "  ours fp32: %s%n  ours int8: %s%n  ORT fp32:  %s%n"
              + "  size: onnx %d bytes, cai %d bytes, %.2fx smaller%n",
          compressMs,
          CALIBRATION_LINES,
          int8.platform(),
          fp32Accuracy,
          int8Accuracy,
          ortAccuracy,
          onnxSize,
          caiSize,
          (double) onnxSize / caiSize);
      for (int batch : MEASURE ? new int[] {1, 8} : new int[0]) {
        Map<String, Tensor> request = Map.of("x", preparedBatch(lines, batch));
        List<Model> models = new ArrayList<>();
        models.add(fp32.recognizer());
        models.add(int8.recognizer());
        models.add(ort.recognizer());
        if (ortQ != null) {
          models.add(ortQ.recognizer());
        }
        double[] ms = LatencyProbe.medianMs(models, request, 3, batch == 1 ? 30 : 10);
        System.out.printf(
            Locale.ROOT,
            "  latency 48x320 batch %d: ours fp32 %.2f ms, ours int8 %.2f ms, ORT fp32 %.2f ms"
                + " (ours int8 / ORT fp32 = %.2f)%s%n",
            batch,
            ms[0],
            ms[1],
            ms[2],
            ms[1] / ms[2],
            ortQ == null ? "" : String.format(Locale.ROOT, ", ORT int8 %.2f ms", ms[3]));
      }
      if (ortQ != null) {
        ortQ.close();
      }
      assertThat(int8.platform()).isEqualTo("ocr_ctc+cai_int8");
      assertThat(int8Accuracy.characterErrorRate() - fp32Accuracy.characterErrorRate())
          .as("int8 CER minus fp32 CER")
          .isLessThanOrEqualTo(0.01);
      assertThat((double) onnxSize / caiSize).isGreaterThan(2.0);
    }
  }

  private static OcrRecognizerModel ocr(Model recognizer) {
    return new OcrRecognizerModel(recognizer, PpOcrModels.dictionary(), OcrOptions.DEFAULT);
  }

  /** Each line as its own request (PNG bytes through the wrapper, as a client sends it). */
  static OcrAccuracy read(OcrRecognizerModel model, List<TextLineRenderer.Rendered> lines) {
    List<String> expected = new ArrayList<>();
    List<String> recognized = new ArrayList<>();
    for (TextLineRenderer.Rendered line : lines) {
      Map<String, Tensor> result =
          model.infer(
              Map.of(
                  OcrRecognizerModel.IMAGE, Tensor.ofBytes(new long[] {1}, List.of(line.png()))));
      expected.add(line.text());
      recognized.add(
          new String(
              result.get(OcrRecognizerModel.TEXT).elements().get(0), StandardCharsets.UTF_8));
    }
    return OcrAccuracy.of(expected, recognized);
  }

  /** {@code batch} lines that fit 320 pixels, prepared at 48×320 ([batch,3,48,320]). */
  static Tensor preparedBatch(List<TextLineRenderer.Rendered> lines, int batch) {
    List<BufferedImage> images = new ArrayList<>();
    List<String> names = new ArrayList<>();
    for (TextLineRenderer.Rendered line : lines) {
      if (images.size() < batch && OcrLineBatch.resizedWidth(line.image()) <= 320) {
        images.add(line.image());
        names.add(line.text());
      }
    }
    assertThat(images).hasSize(batch);
    return Tensor.ofFloats(
        new long[] {batch, 3, OcrOptions.HEIGHT, 320}, OcrLineBatch.prepare(images, names, 320));
  }
}
