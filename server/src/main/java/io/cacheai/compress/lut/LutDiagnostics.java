package io.cacheai.compress.lut;

import io.cacheai.compress.Dataset;
import io.cacheai.compress.GraphQuantizer;
import io.cacheai.compress.QuantizedGraph;
import io.cacheai.graph.Graph;
import io.cacheai.graph.Node;
import io.cacheai.graph.OpType;
import io.cacheai.graph.PackedTensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntConsumer;

/**
 * The first two of the three hit rates of a model with {@code LookupGemm} layers, measured on a
 * dataset (the third, end to end, is {@link io.cacheai.compress.Evaluation}):
 *
 * <ul>
 *   <li><b>key hit rate</b>: the share of (row, codebook) keys where the node's encoder gives the
 *       same key as the exact nearest-centroid search over the stored centroids (100% for the
 *       centroid encoder; not measurable, NaN, for a tree stored without centroids);
 *   <li><b>layer NMSE</b>: Σ(ŷ − y)² / Σy² of the node's output ŷ against the exact fp32 layer y =
 *       W·x + b on the same input x (the weights taken from the reference graph, node by name).
 * </ul>
 */
public final class LutDiagnostics {
  private LutDiagnostics() {}

  /** Key hit rate (%) and NMSE per LookupGemm node of {@code model}, in graph order. */
  public record Measure(String layer, double keyHitRatePct, double nmse) {}

  public static List<Measure> measure(
      QuantizedGraph model, Graph reference, Dataset data, IntConsumer progress) {
    Map<String, GraphQuantizer.Layer> exact = GraphQuantizer.weightedLayers(reference);
    List<Node> lookups =
        model.graph().nodes().stream().filter(n -> n.op() == OpType.LOOKUP_GEMM).toList();
    List<String> values = new ArrayList<>();
    for (Node node : lookups) {
      values.add(node.inputs().get(0));
      values.add(node.outputs().get(0));
    }
    Map<String, float[]> seen = Activations.collect(model, values, data, progress);
    List<Measure> measures = new ArrayList<>();
    for (Node node : lookups) {
      GraphQuantizer.Layer layer = exact.get(node.name());
      if (layer == null) {
        throw new IllegalArgumentException(
            node.describe() + ": the reference model has no Gemm/MatMul of that name");
      }
      float[] x = seen.get(node.inputs().get(0));
      float[] yHat = seen.get(node.outputs().get(0));
      // rows, not samples: x [..., D] (a text line gives one row per step or pixel)
      int rows = x.length / layer.rowLength();
      measures.add(
          new Measure(
              node.name(), hitRatePct(node, model.packed(), x, rows), nmse(layer, x, yHat, rows)));
    }
    return measures;
  }

  /** Σ(ŷ − y)² / Σy² with y = W·x + b. */
  static double nmse(GraphQuantizer.Layer layer, float[] x, float[] yHat, int n) {
    int m = layer.rows();
    int d = layer.rowLength();
    float[] w = layer.weight();
    double error = 0;
    double energy = 0;
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < m; j++) {
        double y = layer.bias() == null ? 0 : layer.bias()[j];
        for (int k = 0; k < d; k++) {
          y += (double) w[j * d + k] * x[i * d + k];
        }
        double diff = yHat[i * m + j] - y;
        error += diff * diff;
        energy += y * y;
      }
    }
    return energy > 0 ? error / energy : (error > 0 ? Double.POSITIVE_INFINITY : 0);
  }

  /**
   * Keys of the node's encoder vs the nearest stored centroid, in percent; NaN without centroids.
   */
  static double hitRatePct(Node node, Map<String, PackedTensor> packed, float[] x, int n) {
    var a = node.attributes();
    PackedTensor centroids = packed.get(a.getString("centroids", ""));
    if (centroids == null) {
      return Double.NaN;
    }
    if (!TableKeys.treeEncoder(node)) {
      return 100.0;
    }
    byte[] treeKeys = TableKeys.encode(node, packed, x, n, true);
    byte[] centroidKeys = TableKeys.encode(node, packed, x, n, false);
    long hits = 0;
    for (int i = 0; i < treeKeys.length; i++) {
      hits += treeKeys[i] == centroidKeys[i] ? 1 : 0;
    }
    return treeKeys.length == 0 ? Double.NaN : 100.0 * hits / treeKeys.length;
  }

  /** By layer name. */
  public static Map<String, Measure> byLayer(List<Measure> measures) {
    Map<String, Measure> out = new LinkedHashMap<>();
    measures.forEach(m -> out.put(m.layer(), m));
    return out;
  }
}
