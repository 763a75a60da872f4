package io.cacheai.compress;

import io.cacheai.runtime.GraphModel;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Measures what one layer's precision costs on its own: the model with only that layer changed is
 * run on a (possibly smaller) probe subset of the calibration data and compared with the reference
 * model (fp32, or the partly compressed base) on the same samples — the score drop in points and,
 * finer, the normalized squared error of the first output ({@link Loss}).
 *
 * <p>Why: the compressor's searches (the accuracy fallback's promotions, MIXED's demotions) used to
 * re-evaluate the whole model on the whole calibration set for every candidate layer at every step,
 * L evaluations per step; on a 50-layer recognizer that is a quarter of an hour. The searches now
 * rank the layers once from these probes ({@link #rank}) and spend only a bounded number of
 * whole-model evaluations ({@link PrefixSearch}, one check of MIXED's plan).
 *
 * <p>Probe subset: all samples for a small model (at most {@value #ALL_SAMPLES_UP_TO_LAYERS}
 * layers, where a probe is cheap and the score is the finest signal), else fewer — enough that the
 * probes of all layers together cost about {@value #PROBE_BUDGET_EVALS} whole evaluations, but at
 * least {@value #MIN_PROBE_SAMPLES}. The output error keeps the ranking stable on so few samples: a
 * discrete score rarely moves on four text lines, the logits' error always does.
 */
final class SensitivityProbe {
  static final int ALL_SAMPLES_UP_TO_LAYERS = 8;
  static final int MIN_PROBE_SAMPLES = 4;

  /**
   * What a change costs against the reference on the probe subset.
   *
   * @param dropPt reference score minus the probed model's score, in points (negative: better)
   * @param nmse sum of squared differences of the first output over the reference's sum of squares
   */
  record Loss(double dropPt, double nmse) {
    /** Worse first: the larger score drop, then the larger output error. */
    static final Comparator<Loss> WORST_FIRST =
        Comparator.comparingDouble(Loss::dropPt).thenComparingDouble(Loss::nmse).reversed();
  }

  private final Map<String, io.cacheai.graph.PackedTensor> memo;
  private final QuantizedGraph base;
  private final Map<String, GraphQuantizer.Layer> layers;
  private final Map<String, ActivationRange> ranges;
  private final Dataset probe;
  private final Evaluation reference;
  private final float[] referenceScores;
  private final double referenceSumSquares;
  private final Compressor.Progress progress;

  /**
   * Runs the reference ({@code base} as it is: the fp32 graph, or the partly compressed base) once
   * on the probe subset of {@code data}.
   */
  SensitivityProbe(
      Map<String, io.cacheai.graph.PackedTensor> memo,
      QuantizedGraph base,
      Map<String, GraphQuantizer.Layer> layers,
      Map<String, ActivationRange> ranges,
      Dataset data,
      int probes,
      int budgetEvals,
      Compressor.Progress progress) {
    this.memo = memo;
    this.base = base;
    this.layers = layers;
    this.ranges = ranges;
    this.progress = progress;
    this.probe = data.range(0, probeSamples(data.count(), probes, budgetEvals));
    List<float[]> batches = new ArrayList<>();
    try (GraphModel model = base.packed().isEmpty() ? new GraphModel(base.graph()) : base.model()) {
      this.reference =
          Evaluation.run(
              model,
              probe,
              done -> progress.update("probe reference", done, probe.count()),
              (from, n, scores) -> batches.add(scores));
    }
    int length = batches.stream().mapToInt(b -> b.length).sum();
    this.referenceScores = new float[length];
    int at = 0;
    for (float[] b : batches) {
      System.arraycopy(b, 0, referenceScores, at, b.length);
      at += b.length;
    }
    double sum = 0;
    for (float v : referenceScores) {
      sum += (double) v * v;
    }
    this.referenceSumSquares = Math.max(sum, Double.MIN_NORMAL);
  }

  /**
   * Samples per probe: all for small models, else enough that {@code probes} probes cost about
   * {@code budgetEvals} whole evaluations.
   */
  static int probeSamples(int count, int probes, int budgetEvals) {
    if (probes <= ALL_SAMPLES_UP_TO_LAYERS) {
      return count;
    }
    int budgeted = (int) Math.ceil((double) count * budgetEvals / probes);
    return Math.min(count, Math.max(MIN_PROBE_SAMPLES, budgeted));
  }

  int samples() {
    return probe.count();
  }

  /** The loss of the model with {@code precisions} (absent = fp32) against the reference. */
  Loss measure(Map<String, LayerPrecision> precisions, String phase) {
    double[] squares = {0};
    int perSample = referenceScores.length / probe.count();
    Evaluation e;
    try (GraphModel model =
        GraphQuantizer.quantize(base, layers, precisions, ranges, memo).model()) {
      e =
          Evaluation.run(
              model,
              probe,
              done -> progress.update(phase, done, probe.count()),
              (from, n, scores) -> {
                int at = from * perSample;
                for (int i = 0; i < scores.length && at + i < referenceScores.length; i++) {
                  double d = scores[i] - referenceScores[at + i];
                  squares[0] += d * d;
                }
              });
    }
    double fp32Score = reference.scorePct(reference);
    return new Loss(fp32Score - e.scorePct(reference), squares[0] / referenceSumSquares);
  }

  /**
   * {@code names} ordered by the loss of the model {@code configOf(name)} (each name's own model:
   * e.g. the current one with that layer promoted), the smallest loss first.
   */
  List<String> rank(
      Collection<String> names,
      Function<String, Map<String, LayerPrecision>> configOf,
      String phase) {
    List<String> ordered = new ArrayList<>(names);
    Map<String, Loss> losses = new java.util.HashMap<>();
    for (String name : ordered) {
      losses.put(name, measure(configOf.apply(name), phase + " " + name));
    }
    ordered.sort(Comparator.comparing(losses::get, Loss.WORST_FIRST.reversed()));
    return ordered;
  }
}
