package io.cacheai.compress.lut;

import io.cacheai.compress.Compressor;
import io.cacheai.compress.Dataset;
import io.cacheai.compress.Evaluation;
import io.cacheai.compress.GraphQuantizer;
import io.cacheai.compress.QuantizedGraph;
import io.cacheai.graph.Graph;
import io.cacheai.runtime.GraphModel;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * {@code compress --method cacheai --lut-rest fp32|int8|int4|mixed}: what becomes of the layers the
 * tables do not replace. {@link LutCompressor} keeps them exact fp32 (so the whole model stays
 * large: the MNIST MLP's 784→256 first layer alone is 800 kB); here they are then quantized by the
 * ordinary {@link Compressor} on the table model, {@link Compressor#compress(QuantizedGraph,
 * Dataset, Compressor.Options, Compressor.Progress)}: the {@code LookupGemm} nodes and their
 * tensors pass through untouched, the other layers' activations are calibrated on what the tables
 * produce, and the accuracy fallback's budget is a loss against the table model.
 *
 * <p>This runs after the tables are built and after any fine-tuning of the exact layers that {@link
 * LutCompressor} does (the next-layer refit), so it quantizes the weights the tables were fitted
 * with.
 */
public final class LutRest {
  /**
   * What {@code --lut-rest} means when not given: int8, measured free on the MNIST models (MLP
   * 76.40% vs 76.63% with an fp32 rest, CNN 85.31% vs 85.18%, images 1000..9999) for bundles 3.6×
   * and 1.35× smaller; {@code fp32} gives the tables-only model of before.
   */
  public static final String DEFAULT = "int8";

  /** The bundle's {@code producer.compression} of a table model whose other layers are fp32. */
  public static final String COMPRESSION = "cacheai";

  /** The label a table layer has in the bundle's {@code layers} metadata. */
  public static final String LOOKUP = "lookup";

  private LutRest() {}

  /**
   * The whole model's layers and figures.
   *
   * @param layers every Gemm/MatMul/Conv of the fp32 model by node name, in graph order: {@value
   *     #LOOKUP} for a table, else its precision (fp32, int8, int4/g32, ...)
   * @param notes the quantizer's notes (fallback promotions, MIXED's size target)
   * @param compression the bundle's {@code producer.compression}: {@code cacheai} when the rest is
   *     fp32, else {@code cacheai_<method>} (platform {@code cai_cacheai_int8}, ...)
   * @param tablesScorePct the table model with an fp32 rest, on the calibration data
   * @param scorePct this model, on the calibration data
   * @param agreementPct top-1 agreement of this model with the fp32 model, calibration data
   */
  public record Result(
      QuantizedGraph graph,
      Map<String, String> layers,
      List<String> notes,
      String compression,
      double fp32ScorePct,
      double tablesScorePct,
      double scorePct,
      double agreementPct) {}

  /**
   * The quantizer method of a {@code --lut-rest} value: null for {@code fp32}.
   *
   * @throws IllegalArgumentException naming the accepted values
   */
  public static Compressor.Method parse(String rest) {
    if (rest.equalsIgnoreCase("fp32")) {
      return null;
    }
    for (Compressor.Method m : Compressor.Method.values()) {
      if (m.label().equalsIgnoreCase(rest)) {
        return m;
      }
    }
    throw new IllegalArgumentException(
        "lut-rest '" + rest + "' (accepted: fp32, int8, int4, mixed)");
  }

  /**
   * Quantizes the layers of {@code tables} that are not tables.
   *
   * @param fp32 the model the tables were built from (the agreement reference)
   * @param options how to quantize them, or null to keep them fp32 (today's {@code cacheai})
   * @param targetRatio MIXED: the layers quantized here together become this many times smaller
   *     than their fp32 weights — the same per-layer bar as the tables' (≥ 10×) — while the tables
   *     and the other constants count as they are ({@link Compressor#targetBytes}); replaces {@code
   *     options.targetBytes()}. The whole bundle's ratio is then reported, not targeted.
   * @param calibration the calibration data given to {@link LutCompressor} (its first {@code
   *     options.samples()} are used)
   */
  public static Result apply(
      Graph fp32,
      LutCompressor.Result tables,
      Compressor.Options options,
      double targetRatio,
      Dataset calibration,
      Compressor.Progress progress) {
    Set<String> lookups =
        tables.layers().stream().map(LutLayerReport::layer).collect(Collectors.toSet());
    Map<String, String> layers = new LinkedHashMap<>();
    for (String name : GraphQuantizer.weightedLayers(fp32).keySet()) {
      layers.put(name, lookups.contains(name) ? LOOKUP : "fp32");
    }
    if (options == null) {
      return new Result(
          tables.graph(),
          layers,
          List.of(),
          COMPRESSION,
          tables.fp32ScorePct(),
          tables.scorePct(),
          tables.scorePct(),
          tables.agreementPct());
    }
    if (options.method() == Compressor.Method.MIXED) {
      options = options.withTargetBytes(Compressor.targetBytes(tables.graph(), targetRatio));
    }
    Compressor.Result rest = Compressor.compress(tables.graph(), calibration, options, progress);
    rest.precisions().forEach((name, precision) -> layers.put(name, precision.toString()));
    Dataset data = calibration.range(0, Math.min(options.samples(), calibration.count()));
    Evaluation reference;
    try (GraphModel model = new GraphModel(fp32)) {
      reference = Evaluation.run(model, data, done -> progress.update("fp32", done, data.count()));
    }
    Evaluation compressed;
    try (GraphModel model = rest.graph().model()) {
      compressed =
          Evaluation.run(model, data, done -> progress.update("evaluate", done, data.count()));
    }
    return new Result(
        rest.graph(),
        layers,
        rest.notes(),
        COMPRESSION + "_" + options.method().label(),
        reference.scorePct(reference),
        tables.scorePct(),
        compressed.scorePct(reference),
        compressed.agreementPct(reference));
  }

  /** {@code layers} as one line, e.g. {@code /1/Gemm=int8 /3/Gemm=lookup /5/Gemm=int8}. */
  public static String describe(Map<String, String> layers) {
    return layers.entrySet().stream()
        .map(e -> e.getKey() + "=" + e.getValue())
        .collect(Collectors.joining(" "));
  }
}
