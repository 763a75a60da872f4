package io.cacheai.compress;

import io.cacheai.runtime.Model;
import io.cacheai.runtime.Tensor;
import java.util.Arrays;
import java.util.Map;
import java.util.function.IntConsumer;

/**
 * What a model predicts on a dataset, with its accuracy against the labels and its agreement with
 * another model's predictions.
 *
 * <p>Two kinds of output are understood:
 *
 * <ul>
 *   <li>class scores {@code [N, classes]} (or any rank-2 / per-sample flat output): the prediction
 *       is the arg-max class, one element;
 *   <li>sequence scores {@code [N, T, classes]} (a CTC recognizer such as PP-OCR rec): the
 *       prediction is the greedy CTC decode — arg-max per step, repeats merged, class 0 (the blank)
 *       dropped — so two models agree on a sample when they read the same tokens. Labels of such
 *       data are not class indices; the accuracy is then NaN and the compressor's budget is checked
 *       against agreement with fp32.
 * </ul>
 *
 * @param predictions per sample: {@code {class}} or the decoded token sequence
 * @param accuracyPct top-1 accuracy in percent, NaN when the data has no labels or the output is a
 *     sequence
 */
public record Evaluation(int[][] predictions, double accuracyPct) {
  private static final int BATCH = 100;

  /** Receives a batch's raw first output, as it is computed. */
  public interface ScoresSink {
    /**
     * @param firstSample index of the batch's first sample in the data
     * @param count samples in the batch
     * @param scores the batch's first output, {@code count} samples one after the other
     */
    void accept(int firstSample, int count, float[] scores);
  }

  /** Runs {@code model} (one input, first output = scores) over {@code data}. */
  public static Evaluation run(Model model, Dataset data, IntConsumer progress) {
    return run(model, data, progress, (from, n, scores) -> {});
  }

  /**
   * As {@link #run(Model, Dataset, IntConsumer)}, handing every batch's raw scores to {@code sink}
   * too (the compressor's sensitivity probes compare them with the fp32 model's).
   */
  public static Evaluation run(Model model, Dataset data, IntConsumer progress, ScoresSink sink) {
    String input = model.inputs().get(0).name();
    String output = model.outputs().get(0).name();
    int count = data.count();
    int[][] predictions = new int[count][];
    int correct = 0;
    boolean sequences = false;
    int batch = Math.max(1, Math.min(BATCH, (int) ((1 << 20) / data.sampleLength())));
    for (int from = 0; from < count; from += batch) {
      int n = Math.min(batch, count - from);
      Tensor result =
          model
              .infer(Map.of(input, Tensor.ofFloats(data.batchShape(n), data.slice(from, n))))
              .get(output);
      float[] scores = result.toFloatArray();
      sink.accept(from, n, scores);
      long[] shape = result.shape();
      sequences = shape.length == 3;
      int classes = Math.toIntExact(shape[shape.length - 1]);
      int steps = scores.length / n / classes;
      for (int i = 0; i < n; i++) {
        int[] p =
            sequences
                ? ctcGreedy(scores, i * steps * classes, steps, classes)
                : new int[] {argMax(scores, i * steps * classes, steps * classes)};
        predictions[from + i] = p;
        if (!sequences && data.labels() != null && data.labels()[from + i] == p[0]) {
          correct++;
        }
      }
      progress.accept(from + n);
    }
    return new Evaluation(
        predictions,
        data.labels() == null || sequences ? Double.NaN : 100.0 * correct / Math.max(1, count));
  }

  private static int argMax(float[] scores, int at, int length) {
    int best = 0;
    for (int c = 1; c < length; c++) {
      if (scores[at + c] > scores[at + best]) {
        best = c;
      }
    }
    return best;
  }

  /** Greedy CTC: arg-max per step, repeats merged, blank (class 0) dropped. */
  static int[] ctcGreedy(float[] scores, int at, int steps, int classes) {
    int[] tokens = new int[steps];
    int size = 0;
    int previous = -1;
    for (int t = 0; t < steps; t++) {
      int c = argMax(scores, at + t * classes, classes);
      if (c != 0 && c != previous) {
        tokens[size++] = c;
      }
      previous = c;
    }
    return Arrays.copyOf(tokens, size);
  }

  /** Percent of samples where this and {@code other} predict the same class (or sequence). */
  public double agreementPct(Evaluation other) {
    int same = 0;
    for (int i = 0; i < predictions.length; i++) {
      same += Arrays.equals(predictions[i], other.predictions[i]) ? 1 : 0;
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
