package io.cacheai.bench.suite;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * The suite's figures as CSV, one file per table: {@code models.csv} (a row per model and form,
 * skipped forms included with their reason) and {@code grpc.csv} (a row per target and
 * concurrency). Units are in the column names; ratios are against ORT fp32 (models) or the echo
 * service (gRPC) of the same run; absent figures are empty.
 */
final class CsvReport {
  static final List<String> MODEL_COLUMNS =
      List.of(
          "model",
          "form",
          "status",
          "reason",
          "size_bytes",
          "size_vs_ort",
          "accuracy_pct",
          "cer_pct",
          "agreement_pct",
          "b1_p50_us",
          "b1_p99_us",
          "b1_items_per_s",
          "b1_stable",
          "b1_cpu_us",
          "batch",
          "bn_p50_us",
          "bn_p99_us",
          "bn_items_per_s",
          "bn_stable",
          "bn_cpu_us",
          "b1_p50_vs_ort",
          "b1_cpu_vs_ort",
          "bn_items_per_s_vs_ort",
          "bn_cpu_vs_ort",
          "make_s");

  static final List<String> GRPC_COLUMNS =
      List.of(
          "target",
          "concurrency",
          "requests_per_s",
          "p50_us",
          "p99_us",
          "stable",
          "windows",
          "errors",
          "cpu_us_per_request",
          "throughput_vs_echo",
          "p50_vs_echo",
          "cpu_vs_echo");

  private CsvReport() {}

  static void writeModels(Path file, List<FormResult> rows) throws IOException {
    StringBuilder out = new StringBuilder(String.join(",", MODEL_COLUMNS)).append('\n');
    for (FormResult r : rows) {
      FormResult ort = Reports.reference(rows, r.model());
      if (!r.measured()) {
        String[] cells = new String[MODEL_COLUMNS.size()];
        java.util.Arrays.fill(cells, "");
        cells[0] = r.model();
        cells[1] = r.form().name();
        cells[2] = "skipped";
        cells[3] = quote(r.skipReason());
        cells[cells.length - 1] = num(r.makeSeconds());
        out.append(line(cells));
        continue;
      }
      out.append(
          line(
              r.model(),
              r.form().name(),
              "ok",
              r.note() == null ? "" : quote(r.note()),
              Long.toString(r.sizeBytes()),
              num((double) ort.sizeBytes() / r.sizeBytes()),
              num(r.quality().accuracyPct()),
              num(r.quality().cerPct()),
              num(r.agreementPct()),
              num(r.batch1().p50Us()),
              num(r.batch1().p99Us()),
              num(r.batch1().itemsPerSecond()),
              Boolean.toString(r.batch1().stable()),
              num(r.batch1().cpuUsPerCall()),
              Integer.toString(r.batchSize()),
              num(r.batchN().p50Us()),
              num(r.batchN().p99Us()),
              num(r.batchN().itemsPerSecond()),
              Boolean.toString(r.batchN().stable()),
              num(r.batchN().cpuUsPerCall()),
              num(r.batch1().p50Us() / ort.batch1().p50Us()),
              num(r.batch1().cpuUsPerCall() / ort.batch1().cpuUsPerCall()),
              num(r.batchN().itemsPerSecond() / ort.batchN().itemsPerSecond()),
              num(r.batchN().cpuUsPerCall() / ort.batchN().cpuUsPerCall()),
              num(r.makeSeconds())));
    }
    Files.writeString(file, out, StandardCharsets.UTF_8);
  }

  static void writeGrpc(Path file, List<GrpcSuite.Row> rows) throws IOException {
    StringBuilder out = new StringBuilder(String.join(",", GRPC_COLUMNS)).append('\n');
    for (GrpcSuite.Row r : rows) {
      WindowedMeasurement.Result echo = Reports.echo(rows, r.concurrency());
      WindowedMeasurement.Result m = r.result();
      out.append(
          line(
              r.target(),
              Integer.toString(r.concurrency()),
              num(m.itemsPerSecond()),
              num(m.p50Us()),
              num(m.p99Us()),
              Boolean.toString(m.stable()),
              Integer.toString(m.windows()),
              Long.toString(m.errors()),
              num(m.cpuUsPerCall()),
              num(m.itemsPerSecond() / echo.itemsPerSecond()),
              num(m.p50Us() / echo.p50Us()),
              num(m.cpuUsPerCall() / echo.cpuUsPerCall())));
    }
    Files.writeString(file, out, StandardCharsets.UTF_8);
  }

  private static String line(String... cells) {
    return String.join(",", cells) + "\n";
  }

  static String num(double value) {
    if (Double.isNaN(value) || Double.isInfinite(value)) {
      return "";
    }
    return String.format(Locale.ROOT, "%.4g", value).contains("e")
        ? String.format(Locale.ROOT, "%.1f", value)
        : String.format(Locale.ROOT, "%.4g", value);
  }

  static String quote(String text) {
    return "\"" + text.replace("\"", "\"\"").replace('\n', ' ') + "\"";
  }
}
