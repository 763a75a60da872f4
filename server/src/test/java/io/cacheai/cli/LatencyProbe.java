package io.cacheai.cli;

import io.cacheai.runtime.Model;
import io.cacheai.runtime.Tensor;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Median wall-clock latency of several models on the same request, measured round-robin (one call
 * of each per round) so that the load of this shared machine falls on all of them alike.
 */
final class LatencyProbe {
  private LatencyProbe() {}

  /** Median milliseconds per call of each model, after {@code warmup} rounds. */
  static double[] medianMs(List<Model> models, Map<String, Tensor> request, int warmup, int runs) {
    long[][] nanos = new long[models.size()][runs];
    for (int round = -warmup; round < runs; round++) {
      for (int m = 0; m < models.size(); m++) {
        long start = System.nanoTime();
        models.get(m).infer(request);
        long took = System.nanoTime() - start;
        if (round >= 0) {
          nanos[m][round] = took;
        }
      }
    }
    double[] medians = new double[models.size()];
    for (int m = 0; m < models.size(); m++) {
      Arrays.sort(nanos[m]);
      medians[m] = nanos[m][runs / 2] / 1e6;
    }
    return medians;
  }
}
