package io.cacheai.graph;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * cacheai's graph IR: what the importer produces and every later stage (compression, runtime)
 * reads. Nodes are in topological order; constants hold initializers and Constant-node values.
 * Shapes of every value follow from {@link ShapeInference} for any batch size.
 *
 * @param opsetVersion the version of the default ONNX domain the model was written for (op
 *     semantics such as Softmax's axis changed across versions)
 */
public record Graph(
    String name,
    int opsetVersion,
    List<ValueInfo> inputs,
    List<ValueInfo> outputs,
    Map<String, ConstTensor> constants,
    List<Node> nodes) {
  public Graph {
    inputs = List.copyOf(inputs);
    outputs = List.copyOf(outputs);
    constants = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(constants));
    nodes = List.copyOf(nodes);
  }

  /** Whether every input's shape is fixed except a batch axis 0 (so it can be probed by batch). */
  public boolean fixedExceptBatch() {
    return inputs.stream().noneMatch(ValueInfo::hasDynamicNonBatchDims);
  }

  /** The same graph with other nodes and constants (graph passes). */
  public Graph withNodes(List<Node> newNodes, Map<String, ConstTensor> newConstants) {
    return new Graph(name, opsetVersion, inputs, outputs, newConstants, newNodes);
  }
}
