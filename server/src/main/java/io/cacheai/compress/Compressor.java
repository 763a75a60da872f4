package io.cacheai.compress;

import io.cacheai.graph.Graph;
import io.cacheai.graph.PackedTensor;
import io.cacheai.runtime.GraphModel;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Post-training compression of an fp32 graph, driven by accuracy:
 *
 * <ol>
 *   <li>calibrate the inputs of every quantizable layer on the calibration set (int8 layers);
 *   <li>give each layer its initial precision from the {@link Method};
 *   <li>evaluate the compressed model on the calibration set against the fp32 model (top-1 accuracy
 *       when labelled, else agreement with fp32); while the loss exceeds the budget, rank the
 *       layers that can still be promoted (int3 → int4 → int8 → fp32) by what each costs alone
 *       ({@link SensitivityProbe}, most harmful first) and promote the fewest of the top ones that
 *       meet the budget ({@link PrefixSearch}: about log2 of the layer count whole-model
 *       evaluations per round, not one per layer per promotion); the promotions are reported.
 * </ol>
 */
public final class Compressor {
  /** The compression recipes of {@code cacheai compress --method}. */
  public enum Method {
    /** Every layer int8 (u8 activations × per-channel int8 weights). */
    INT8,
    /** Every layer 4-bit weights, groups of {@link Options#groupSize}, fp32 activations. */
    INT4,
    /**
     * Size first: each layer weight-only at one of int4/g32, int3 (one scale per output channel) or
     * int2/g32, chosen to meet {@link Options#targetBytes} while losing the least calibration
     * accuracy per byte saved (greedy: from int4 everywhere, repeatedly take the demotion with the
     * smallest loss per byte, each demotion's loss probed once: {@link MixedPlanner}).
     */
    MIXED;

    public static Method parse(String name) {
      for (Method m : values()) {
        if (m.name().equalsIgnoreCase(name)) {
          return m;
        }
      }
      throw new IllegalArgumentException(
          "method '" + name + "' (accepted: int8, int4, mixed, cacheai)");
    }

    public String label() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /**
   * @param samples calibration samples used (at most the data's count)
   * @param budgetPt tolerated top-1 loss vs fp32 on the calibration set, in points
   * @param groupSize low-bit weights per scale (INT4)
   * @param firstLayerFp32 keep the first quantizable layer in fp32
   * @param lastLayerFp32 keep the last quantizable layer in fp32
   * @param targetBytes MIXED: the bundle size to get under (estimated); 0 = fp32 weights / 10
   */
  public record Options(
      Method method,
      CalibrationMethod calibration,
      int samples,
      double budgetPt,
      int groupSize,
      boolean firstLayerFp32,
      boolean lastLayerFp32,
      long targetBytes) {
    /** Defaults: budget 0.3 pt for int8, 0.5 pt for low bit; groups of 32; no layer kept. */
    public static Options of(Method method, CalibrationMethod calibration, int samples) {
      return new Options(
          method, calibration, samples, method == Method.INT8 ? 0.3 : 0.5, 32, false, false, 0);
    }

    /** These options with another size target. */
    public Options withTargetBytes(long bytes) {
      return new Options(
          method, calibration, samples, budgetPt, groupSize, firstLayerFp32, lastLayerFp32, bytes);
    }
  }

  /** Progress of a long step, for a progress bar. */
  public interface Progress {
    void update(String phase, int done, int total);
  }

  /**
   * What was made and what it measured on the calibration set.
   *
   * @param notes human-readable lines: each promotion made by the accuracy fallback, and for MIXED
   *     the size target reached (or not) and whether the budget held
   * @param fp32ScorePct the score of the model compressed from: the fp32 graph, or the partly
   *     compressed base (tables included) given to {@link #compress(QuantizedGraph, Dataset,
   *     Options, Progress)}
   * @param agreementPct top-1 agreement with that same model
   */
  public record Result(
      QuantizedGraph graph,
      Map<String, LayerPrecision> precisions,
      List<String> notes,
      double fp32ScorePct,
      double scorePct,
      double agreementPct) {}

  private Compressor() {}

  /** Compresses an fp32 graph: {@link #compress(QuantizedGraph, Dataset, Options, Progress)}. */
  public static Result compress(
      Graph graph, Dataset calibration, Options options, Progress progress) {
    return compress(new QuantizedGraph(graph, Map.of()), calibration, options, progress);
  }

  /**
   * Compresses the Gemm/MatMul/Conv layers of {@code base} that still have fp32 constant weights;
   * its {@code ai.cacheai} nodes (e.g. Cache AI {@code LookupGemm} tables) and their stored tensors
   * are passed through untouched. Everything is measured against {@code base} as it is, tables
   * included: activations are calibrated by running it (so a layer after a table sees what the
   * table produces), the fallback's budget is a loss against its score, and {@link
   * Result#agreementPct} is agreement with it. For an fp32 graph (no stored tensors) that is the
   * fp32 model.
   *
   * <p>MIXED's size target ({@link Options#targetBytes}) is the whole model's estimated bytes, the
   * base's stored tensors included: the quantized layers get what the tables leave. Its default (0)
   * is a tenth of the fp32 weights of the layers quantized here, plus the base's stored tensors as
   * they are.
   */
  public static Result compress(
      QuantizedGraph base, Dataset calibration, Options options, Progress progress) {
    Graph graph = base.graph();
    Map<String, GraphQuantizer.Layer> layers = GraphQuantizer.weightedLayers(graph);
    if (layers.isEmpty()) {
      throw new IllegalArgumentException(
          "model '"
              + graph.name()
              + "' has no "
              + (base.packed().isEmpty() ? "" : "fp32 ")
              + "Gemm, MatMul or Conv layer with constant weights");
    }
    Dataset data = calibration.range(0, Math.min(options.samples(), calibration.count()));
    Set<String> inputs = new LinkedHashSet<>();
    layers.values().forEach(l -> inputs.add(l.input()));
    Map<String, ActivationRange> ranges =
        ActivationCalibrator.calibrate(
            base,
            inputs,
            data,
            data.count(),
            options.calibration(),
            done -> progress.update("calibrate", done, data.count()));

    Map<String, LayerPrecision> precisions = new LinkedHashMap<>();
    List<String> names = new ArrayList<>(layers.keySet());
    for (GraphQuantizer.Layer layer : layers.values()) {
      precisions.put(layer.node().name(), initial(options, layer));
    }
    if (options.firstLayerFp32()) {
      precisions.put(names.get(0), LayerPrecision.FP32);
    }
    if (options.lastLayerFp32()) {
      precisions.put(names.get(names.size() - 1), LayerPrecision.FP32);
    }

    Evaluation fp32;
    try (GraphModel model = base.packed().isEmpty() ? new GraphModel(graph) : base.model()) {
      fp32 =
          Evaluation.run(
              model,
              data,
              done ->
                  progress.update(base.packed().isEmpty() ? "fp32" : "base", done, data.count()));
    }
    double fp32Score = fp32.scorePct(fp32);
    List<String> promoted = new ArrayList<>();
    Map<String, PackedTensor> memo = new java.util.HashMap<>(); // quantized weights, reused
    Evaluation current =
        evaluate(memo, base, layers, precisions, ranges, data, progress, "evaluate");
    if (options.method() == Method.MIXED) {
      long target =
          options.targetBytes() > 0
              ? options.targetBytes()
              : layers.values().stream().mapToLong(l -> 4L * l.weight().length).sum() / 10
                  + SizeEstimate.packedBytes(base);
      current = shrink(memo, base, layers, precisions, ranges, data, progress, current, target);
      long estimate = SizeEstimate.bytes(base, layers, precisions);
      promoted.add(
          String.format(
              Locale.ROOT,
              "size target %d bytes: estimated %d bytes%s",
              target,
              estimate,
              estimate > target ? " (NOT met: no layer can go lower)" : ""));
      if (fp32Score - current.scorePct(fp32) > options.budgetPt()) {
        promoted.add(
            String.format(
                Locale.ROOT,
                "budget NOT met at this size: score %.2f%% vs fp32 %.2f%% (budget %.2f pt)",
                current.scorePct(fp32),
                fp32Score,
                options.budgetPt()));
      }
    }
    SensitivityProbe probe = null;
    int greedySteps = 0;
    double budget = resolvableBudget(options.budgetPt(), data.count());
    if (options.method() != Method.MIXED
        && budget != options.budgetPt()
        && fp32Score - current.scorePct(fp32) > options.budgetPt()) {
      promoted.add(
          String.format(
              Locale.ROOT,
              "budget %.2f pt is finer than one of %d calibration samples: %.2f pt used",
              options.budgetPt(),
              data.count(),
              budget));
    }
    while (options.method() != Method.MIXED && fp32Score - current.scorePct(fp32) > budget) {
      List<String> candidates = new ArrayList<>();
      for (String name : names) {
        if (promote(precisions.get(name), layers.get(name)) != null) {
          candidates.add(name);
        }
      }
      if (candidates.isEmpty()) {
        break; // everything is fp32 already
      }
      if (probe == null) {
        probe =
            new SensitivityProbe(
                memo,
                base,
                layers,
                ranges,
                data,
                candidates.size(),
                FALLBACK_PROBE_EVALS,
                progress);
      }
      // ranked by what promoting each alone (one step) recovers — the first step of the greedy
      // search this replaces, measured once — then the fewest of the top ones that meet the budget:
      // one whole-model evaluation for all of them, then bisection
      List<String> ranked =
          probe.rank(
              candidates,
              name -> promoted(precisions, List.of(name), 1, layers, false),
              "sensitivity");
      Evaluation before = current;
      long gapSamples = Math.round((fp32Score - current.scorePct(fp32)) / 100 * data.count());
      if (greedySteps < MAX_GREEDY_STEPS && gapSamples <= GREEDY_GAP_SAMPLES) {
        // close to the budget (a few samples off): promote the single best layer and rank again,
        // as the search this replaces did — interactions matter most here, and it is a few rounds
        String best = ranked.get(0);
        Map<String, LayerPrecision> next = promoted(precisions, List.of(best), 1, layers, false);
        current = evaluate(memo, base, layers, next, ranges, data, progress, "fallback " + best);
        promoted.add(
            String.format(
                Locale.ROOT,
                "%s: %s -> %s (score %.2f%% -> %.2f%%, fp32 %.2f%%)",
                best,
                precisions.get(best),
                next.get(best),
                before.scorePct(fp32),
                current.scorePct(fp32),
                fp32Score));
        precisions.putAll(next);
        greedySteps++;
        continue;
      }
      // one step up for the top k; when even all of them one step up miss the budget (int4 -> int8
      // on a model where int8 alone misses it), the top k go straight to fp32 instead, so that the
      // layers that do not matter keep their low bits
      Round round =
          promoteTop(memo, base, layers, precisions, ranges, data, progress, ranked, false);
      boolean oneStepIsFp32 =
          ranked.stream()
              .allMatch(
                  name -> promote(precisions.get(name), layers.get(name)) == LayerPrecision.FP32);
      if (!oneStepIsFp32 && fp32Score - round.evaluation().scorePct(fp32) > budget) {
        round = promoteTop(memo, base, layers, precisions, ranges, data, progress, ranked, true);
      }
      Round chosen = round;
      int n = ranked.size();
      Evaluation[] byPrefix = new Evaluation[n + 1];
      byPrefix[n] = chosen.evaluation();
      int k =
          fp32Score - byPrefix[n].scorePct(fp32) > budget
              ? n
              : PrefixSearch.smallestPassing(
                  n,
                  m -> {
                    byPrefix[m] =
                        evaluate(
                            memo,
                            base,
                            layers,
                            promoted(precisions, ranked, m, layers, chosen.toFp32()),
                            ranges,
                            data,
                            progress,
                            "fallback top " + m + "/" + n);
                    return fp32Score - byPrefix[m].scorePct(fp32) <= budget;
                  });
      current = byPrefix[k];
      Map<String, LayerPrecision> next = promoted(precisions, ranked, k, layers, chosen.toFp32());
      for (String name : ranked.subList(0, k)) {
        promoted.add(
            String.format(
                Locale.ROOT,
                "%s: %s -> %s (score %.2f%% -> %.2f%% with the top %d of %d promoted, fp32 %.2f%%)",
                name,
                precisions.get(name),
                next.get(name),
                before.scorePct(fp32),
                current.scorePct(fp32),
                k,
                n,
                fp32Score));
      }
      precisions.putAll(next);
    }
    QuantizedGraph quantized = GraphQuantizer.quantize(base, layers, precisions, ranges);
    return new Result(
        quantized,
        precisions,
        promoted,
        fp32Score,
        current.scorePct(fp32),
        current.agreementPct(fp32));
  }

  /**
   * A MIXED size target ({@link Options#targetBytes}) for {@code base} that asks the layers
   * quantized here to be, together, {@code ratio} times smaller than their fp32 weights while
   * everything else (the base's stored tensors such as Cache AI tables, biases, other constants)
   * stays as it is: the estimated bundle with those weights at 1/ratio of their fp32 bytes.
   */
  public static long targetBytes(QuantizedGraph base, double ratio) {
    if (!(ratio >= 1)) {
      throw new IllegalArgumentException("target ratio=" + ratio + " (must be >= 1)");
    }
    Map<String, GraphQuantizer.Layer> layers = GraphQuantizer.weightedLayers(base.graph());
    long asIs = SizeEstimate.bytes(base, layers, Map.of());
    long weightBytes = layers.values().stream().mapToLong(l -> 4L * l.weight().length).sum();
    return asIs - weightBytes + (long) (weightBytes / ratio);
  }

  private static LayerPrecision initial(Options options, GraphQuantizer.Layer layer) {
    return switch (options.method()) {
      // QLinearConv is ungrouped: a grouped (depthwise) convolution stays fp32, whose depthwise
      // kernel is cheap and exact, rather than low-bit on the reference path
      case INT8 ->
          layer.isConv() && layer.node().attributes().getLong("group", 1) != 1
              ? LayerPrecision.FP32
              : LayerPrecision.INT8;
      case INT4 ->
          layer.isConv() || options.groupSize() != 32
              ? LayerPrecision.int4(options.groupSize())
              : LayerPrecision.int4Blocks();
      case MIXED -> LayerPrecision.int4(32);
    };
  }

  /**
   * Whole-model evaluations the fallback's ranking may cost (its probes run on a subset sized so):
   * a ranking is spent once per round and decides how many layers leave low bits, so it gets more
   * than MIXED's table.
   */
  static final int FALLBACK_PROBE_EVALS = 48;

  /**
   * The budget the fallback can check on {@code samples} samples: a non-negative budget finer than
   * one sample ({@code 100 / samples} pt, e.g. 6.25 pt on 16 text lines scored line by line) cannot
   * be told from zero, and demanding that no calibration line change sent nearly every layer of
   * PP-OCRv4 back to fp32 for one borderline line; such a budget tolerates one sample.
   */
  static double resolvableBudget(double budgetPt, int samples) {
    return budgetPt < 0 ? budgetPt : Math.max(budgetPt, 100.0 / Math.max(1, samples));
  }

  /**
   * The fallback promotes one layer per ranking (greedy) while at most this many calibration
   * samples separate it from the budget, for at most {@link #MAX_GREEDY_STEPS} rankings; farther
   * away, a ranking is followed by a bisection over it.
   */
  static final int GREEDY_GAP_SAMPLES = 3;

  static final int MAX_GREEDY_STEPS = 4;

  /** Whole-model evaluations MIXED's table of 2 probes per layer may cost. */
  static final int MIXED_PROBE_EVALS = 16;

  /** What a probe's score drop and output error add up to, in points (MIXED's plan). */
  private static double planLoss(SensitivityProbe.Loss loss, double nmseScale) {
    return loss.dropPt() + TIE_BREAK_PT * loss.nmse() / nmseScale;
  }

  /**
   * Weight of the output error in MIXED's plan: a demotion that doubles the base's output error
   * counts as {@value} pt, so demotions that move no sample's score (a common case on few samples)
   * are still ordered by how much they disturb the output.
   */
  static final double TIE_BREAK_PT = 0.01;

  /**
   * MIXED: demotes layers (int4/g32 → int3/per-channel → int2/g32) until the estimated size is
   * under {@code target}. Each demotion is probed once, alone on top of {@code precisions} ({@link
   * SensitivityProbe}); {@link MixedPlanner} chooses from that table; the plan is evaluated once.
   */
  private static Evaluation shrink(
      Map<String, PackedTensor> memo,
      QuantizedGraph base,
      Map<String, GraphQuantizer.Layer> layers,
      Map<String, LayerPrecision> precisions,
      Map<String, ActivationRange> ranges,
      Dataset data,
      Progress progress,
      Evaluation current,
      long target) {
    if (SizeEstimate.bytes(base, layers, precisions) <= target) {
      return current;
    }
    SensitivityProbe probe =
        new SensitivityProbe(
            memo, base, layers, ranges, data, 2 * layers.size(), MIXED_PROBE_EVALS, progress);
    SensitivityProbe.Loss start = probe.measure(precisions, "probe start");
    double nmseScale = Math.max(start.nmse(), 1e-12);
    long noneBytes = SizeEstimate.bytes(base, layers, Map.of());
    Map<String, List<MixedPlanner.Option>> table = new LinkedHashMap<>();
    for (String name : layers.keySet()) {
      List<MixedPlanner.Option> chain = new ArrayList<>();
      LayerPrecision p = precisions.get(name);
      double loss = planLoss(start, nmseScale);
      while (p != null) {
        if (!chain.isEmpty()) {
          Map<String, LayerPrecision> trial = new LinkedHashMap<>(precisions);
          trial.put(name, p);
          loss = planLoss(probe.measure(trial, "probe " + name + " " + p), nmseScale);
        }
        long bytes = SizeEstimate.bytes(base, layers, Map.of(name, p)) - noneBytes;
        chain.add(new MixedPlanner.Option(p, bytes, loss));
        p = demote(p, layers.get(name));
      }
      table.put(name, chain);
    }
    precisions.putAll(MixedPlanner.plan(table, noneBytes, target));
    return evaluate(memo, base, layers, precisions, ranges, data, progress, "evaluate plan");
  }

  /**
   * {@code precisions} with the first {@code count} of {@code ranked} promoted one step, or to fp32
   * when {@code toFp32}.
   */
  private static Map<String, LayerPrecision> promoted(
      Map<String, LayerPrecision> precisions,
      List<String> ranked,
      int count,
      Map<String, GraphQuantizer.Layer> layers,
      boolean toFp32) {
    Map<String, LayerPrecision> trial = new LinkedHashMap<>(precisions);
    for (String name : ranked.subList(0, count)) {
      trial.put(
          name, toFp32 ? LayerPrecision.FP32 : promote(precisions.get(name), layers.get(name)));
    }
    return trial;
  }

  /** A fallback round's kind of promotion and the model with every ranked layer promoted so. */
  private record Round(boolean toFp32, Evaluation evaluation) {}

  private static Round promoteTop(
      Map<String, PackedTensor> memo,
      QuantizedGraph base,
      Map<String, GraphQuantizer.Layer> layers,
      Map<String, LayerPrecision> precisions,
      Map<String, ActivationRange> ranges,
      Dataset data,
      Progress progress,
      List<String> ranked,
      boolean toFp32) {
    int n = ranked.size();
    Map<String, LayerPrecision> all = promoted(precisions, ranked, n, layers, toFp32);
    return new Round(
        toFp32,
        evaluate(
            memo,
            base,
            layers,
            all,
            ranges,
            data,
            progress,
            "fallback all " + n + (toFp32 ? " to fp32" : " one step")));
  }

  /** The next smaller MIXED precision, or null at the bottom. */
  private static LayerPrecision demote(LayerPrecision p, GraphQuantizer.Layer layer) {
    return switch (p.kind()) {
      case INT4 -> LayerPrecision.int3(layer.rowLength());
      case INT3 -> LayerPrecision.int2(32);
      default -> null;
    };
  }

  /** The next, more precise precision, or null for fp32. */
  private static LayerPrecision promote(LayerPrecision p, GraphQuantizer.Layer layer) {
    boolean grouped = layer.isConv() && layer.node().attributes().getLong("group", 1) != 1;
    return switch (p.kind()) {
      case INT2, INT3 -> LayerPrecision.int4(32);
      case INT4, INT4_BLOCKS -> grouped ? LayerPrecision.FP32 : LayerPrecision.INT8;
      case INT8 -> LayerPrecision.FP32;
      case FP32 -> null;
    };
  }

  private static Evaluation evaluate(
      Map<String, PackedTensor> memo,
      QuantizedGraph base,
      Map<String, GraphQuantizer.Layer> layers,
      Map<String, LayerPrecision> precisions,
      Map<String, ActivationRange> ranges,
      Dataset data,
      Progress progress,
      String phase) {
    try (GraphModel model =
        GraphQuantizer.quantize(base, layers, precisions, ranges, memo).model()) {
      return Evaluation.run(model, data, done -> progress.update(phase, done, data.count()));
    }
  }
}
