package io.cacheai.compress.lut;

import io.cacheai.compress.Compressor;
import io.cacheai.compress.Dataset;
import io.cacheai.compress.Evaluation;
import io.cacheai.compress.GraphQuantizer;
import io.cacheai.compress.QuantizedGraph;
import io.cacheai.graph.ConstTensor;
import io.cacheai.graph.Graph;
import io.cacheai.graph.Node;
import io.cacheai.graph.PackedTensor;
import io.cacheai.runtime.GraphModel;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code compress --method cacheai}: replaces Gemm/MatMul layers by {@code LookupGemm} nodes
 * ({@link LutLayerBuilder}), one after another in graph order, each fitted on the activations the
 * graph produces with the layers before it already replaced, against the fp32 model's own output of
 * that layer — so each fit also absorbs the error upstream instead of letting it pile up. The
 * layers not replaced stay exact fp32. The result is then evaluated on the calibration data: the
 * per-layer key hit rate and NMSE ({@link LutDiagnostics}) and top-1 against fp32 and the labels.
 */
public final class LutCompressor {
  private LutCompressor() {}

  /** Ridge term of {@link NextLayerRefit}, relative to the mean diagonal of XᵀX. */
  static final double NEXT_LAYER_RIDGE = 1e-3;

  /**
   * The compressed model and its figures on the calibration data.
   *
   * @param layers per replaced layer: sizes, key hit rate, NMSE vs the exact layer
   * @param notes the middle layers kept exact and why, then what the fine-tuning did
   */
  public record Result(
      QuantizedGraph graph,
      List<LutLayerReport> layers,
      double fp32ScorePct,
      double scorePct,
      double agreementPct,
      List<String> notes) {}

  /**
   * The layers to replace: {@code options.layers()}, or by the default rule of {@link
   * LutLayerChoice} (middle Gemm/MatMul layers left with at least {@value
   * LutLayerChoice#MIN_CODEBOOKS} codebooks).
   */
  public static List<GraphQuantizer.Layer> targets(Graph graph, LutOptions options) {
    return choose(graph, options).tables();
  }

  private static LutLayerChoice.Choice choose(Graph graph, LutOptions options) {
    Map<String, GraphQuantizer.Layer> layers = GraphQuantizer.weightedLayers(graph);
    List<GraphQuantizer.Layer> all = new ArrayList<>(layers.values());
    List<GraphQuantizer.Layer> chosen = new ArrayList<>();
    List<String> notes = List.of();
    if (options.layers().isEmpty()) {
      LutLayerChoice.Choice choice = LutLayerChoice.choose(graph, options);
      chosen.addAll(choice.tables());
      notes = choice.notes();
    } else {
      for (String name : options.layers()) {
        GraphQuantizer.Layer layer = layers.get(name);
        if (layer == null || layer.isConv()) {
          throw new IllegalArgumentException(
              "lut-layers: '"
                  + name
                  + "' is not a Gemm/MatMul layer with constant weights of '"
                  + graph.name()
                  + "' (candidates: "
                  + all.stream().filter(l -> !l.isConv()).map(l -> l.node().name()).toList()
                  + ")");
        }
        chosen.add(layer);
      }
      chosen.sort(java.util.Comparator.comparingInt(GraphQuantizer.Layer::index));
    }
    if (chosen.isEmpty()) {
      throw new IllegalArgumentException(
          "model '"
              + graph.name()
              + "' has no middle Gemm/MatMul layer to turn into tables (name some with"
              + " --lut-layers)");
    }
    return new LutLayerChoice.Choice(chosen, notes);
  }

  public static Result compress(
      Graph graph, Dataset calibration, LutOptions options, Compressor.Progress progress) {
    return compress(graph, calibration, options, LutFineTune.Options.defaults(), progress);
  }

  /**
   * Builds the tables, refits the next exact layer, then fine-tunes the last table layer and the
   * exact layers after it ({@link LutFineTune}, skipped with 0 epochs).
   */
  public static Result compress(
      Graph graph,
      Dataset calibration,
      LutOptions options,
      LutFineTune.Options fineTune,
      Compressor.Progress progress) {
    LutLayerChoice.Choice choice = choose(graph, options);
    List<GraphQuantizer.Layer> targets = choice.tables();
    Dataset data = calibration.range(0, Math.min(options.samples(), calibration.count()));
    // the tables are fitted on the shifted copies too; the figures below stay on the images
    Dataset fit = ShiftAugment.shifted(data, options.shiftRadiusPx());
    int n = data.count();
    int rows = fit.count();
    GraphQuantizer.Layer next =
        options.refitNext()
            ? NextLayerRefit.target(graph, targets.get(targets.size() - 1).index())
            : null;
    List<String> outputs = new ArrayList<>();
    targets.forEach(l -> outputs.add(l.node().outputs().get(0)));
    if (next != null) {
      outputs.add(next.node().outputs().get(0));
    }
    Map<String, float[]> exact =
        Activations.collect(
            new QuantizedGraph(graph, Map.of()),
            outputs,
            fit,
            done -> progress.update("fp32 layers", done, rows));

    QuantizedGraph current = new QuantizedGraph(graph, Map.of());
    List<LutLayerReport> reports = new ArrayList<>();
    for (GraphQuantizer.Layer layer : targets) {
      String name = layer.node().name();
      float[] x =
          Activations.collect(
                  current, List.of(layer.input()), fit, done -> progress.update(name, done, rows))
              .get(layer.input());
      LutLayerBuilder.Built built =
          LutLayerBuilder.build(
              layer,
              x,
              exact.get(layer.node().outputs().get(0)),
              rows,
              options,
              uniqueBase(layer.node().inputs().get(1), current.packed()));
      current = replace(current, layer.index(), built);
      reports.add(built.report());
    }
    if (next != null) {
      String name = next.node().name();
      float[] x =
          Activations.collect(
                  current, List.of(next.input()), fit, done -> progress.update(name, done, rows))
              .get(next.input());
      Graph refitted =
          NextLayerRefit.refit(
              current.graph(),
              next,
              x,
              exact.get(next.node().outputs().get(0)),
              rows,
              NEXT_LAYER_RIDGE);
      current = new QuantizedGraph(refitted, current.packed());
    }
    Dataset tuneRows =
        fineTune.samples() == 0
            ? fit
            : calibration.range(0, Math.min(fineTune.samples(), calibration.count()));
    LutFineTune.Outcome tuned = LutFineTune.fineTune(current, graph, tuneRows, fineTune, progress);
    current = tuned.graph();

    Map<String, LutDiagnostics.Measure> measured =
        LutDiagnostics.byLayer(
            LutDiagnostics.measure(current, graph, data, d -> progress.update("measure", d, n)));
    List<LutLayerReport> finalReports = new ArrayList<>();
    for (LutLayerReport r : reports) {
      LutDiagnostics.Measure m = measured.get(r.layer());
      finalReports.add(r.measured(m.keyHitRatePct(), m.nmse()));
    }
    Evaluation fp32;
    try (GraphModel model = new GraphModel(graph)) {
      fp32 = Evaluation.run(model, data, done -> progress.update("fp32", done, n));
    }
    Evaluation lut;
    try (GraphModel model = current.model()) {
      lut = Evaluation.run(model, data, done -> progress.update("evaluate", done, n));
    }
    return new Result(
        current,
        finalReports,
        fp32.scorePct(fp32),
        lut.scorePct(fp32),
        lut.agreementPct(fp32),
        notes(choice.notes(), tuned.note()));
  }

  private static List<String> notes(List<String> choice, String fineTune) {
    List<String> notes = new ArrayList<>(choice);
    notes.add(fineTune);
    return List.copyOf(notes);
  }

  /** {@code model} with node {@code index} replaced and the constants nobody reads dropped. */
  private static QuantizedGraph replace(
      QuantizedGraph model, int index, LutLayerBuilder.Built built) {
    Graph graph = model.graph();
    List<Node> nodes = new ArrayList<>(graph.nodes());
    nodes.set(index, built.node());
    Set<String> used = new HashSet<>();
    nodes.forEach(node -> used.addAll(node.inputs()));
    graph.outputs().forEach(v -> used.add(v.name()));
    Map<String, ConstTensor> constants = new LinkedHashMap<>();
    graph
        .constants()
        .forEach(
            (name, c) -> {
              if (used.contains(name)) {
                constants.put(name, c);
              }
            });
    Map<String, PackedTensor> packed = new LinkedHashMap<>(model.packed());
    packed.putAll(built.tensors());
    return new QuantizedGraph(graph.withNodes(nodes, constants), packed);
  }

  private static String uniqueBase(String name, Map<String, PackedTensor> taken) {
    String base = name;
    for (int i = 2; taken.keySet().stream().anyMatch(k -> k.startsWith(name + ".")); i++) {
      base = name + "#" + i;
      String candidate = base;
      if (taken.keySet().stream().noneMatch(k -> k.startsWith(candidate + "."))) {
        break;
      }
    }
    return base;
  }
}
