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

  /**
   * Per model and form. Every "vs ORT" figure is a speed-up (above 1 = faster than ORT fp32 of the
   * same run): ORT p50 / ours p50 and ORT CPU / ours CPU at batch 1, ours items/s / ORT items/s and
   * ORT CPU / ours CPU at the larger batch. CPU = the calling thread's CPU time per call, which the
   * neighbours on a shared machine do not inflate.
   */
  static String modelTable(List<FormResult> rows) {
    StringBuilder out = new StringBuilder();
    int batch =
        rows.stream().filter(FormResult::measured).mapToInt(FormResult::batchSize).max().orElse(16);
    out.append(
        String.format(
            Locale.ROOT,
            "| model | form | size (KB) | smaller vs ORT | accuracy | CER | agreement"
                + " | b1 p50 / p99 (µs) | b1 CPU (µs) | b1 speed-up vs ORT (p50 / CPU)"
                + " | b%d p50 / p99 (ms) | b%d items/s | b%d CPU (ms) | b%d speed-up vs ORT"
                + " (items/s / CPU) |%n",
            batch,
            batch,
            batch,
            batch));
    out.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (FormResult r : rows) {
      if (!r.measured()) {
        out.append(
            String.format(
                Locale.ROOT,
                "| %s | %s | skipped: %s ||||||||||||%n",
                r.model(),
                r.form().label(),
                r.skipReason().replace("|", "/")));
        continue;
      }
      FormResult ort = reference(rows, r.model());
      WindowedMeasurement.Result b1 = r.batch1();
      WindowedMeasurement.Result bn = r.batchN();
      out.append(
          String.format(
              Locale.ROOT,
              "| %s | %s | %.1f | %.2f× | %.2f%% | %s | %.2f%% | %s / %s%s | %s | %.2f / %.2f"
                  + " | %s / %s%s | %.0f | %s | %.2f / %.2f |%n",
              r.model(),
              r.form().label() + (r.note() == null ? "" : " †"),
              r.sizeBytes() / 1024.0,
              (double) ort.sizeBytes() / r.sizeBytes(),
              r.quality().accuracyPct(),
              Double.isNaN(r.quality().cerPct())
                  ? "–"
                  : String.format(Locale.ROOT, "%.2f%%", r.quality().cerPct()),
              r.agreementPct(),
              fmt(b1.p50Us()),
              fmt(b1.p99Us()),
              b1.stable() ? "" : "*",
              fmt(b1.cpuUsPerCall()),
              ort.batch1().p50Us() / b1.p50Us(),
              ort.batch1().cpuUsPerCall() / b1.cpuUsPerCall(),
              fmt(bn.p50Us() / 1e3),
              fmt(bn.p99Us() / 1e3),
              bn.stable() ? "" : "*",
              bn.itemsPerSecond(),
              fmt(bn.cpuUsPerCall() / 1e3),
              bn.itemsPerSecond() / ort.batchN().itemsPerSecond(),
              ort.batchN().cpuUsPerCall() / bn.cpuUsPerCall()));
    }
    for (FormResult r : rows) {
      if (r.measured() && r.note() != null) {
        out.append(String.format("%n† %s %s: %s%n", r.model(), r.form().label(), r.note()));
      }
    }
    return out.toString();
  }

  /**
   * cacheai's server against the echo service per concurrency. CPU = the whole JVM's CPU time
   * (client included, the same for both) per request.
   */
  static String grpcTable(List<GrpcSuite.Row> rows) {
    StringBuilder out = new StringBuilder();
    out.append(
        "| concurrency | cacheai req/s | p50 / p99 (µs) | CPU (µs/req) | echo req/s"
            + " | p50 / p99 (µs) | CPU (µs/req) | cacheai / echo throughput"
            + " | echo / cacheai CPU |\n");
    out.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (GrpcSuite.Row r : rows) {
      if (!r.target().equals("cacheai")) {
        continue;
      }
      WindowedMeasurement.Result ours = r.result();
      WindowedMeasurement.Result echo = echo(rows, r.concurrency());
      out.append(
          String.format(
              Locale.ROOT,
              "| %d | %.0f | %s / %s%s | %s | %.0f | %s / %s%s | %s | %.2f | %.2f |%n",
              r.concurrency(),
              ours.itemsPerSecond(),
              fmt(ours.p50Us()),
              fmt(ours.p99Us()),
              ours.stable() ? "" : "*",
              fmt(ours.cpuUsPerCall()),
              echo.itemsPerSecond(),
              fmt(echo.p50Us()),
              fmt(echo.p99Us()),
              echo.stable() ? "" : "*",
              fmt(echo.cpuUsPerCall()),
              ours.itemsPerSecond() / echo.itemsPerSecond(),
              echo.cpuUsPerCall() / ours.cpuUsPerCall()));
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
