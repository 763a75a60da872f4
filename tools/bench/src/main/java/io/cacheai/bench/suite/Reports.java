package io.cacheai.bench.suite;

import java.util.List;
import java.util.Locale;

/**
 * The printed tables (Markdown, pasted into the README as they come out): per model and form, size,
 * accuracy, agreement, batch-1 and batch-N latency and throughput with the ratios against ORT fp32
 * of the same run; and the gRPC serving path against the bare grpc-java echo service.
 */
final class Reports {
  private Reports() {}

  /** The ORT fp32 row of {@code model}: every ratio's denominator. */
  static FormResult reference(List<FormResult> rows, String model) {
    return rows.stream()
        .filter(r -> r.model().equals(model) && r.form().kind() == Form.Kind.ONNX_RUNTIME)
        .findFirst()
        .orElseThrow(() -> new IllegalStateException("model=" + model + ": no ORT fp32 row"));
  }

  /** The echo service's figures at {@code concurrency}. */
  static WindowedMeasurement.Result echo(List<GrpcSuite.Row> rows, int concurrency) {
    return rows.stream()
        .filter(r -> r.target().equals("echo") && r.concurrency() == concurrency)
        .findFirst()
        .orElseThrow(() -> new IllegalStateException("concurrency=" + concurrency + ": no echo"))
        .result();
  }

  static String modelTable(List<FormResult> rows) {
    StringBuilder out = new StringBuilder();
    int batch =
        rows.stream().filter(FormResult::measured).mapToInt(FormResult::batchSize).max().orElse(16);
    out.append(
        String.format(
            Locale.ROOT,
            "| model | form | size (KB) | smaller vs ORT | accuracy | CER | agreement"
                + " | b1 p50 / p99 (µs) | b1 p50 vs ORT | b%d p50 / p99 (ms) | b%d items/s"
                + " | items/s vs ORT |%n",
            batch,
            batch));
    out.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (FormResult r : rows) {
      if (!r.measured()) {
        out.append(
            String.format(
                Locale.ROOT,
                "| %s | %s | skipped: %s |||||||||||%n",
                r.model(),
                r.form().label(),
                r.skipReason().replace("|", "/")));
        continue;
      }
      FormResult ort = reference(rows, r.model());
      out.append(
          String.format(
              Locale.ROOT,
              "| %s | %s | %.1f | %.2f× | %.2f%% | %s | %.2f%% | %s / %s%s | %.2f | %s / %s%s"
                  + " | %.0f | %.2f |%n",
              r.model(),
              r.form().label() + (r.note() == null ? "" : " †"),
              r.sizeBytes() / 1024.0,
              (double) ort.sizeBytes() / r.sizeBytes(),
              r.quality().accuracyPct(),
              Double.isNaN(r.quality().cerPct())
                  ? "–"
                  : String.format(Locale.ROOT, "%.2f%%", r.quality().cerPct()),
              r.agreementPct(),
              fmt(r.batch1().p50Us()),
              fmt(r.batch1().p99Us()),
              r.batch1().stable() ? "" : "*",
              r.batch1().p50Us() / ort.batch1().p50Us(),
              fmt(r.batchN().p50Us() / 1e3),
              fmt(r.batchN().p99Us() / 1e3),
              r.batchN().stable() ? "" : "*",
              r.batchN().itemsPerSecond(),
              r.batchN().itemsPerSecond() / ort.batchN().itemsPerSecond()));
    }
    for (FormResult r : rows) {
      if (r.measured() && r.note() != null) {
        out.append(String.format("%n† %s %s: %s%n", r.model(), r.form().label(), r.note()));
      }
    }
    return out.toString();
  }

  static String grpcTable(List<GrpcSuite.Row> rows) {
    StringBuilder out = new StringBuilder();
    out.append(
        "| concurrency | cacheai req/s | p50 / p99 (µs) | echo req/s | p50 / p99 (µs)"
            + " | cacheai / echo throughput | p50 ratio |\n");
    out.append("|---:|---:|---:|---:|---:|---:|---:|\n");
    for (GrpcSuite.Row r : rows) {
      if (!r.target().equals("cacheai")) {
        continue;
      }
      WindowedMeasurement.Result ours = r.result();
      WindowedMeasurement.Result echo = echo(rows, r.concurrency());
      out.append(
          String.format(
              Locale.ROOT,
              "| %d | %.0f%s | %s / %s | %.0f%s | %s / %s | %.2f | %.2f |%n",
              r.concurrency(),
              ours.itemsPerSecond(),
              ours.stable() ? "" : "*",
              fmt(ours.p50Us()),
              fmt(ours.p99Us()),
              echo.itemsPerSecond(),
              echo.stable() ? "" : "*",
              fmt(echo.p50Us()),
              fmt(echo.p99Us()),
              ours.itemsPerSecond() / echo.itemsPerSecond(),
              ours.p50Us() / echo.p50Us()));
    }
    return out.toString();
  }

  /** Three significant digits, never scientific notation. */
  static String fmt(double value) {
    if (Double.isNaN(value)) {
      return "–";
    }
    double abs = Math.abs(value);
    String pattern = abs >= 100 ? "%.0f" : abs >= 10 ? "%.1f" : abs >= 1 ? "%.2f" : "%.3f";
    return String.format(Locale.ROOT, pattern, value);
  }
}
