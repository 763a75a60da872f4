package io.cacheai.bench.suite;

import io.cacheai.ocr.OrtModel;
import io.cacheai.onnx.OnnxImportException;
import io.cacheai.onnx.OnnxImporter;
import io.cacheai.runtime.GraphModel;
import io.cacheai.runtime.Model;
import io.cacheai.runtime.Tensor;
import io.cacheai.serve.BundleModelLoader;
import java.io.PrintStream;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Runs every form of one workload: ONNX Runtime first (the reference for agreement and ratios),
 * then each cacheai form from the bundle its command wrote, as the server would load it. A form
 * that cannot be made, loaded or run becomes a skipped row with the reason; the run goes on.
 */
final class ModelSuite {
  private final BundleMaker maker;
  private final WindowedMeasurement.Settings settings;
  private final int batchSize;
  private final PrintStream log;

  ModelSuite(
      BundleMaker maker, WindowedMeasurement.Settings settings, int batchSize, PrintStream log) {
    this.maker = maker;
    this.settings = settings;
    this.batchSize = batchSize;
    this.log = log;
  }

  List<FormResult> run(Workload workload, List<Form> forms) throws Exception {
    List<FormResult> rows = new ArrayList<>();
    log.printf("== %s (%s)%n", workload.name(), workload.accuracyName());
    Quality reference;
    try (Model ort = new OrtModel(Files.readAllBytes(workload.onnx()))) {
      FormResult row =
          measure(workload, Form.ORT_FP32, ort, Files.size(workload.onnx()), null, 0, null);
      reference = row.quality();
      rows.add(row);
    }
    for (Form form : forms) {
      if (form.kind() == Form.Kind.ONNX_RUNTIME) {
        continue;
      }
      log.printf("   %s: making the bundle...%n", form.label());
      BundleMaker.Outcome made = maker.make(workload, form);
      String failure = made.reason();
      if (made.file() != null) {
        try (Model model = new BundleModelLoader().load(workload.name(), made.file())) {
          rows.add(
              measure(
                  workload, form, model, Files.size(made.file()), reference, made.seconds(), null));
          continue;
        } catch (RuntimeException | java.io.IOException e) {
          failure = "load/run failed: " + (e.getMessage() == null ? e : e.getMessage());
        }
      }
      if (form.kind() == Form.Kind.FP32_BUNDLE) {
        // Our fp32 executor also serves model.onnx directly (as `serve` does): measure that.
        String note = "from model.onnx (as serve runs it); bundle: " + failure;
        log.printf("   %s: %s%n", form.label(), note);
        try (Model model = new GraphModel(OnnxImporter.importFile(workload.onnx()))) {
          rows.add(
              measure(
                  workload,
                  form,
                  model,
                  Files.size(workload.onnx()),
                  reference,
                  made.seconds(),
                  note));
          continue;
        } catch (RuntimeException | OnnxImportException e) {
          failure += "; import: " + e.getMessage();
        }
      }
      log.printf("   %s: SKIPPED: %s%n", form.label(), failure);
      rows.add(FormResult.skipped(workload.name(), form, failure, made.seconds()));
    }
    return rows;
  }

  private FormResult measure(
      Workload workload,
      Form form,
      Model model,
      long sizeBytes,
      Quality reference,
      double makeSeconds,
      String note)
      throws Exception {
    Quality quality = workload.evaluate(model);
    double agreement = quality.agreementPct(reference == null ? quality : reference);
    WindowedMeasurement.Result b1 = latency(workload, form, model, 1);
    WindowedMeasurement.Result bn = latency(workload, form, model, batchSize);
    log.printf(
        Locale.ROOT,
        "   %-12s size %9d B  accuracy %6.2f%%%s  agreement %6.2f%%  b1 p50 %9.1f µs%s  b%d p50 %10.1f µs"
            + " %8.0f items/s%s%n",
        form.label(),
        sizeBytes,
        quality.accuracyPct(),
        Double.isNaN(quality.cerPct())
            ? ""
            : String.format(Locale.ROOT, " CER %.2f%%", quality.cerPct()),
        agreement,
        b1.p50Us(),
        b1.stable() ? "" : " (NOT stable)",
        batchSize,
        bn.p50Us(),
        bn.itemsPerSecond(),
        bn.stable() ? "" : " (NOT stable)");
    return new FormResult(
        workload.name(),
        form,
        null,
        sizeBytes,
        quality,
        agreement,
        b1,
        bn,
        batchSize,
        makeSeconds,
        note);
  }

  private WindowedMeasurement.Result latency(Workload workload, Form form, Model model, int batch)
      throws Exception {
    Map<String, Tensor> request = workload.request(batch);
    WindowedMeasurement.Result result =
        WindowedMeasurement.measure(
            settings,
            WindowedMeasurement.sequential(
                () -> model.infer(request), batch, workload.minCallsPerWindow()));
    if (!result.stable()) {
      log.printf(
          Locale.ROOT,
          "   note: %s %s batch %d not stable after %d windows (last three within %.1f%%, want %.0f%%)%n",
          workload.name(),
          form.label(),
          batch,
          result.windows(),
          result.spreadPct(),
          100 * settings.spread());
    }
    return result;
  }
}
