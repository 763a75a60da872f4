package io.cacheai.graph;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Folds a constant scale and shift that directly follow a Conv — {@code Mul(conv, s)} and then
 * optionally {@code Add(·, t)}, with s and t scalars or per output channel ([M,1,1] / [1,M,1,1]) —
 * into the Conv's weights and bias (PP-LCNet's "learnable affine blocks" are exported this way):
 *
 * <pre>
 *   W'[m] = W[m] · s[m]        b'[m] = b[m] · s[m] + t[m]
 * </pre>
 *
 * Applies only where each folded value has no other reader and is not a graph output, and the
 * Conv's weight and bias are constants. Runs after {@link ConvBatchNormFolding}.
 */
public final class ConvAffineFolding {
  private ConvAffineFolding() {}

  public static Graph apply(Graph graph) {
    Map<String, Integer> consumers = new HashMap<>();
    Map<String, Node> consumer = new HashMap<>();
    for (Node node : graph.nodes()) {
      for (String input : node.inputs()) {
        consumers.merge(input, 1, Integer::sum);
        consumer.put(input, node);
      }
    }
    graph.outputs().forEach(output -> consumers.merge(output.name(), 1, Integer::sum));
    Map<String, ConstTensor> constants = new LinkedHashMap<>(graph.constants());
    Map<Node, Node> replaced = new HashMap<>();
    Set<Node> removed = new HashSet<>();
    for (Node conv : graph.nodes()) {
      if (conv.op() != OpType.CONV
          || !isFloatConstant(constants, conv.inputs().get(1))
          || (conv.hasInput(2) && !isFloatConstant(constants, conv.inputs().get(2)))) {
        continue;
      }
      ConstTensor weight = constants.get(conv.inputs().get(1));
      int outChannels = (int) weight.shape()[0];
      Node mul = soleConsumer(conv.outputs().get(0), consumers, consumer);
      float[] scale =
          mul == null || mul.op() != OpType.MUL
              ? null
              : perChannel(mul, conv.outputs().get(0), constants, outChannels);
      if (scale == null) {
        continue;
      }
      Node add = soleConsumer(mul.outputs().get(0), consumers, consumer);
      float[] shift =
          add == null || add.op() != OpType.ADD
              ? null
              : perChannel(add, mul.outputs().get(0), constants, outChannels);
      float[] bias =
          conv.hasInput(2) ? constants.get(conv.inputs().get(2)).floats() : new float[outChannels];
      int perChannel = weight.floats().length / outChannels;
      float[] foldedWeight = new float[weight.floats().length];
      float[] foldedBias = new float[outChannels];
      for (int m = 0; m < outChannels; m++) {
        for (int i = 0; i < perChannel; i++) {
          foldedWeight[m * perChannel + i] = weight.floats()[m * perChannel + i] * scale[m];
        }
        foldedBias[m] = bias[m] * scale[m] + (shift == null ? 0f : shift[m]);
      }
      String weightName = uniqueName(constants, conv.inputs().get(1) + "/affine_folded");
      constants.put(weightName, ConstTensor.ofFloats(weight.shape(), foldedWeight));
      String biasName = uniqueName(constants, conv.name() + "/affine_folded_bias");
      constants.put(biasName, ConstTensor.ofFloats(new long[] {outChannels}, foldedBias));
      Node last = shift == null ? mul : add;
      replaced.put(
          conv,
          new Node(
              OpType.CONV,
              conv.name(),
              List.of(conv.inputs().get(0), weightName, biasName),
              last.outputs(),
              conv.attributes()));
      removed.add(mul);
      if (shift != null) {
        removed.add(add);
      }
    }
    if (replaced.isEmpty()) {
      return graph;
    }
    List<Node> nodes = new ArrayList<>();
    for (Node node : graph.nodes()) {
      if (!removed.contains(node)) {
        nodes.add(replaced.getOrDefault(node, node));
      }
    }
    Set<String> used = new HashSet<>();
    nodes.forEach(node -> used.addAll(node.inputs()));
    graph.outputs().forEach(output -> used.add(output.name()));
    Map<String, ConstTensor> kept = new LinkedHashMap<>();
    constants.forEach(
        (name, value) -> {
          if (used.contains(name)) {
            kept.put(name, value);
          }
        });
    return graph.withNodes(nodes, kept);
  }

  private static Node soleConsumer(
      String value, Map<String, Integer> consumers, Map<String, Node> consumer) {
    return consumers.getOrDefault(value, 0) == 1 ? consumer.get(value) : null;
  }

  /**
   * The other operand of binary {@code node} (whose one operand is {@code value}) as one factor per
   * output channel, or null if it is not a float constant of a scalar or per-channel shape.
   */
  private static float[] perChannel(
      Node node, String value, Map<String, ConstTensor> constants, int channels) {
    if (node.inputs().size() != 2) {
      return null;
    }
    String other = node.inputs().get(0).equals(value) ? node.inputs().get(1) : node.inputs().get(0);
    if (other.equals(value) || !isFloatConstant(constants, other)) {
      return null;
    }
    ConstTensor constant = constants.get(other);
    long[] shape = constant.shape();
    float[] values = constant.floats();
    float[] result = new float[channels];
    if (values.length == 1 && shape.length <= 4) {
      java.util.Arrays.fill(result, values[0]);
      return result;
    }
    boolean channelShape =
        values.length == channels
            && ((shape.length == 3 && shape[1] == 1 && shape[2] == 1)
                || (shape.length == 4 && shape[0] == 1 && shape[2] == 1 && shape[3] == 1));
    return channelShape ? values.clone() : null;
  }

  private static boolean isFloatConstant(Map<String, ConstTensor> constants, String name) {
    return constants.containsKey(name) && constants.get(name).isFloat();
  }

  private static String uniqueName(Map<String, ConstTensor> constants, String base) {
    String name = base;
    for (int i = 1; constants.containsKey(name); i++) {
      name = base + "_" + i;
    }
    return name;
  }
}
