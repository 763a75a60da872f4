package io.cacheai.bench.suite;

import io.cacheai.compress.Dataset;
import io.cacheai.compress.Evaluation;
import io.cacheai.runtime.Model;
import io.cacheai.runtime.Tensor;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;

/**
 * An embedded MNIST classifier ({@code mnist-mlp}, {@code mnist-cnn}) on the MNIST test set
 * committed under {@code tools/mnist/data}: calibrated on its first {@code calibrationSamples}
 * images, scored on the next {@code evalSamples} (the compressor never sees them), timed on real
 * digits. Scoring reuses {@link Evaluation}, the code behind {@code cacheai eval}.
 */
public final class MnistWorkload implements Workload {
  private final String name;
  private final Path onnx;
  private final Path images;
  private final int calibrationSamples;
  private final Dataset evaluation;

  private MnistWorkload(
      String name, Path onnx, Path images, int calibrationSamples, Dataset evaluation) {
    this.name = name;
    this.onnx = onnx;
    this.images = images;
    this.calibrationSamples = calibrationSamples;
    this.evaluation = evaluation;
  }

  /**
   * @param name {@code mnist-mlp} or {@code mnist-cnn} (the embedded models)
   * @param root the project root (holds {@code tools/mnist/data})
   * @param workDir where the ONNX file is copied to
   */
  public static MnistWorkload create(
      String name, Path root, Path workDir, int calibrationSamples, int evalSamples)
      throws IOException {
    Path images = root.resolve("tools/mnist/data/t10k-images-idx3-ubyte.gz");
    if (!Files.isRegularFile(images)) {
      throw new IOException(
          "root=" + root + ": no MNIST test set at " + images + " (give --root PROJECT_DIR)");
    }
    Dataset all = Dataset.read(images);
    if (calibrationSamples <= 0
        || evalSamples <= 0
        || calibrationSamples + evalSamples > all.count()) {
      throw new IllegalArgumentException(
          "calibrationSamples="
              + calibrationSamples
              + " evalSamples="
              + evalSamples
              + " (both > 0, together at most the "
              + all.count()
              + " test images)");
    }
    Path onnx = embeddedModel(name, workDir);
    return new MnistWorkload(
        name,
        onnx,
        images,
        calibrationSamples,
        all.range(calibrationSamples, calibrationSamples + evalSamples));
  }

  /**
   * Copies the jar's {@code io/cacheai/models/<name>/1/model.onnx} to {@code <dir>/<name>.onnx}.
   */
  static Path embeddedModel(String name, Path dir) throws IOException {
    String resource = "/io/cacheai/models/" + name + "/1/model.onnx";
    Path file = dir.resolve(name + ".onnx");
    try (InputStream in = MnistWorkload.class.getResourceAsStream(resource)) {
      if (in == null) {
        throw new IOException("model=" + name + ": no embedded model " + resource);
      }
      Files.createDirectories(dir);
      Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
    }
    return file;
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public Path onnx() {
    return onnx;
  }

  @Override
  public Path calibration() {
    return images;
  }

  @Override
  public int calibrationSamples() {
    return calibrationSamples;
  }

  @Override
  public String accuracyName() {
    return "top-1 on " + evaluation.count() + " test images";
  }

  @Override
  public Quality evaluate(Model model) {
    Evaluation e = Evaluation.run(model, evaluation, done -> {});
    // one class per image: flattened to the per-position form Quality compares
    int[] classes =
        java.util.Arrays.stream(e.predictions()).flatMapToInt(java.util.Arrays::stream).toArray();
    return new Quality(e.accuracyPct(), Double.NaN, classes);
  }

  @Override
  public Map<String, Tensor> request(int batch) {
    int n = Math.min(batch, evaluation.count());
    return Map.of("input", Tensor.ofFloats(evaluation.batchShape(n), evaluation.slice(0, n)));
  }

  @Override
  public int minCallsPerWindow() {
    return 20;
  }
}
