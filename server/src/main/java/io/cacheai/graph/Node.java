package io.cacheai.graph;

import java.util.List;

/**
 * One operation of the graph: its op, a name for messages, the names of the values it reads (an
 * empty name is an omitted optional input) and writes, and its attributes.
 */
public record Node(
    OpType op, String name, List<String> inputs, List<String> outputs, Attributes attributes) {
  public Node {
    inputs = List.copyOf(inputs);
    outputs = List.copyOf(outputs);
  }

  /** Whether optional input {@code index} is given. */
  public boolean hasInput(int index) {
    return index < inputs.size() && !inputs.get(index).isEmpty();
  }

  /** "Conv 'conv1'", for messages. */
  public String describe() {
    return op.onnxName() + " '" + name + "'";
  }
}
