package io.cacheai.compress;

import io.cacheai.graph.Graph;
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
 *       when labelled, else agreement with fp32); while the loss exceeds the budget, find the layer
 *       whose promotion (int3 → int4 → int8 → fp32) recovers the most and promote it; the
 *       promotions are reported.
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
     * smallest loss per byte).
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
    Evaluation current = evaluate(base, layers, precisions, ranges, data, progress, "evaluate");
    if (options.method() == Method.MIXED) {
      long target =
          options.targetBytes() > 0
              ? options.targetBytes()
              : layers.values().stream().mapToLong(l -> 4L * l.weight().length).sum() / 10
                  + SizeEstimate.packedBytes(base);
      current = shrink(base, layers, precisions, ranges, data, progress, current, fp32, target);
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
    while (options.method() != Method.MIXED
        && fp32Score - current.scorePct(fp32) > options.budgetPt()) {
      String best = null;
      Evaluation bestEval = null;
      for (String name : names) {
        LayerPrecision next = promote(precisions.get(name), layers.get(name));
        if (next == null) {
          continue;
        }
        Map<String, LayerPrecision> trial = new LinkedHashMap<>(precisions);
        trial.put(name, next);
        Evaluation e = evaluate(base, layers, trial, ranges, data, progress, "fallback " + name);
        if (bestEval == null || e.scorePct(fp32) > bestEval.scorePct(fp32)) {
          best = name;
          bestEval = e;
        }
      }
      if (best == null) {
        break; // everything is fp32 already
      }
      LayerPrecision from = precisions.get(best);
      LayerPrecision to = promote(from, layers.get(best));
      precisions.put(best, to);
      promoted.add(
          String.format(
              Locale.ROOT,
              "%s: %s -> %s (score %.2f%% -> %.2f%%, fp32 %.2f%%)",
              best,
              from,
              to,
              current.scorePct(fp32),
              bestEval.scorePct(fp32),
              fp32Score));
      current = bestEval;
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
   * MIXED: demotes layers (int4/g32 → int3/per-channel → int2/g32) until the estimated size is
   * under {@code target}, each time the demotion that costs the least score per byte saved — or,
   * once one demotion alone would reach the target, the one of those that loses the least.
   */
  private static Evaluation shrink(
      QuantizedGraph base,
      Map<String, GraphQuantizer.Layer> layers,
      Map<String, LayerPrecision> precisions,
      Map<String, ActivationRange> ranges,
      Dataset data,
      Progress progress,
      Evaluation current,
      Evaluation fp32,
      long target) {
    while (SizeEstimate.bytes(base, layers, precisions) > target) {
      long size = SizeEstimate.bytes(base, layers, precisions);
      String best = null;
      Evaluation bestEval = null;
      double bestCost = Double.MAX_VALUE;
      boolean bestReaches = false;
      for (String name : layers.keySet()) {
        LayerPrecision lower = demote(precisions.get(name), layers.get(name));
        if (lower == null) {
          continue;
        }
        Map<String, LayerPrecision> trial = new LinkedHashMap<>(precisions);
        trial.put(name, lower);
        long saved = size - SizeEstimate.bytes(base, layers, trial);
        if (saved <= 0) {
          continue;
        }
        Evaluation e = evaluate(base, layers, trial, ranges, data, progress, "size " + name);
        double drop = Math.max(0.01, current.scorePct(fp32) - e.scorePct(fp32));
        // a step that reaches the target is judged by its loss alone; others by loss per byte
        boolean reaches = size - saved <= target;
        double cost = reaches ? drop : drop / saved;
        if ((reaches && !bestReaches) || (reaches == bestReaches && cost < bestCost)) {
          bestCost = cost;
          bestReaches = reaches;
          best = name;
          bestEval = e;
        }
      }
      if (best == null) {
        return current;
      }
      precisions.put(best, demote(precisions.get(best), layers.get(best)));
      current = bestEval;
    }
    return current;
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
      QuantizedGraph base,
      Map<String, GraphQuantizer.Layer> layers,
      Map<String, LayerPrecision> precisions,
      Map<String, ActivationRange> ranges,
      Dataset data,
      Progress progress,
      String phase) {
    try (GraphModel model = GraphQuantizer.quantize(base, layers, precisions, ranges).model()) {
      return Evaluation.run(model, data, done -> progress.update(phase, done, data.count()));
    }
  }
}
