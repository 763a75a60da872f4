package io.cacheai.ocr;

import static org.assertj.core.api.Assertions.assertThat;

import io.cacheai.graph.Graph;
import io.cacheai.onnx.OnnxImporter;
import io.cacheai.runtime.GraphModel;
import io.cacheai.runtime.Tensor;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * PP-OCRv4 rec on our own executor ({@link GraphModel}) against ONNX Runtime, inside the OCR
 * wrapper. Skipped (not failed) while the importer does not claim every op the model uses ({@link
 * PpOcrModels#missingOps()}); it runs by itself once the ops are in, and then any import failure
 * fails it.
 */
class OcrGraphModelTest {
  private static OcrRecognizerModel ours;
  private static OcrRecognizerModel peer;
  private static List<TextLineRenderer.Rendered> rendered;
  private static final Set<String> missing = new TreeSet<>();

  @BeforeEach
  void needsEveryOp() {
    Assumptions.assumeTrue(
        missing.isEmpty(), "PP-OCRv4 rec needs ops the importer does not claim yet: " + missing);
  }

  @BeforeAll
  static void load() throws Exception {
    byte[] onnx = PpOcrModels.recognizer();
    missing.addAll(PpOcrModels.missingOps());
    if (!missing.isEmpty()) {
      return;
    }
    Graph graph = OnnxImporter.importBytes(onnx);
    ours =
        new OcrRecognizerModel(new GraphModel(graph), PpOcrModels.dictionary(), OcrOptions.DEFAULT);
    peer =
        new OcrRecognizerModel(
            new OrtModel(PpOcrModels.recognizer()), PpOcrModels.dictionary(), OcrOptions.DEFAULT);
    TextLineRenderer renderer = new TextLineRenderer(OcrRecognizerModelTest.SEED);
    rendered = new ArrayList<>();
    for (String line :
        PrescriptionLines.generate(
            OcrRecognizerModelTest.LINE_COUNT, OcrRecognizerModelTest.SEED)) {
      rendered.add(renderer.render(line));
    }
  }

  @AfterAll
  static void close() {
    if (ours != null) {
      ours.close();
      peer.close();
    }
  }

  /** The recognizer's own probabilities for one prepared line, from each side. */
  @Test
  void probabilities_withinOneThousandthOfOnnxRuntime_batch1And8() {
    for (int batch : new int[] {1, 8}) {
      List<LinePreprocessor.PreparedLine> lines = new ArrayList<>();
      for (int i = 0; i < batch; i++) {
        lines.add(
            LinePreprocessor.prepare(rendered.get(i).image(), "t", OcrOptions.DEFAULT_MAX_WIDTH));
      }
      int width = LinePreprocessor.batchWidth(lines, OcrOptions.DEFAULT_MIN_WIDTH);
      Tensor x =
          Tensor.ofFloats(
              new long[] {batch, 3, OcrOptions.HEIGHT, width},
              LinePreprocessor.batch(lines, width));
      float[] a = recognizerOutput(ours, x);
      float[] b = recognizerOutput(peer, x);
      assertThat(a).hasSameSizeAs(b);
      float maxAbs = 0;
      for (int i = 0; i < a.length; i++) {
        maxAbs = Math.max(maxAbs, Math.abs(a[i] - b[i]));
      }
      System.out.printf("PP-OCRv4 rec batch %d: max |ours - ORT| = %.3g%n", batch, maxAbs);
      assertThat(maxAbs).as("batch %d max abs difference", batch).isLessThanOrEqualTo(1e-3f);
    }
  }

  private static float[] recognizerOutput(OcrRecognizerModel model, Tensor x) {
    Map<String, Tensor> out = model.recognizer().infer(Map.of("x", x));
    return out.values().iterator().next().toFloatArray();
  }

  @Test
  void infer_renderedLines_sameTextAsOnnxRuntime_95PercentAsDrawn() {
    List<String> expected = new ArrayList<>();
    List<String> recognized = new ArrayList<>();
    for (TextLineRenderer.Rendered line : rendered) {
      Map<String, Tensor> request =
          Map.of(OcrRecognizerModel.IMAGE, Tensor.ofBytes(new long[] {1}, List.of(line.png())));
      String text = text(ours.infer(request));
      assertThat(text).as("line '%s'", line.text()).isEqualTo(text(peer.infer(request)));
      expected.add(line.text());
      recognized.add(text);
    }
    OcrAccuracy accuracy = OcrAccuracy.of(expected, recognized);
    System.out.println("PP-OCRv4 rec (cacheai GraphModel): " + accuracy);
    assertThat(accuracy.lineAccuracy()).isGreaterThanOrEqualTo(0.95);
  }

  private static String text(Map<String, Tensor> out) {
    return new String(out.get(OcrRecognizerModel.TEXT).elements().get(0), StandardCharsets.UTF_8);
  }
}
