package io.cacheai.bench.suite;

import io.cacheai.compress.Compressor;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Makes a form's {@code .cai} file with the real command line — {@code cacheai bundle} or {@code
 * cacheai compress --method M} — in a child JVM on this JVM's class path, so the suite measures
 * exactly what a user's command writes, whatever that command grows into, and a compressor that
 * fails on a model (an unsupported op) fails one form, not the run.
 */
final class BundleMaker {
  /**
   * What came of one attempt.
   *
   * @param file the bundle, null when not made
   * @param seconds wall-clock time of the command
   * @param reason why there is no bundle (the command's last error line), else null
   */
  record Outcome(Path file, double seconds, String reason) {}

  private final Path workDir;
  private final long timeoutSeconds;

  BundleMaker(Path workDir, long timeoutSeconds) {
    this.workDir = workDir;
    this.timeoutSeconds = timeoutSeconds;
  }

  /** Null when this build's compressor accepts {@code method}, else the reason it does not. */
  static String unknownMethod(String method) {
    if (method.equalsIgnoreCase("cacheai")) {
      return null; // the lookup-table method: LutCompressor, outside Compressor.Method
    }
    try {
      Compressor.Method.parse(method);
      return null;
    } catch (IllegalArgumentException e) {
      return "compressor of this build does not know it: " + e.getMessage();
    }
  }

  Outcome make(Workload workload, Form form) throws IOException, InterruptedException {
    Path out = workDir.resolve(workload.name() + "-" + form.name() + ".cai");
    Files.deleteIfExists(out);
    List<String> args = new ArrayList<>();
    switch (form.kind()) {
      case FP32_BUNDLE -> args.addAll(List.of("bundle", workload.onnx().toString()));
      case COMPRESSED -> {
        String unknown = unknownMethod(form.method());
        if (unknown != null) {
          return new Outcome(null, 0, unknown);
        }
        args.addAll(
            List.of(
                "compress",
                workload.onnx().toString(),
                "--calibration",
                workload.calibration().toString(),
                "--samples",
                Integer.toString(workload.calibrationSamples()),
                "--method",
                form.method()));
      }
      case ONNX_RUNTIME ->
          throw new IllegalArgumentException("form=" + form.name() + " has no bundle");
    }
    args.addAll(List.of("--out", out.toString()));
    return run(args, out);
  }

  private Outcome run(List<String> cliArgs, Path out) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    if (Runtime.version().feature() >= 22) {
      command.add("--enable-native-access=ALL-UNNAMED"); // JavaCPP, as the launchers do
    }
    for (String property : List.of("org.bytedeco.javacpp.cachedir", "cacheai.blas.threads")) {
      if (System.getProperty(property) != null) {
        command.add("-D" + property + "=" + System.getProperty(property));
      }
    }
    command.addAll(List.of("-cp", System.getProperty("java.class.path"), "io.cacheai.cli.Main"));
    command.addAll(cliArgs);
    Path log = Files.createTempFile(workDir, "cli-", ".log");
    long start = System.nanoTime();
    Process process =
        new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    boolean finished = process.waitFor(timeoutSeconds, TimeUnit.SECONDS);
    double seconds = (System.nanoTime() - start) / 1e9;
    if (!finished) {
      process.destroyForcibly().waitFor();
      Files.deleteIfExists(log);
      return new Outcome(
          null, seconds, "cacheai " + cliArgs.get(0) + " took more than " + timeoutSeconds + " s");
    }
    String output = Files.readString(log, StandardCharsets.UTF_8);
    Files.deleteIfExists(log);
    if (process.exitValue() != 0 || !Files.isRegularFile(out)) {
      return new Outcome(null, seconds, lastLine(output));
    }
    return new Outcome(out, seconds, null);
  }

  /** The last non-blank line (progress bars end lines with \r, so both break lines). */
  static String lastLine(String output) {
    String[] lines = output.split("[\r\n]+");
    for (int i = lines.length - 1; i >= 0; i--) {
      if (!lines[i].isBlank()) {
        String line = lines[i].strip();
        return line.length() > 300 ? line.substring(0, 300) + "…" : line;
      }
    }
    return "no output";
  }
}
