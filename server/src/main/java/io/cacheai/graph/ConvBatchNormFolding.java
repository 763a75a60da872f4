package io.cacheai.graph;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Folds a BatchNormalization that directly follows a Conv into that Conv's weights and bias, so
 * inference runs one op instead of two:
 *
 * <pre>
 *   s[m]  = scale[m] / sqrt(var[m] + epsilon)
 *   W'[m] = W[m] · s[m]
 *   b'[m] = (b[m] − mean[m]) · s[m] + B[m]
 * </pre>
 *
 * Applies only where the Conv's output feeds nothing but that BN and is not a graph output, and all
 * parameters are constants; any other BN stays and runs as its own op.
 */
public final class ConvBatchNormFolding {
  private ConvBatchNormFolding() {}

  public static Graph apply(Graph graph) {
    Map<String, Integer> consumers = new HashMap<>();
    for (Node node : graph.nodes()) {
      for (String input : node.inputs()) {
        consumers.merge(input, 1, Integer::sum);
      }
    }
    graph.outputs().forEach(output -> consumers.merge(output.name(), 1, Integer::sum));
    Map<String, Node> producers = new HashMap<>();
    graph.nodes().forEach(node -> producers.put(node.outputs().get(0), node));

    Map<String, ConstTensor> constants = new LinkedHashMap<>(graph.constants());
    Map<Node, Node> replacedConvs = new HashMap<>();
    List<Node> foldedBns = new ArrayList<>();
    for (Node bn : graph.nodes()) {
      if (bn.op() != OpType.BATCH_NORMALIZATION || bn.outputs().size() != 1) {
        continue;
      }
      Node conv = producers.get(bn.inputs().get(0));
      if (conv == null
          || conv.op() != OpType.CONV
          || consumers.getOrDefault(conv.outputs().get(0), 0) != 1
          || replacedConvs.containsKey(conv)
          || !allConstant(constants, bn.inputs().subList(1, 5))
          || !constants.containsKey(conv.inputs().get(1))
          || (conv.hasInput(2) && !constants.containsKey(conv.inputs().get(2)))) {
        continue;
      }
      ConstTensor weight = constants.get(conv.inputs().get(1));
      long[] weightShape = weight.shape();
      int outChannels = (int) weightShape[0];
      int perChannel = weight.floats().length / outChannels;
      float[] scale = constants.get(bn.inputs().get(1)).floats();
      float[] shift = constants.get(bn.inputs().get(2)).floats();
      float[] mean = constants.get(bn.inputs().get(3)).floats();
      float[] variance = constants.get(bn.inputs().get(4)).floats();
      float epsilon = bn.attributes().getFloat("epsilon", 1e-5f);
      float[] bias =
          conv.hasInput(2) ? constants.get(conv.inputs().get(2)).floats() : new float[outChannels];

      float[] foldedWeight = new float[weight.floats().length];
      float[] foldedBias = new float[outChannels];
      for (int m = 0; m < outChannels; m++) {
        double s = scale[m] / Math.sqrt((double) variance[m] + epsilon);
        for (int i = 0; i < perChannel; i++) {
          foldedWeight[m * perChannel + i] = (float) (weight.floats()[m * perChannel + i] * s);
        }
        foldedBias[m] = (float) ((bias[m] - mean[m]) * s + shift[m]);
      }
      String weightName = uniqueName(constants, conv.inputs().get(1) + "/bn_folded");
      constants.put(weightName, ConstTensor.ofFloats(weightShape, foldedWeight));
      String biasName = uniqueName(constants, conv.name() + "/bn_folded_bias");
      constants.put(biasName, ConstTensor.ofFloats(new long[] {outChannels}, foldedBias));
      replacedConvs.put(
          conv,
          new Node(
              OpType.CONV,
              conv.name(),
              List.of(conv.inputs().get(0), weightName, biasName),
              bn.outputs(),
              conv.attributes()));
      foldedBns.add(bn);
    }

    List<Node> nodes = new ArrayList<>();
    for (Node node : graph.nodes()) {
      if (foldedBns.contains(node)) {
        continue;
      }
      nodes.add(replacedConvs.getOrDefault(node, node));
    }
    return graph.withNodes(nodes, dropUnused(constants, nodes, graph.outputs()));
  }

  private static boolean allConstant(Map<String, ConstTensor> constants, List<String> names) {
    return names.stream()
        .allMatch(name -> constants.containsKey(name) && constants.get(name).isFloat());
  }

  private static String uniqueName(Map<String, ConstTensor> constants, String base) {
    String name = base;
    for (int i = 1; constants.containsKey(name); i++) {
      name = base + "_" + i;
    }
    return name;
  }

  private static Map<String, ConstTensor> dropUnused(
      Map<String, ConstTensor> constants, List<Node> nodes, List<ValueInfo> outputs) {
    java.util.Set<String> used = new java.util.HashSet<>();
    nodes.forEach(node -> used.addAll(node.inputs()));
    outputs.forEach(output -> used.add(output.name()));
    Map<String, ConstTensor> kept = new LinkedHashMap<>();
    constants.forEach(
        (name, value) -> {
          if (used.contains(name)) {
            kept.put(name, value);
          }
        });
    return kept;
  }
}
