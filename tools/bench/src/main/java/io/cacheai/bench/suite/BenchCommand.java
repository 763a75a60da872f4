package io.cacheai.bench.suite;

import io.cacheai.compress.Dataset;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code cacheai bench}: the side-by-side suite. In one run, for each model (MNIST MLP, MNIST CNN,
 * PP-OCRv4 rec) and each form (ONNX Runtime fp32, ours fp32, ours int8/int4/mixed, ours cacheai
 * when the compressor knows it): size on disk, accuracy (CER for OCR), top-1 agreement with ORT
 * fp32, batch-1 and batch-N latency p50/p99 and throughput; then the gRPC path (MNIST CNN through
 * cacheai's server vs a bare grpc-java echo service) at several concurrencies. Prints Markdown
 * tables with ratios and writes {@code models.csv}, {@code grpc.csv}, {@code chart.svg} and {@code
 * results.md} to {@code --out}.
 */
@Command(
    name = "bench",
    mixinStandardHelpOptions = true,
    description = "Side-by-side benchmark: cacheai forms vs ONNX Runtime, gRPC vs a bare echo.")
public final class BenchCommand implements Callable<Integer> {
  static final List<String> ALL_MODELS = List.of("mnist-mlp", "mnist-cnn", "ppocr-rec");

  @Option(
      names = "--models",
      split = ",",
      description = "Models to run (default: ${DEFAULT-VALUE}).",
      defaultValue = "mnist-mlp,mnist-cnn,ppocr-rec")
  List<String> models;

  @Option(
      names = "--forms",
      split = ",",
      defaultValue = "ort-fp32,fp32,int8,int4,mixed,cacheai",
      description =
          "Forms: ort-fp32, fp32, or any compressor method name (unknown ones are reported as"
              + " skipped). Default: ${DEFAULT-VALUE}.")
  List<String> forms;

  @Option(names = "--root", defaultValue = ".", description = "Project root (tools/mnist/data).")
  Path root;

  @Option(names = "--out", defaultValue = "bench-results", description = "Output directory.")
  Path out;

  @Option(
      names = "--work",
      description = "Directory for ONNX copies, calibration data and bundles (default OUT/work).")
  Path work;

  @Option(names = "--calibration-samples", defaultValue = "1000", description = "MNIST: first N.")
  int calibrationSamples;

  @Option(names = "--eval-samples", defaultValue = "9000", description = "MNIST: the next N.")
  int evalSamples;

  @Option(names = "--ocr-lines", defaultValue = "50", description = "Rendered lines for CER.")
  int ocrLines;

  @Option(
      names = "--ocr-calibration-lines",
      defaultValue = "16",
      description = "OCR: lines the compressor calibrates on.")
  int ocrCalibrationLines;

  @Option(names = "--batch", defaultValue = "16", description = "The larger batch size.")
  int batch;

  @Option(names = "--warmup-ms", defaultValue = "500", description = "Warm-up per measurement.")
  long warmupMs;

  @Option(names = "--window-ms", defaultValue = "500", description = "Model measurement window.")
  long windowMs;

  @Option(names = "--max-windows", defaultValue = "10", description = "Windows at most (min 3).")
  int maxWindows;

  @Option(names = "--spread", defaultValue = "0.10", description = "Stable: last 3 within this.")
  double spread;

  @Option(names = "--skip-grpc", description = "Leave out the gRPC part.")
  boolean skipGrpc;

  @Option(
      names = "--concurrency",
      split = ",",
      defaultValue = "1,16,64",
      description = "gRPC concurrencies (default ${DEFAULT-VALUE}).")
  List<Integer> concurrency;

  @Option(names = "--grpc-window-ms", defaultValue = "1000", description = "gRPC window.")
  long grpcWindowMs;

  @Option(
      names = "--make-timeout-s",
      defaultValue = "900",
      description = "Longest a bundle/compress command may take.")
  long makeTimeoutS;

  private final PrintStream log;

  public BenchCommand() {
    this(System.err);
  }

  BenchCommand(PrintStream log) {
    this.log = log;
  }

  public static void main(String[] args) {
    System.exit(new CommandLine(new BenchCommand()).execute(args));
  }

  /** What a run produced. */
  record Run(List<FormResult> models, List<GrpcSuite.Row> grpc, String markdown) {}

  @Override
  public Integer call() throws Exception {
    Run run = run();
    System.out.print(run.markdown());
    System.out.flush();
    return 0;
  }

  Run run() throws Exception {
    for (String m : models) {
      if (!ALL_MODELS.contains(m)) {
        throw new IllegalArgumentException("models=" + m + " (accepted: " + ALL_MODELS + ")");
      }
    }
    if (batch < 1) {
      throw new IllegalArgumentException("batch=" + batch + " (>= 1)");
    }
    List<Form> formList = new ArrayList<>();
    for (String f : forms) {
      formList.add(Form.parse(f));
    }
    Path workDir = work != null ? work : out.resolve("work");
    Files.createDirectories(out);
    Files.createDirectories(workDir);
    WindowedMeasurement.Settings modelSettings =
        new WindowedMeasurement.Settings(warmupMs, windowMs, 3, maxWindows, spread);
    long started = System.nanoTime();
    ModelSuite suite =
        new ModelSuite(new BundleMaker(workDir, makeTimeoutS), modelSettings, batch, log);
    List<FormResult> rows = new ArrayList<>();
    for (String m : models) {
      Workload workload =
          m.equals("ppocr-rec")
              ? OcrWorkload.create(workDir, ocrLines, ocrCalibrationLines)
              : MnistWorkload.create(m, root, workDir, calibrationSamples, evalSamples);
      rows.addAll(suite.run(workload, formList));
    }
    CsvReport.writeModels(out.resolve("models.csv"), rows);
    SvgChart.write(
        out.resolve("chart.svg"),
        rows,
        "cacheai vs ONNX Runtime 1.29 (one run, "
            + Instant.now().toString().substring(0, 10)
            + ")");
    List<GrpcSuite.Row> grpcRows = List.of();
    String grpcFailure = null;
    if (!skipGrpc) {
      Dataset digits = Dataset.read(root.resolve("tools/mnist/data/t10k-images-idx3-ubyte.gz"));
      try {
        grpcRows =
            GrpcSuite.run(
                digits.slice(0, 1),
                concurrency,
                new WindowedMeasurement.Settings(warmupMs, grpcWindowMs, 3, maxWindows, spread),
                log);
        CsvReport.writeGrpc(out.resolve("grpc.csv"), grpcRows);
      } catch (io.grpc.StatusRuntimeException | IllegalStateException e) {
        grpcFailure = "gRPC part failed: " + e.getMessage();
        log.println(grpcFailure);
      }
    }
    String markdown = markdown(rows, grpcRows, (System.nanoTime() - started) / 1e9);
    if (grpcFailure != null) {
      markdown += "\n" + grpcFailure + "\n";
    }
    Files.writeString(out.resolve("results.md"), markdown);
    log.println("wrote " + out.resolve("models.csv") + ", grpc.csv, chart.svg, results.md");
    return new Run(rows, grpcRows, markdown);
  }

  private String markdown(List<FormResult> rows, List<GrpcSuite.Row> grpcRows, double seconds) {
    StringBuilder md = new StringBuilder();
    md.append(
        String.format(
            Locale.ROOT,
            "cacheai bench, %s, Java %s, %d cores, %.0f s; windows of %d ms (gRPC %d ms), stable ="
                + " last 3 within %.0f%% (* = not stable after %d windows); ratios vs ORT fp32 of"
                + " this run%n%n",
            Instant.now().toString().substring(0, 19) + "Z",
            System.getProperty("java.version"),
            Runtime.getRuntime().availableProcessors(),
            seconds,
            windowMs,
            grpcWindowMs,
            100 * spread,
            maxWindows));
    md.append(Reports.modelTable(rows));
    if (!grpcRows.isEmpty()) {
      md.append("\ngRPC loopback, ")
          .append(GrpcSuite.MODEL)
          .append(" fp32, one digit per request, closed loop:\n\n")
          .append(Reports.grpcTable(grpcRows));
    }
    return md.toString();
  }
}
