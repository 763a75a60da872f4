package io.cacheai.compress.lut;

import io.cacheai.compress.Dataset;
import io.cacheai.compress.GraphQuantizer;
import io.cacheai.compress.QuantizedGraph;
import io.cacheai.graph.Graph;
import io.cacheai.graph.Im2Col;
import io.cacheai.graph.Node;
import io.cacheai.graph.OpType;
import io.cacheai.graph.PackedTensor;
import io.cacheai.graph.ShapeInference;
import io.cacheai.graph.Window2d;
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
 *       W·x + b on the same input x (the weights taken from the reference graph, node by name); NaN
 *       for a layer whose input was pruned to the columns its trees read ({@link DeadRowPruning}:
 *       the exact layer needs the columns no longer computed), whose key hit rate is then over the
 *       read columns.
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
        model.graph().nodes().stream()
            .filter(n -> n.op() == OpType.LOOKUP_GEMM || n.op() == OpType.LOOKUP_CONV)
            .toList();
    Map<String, long[]> shapes =
        lookups.stream().anyMatch(n -> n.op() == OpType.LOOKUP_CONV)
            ? ShapeInference.infer(
                model.graph(), Map.of(model.graph().inputs().get(0).name(), data.batchShape(1)))
            : Map.of();
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
      if (node.op() == OpType.LOOKUP_CONV) {
        long[] in = shapes.get(node.inputs().get(0));
        Window2d g = Window2d.resolve(node, in, node.attributes().getLongs("kernel_shape"));
        measures.add(
            convMeasure(
                node, layer, model.packed(), x, yHat, data.count(), Math.toIntExact(in[1]), g));
        continue;
      }
      // rows, not samples: x [..., D] (a text line gives one row per step or pixel)
      int d = Math.toIntExact(node.attributes().getLongs("weight_shape")[1]);
      int rows = x.length / d;
      // a layer pruned to the columns its trees read (DeadRowPruning) no longer sees the whole
      // input the exact layer needs: its NMSE is not measurable (NaN)
      measures.add(
          new Measure(
              node.name(),
              hitRatePct(node, model.packed(), x, rows),
              d == layer.rowLength() ? nmse(layer, x, yHat, rows) : Double.NaN));
    }
    return measures;
  }

  /** Samples whose patch rows are built at once for a LookupConv's figures. */
  private static final int CONV_CHUNK_SAMPLES = 64;

  /**
   * The two figures of a {@code LookupConv}: its input [samples, C, H, W] cut into im2col patch
   * rows and its NCHW output into rows of M, a chunk of samples at a time (all the patches of a
   * test set would be kH·kW times the activations).
   */
  private static Measure convMeasure(
      Node node,
      GraphQuantizer.Layer layer,
      Map<String, PackedTensor> packed,
      float[] x,
      float[] yHat,
      int samples,
      int channels,
      Window2d g) {
    int d = layer.rowLength();
    int m = layer.rows();
    int pixels = Im2Col.pixels(g);
    int image = channels * g.inH() * g.inW();
    if (Im2Col.patchLength(channels, g) != d
        || x.length != (long) samples * image
        || yHat.length != (long) samples * m * pixels) {
      throw new IllegalArgumentException(
          node.describe()
              + ": "
              + x.length
              + " inputs / "
              + yHat.length
              + " outputs for samples="
              + samples
              + " D="
              + d
              + " M="
              + m
              + " pixels="
              + pixels);
    }
    boolean centroids = !node.attributes().getString("centroids", "").isEmpty();
    boolean tree = TableKeys.treeEncoder(node);
    double error = 0;
    double energy = 0;
    long hits = 0;
    long keys = 0;
    for (int from = 0; from < samples; from += CONV_CHUNK_SAMPLES) {
      int count = Math.min(CONV_CHUNK_SAMPLES, samples - from);
      int rows = count * pixels;
      float[] xRows = new float[rows * d];
      float[] yRows = new float[rows * m];
      for (int s = 0; s < count; s++) {
        Im2Col.rows(x, (from + s) * image, channels, g, xRows, s * pixels * d, d);
        int base = (from + s) * m * pixels;
        for (int p = 0; p < pixels; p++) {
          for (int j = 0; j < m; j++) {
            yRows[(s * pixels + p) * m + j] = yHat[base + j * pixels + p];
          }
        }
      }
      double[] sums = nmseSums(layer, xRows, yRows, rows);
      error += sums[0];
      energy += sums[1];
      if (centroids && tree) {
        byte[] treeKeys = TableKeys.encode(node, packed, xRows, rows, true);
        byte[] centroidKeys = TableKeys.encode(node, packed, xRows, rows, false);
        for (int i = 0; i < treeKeys.length; i++) {
          hits += treeKeys[i] == centroidKeys[i] ? 1 : 0;
        }
        keys += treeKeys.length;
      }
    }
    double hitRate =
        !centroids ? Double.NaN : !tree ? 100.0 : keys == 0 ? Double.NaN : 100.0 * hits / keys;
    double nmse = energy > 0 ? error / energy : (error > 0 ? Double.POSITIVE_INFINITY : 0);
    return new Measure(node.name(), hitRate, nmse);
  }

  /** Σ(ŷ − y)² / Σy² with y = W·x + b. */
  static double nmse(GraphQuantizer.Layer layer, float[] x, float[] yHat, int n) {
    double[] sums = nmseSums(layer, x, yHat, n);
    double error = sums[0];
    double energy = sums[1];
    return energy > 0 ? error / energy : (error > 0 ? Double.POSITIVE_INFINITY : 0);
  }

  /** {Σ(ŷ − y)², Σy²} over n rows, y = W·x + b. */
  private static double[] nmseSums(GraphQuantizer.Layer layer, float[] x, float[] yHat, int n) {
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
    return new double[] {error, energy};
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
