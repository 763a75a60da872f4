package io.cacheai.cli;

import io.cacheai.serve.TestLoaders;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import picocli.CommandLine;

/**
 * The embedded MNIST models compressed by the real {@code cacheai compress}, calibrated on the
 * first 1000 committed test images — the bundles the measurement and whole-model comparison tests
 * run on.
 */
final class MnistCompressed {
  static final Path MNIST =
      OrtStaticQuantizer.ROOT.resolve("tools/mnist/data/t10k-images-idx3-ubyte.gz");

  private MnistCompressed() {}

  /** Copies the embedded {@code name} (e.g. {@code mnist-cnn}) ONNX into {@code dir}. */
  static Path onnx(Path dir, String name) throws IOException {
    Files.createDirectories(dir);
    Path onnx = dir.resolve(name + ".onnx");
    try (InputStream in =
        MnistCompressed.class.getResourceAsStream("/io/cacheai/models/" + name + "/1/model.onnx")) {
      if (in == null) {
        throw new IllegalArgumentException("no embedded model name=" + name);
      }
      Files.copy(in, onnx, StandardCopyOption.REPLACE_EXISTING);
    }
    return onnx;
  }

  /**
   * {@code dir/NAME-METHOD.cai}, compressed unless it is already there. A bundle found is reused
   * whatever build wrote it, so tests that check the current compressor pass a fresh directory;
   * only the opt-in measurements keep bundles between runs.
   */
  static Path bundle(Path dir, String name, String method) throws IOException {
    Path cai = dir.resolve(name + "-" + method + ".cai");
    if (Files.exists(cai)) {
      return cai;
    }
    Path onnx = onnx(dir, name);
    StringWriter err = new StringWriter();
    CommandLine commandLine = Main.commandLine(new ServeCommand(new TestLoaders()));
    commandLine.setOut(new PrintWriter(new StringWriter(), true));
    commandLine.setErr(new PrintWriter(err, true));
    int code =
        commandLine.execute(
            "compress",
            onnx.toString(),
            "--calibration",
            MNIST.toString(),
            "--samples",
            "1000",
            "--method",
            method,
            "--out",
            cai.toString());
    if (code != 0) {
      throw new AssertionError(
          "compress " + name + " --method " + method + " exit " + code + ": " + err);
    }
    return cai;
  }

  /** Where the opt-in measurements keep their bundles between runs. */
  static Path measurementCache() {
    return Path.of(System.getProperty("cacheai.profile.cache", "target/profile-cache"));
  }
}
