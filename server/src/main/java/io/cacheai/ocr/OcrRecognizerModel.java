package io.cacheai.ocr;

import io.cacheai.runtime.DataType;
import io.cacheai.runtime.Model;
import io.cacheai.runtime.Tensor;
import io.cacheai.runtime.TensorSpec;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * A text-line recognizer served with its pre- and post-processing, so that a client sends an image
 * and gets text back: PaddleOCR's recognition pipeline (PP-OCRv4 rec) around any {@link Model} that
 * maps {@code [N,3,48,W]} FP32 to CTC class probabilities {@code [N,T,C]}.
 *
 * <p>Inputs — give exactly one of them:
 *
 * <ul>
 *   <li>{@value #IMAGE} BYTES {@code [N]}: one encoded image (PNG, JPEG, ...) per text line,
 *       prepared by {@link LinePreprocessor} (BGR, height 48, normalized); as PaddleOCR does, the
 *       lines are sorted by width and recognized {@value #REC_BATCH} at a time, each group padded
 *       to its widest line (at least {@code min_width}), and the results put back in request order;
 *   <li>{@value #PREPARED} FP32 {@code [N,3,48,W]}: lines already prepared that way, W ≤ {@code
 *       max_width}, recognized as one batch.
 * </ul>
 *
 * <p>Outputs, decoded by {@link CtcGreedyDecoder} with the {@link CtcDictionary}:
 *
 * <pre>
 * text             BYTES [N]      UTF-8 text of each line, without leading or trailing spaces
 * confidence       FP32  [N, L]   per decoded token (character), L = longest text in the batch
 *                                 (in tokens); shorter lines are padded with -1
 * mean_confidence  FP32  [N]      mean of the line's token confidences, 0 for an empty line
 * </pre>
 *
 * <p>The recognizer must end in a softmax (PaddleOCR's exports do): confidences are its
 * probabilities. Every request problem (undecodable or oversized image, too wide a line, both or
 * neither input) is an {@link IllegalArgumentException} naming the input and element, which the
 * server returns as INVALID_ARGUMENT. Stateless, so as thread-safe as the recognizer.
 */
public final class OcrRecognizerModel implements Model {
  public static final String IMAGE = "image";
  public static final String PREPARED = "x";
  public static final String TEXT = "text";
  public static final String CONFIDENCE = "confidence";
  public static final String MEAN_CONFIDENCE = "mean_confidence";

  /** Pads {@value #CONFIDENCE} after a line's last token. */
  public static final float NO_TOKEN = -1f;

  /** Prefixed to the recognizer's platform: CTC decoding around it, e.g. "ocr_ctc+onnx_fp32". */
  public static final String PLATFORM_PREFIX = "ocr_ctc+";

  private static final int CHANNELS = 3;

  /** Lines recognized per call from a request of images: PaddleOCR's {@code rec_batch_num}. */
  static final int REC_BATCH = 6;

  private final Model recognizer;
  private final String recognizerInput;
  private final String recognizerOutput;
  private final CtcDictionary dictionary;
  private final CtcGreedyDecoder decoder;
  private final OcrOptions options;
  private final List<TensorSpec> inputs;
  private final List<TensorSpec> outputs;

  /**
   * Wraps {@code recognizer}, which this model now owns and closes.
   *
   * @throws IllegalArgumentException when the recognizer's first input is not FP32 {@code
   *     [N,3,48,W]}-compatible or its first output not FP32 rank 3 with as many classes as the
   *     dictionary
   */
  public OcrRecognizerModel(Model recognizer, CtcDictionary dictionary, OcrOptions options) {
    this.recognizer = Objects.requireNonNull(recognizer, "recognizer");
    this.dictionary = Objects.requireNonNull(dictionary, "dictionary");
    this.options = Objects.requireNonNull(options, "options");
    this.decoder = new CtcGreedyDecoder(dictionary, true);
    TensorSpec in = checkInput(recognizer.inputs());
    TensorSpec out = checkOutput(recognizer.outputs(), dictionary);
    this.recognizerInput = in.name();
    this.recognizerOutput = out.name();
    long dynamic = TensorSpec.DYNAMIC;
    this.inputs =
        List.of(
            new TensorSpec(IMAGE, DataType.BYTES, new long[] {dynamic}),
            new TensorSpec(
                PREPARED,
                DataType.FP32,
                new long[] {dynamic, CHANNELS, OcrOptions.HEIGHT, dynamic}));
    this.outputs =
        List.of(
            new TensorSpec(TEXT, DataType.BYTES, new long[] {dynamic}),
            new TensorSpec(CONFIDENCE, DataType.FP32, new long[] {dynamic, dynamic}),
            new TensorSpec(MEAN_CONFIDENCE, DataType.FP32, new long[] {dynamic}));
  }

  private static TensorSpec checkInput(List<TensorSpec> specs) {
    if (specs.size() != 1) {
      throw new IllegalArgumentException(
          "OCR recognizer must have one input [N,3,48,W], it has " + specs);
    }
    TensorSpec in = specs.get(0);
    long[] shape = in.shape();
    if (in.dataType() != DataType.FP32
        || shape.length != 4
        || !fits(shape[1], CHANNELS)
        || !fits(shape[2], OcrOptions.HEIGHT)) {
      throw new IllegalArgumentException(
          "OCR recognizer input " + in + " does not accept FP32 [N,3," + OcrOptions.HEIGHT + ",W]");
    }
    return in;
  }

  private static TensorSpec checkOutput(List<TensorSpec> specs, CtcDictionary dictionary) {
    if (specs.isEmpty()) {
      throw new IllegalArgumentException("OCR recognizer has no output");
    }
    TensorSpec out = specs.get(0);
    long[] shape = out.shape();
    if (out.dataType() != DataType.FP32 || shape.length != 3) {
      throw new IllegalArgumentException(
          "OCR recognizer output " + out + " is not FP32 [N,T,classes]");
    }
    if (!fits(shape[2], dictionary.classCount())) {
      throw new IllegalArgumentException(
          "OCR recognizer output "
              + out
              + " has "
              + shape[2]
              + " classes, the dictionary gives "
              + dictionary.classCount()
              + " (blank + keys + space)");
    }
    return out;
  }

  private static boolean fits(long declared, long wanted) {
    return declared == TensorSpec.DYNAMIC || declared == wanted;
  }

  @Override
  public String platform() {
    return PLATFORM_PREFIX + recognizer.platform();
  }

  @Override
  public List<TensorSpec> inputs() {
    return inputs;
  }

  @Override
  public List<TensorSpec> outputs() {
    return outputs;
  }

  /** Both inputs are optional; a request gives exactly one. */
  @Override
  public Set<String> optionalInputs() {
    return Set.of(IMAGE, PREPARED);
  }

  /** The wrapped recognizer (its raw probabilities, for comparisons). */
  public Model recognizer() {
    return recognizer;
  }

  /** The bounds this model enforces. */
  public OcrOptions options() {
    return options;
  }

  @Override
  public Map<String, Tensor> infer(Map<String, Tensor> request) {
    Tensor images = request.get(IMAGE);
    Tensor prepared = request.get(PREPARED);
    if ((images == null) == (prepared == null)) {
      throw new IllegalArgumentException(
          "give exactly one of input '"
              + IMAGE
              + "' (BYTES [N], encoded images) and input '"
              + PREPARED
              + "' (FP32 [N,3,48,W]), "
              + (images == null ? "neither" : "both")
              + " was given");
    }
    if (prepared != null) {
      checkPrepared(prepared);
      int batch = Math.toIntExact(prepared.shape()[0]);
      return batch == 0 ? toOutputs(List.of()) : toOutputs(recognize(prepared, batch));
    }
    List<LinePreprocessor.PreparedLine> lines = prepareImages(images);
    // PaddleOCR's order: sort by width, recognize REC_BATCH lines of similar width at a time, so
    // a short line is not padded to the width of the longest one in the request.
    Integer[] order = new Integer[lines.size()];
    for (int i = 0; i < order.length; i++) {
      order[i] = i;
    }
    Arrays.sort(order, Comparator.comparingInt(i -> lines.get(i).width()));
    CtcGreedyDecoder.Line[] decoded = new CtcGreedyDecoder.Line[lines.size()];
    for (int start = 0; start < order.length; start += REC_BATCH) {
      List<LinePreprocessor.PreparedLine> group = new ArrayList<>();
      for (int k = start; k < Math.min(order.length, start + REC_BATCH); k++) {
        group.add(lines.get(order[k]));
      }
      int width = LinePreprocessor.batchWidth(group, options.minWidth());
      Tensor x =
          Tensor.ofFloats(
              new long[] {group.size(), CHANNELS, OcrOptions.HEIGHT, width},
              LinePreprocessor.batch(group, width));
      List<CtcGreedyDecoder.Line> groupLines = recognize(x, group.size());
      for (int k = 0; k < group.size(); k++) {
        decoded[order[start + k]] = groupLines.get(k);
      }
    }
    return toOutputs(Arrays.asList(decoded));
  }

  /** Runs the recognizer on {@code x} ({@code batch} lines) and decodes every line. */
  private List<CtcGreedyDecoder.Line> recognize(Tensor x, int batch) {
    Map<String, Tensor> result = recognizer.infer(Map.of(recognizerInput, x));
    Tensor probs = result.get(recognizerOutput);
    if (probs == null || probs.dataType() != DataType.FP32) {
      throw new IllegalStateException(
          "recognizer gave no FP32 output '" + recognizerOutput + "': " + result);
    }
    long[] shape = probs.shape();
    int classes = dictionary.classCount();
    if (shape.length != 3 || shape[0] != batch || shape[2] != classes) {
      throw new IllegalStateException(
          "recognizer output '"
              + recognizerOutput
              + "' has shape "
              + Tensor.shapeString(shape)
              + ", expected ["
              + batch
              + ",T,"
              + classes
              + "]");
    }
    int steps = Math.toIntExact(shape[1]);
    FloatBuffer values = probs.data().asFloatBuffer();
    List<CtcGreedyDecoder.Line> lines = new ArrayList<>(batch);
    for (int n = 0; n < batch; n++) {
      lines.add(decoder.decode(values, n * steps * classes, steps, classes));
    }
    return lines;
  }

  private List<LinePreprocessor.PreparedLine> prepareImages(Tensor images) {
    List<byte[]> encoded = images.elements();
    List<LinePreprocessor.PreparedLine> lines = new ArrayList<>(encoded.size());
    for (int i = 0; i < encoded.size(); i++) {
      String where = "input '" + IMAGE + "'[" + i + "]";
      lines.add(
          LinePreprocessor.prepare(
              ImageBytesDecoder.decode(encoded.get(i), where, options), where, options.maxWidth()));
    }
    return lines;
  }

  private void checkPrepared(Tensor prepared) {
    long width = prepared.shape()[3];
    if (width < 1 || width > options.maxWidth()) {
      throw new IllegalArgumentException(
          "input '"
              + PREPARED
              + "': width "
              + width
              + " (shape "
              + Tensor.shapeString(prepared.shape())
              + ") must be in [1,max_width="
              + options.maxWidth()
              + "]");
    }
  }

  private static Map<String, Tensor> toOutputs(List<CtcGreedyDecoder.Line> lines) {
    int batch = lines.size();
    int longest = 0;
    for (CtcGreedyDecoder.Line line : lines) {
      longest = Math.max(longest, line.confidences().length);
    }
    List<byte[]> texts = new ArrayList<>(batch);
    float[] confidences = new float[batch * longest];
    float[] means = new float[batch];
    Arrays.fill(confidences, NO_TOKEN);
    for (int n = 0; n < batch; n++) {
      CtcGreedyDecoder.Line line = lines.get(n);
      texts.add(line.text().getBytes(StandardCharsets.UTF_8));
      System.arraycopy(line.confidences(), 0, confidences, n * longest, line.confidences().length);
      means[n] = line.meanConfidence();
    }
    Map<String, Tensor> out = new LinkedHashMap<>();
    out.put(TEXT, Tensor.ofBytes(new long[] {batch}, texts));
    out.put(CONFIDENCE, Tensor.ofFloats(new long[] {batch, longest}, confidences));
    out.put(MEAN_CONFIDENCE, Tensor.ofFloats(new long[] {batch}, means));
    return out;
  }

  @Override
  public void close() {
    recognizer.close();
  }
}
