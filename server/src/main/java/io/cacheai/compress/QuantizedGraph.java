package io.cacheai.compress;

import io.cacheai.graph.Graph;
import io.cacheai.graph.PackedTensor;
import io.cacheai.runtime.GraphModel;
import io.cacheai.runtime.Int8Gemm;
import java.util.Map;

/**
 * A compressed model: the graph (fp32 nodes plus {@code ai.cacheai} quantized nodes) and the stored
 * tensors its quantized nodes name.
 */
public record QuantizedGraph(Graph graph, Map<String, PackedTensor> packed) {
  /** A model running this graph from memory (the compressor evaluates it before writing). */
  public GraphModel model() {
    return new GraphModel(graph, packed, Int8Gemm.best());
  }
}
