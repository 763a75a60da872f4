package io.cacheai.compress;

import io.cacheai.graph.ConstTensor;
import io.cacheai.graph.Graph;
import io.cacheai.graph.PackedTensor;
import io.cacheai.graph.Shapes;
import java.util.Map;

/**
 * A conservative estimate of a compressed bundle's size, for the MIXED size target (the compressor
 * does not write bundles itself): every tensor's bytes — including the stored tensors of a base
 * model that is already partly compressed (Cache AI tables) — plus per stored tensor the worst
 * 64-byte alignment padding and its manifest entry, plus the header and the graph.
 */
final class SizeEstimate {
  /** Padding (≤ 63) + manifest entry (name, shape, section, scales) per stored tensor. */
  static final long PER_TENSOR_BYTES = 110;

  /** Header, graph nodes and producer. */
  static final long BASE_BYTES = 1536;

  private SizeEstimate() {}

  static long bytes(
      QuantizedGraph base,
      Map<String, GraphQuantizer.Layer> layers,
      Map<String, LayerPrecision> precisions) {
    Graph graph = base.graph();
    long total = BASE_BYTES + packedBytes(base);
    java.util.Set<String> replaced = new java.util.HashSet<>();
    for (GraphQuantizer.Layer layer : layers.values()) {
      LayerPrecision p = precisions.getOrDefault(layer.node().name(), LayerPrecision.FP32);
      if (p.kind() == LayerPrecision.Kind.FP32) {
        continue;
      }
      replaced.add(layer.node().inputs().get(1));
      if (layer.node().hasInput(2)) {
        replaced.add(layer.node().inputs().get(2));
      }
      long weights = layer.weight().length;
      total += (long) Math.ceil(p.bitsPerWeight(layer.rowLength()) * weights / 8);
      total += layer.bias() == null ? 0 : 4L * layer.bias().length + PER_TENSOR_BYTES;
      total += p.kind() == LayerPrecision.Kind.INT8 ? PER_TENSOR_BYTES : 2 * PER_TENSOR_BYTES;
    }
    for (Map.Entry<String, ConstTensor> c : graph.constants().entrySet()) {
      if (!replaced.contains(c.getKey())) {
        total += (c.getValue().isFloat() ? 4 : 8) * Shapes.elementCount(c.getValue().shape());
        total += PER_TENSOR_BYTES;
      }
    }
    return total;
  }

  /**
   * The stored tensors a partly compressed model already carries (Cache AI tables), passed through
   * unchanged: their bytes plus padding and manifest entry each.
   */
  static long packedBytes(QuantizedGraph base) {
    long total = 0;
    for (PackedTensor t : base.packed().values()) {
      total += t.data().remaining() + PER_TENSOR_BYTES;
    }
    return total;
  }
}
