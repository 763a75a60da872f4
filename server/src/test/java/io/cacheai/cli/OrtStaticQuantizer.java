package io.cacheai.cli;

import io.cacheai.compress.Dataset;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The peer quantizer: ONNX Runtime's {@code quantize_static} through {@code
 * tools/quant/ort_quantize_static.py} (Python, onnxruntime + onnx), fed the same calibration
 * samples as {@code cacheai compress}, written as a CAIT raw tensor file ({@link Dataset#readRaw}
 * draws the layout).
 */
final class OrtStaticQuantizer {
  static final Path ROOT = Path.of(System.getProperty("user.dir")).getParent();
  static final Path SCRIPT = ROOT.resolve("tools/quant/ort_quantize_static.py");
  private static final long TIMEOUT_S = 600;
  private static Boolean available;

  private OrtStaticQuantizer() {}

  /** Whether python3 can import onnxruntime.quantization and onnx (checked once). */
  static synchronized boolean available() {
    if (available == null) {
      try {
        Process p =
            new ProcessBuilder("python3", "-c", "import onnx, numpy, onnxruntime.quantization")
                .redirectErrorStream(true)
                .start();
        p.getInputStream().readAllBytes();
        available = p.waitFor(120, TimeUnit.SECONDS) && p.exitValue() == 0;
      } catch (IOException | InterruptedException e) {
        available = false;
      }
    }
    return available;
  }

  /** Writes {@code data} as a CAIT file ({@link Dataset#writeRaw}). */
  static Path writeCait(Dataset data, Path file) throws IOException {
    data.writeRaw(file);
    return file;
  }

  /** Runs the script; returns its last output line. */
  static String quantize(Path model, Path cait, Path out, String method) throws Exception {
    Path log = Files.createTempFile(out.getParent(), "ort-quantize", ".log");
    Process p =
        new ProcessBuilder(
                List.of(
                    "python3",
                    SCRIPT.toString(),
                    model.toString(),
                    cait.toString(),
                    out.toString(),
                    "--method",
                    method))
            .redirectErrorStream(true)
            .redirectOutput(log.toFile())
            .start();
    if (!p.waitFor(TIMEOUT_S, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IllegalStateException("ort_quantize_static.py: no result in " + TIMEOUT_S + " s");
    }
    List<String> lines = Files.readAllLines(log);
    if (p.exitValue() != 0 || !Files.exists(out)) {
      throw new IllegalStateException(
          "ort_quantize_static.py exit=" + p.exitValue() + ":\n" + String.join("\n", lines));
    }
    return lines.isEmpty() ? "" : lines.get(lines.size() - 1);
  }
}
