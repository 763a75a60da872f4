package io.cacheai.serve;

import io.cacheai.bundle.BundleWriter;
import io.cacheai.data.MnistDataset;
import io.cacheai.onnx.OnnxImportException;
import io.cacheai.onnx.OnnxImporter;
import io.cacheai.proto.v1.Producer;
import io.cacheai.runtime.Model;
import io.cacheai.runtime.Tensor;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;

/** The embedded MNIST models as repository files, the test digits, and unbatched references. */
final class MnistFiles {
  static final long[] ONE_DIGIT = {1, 1, 28, 28};

  private MnistFiles() {}

  /**
   * Copies the embedded {@code embeddedName} (mnist-mlp or mnist-cnn) to {@code
   * <repository>/<name>/<version>/model.onnx}, replacing what is there.
   */
  static Path copy(Path repository, String embeddedName, String name, String version)
      throws IOException {
    String resource = EmbeddedModels.ROOT + embeddedName + "/1/" + ModelRepository.MODEL_FILE;
    Path dir = Files.createDirectories(repository.resolve(name).resolve(version));
    Path target = dir.resolve(ModelRepository.MODEL_FILE);
    Path temp = Files.createTempFile(dir, ".model", ".tmp");
    try (InputStream in = MnistFiles.class.getClassLoader().getResourceAsStream(resource)) {
      if (in == null) {
        throw new IOException("resource " + resource + " not found");
      }
      Files.copy(in, temp, StandardCopyOption.REPLACE_EXISTING);
    }
    // Rename over the old file, as an operator's deploy would: a reader never sees half a file.
    return Files.move(
        temp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }

  /**
   * Writes the embedded {@code embeddedName} as an fp32 bundle {@code
   * <repository>/<name>/<version>/model.cai} (atomically, as {@link BundleWriter} does).
   */
  static Path bundle(Path repository, String embeddedName, String name, String version)
      throws IOException {
    Path dir = Files.createDirectories(repository.resolve(name).resolve(version));
    Path target = dir.resolve(ModelRepository.BUNDLE_FILE);
    try {
      new BundleWriter(OnnxImporter.importBytes(onnxBytes(embeddedName)))
          .producer(
              Producer.newBuilder().setSourceName(embeddedName).setCompression("none").build())
          .write(target);
    } catch (OnnxImportException e) {
      throw new IOException(e.getMessage(), e);
    }
    return target;
  }

  /** The bytes of the embedded {@code embeddedName}'s ONNX file. */
  static byte[] onnxBytes(String embeddedName) throws IOException {
    String resource = EmbeddedModels.ROOT + embeddedName + "/1/" + ModelRepository.MODEL_FILE;
    try (InputStream in = MnistFiles.class.getClassLoader().getResourceAsStream(resource)) {
      if (in == null) {
        throw new IOException("resource " + resource + " not found");
      }
      return in.readAllBytes();
    }
  }

  /** The committed MNIST test set. */
  static MnistDataset digits() throws IOException {
    return MnistDataset.testSet(Path.of(System.getProperty("user.dir")).getParent());
  }

  /**
   * The logits of each of the first {@code count} digits, each run alone (batch 1) on {@code file}.
   */
  static float[][] unbatchedLogits(Path file, MnistDataset digits, int count) throws IOException {
    float[][] logits = new float[count][];
    try (Model model = new OnnxModelLoader().load("reference", file)) {
      for (int i = 0; i < count; i++) {
        Tensor input = Tensor.ofFloats(ONE_DIGIT, digits.slice(i, 1));
        logits[i] = model.infer(Map.of("input", input)).get("logits").toFloatArray();
      }
    }
    return logits;
  }

  /** Whether {@code actual} equals {@code expected} within fp32 reordering error. */
  static boolean close(float[] actual, float[] expected) {
    if (actual.length != expected.length) {
      return false;
    }
    for (int i = 0; i < actual.length; i++) {
      if (Math.abs(actual[i] - expected[i]) > 1e-4f * Math.max(1f, Math.abs(expected[i]))) {
        return false;
      }
    }
    return true;
  }
}
