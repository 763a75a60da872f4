package io.cacheai.bench.suite;

/**
 * One row of the suite: a model in one form, or why that form was skipped.
 *
 * @param model the workload's name
 * @param form the form
 * @param skipReason null when measured, else why not (the row's other figures are then absent)
 * @param sizeBytes the file the form runs from: the ONNX file for ORT, else the .cai bundle
 * @param quality accuracy, CER and predictions
 * @param agreementPct top-1 agreement with ORT fp32's predictions, in percent
 * @param batch1 batch-1 latency and throughput
 * @param batchN batch-{@code batchSize} latency and throughput
 * @param batchSize the larger batch (16 by default)
 * @param makeSeconds time {@code cacheai bundle/compress} took (0 for ORT)
 * @param note how a measured form deviates from its definition (e.g. fp32 run from the ONNX file
 *     because the bundle was refused), else null
 */
public record FormResult(
    String model,
    Form form,
    String skipReason,
    long sizeBytes,
    Quality quality,
    double agreementPct,
    WindowedMeasurement.Result batch1,
    WindowedMeasurement.Result batchN,
    int batchSize,
    double makeSeconds,
    String note) {
  static FormResult skipped(String model, Form form, String reason, double makeSeconds) {
    return new FormResult(
        model, form, reason, 0, null, Double.NaN, null, null, 0, makeSeconds, null);
  }

  public boolean measured() {
    return skipReason == null;
  }
}
