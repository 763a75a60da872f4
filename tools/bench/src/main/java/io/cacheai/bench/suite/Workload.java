package io.cacheai.bench.suite;

import io.cacheai.runtime.Model;
import io.cacheai.runtime.Tensor;
import java.nio.file.Path;
import java.util.Map;

/**
 * A model with its data: the ONNX file every form is made from, calibration data for the
 * compressor, how to score a form, and the requests the latency is timed on.
 */
public interface Workload {
  /** The model's id in the CSV, e.g. {@code mnist-cnn}. */
  String name();

  /** The fp32 ONNX file (ORT runs it; bundles are made from it). */
  Path onnx();

  /** {@code cacheai compress --calibration} data. */
  Path calibration();

  /** {@code cacheai compress --samples}. */
  int calibrationSamples();

  /** What the accuracy column means for this model, e.g. "top-1" or "exact lines". */
  String accuracyName();

  /** Accuracy and predictions of {@code model} on the workload's evaluation data. */
  Quality evaluate(Model model);

  /** A request of {@code batch} items for the latency windows (the same for every form). */
  Map<String, Tensor> request(int batch);

  /** Windows with at least this many calls: 1 for fast models, a few for slow ones. */
  default int minCallsPerWindow() {
    return 5;
  }
}
