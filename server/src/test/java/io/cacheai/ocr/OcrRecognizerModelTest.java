package io.cacheai.ocr;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cacheai.runtime.DataType;
import io.cacheai.runtime.Tensor;
import io.cacheai.runtime.TensorSpec;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.assertj.core.data.Offset;
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

  @Test
  void infer_allLinesInOneBatch_readAsDrawnWithPaddedConfidences() {
    List<byte[]> pngs = rendered.stream().map(TextLineRenderer.Rendered::png).toList();
    Map<String, Tensor> out =
        model.infer(
            Map.of(OcrRecognizerModel.IMAGE, Tensor.ofBytes(new long[] {pngs.size()}, pngs)));
    List<String> recognized = new ArrayList<>();
    for (int i = 0; i < pngs.size(); i++) {
      recognized.add(text(out, i));
      if (!rendered.get(i).text().equals(text(out, i))) {
        System.out.printf(
            "OCR miss (batch): '%s' read as '%s'%n", rendered.get(i).text(), text(out, i));
      }
    }
    OcrAccuracy accuracy =
        OcrAccuracy.of(rendered.stream().map(TextLineRenderer.Rendered::text).toList(), recognized);
    System.out.println("PP-OCRv4 rec (ONNX Runtime), all lines in one batch: " + accuracy);
    assertThat(accuracy.lineAccuracy()).isGreaterThanOrEqualTo(0.95);

    Tensor confidence = out.get(OcrRecognizerModel.CONFIDENCE);
    float[] means = out.get(OcrRecognizerModel.MEAN_CONFIDENCE).toFloatArray();
    int longest =
        recognized.stream().mapToInt(t -> t.codePointCount(0, t.length())).max().orElse(0);
    assertThat(confidence.shape()).containsExactly(pngs.size(), longest);
    float[] values = confidence.toFloatArray();
    for (int i = 0; i < pngs.size(); i++) {
      int tokens = recognized.get(i).codePointCount(0, recognized.get(i).length());
      double sum = 0;
      for (int j = 0; j < longest; j++) {
        float v = values[i * longest + j];
        if (j < tokens) {
          assertThat(v).isBetween(0f, 1f);
          sum += v;
        } else {
          assertThat(v).isEqualTo(OcrRecognizerModel.NO_TOKEN);
        }
      }
      assertThat(means[i]).isCloseTo((float) (sum / tokens), Offset.offset(1e-5f));
      assertThat(means[i]).as("line %d mean confidence", i).isGreaterThan(0.5f);
    }
  }

  @Test
  void infer_preparedTensor_sameResultAsImage() {
    TextLineRenderer.Rendered line = rendered.get(0);
    Map<String, Tensor> fromImage =
        model.infer(
            Map.of(OcrRecognizerModel.IMAGE, Tensor.ofBytes(new long[] {1}, List.of(line.png()))));
    LinePreprocessor.PreparedLine prepared =
        LinePreprocessor.prepare(line.image(), "t", OcrOptions.DEFAULT_MAX_WIDTH);
    int width = LinePreprocessor.batchWidth(List.of(prepared), OcrOptions.DEFAULT_MIN_WIDTH);
    Tensor x =
        Tensor.ofFloats(
            new long[] {1, 3, OcrOptions.HEIGHT, width},
            LinePreprocessor.batch(List.of(prepared), width));
    Map<String, Tensor> fromTensor = model.infer(Map.of(OcrRecognizerModel.PREPARED, x));
    assertThat(text(fromTensor, 0)).isEqualTo(text(fromImage, 0)).isEqualTo("Amoxicillin 500mg");
    assertThat(fromTensor.get(OcrRecognizerModel.CONFIDENCE).toFloatArray())
        .containsExactly(fromImage.get(OcrRecognizerModel.CONFIDENCE).toFloatArray());
  }

  @Test
  void metadata_describesBothInputsAndThreeOutputs() {
    assertThat(model.platform()).isEqualTo("ocr_ctc+onnxruntime_fp32");
    assertThat(model.inputs())
        .containsExactly(
            new TensorSpec("image", DataType.BYTES, new long[] {-1}),
            new TensorSpec("x", DataType.FP32, new long[] {-1, 3, 48, -1}));
    assertThat(model.optionalInputs()).containsExactlyInAnyOrder("image", "x");
    assertThat(model.outputs())
        .containsExactly(
            new TensorSpec("text", DataType.BYTES, new long[] {-1}),
            new TensorSpec("confidence", DataType.FP32, new long[] {-1, -1}),
            new TensorSpec("mean_confidence", DataType.FP32, new long[] {-1}));
  }

  @Test
  void infer_emptyBatch_emptyOutputs() {
    Map<String, Tensor> out =
        model.infer(Map.of(OcrRecognizerModel.IMAGE, Tensor.ofBytes(new long[] {0}, List.of())));
    assertThat(out.get(OcrRecognizerModel.TEXT).shape()).containsExactly(0);
    assertThat(out.get(OcrRecognizerModel.CONFIDENCE).shape()).containsExactly(0, 0);
  }

  @Test
  void infer_badRequests_refusedNamingInput_thenModelStillReads() {
    byte[] good = rendered.get(0).png();
    assertThatThrownBy(
            () ->
                model.infer(
                    Map.of(
                        OcrRecognizerModel.IMAGE,
                        Tensor.ofBytes(new long[] {2}, List.of(good, new byte[] {1, 2, 3})))))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("input 'image'[1]: not an image");
    byte[] wide = TextLineRenderer.png(new BufferedImage(3000, 40, BufferedImage.TYPE_INT_RGB));
    assertThatThrownBy(
            () ->
                model.infer(
                    Map.of(
                        OcrRecognizerModel.IMAGE, Tensor.ofBytes(new long[] {1}, List.of(wide)))))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("input 'image'[0]: a 3000x40 line is 3600 pixels wide")
        .hasMessageContaining("max_width=1280");
    assertThatThrownBy(() -> model.infer(Map.of()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("give exactly one of input 'image'")
        .hasMessageContaining("neither");
    Tensor tooWideX = Tensor.ofFloats(new long[] {1, 3, 48, 1288}, new float[3 * 48 * 1288]);
    assertThatThrownBy(() -> model.infer(Map.of(OcrRecognizerModel.PREPARED, tooWideX)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("input 'x': width 1288 (shape [1,3,48,1288]) must be in [1,max_width=1280]");
    assertThatThrownBy(
            () ->
                model.infer(
                    Map.of(
                        OcrRecognizerModel.IMAGE,
                        Tensor.ofBytes(new long[] {1}, List.of(good)),
                        OcrRecognizerModel.PREPARED,
                        tooWideX)))
        .hasMessageContaining("both");
    Map<String, Tensor> out =
        model.infer(
            Map.of(OcrRecognizerModel.IMAGE, Tensor.ofBytes(new long[] {1}, List.of(good))));
    assertThat(text(out, 0)).isEqualTo("Amoxicillin 500mg");
  }

  @Test
  void constructor_recognizerOfAnotherShape_refused() {
    CtcDictionary small = CtcDictionary.parse("a\nb\n", "small");
    assertThatThrownBy(
            () ->
                new OcrRecognizerModel(
                    new OrtModel(PpOcrModels.recognizer()), small, OcrOptions.DEFAULT))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("has 6625 classes, the dictionary gives 4");
  }

  /** The same line as JPEG, as a grey PNG, and as dark text on a transparent background. */
  @Test
  void infer_jpegGreyAndTransparentEncodings_readTheSameText() throws Exception {
    String line = "Amoxicillin 500mg";
    BufferedImage rgb = new TextLineRenderer(5).render(line).image();
    int w = rgb.getWidth();
    int h = rgb.getHeight();
    BufferedImage grey = new BufferedImage(w, h, BufferedImage.TYPE_BYTE_GRAY);
    BufferedImage transparent = new BufferedImage(w, h, BufferedImage.TYPE_INT_ARGB);
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        int v = rgb.getRGB(x, y) & 0xff;
        grey.getRaster().setSample(x, y, 0, v);
        transparent.setRGB(x, y, (255 - v) << 24); // black ink, alpha = darkness
      }
    }
    ByteArrayOutputStream jpeg = new ByteArrayOutputStream();
    assertThat(ImageIO.write(rgb, "jpeg", jpeg)).isTrue();
    List<byte[]> encoded =
        List.of(jpeg.toByteArray(), TextLineRenderer.png(grey), TextLineRenderer.png(transparent));
    Map<String, Tensor> out =
        model.infer(Map.of(OcrRecognizerModel.IMAGE, Tensor.ofBytes(new long[] {3}, encoded)));
    for (int i = 0; i < 3; i++) {
      assertThat(text(out, i)).as("encoding %d", i).isEqualTo(line);
    }
  }

  @Test
  void infer_fromManyThreads_eachGetsItsOwnLines() throws Exception {
    int threads = 4;
    int perThread = 5;
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      List<Future<List<String>>> futures = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int first = t * perThread;
        futures.add(
            pool.submit(
                () -> {
                  List<String> texts = new ArrayList<>();
                  for (int i = first; i < first + perThread; i++) {
                    Map<String, Tensor> out =
                        model.infer(
                            Map.of(
                                OcrRecognizerModel.IMAGE,
                                Tensor.ofBytes(new long[] {1}, List.of(rendered.get(i).png()))));
                    texts.add(text(out, 0));
                  }
                  return texts;
                }));
      }
      List<String> sequential = new ArrayList<>();
      for (int i = 0; i < threads * perThread; i++) {
        sequential.add(
            text(
                model.infer(
                    Map.of(
                        OcrRecognizerModel.IMAGE,
                        Tensor.ofBytes(new long[] {1}, List.of(rendered.get(i).png())))),
                0));
      }
      List<String> concurrent = new ArrayList<>();
      for (var future : futures) {
        concurrent.addAll(future.get(60, TimeUnit.SECONDS));
      }
      assertThat(concurrent).containsExactlyElementsOf(sequential);
    } finally {
      pool.shutdownNow();
    }
  }
}
