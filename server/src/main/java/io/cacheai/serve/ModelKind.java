package io.cacheai.serve;

import io.cacheai.ocr.CtcDictionary;
import io.cacheai.ocr.OcrOptions;
import io.cacheai.ocr.OcrRecognizerModel;
import io.cacheai.runtime.Model;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * What a model directory serves, set by {@code kind} in its {@code config.properties}: the loaded
 * {@code model.onnx} as it is ({@link #ONNX}, the default) or wrapped with the pre- and
 * post-processing of a task ({@link #OCR_RECOGNIZER}). Each kind owns its extra config keys.
 *
 * <pre>
 * kind=ocr_recognizer             image bytes in, text out (PaddleOCR PP-OCR rec + CTC decoding)
 * dictionary=ppocr_keys_v1.txt    required: keys file, a plain file name in the version directory
 * max_width=1280                  optional: widest line in pixels at height 48 (default 1280)
 * </pre>
 */
public enum ModelKind {
  /** The ONNX model as it is. */
  ONNX("onnx", Set.of(), Set.of()),

  /** An OCR text-line recognizer: {@link OcrRecognizerModel} around the ONNX model. */
  OCR_RECOGNIZER("ocr_recognizer", Set.of(ModelKind.DICTIONARY), Set.of(ModelKind.MAX_WIDTH));

  public static final String DICTIONARY = "dictionary";
  public static final String MAX_WIDTH = "max_width";

  /** A file name without directories, so a config cannot point outside its version directory. */
  private static final Pattern PLAIN_FILE_NAME = Pattern.compile("[A-Za-z0-9._-]{1,255}");

  private final String configName;
  private final Set<String> requiredKeys;
  private final Set<String> optionalKeys;

  ModelKind(String configName, Set<String> requiredKeys, Set<String> optionalKeys) {
    this.configName = configName;
    this.requiredKeys = requiredKeys;
    this.optionalKeys = optionalKeys;
  }

  /** The value of {@code kind=} that selects this kind. */
  public String configName() {
    return configName;
  }

  /** The keys this kind needs. */
  public Set<String> requiredKeys() {
    return requiredKeys;
  }

  /** The keys this kind accepts beyond the required ones. */
  public Set<String> optionalKeys() {
    return optionalKeys;
  }

  /** Every kind-specific key of every kind. */
  static Set<String> allKindKeys() {
    Set<String> keys = new TreeSet<>();
    for (ModelKind kind : values()) {
      keys.addAll(kind.requiredKeys);
      keys.addAll(kind.optionalKeys);
    }
    return keys;
  }

  /** The kind {@code kind=configName} selects. */
  public static Optional<ModelKind> fromConfigName(String configName) {
    return Arrays.stream(values()).filter(k -> k.configName.equals(configName)).findFirst();
  }

  /**
   * Builds what this kind serves around {@code loaded} (the model of {@code versionDir}), taking
   * ownership of it: on failure {@code loaded} is closed before the exception leaves.
   *
   * @param settings this kind's keys from the config, already checked to be present
   * @throws IOException when a file the settings name cannot be read
   * @throws IllegalArgumentException naming the key and value that do not fit
   */
  Model wrap(Model loaded, Path versionDir, Map<String, String> settings) throws IOException {
    if (this == ONNX) {
      return loaded;
    }
    try {
      return new OcrRecognizerModel(
          loaded, readDictionary(versionDir, settings.get(DICTIONARY)), ocrOptions(settings));
    } catch (IOException | RuntimeException e) {
      loaded.close();
      throw e;
    }
  }

  private static CtcDictionary readDictionary(Path versionDir, String fileName) throws IOException {
    if (!PLAIN_FILE_NAME.matcher(fileName).matches() || fileName.startsWith(".")) {
      throw new IllegalArgumentException(
          DICTIONARY
              + "="
              + fileName
              + " must be a plain file name in the version directory ([A-Za-z0-9._-])");
    }
    Path file = versionDir.resolve(fileName);
    if (!Files.isRegularFile(file)) {
      throw new IOException(DICTIONARY + "=" + fileName + ": no such file " + file);
    }
    return CtcDictionary.read(file);
  }

  private static OcrOptions ocrOptions(Map<String, String> settings) {
    String maxWidth = settings.get(MAX_WIDTH);
    if (maxWidth == null) {
      return OcrOptions.DEFAULT;
    }
    try {
      return OcrOptions.DEFAULT.withMaxWidth(Integer.parseInt(maxWidth.trim()));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          MAX_WIDTH
              + "="
              + maxWidth
              + " is not an integer in [8,"
              + OcrOptions.LIMIT_MAX_WIDTH
              + "]");
    }
  }
}
