package io.cacheai.compress;

import io.cacheai.graph.Attributes;
import io.cacheai.graph.ConstTensor;
import io.cacheai.graph.Graph;
import io.cacheai.graph.Node;
import io.cacheai.graph.OpType;
import io.cacheai.graph.PackedTensor;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Rewrites an fp32 graph into a {@link QuantizedGraph}: each node given a non-fp32 {@link
 * LayerPrecision} becomes the matching {@code ai.cacheai} node (see {@link OpType}) with its
 * weights packed, and constants no node reads any more are dropped.
 *
 * <p>A node is quantizable ({@link #weightedLayers}) when its weight is a constant: Gemm with
 * transA=0 (alpha folded into the weight, beta into the bias; a [K,N] weight transposed to [N,K]),
 * MatMul of an input [..., K] (rank ≥ 2, leading axes are rows) by a constant [K,N], Conv with a
 * rank-4 constant weight (int8 only when ungrouped). The bias must be a constant of N elements or
 * absent.
 */
public final class GraphQuantizer {
  private GraphQuantizer() {}

  /** A quantizable node: its index, fp32 weight as [N,K...] and bias (null if none). */
  public record Layer(int index, Node node, long[] weightShape, float[] weight, float[] bias) {
    /** N, the output channels. */
    public int rows() {
      return Math.toIntExact(weightShape[0]);
    }

    /** K, weights per output channel. */
    public int rowLength() {
      return weight.length / rows();
    }

    /** The value the node reads (the activation to calibrate). */
    public String input() {
      return node.inputs().get(0);
    }

    public boolean isConv() {
      return node.op() == OpType.CONV;
    }
  }

  /** The quantizable nodes of {@code graph}, in graph order, keyed by node name. */
  public static Map<String, Layer> weightedLayers(Graph graph) {
    Map<String, Layer> layers = new LinkedHashMap<>();
    List<Node> nodes = graph.nodes();
    for (int i = 0; i < nodes.size(); i++) {
      Layer layer = layer(graph, i, nodes.get(i));
      if (layer != null) {
        layers.put(layer.node().name(), layer);
      }
    }
    return layers;
  }

  private static Layer layer(Graph graph, int index, Node node) {
    Attributes a = node.attributes();
    ConstTensor w = node.inputs().size() > 1 ? graph.constants().get(node.inputs().get(1)) : null;
    if (w == null || !w.isFloat()) {
      return null;
    }
    long[] shape = w.shape();
    float[] bias = null;
    if (node.hasInput(2)) {
      ConstTensor c = graph.constants().get(node.inputs().get(2));
      if (c == null || !c.isFloat()) {
        return null;
      }
      bias = c.floats().clone();
    }
    switch (node.op()) {
      case GEMM -> {
        if (a.getLong("transA", 0) != 0 || shape.length != 2) {
          return null;
        }
        boolean transB = a.getLong("transB", 0) != 0;
        float[] weight = transB ? w.floats().clone() : transpose(w.floats(), shape);
        long[] nk = transB ? shape : new long[] {shape[1], shape[0]};
        float alpha = a.getFloat("alpha", 1f);
        if (alpha != 1f) {
          for (int i = 0; i < weight.length; i++) {
            weight[i] *= alpha;
          }
        }
        if (bias != null) {
          float beta = a.getFloat("beta", 1f);
          if (bias.length != nk[0]) {
            return null; // a broadcast C other than one value per output: left in fp32
          }
          for (int i = 0; i < bias.length; i++) {
            bias[i] *= beta;
          }
        }
        return new Layer(index, node, nk, weight, bias);
      }
      case MAT_MUL -> {
        if (shape.length != 2 || node.inputs().size() != 2) {
          return null;
        }
        return new Layer(
            index, node, new long[] {shape[1], shape[0]}, transpose(w.floats(), shape), null);
      }
      case CONV -> {
        if (shape.length != 4 || (bias != null && bias.length != shape[0])) {
          return null;
        }
        return new Layer(index, node, shape, w.floats().clone(), bias);
      }
      default -> {
        return null;
      }
    }
  }

  private static float[] transpose(float[] w, long[] shape) {
    int rows = Math.toIntExact(shape[0]);
    int cols = Math.toIntExact(shape[1]);
    float[] t = new float[w.length];
    for (int r = 0; r < rows; r++) {
      for (int c = 0; c < cols; c++) {
        t[c * rows + r] = w[r * cols + c];
      }
    }
    return t;
  }

  /**
   * The graph with every layer of {@code precisions} (by node name; absent = fp32) rewritten. INT8
   * layers need their input's range in {@code ranges}.
   */
  public static QuantizedGraph quantize(
      Graph graph,
      Map<String, Layer> layers,
      Map<String, LayerPrecision> precisions,
      Map<String, ActivationRange> ranges) {
    return quantize(new QuantizedGraph(graph, Map.of()), layers, precisions, ranges);
  }

  /**
   * As {@link #quantize(Graph, Map, Map, Map)} on a model that is already partly compressed (e.g.
   * Cache AI {@code LookupGemm} layers, {@code model}): its {@code ai.cacheai} nodes and their
   * stored tensors are kept as they are, the new tensors are named apart from them, and {@code
   * layers} (from {@link #weightedLayers} of {@code model.graph()}) are rewritten as for an fp32
   * graph.
   */
  public static QuantizedGraph quantize(
      QuantizedGraph model,
      Map<String, Layer> layers,
      Map<String, LayerPrecision> precisions,
      Map<String, ActivationRange> ranges) {
    return quantize(model, layers, precisions, ranges, new HashMap<>());
  }

  /**
   * As {@link #quantize(QuantizedGraph, Map, Map, Map)}, reusing the quantized weights kept in
   * {@code memo} (by node name and precision; filled as it goes): a compressor's search builds many
   * models that differ in a layer or two, and re-quantizing a 10 MB model's weights for each was a
   * good part of its time. Packed tensors are immutable, so models may share them.
   */
  static QuantizedGraph quantize(
      QuantizedGraph model,
      Map<String, Layer> layers,
      Map<String, LayerPrecision> precisions,
      Map<String, ActivationRange> ranges,
      Map<String, PackedTensor> memo) {
    Graph graph = model.graph();
    List<Node> nodes = new ArrayList<>(graph.nodes());
    Map<String, PackedTensor> packed = new LinkedHashMap<>(model.packed());
    for (Layer layer : layers.values()) {
      LayerPrecision precision = precisions.getOrDefault(layer.node().name(), LayerPrecision.FP32);
      if (precision.kind() == LayerPrecision.Kind.FP32) {
        continue;
      }
      Node node = layer.node();
      Map<String, Object> attributes = new TreeMap<>();
      if (layer.isConv()) {
        for (String name : node.attributes().names()) {
          attributes.put(name, node.attributes().value(name));
        }
      }
      attributes.put("weight_shape", layer.weightShape().clone());
      String base = uniqueBase(node.inputs().get(1), packed);
      OpType op;
      if (precision.kind() == LayerPrecision.Kind.INT8) {
        if (layer.isConv() && node.attributes().getLong("group", 1) != 1) {
          throw new IllegalArgumentException(
              node.describe() + ": grouped convolutions cannot be int8 (use fp32 or low-bit)");
        }
        ActivationRange range = ranges.get(layer.input());
        if (range == null) {
          throw new IllegalArgumentException(
              node.describe() + ": no calibrated range for input '" + layer.input() + "'");
        }
        PackedTensor weight =
            memo.computeIfAbsent(
                node.name() + "|" + precision,
                k ->
                    WeightQuantizer.panel16(
                        WeightQuantizer.int8PerChannel(layer.weight(), layer.weightShape())));
        packed.put(base + ".q8", weight);
        attributes.put("weight", base + ".q8");
        attributes.put("x_scale", range.scale());
        attributes.put("x_zero_point", (long) range.zeroPoint());
        if (layer.bias() != null) {
          packed.put(
              base + ".bias.s32",
              WeightQuantizer.int32Bias(layer.bias(), range.scale(), weight.scales()));
          attributes.put("bias", base + ".bias.s32");
        }
        op = layer.isConv() ? OpType.QLINEAR_CONV : OpType.QLINEAR_GEMM;
      } else {
        String suffix = ".q" + precision.lowBitFormat().bits();
        if (precision.kind() == LayerPrecision.Kind.INT4_BLOCKS) {
          suffix = ".q4g32";
          packed.put(
              base + suffix,
              memo.computeIfAbsent(
                  node.name() + "|" + precision,
                  k ->
                      WeightQuantizer.q4g32Blocks(
                          WeightQuantizer.lowBit(
                              layer.weight(),
                              layer.weightShape(),
                              PackedTensor.Format.Q4_GROUP,
                              32))));
        } else {
          packed.put(
              base + suffix,
              memo.computeIfAbsent(
                  node.name() + "|" + precision,
                  k ->
                      WeightQuantizer.lowBit(
                          layer.weight(),
                          layer.weightShape(),
                          precision.lowBitFormat(),
                          precision.groupSize())));
        }
        attributes.put("weight", base + suffix);
        if (layer.bias() != null) {
          packed.put(base + ".bias.f32", WeightQuantizer.fp32Bias(layer.bias()));
          attributes.put("bias", base + ".bias.f32");
        }
        op = layer.isConv() ? OpType.LOW_BIT_CONV : OpType.LOW_BIT_GEMM;
      }
      nodes.set(
          layer.index(),
          new Node(
              op, node.name(), List.of(layer.input()), node.outputs(), new Attributes(attributes)));
    }
    Set<String> used = new HashSet<>();
    nodes.forEach(n -> used.addAll(n.inputs()));
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
    return new QuantizedGraph(graph.withNodes(nodes, constants), packed);
  }

  private static String uniqueBase(String name, Map<String, PackedTensor> taken) {
    String base = name;
    for (int i = 2; isTaken(base, taken); i++) {
      base = name + "#" + i;
    }
    return base;
  }

  private static boolean isTaken(String base, Map<String, PackedTensor> taken) {
    return taken.keySet().stream().anyMatch(k -> k.startsWith(base + "."));
  }
}
