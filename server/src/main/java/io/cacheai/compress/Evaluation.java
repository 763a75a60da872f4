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
   * Percent of {@code reference}'s tokens this evaluation reproduces: {@code 100 · (1 − Σ edit
   * distance / Σ reference tokens)}, at least 0 — one minus the character error rate against the
   * reference. For one-class predictions it is the agreement; for a recognizer it is the CER that
   * OCR users read, where whole-line agreement would count a one-character slip on a long line like
   * a wrong line (and on a few calibration lines leave no room for any slip at all). Falls back to
   * {@link #agreementPct} when the reference has no tokens.
   */
  public double tokenAgreementPct(Evaluation reference) {
    long edits = 0;
    long tokens = 0;
    for (int i = 0; i < predictions.length; i++) {
      edits += editDistance(predictions[i], reference.predictions[i]);
      tokens += reference.predictions[i].length;
    }
    return tokens == 0
        ? agreementPct(reference)
        : Math.max(0, 100.0 * (1 - (double) edits / tokens));
  }

  /** Levenshtein distance (insertions, deletions, substitutions all cost 1). */
  static int editDistance(int[] a, int[] b) {
    int[] previous = new int[b.length + 1];
    int[] row = new int[b.length + 1];
    for (int j = 0; j <= b.length; j++) {
      previous[j] = j;
    }
    for (int i = 1; i <= a.length; i++) {
      row[0] = i;
      for (int j = 1; j <= b.length; j++) {
        int substitute = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
        row[j] = Math.min(substitute, Math.min(previous[j], row[j - 1]) + 1);
      }
      int[] t = previous;
      previous = row;
      row = t;
    }
    return previous[b.length];
  }

  /**
   * The score the compressor's budget is checked against: accuracy when labelled, else {@link
   * #tokenAgreementPct} with {@code reference} (the fp32 model): agreement for a classifier, 100 −
   * CER against fp32 for a recognizer.
   */
  public double scorePct(Evaluation reference) {
    return Double.isNaN(accuracyPct) ? tokenAgreementPct(reference) : accuracyPct;
  }
}
