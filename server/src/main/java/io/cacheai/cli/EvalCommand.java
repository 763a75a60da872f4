package io.cacheai.cli;

import io.cacheai.bundle.Bundle;
import io.cacheai.bundle.BundleReader;
import io.cacheai.bundle.PackedTensors;
import io.cacheai.compress.Dataset;
import io.cacheai.compress.Evaluation;
import io.cacheai.compress.QuantizedGraph;
import io.cacheai.compress.lut.LutDiagnostics;
import io.cacheai.graph.OpType;
import io.cacheai.onnx.OnnxImporter;
import io.cacheai.runtime.GraphModel;
import io.cacheai.runtime.Model;
import io.cacheai.runtime.Tensor;
import io.cacheai.serve.BundleModelLoader;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code cacheai eval MODEL(.onnx|.cai) --data DATA [--reference MODEL.onnx]}: top-1 accuracy on
 * labelled data, top-1 agreement with the fp32 reference, size on disk and ratio vs the reference
 * ONNX file, and batch-1 latency (median of a warm loop, one thread) of both.
 */
@Command(
    name = "eval",
    mixinStandardHelpOptions = true,
    description = "Accuracy, agreement with fp32, size and latency of a model (.onnx or .cai).")
final class EvalCommand implements Callable<Integer> {
  @Spec private CommandSpec spec;

  @Parameters(index = "0", paramLabel = "MODEL", description = "An .onnx model or a .cai bundle.")
  private Path model;

  @Option(
      names = "--data",
      required = true,
      description = "MNIST IDX images, a CAIT file, or a folder of images (+ labels.txt).")
  private Path data;

  @Option(names = "--reference", description = "The fp32 ONNX model to compare against.")
  private Path reference;

  @Option(
      names = "--range",
      defaultValue = ":",
      description = "Samples FROM:TO of DATA to evaluate, e.g. 1000: (default: all)")
  private String range;

  @Option(
      names = "--latency-runs",
      defaultValue = "300",
      description = "Timed batch-1 runs (after as many warm-up runs); default ${DEFAULT-VALUE}")
  private int latencyRuns;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    ProgressBar progress = new ProgressBar(spec.commandLine().getErr());
    try (Model subject = load(model)) {
      Dataset all =
          Files.isDirectory(data)
              ? ImageFolderData.read(data, subject.inputs().get(0).shape())
              : Dataset.read(data);
      Dataset samples = DataRange.parse(range).apply(all);
      if (latencyRuns <= 0 || samples.count() == 0) {
        throw new IllegalArgumentException(
            "latencyRuns=" + latencyRuns + " samples=" + samples.count() + " (both must be > 0)");
      }
      Evaluation evaluation =
          Evaluation.run(subject, samples, d -> progress.update("eval", d, samples.count()));
      double latencyMs = latencyMs(subject, samples);
      long sizeBytes = Files.size(model);
      out.printf(
          Locale.ROOT,
          "%s  platform=%s  samples=%d (%s)%n",
          model,
          subject.platform(),
          samples.count(),
          samples.description());
      out.printf(
          Locale.ROOT,
          "  accuracy %s  size %d bytes  latency %.3f ms (batch 1, median of %d)%n",
          Double.isNaN(evaluation.accuracyPct())
              ? "n/a (no labels)"
              : String.format(Locale.ROOT, "%.2f%%", evaluation.accuracyPct()),
          sizeBytes,
          latencyMs,
          latencyRuns);
      if (reference != null) {
        try (Model fp32 = load(reference)) {
          Evaluation ref =
              Evaluation.run(fp32, samples, d -> progress.update("reference", d, samples.count()));
          double refLatencyMs = latencyMs(fp32, samples);
          long refBytes = Files.size(reference);
          out.printf(
              Locale.ROOT,
              "  reference %s: accuracy %s, latency %.3f ms%n",
              reference,
              Double.isNaN(ref.accuracyPct())
                  ? "n/a"
                  : String.format(Locale.ROOT, "%.2f%%", ref.accuracyPct()),
              refLatencyMs);
          lookupHitRates(out, progress, samples);
          out.printf(
              Locale.ROOT,
              "  top-1 agreement %.2f%%  accuracy delta %+.2f pt  size ratio %.2fx smaller"
                  + "  latency ratio %.2fx%n",
              evaluation.agreementPct(ref),
              evaluation.accuracyPct() - ref.accuracyPct(),
              (double) refBytes / sizeBytes,
              refLatencyMs / latencyMs);
        }
      }
    }
    out.flush();
    return 0;
  }

  private static Model load(Path file) throws Exception {
    String name = file.getFileName().toString();
    if (name.endsWith(".cai")) {
      return new BundleModelLoader().load(name, file);
    }
    if (name.endsWith(".onnx")) {
      return new GraphModel(OnnxImporter.importFile(file));
    }
    throw new IllegalArgumentException("model=" + file + " (expected a .onnx or .cai file)");
  }

  /** Median batch-1 latency over {@code latencyRuns} runs after as many warm-up runs. */
  private double latencyMs(Model subject, Dataset samples) {
    String input = subject.inputs().get(0).name();
    long[] nanos = new long[latencyRuns];
    for (int run = -latencyRuns; run < latencyRuns; run++) {
      int i = Math.floorMod(run, samples.count());
      Map<String, Tensor> request =
          Map.of(input, Tensor.ofFloats(samples.batchShape(1), samples.slice(i, 1)));
      long start = System.nanoTime();
      subject.infer(request);
      if (run >= 0) {
        nanos[run] = System.nanoTime() - start;
      }
    }
    Arrays.sort(nanos);
    return nanos[latencyRuns / 2] / 1e6;
  }

  /**
   * For a bundle with Cache AI ({@code LookupGemm}) layers: the first two hit rates per layer — key
   * hit rate (tree key = nearest stored centroid) and NMSE vs the exact layer of the reference
   * model — on the evaluated samples. The third (end to end) is the agreement line.
   */
  private void lookupHitRates(PrintWriter out, ProgressBar progress, Dataset samples)
      throws Exception {
    if (!model.getFileName().toString().endsWith(".cai")) {
      return;
    }
    try (Bundle bundle = BundleReader.open(model)) {
      if (bundle.graph().nodes().stream()
          .noneMatch(n -> n.op() == OpType.LOOKUP_GEMM || n.op() == OpType.LOOKUP_CONV)) {
        return;
      }
      QuantizedGraph compressed = new QuantizedGraph(bundle.graph(), PackedTensors.read(bundle));
      var measures =
          LutDiagnostics.measure(
              compressed,
              OnnxImporter.importFile(reference),
              samples,
              d -> progress.update("hit rates", d, samples.count()));
      for (LutDiagnostics.Measure m : measures) {
        out.printf(
            Locale.ROOT,
            "  cacheai layer %-16s key hit rate %s  layer NMSE %s%n",
            m.layer(),
            Double.isNaN(m.keyHitRatePct())
                ? "n/a (no centroids stored)"
                : String.format(Locale.ROOT, "%.2f%%", m.keyHitRatePct()),
            Double.isNaN(m.nmse())
                ? "n/a (input pruned to the columns the trees read)"
                : String.format(Locale.ROOT, "%.4f", m.nmse()));
      }
    }
  }
}
