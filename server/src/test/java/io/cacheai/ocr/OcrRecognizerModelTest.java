package io.cacheai.ocr;

import static org.assertj.core.api.Assertions.assertThat;

import io.cacheai.runtime.Tensor;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * PP-OCRv4 rec (run by ONNX Runtime) inside {@link OcrRecognizerModel}: our pre- and
 * post-processing must read rendered prescription lines as the text that was drawn.
 */
class OcrRecognizerModelTest {
  static final long SEED = 20261129L;
  static final int LINE_COUNT = 60;

  private static OcrRecognizerModel model;
  private static List<TextLineRenderer.Rendered> rendered;

  @BeforeAll
  static void load() throws Exception {
    model =
        new OcrRecognizerModel(
            new OrtModel(PpOcrModels.recognizer()), PpOcrModels.dictionary(), OcrOptions.DEFAULT);
    TextLineRenderer renderer = new TextLineRenderer(SEED);
    rendered = new ArrayList<>();
    for (String line : PrescriptionLines.generate(LINE_COUNT, SEED)) {
      rendered.add(renderer.render(line));
    }
  }

  @AfterAll
  static void close() {
    model.close();
  }

  static String text(Map<String, Tensor> out, int index) {
    return new String(
        out.get(OcrRecognizerModel.TEXT).elements().get(index), StandardCharsets.UTF_8);
  }

  @Test
  void infer_renderedPrescriptionLinesOneByOne_readAsDrawn() {
    List<String> expected = new ArrayList<>();
    List<String> recognized = new ArrayList<>();
    for (TextLineRenderer.Rendered line : rendered) {
      Map<String, Tensor> out =
          model.infer(
              Map.of(
                  OcrRecognizerModel.IMAGE, Tensor.ofBytes(new long[] {1}, List.of(line.png()))));
      expected.add(line.text());
      recognized.add(text(out, 0));
      if (!line.text().equals(text(out, 0))) {
        System.out.printf(
            "OCR miss [%s %dpx]: '%s' read as '%s'%n",
            line.family(), line.sizePx(), line.text(), text(out, 0));
      }
    }
    OcrAccuracy accuracy = OcrAccuracy.of(expected, recognized);
    System.out.println("PP-OCRv4 rec (ONNX Runtime), one line per request: " + accuracy);
    assertThat(accuracy.lines()).isGreaterThanOrEqualTo(50);
    assertThat(accuracy.lineAccuracy()).isGreaterThanOrEqualTo(0.95);
    assertThat(accuracy.characterErrorRate()).isLessThan(0.02);
  }
}
