package io.cacheai.compress;

import io.cacheai.runtime.Model;
import io.cacheai.runtime.Tensor;
import java.util.Map;
import java.util.function.IntConsumer;

/**
 * Top-1 predictions of a classifier on a dataset, with its accuracy against the labels and its
 * agreement with another model's predictions.
 *
 * @param predictions the arg-max class of each sample
 * @param accuracyPct top-1 accuracy in percent, NaN when the data has no labels
 */
public record Evaluation(int[] predictions, double accuracyPct) {
  private static final int BATCH = 100;

  /** Runs {@code model} (one input, first output = class scores) over {@code data}. */
  public static Evaluation run(Model model, Dataset data, IntConsumer progress) {
    String input = model.inputs().get(0).name();
    String output = model.outputs().get(0).name();
    int count = data.count();
    int[] predictions = new int[count];
    int correct = 0;
    for (int from = 0; from < count; from += BATCH) {
      int n = Math.min(BATCH, count - from);
      float[] scores =
          model
              .infer(Map.of(input, Tensor.ofFloats(data.batchShape(n), data.slice(from, n))))
              .get(output)
              .toFloatArray();
      int classes = scores.length / n;
      for (int i = 0; i < n; i++) {
        int best = 0;
        for (int c = 1; c < classes; c++) {
          if (scores[i * classes + c] > scores[i * classes + best]) {
            best = c;
          }
        }
        predictions[from + i] = best;
        if (data.labels() != null && data.labels()[from + i] == best) {
          correct++;
        }
      }
      progress.accept(from + n);
    }
    return new Evaluation(
        predictions, data.labels() == null ? Double.NaN : 100.0 * correct / Math.max(1, count));
  }

  /** Percent of samples where this and {@code other} predict the same class. */
  public double agreementPct(Evaluation other) {
    int same = 0;
    for (int i = 0; i < predictions.length; i++) {
      same += predictions[i] == other.predictions[i] ? 1 : 0;
    }
    return 100.0 * same / Math.max(1, predictions.length);
  }

  /**
   * The score the compressor's budget is checked against: accuracy when labelled, else agreement
   * with {@code reference} (the fp32 model).
   */
  public double scorePct(Evaluation reference) {
    return Double.isNaN(accuracyPct) ? agreementPct(reference) : accuracyPct;
  }
}
