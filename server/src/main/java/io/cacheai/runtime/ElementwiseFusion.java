package io.cacheai.runtime;

import io.cacheai.graph.ConstTensor;
import io.cacheai.graph.Graph;
import io.cacheai.graph.Node;
import io.cacheai.graph.ShapeInference;
import io.cacheai.graph.Shapes;
import io.cacheai.graph.ValueInfo;
import io.cacheai.kernels.Fp32Kernels;
import io.cacheai.runtime.ElementwiseChainKernel.Step;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Finds chains of elementwise nodes a plan can run as one {@link ElementwiseChainKernel}: each node
 * is unary, or binary with a plan-time scalar, or multiplies/adds the chain's input back in; every
 * intermediate value has exactly that one consumer and is not a graph output. The graph is not
 * changed: this is a per-plan decision of the runtime.
 */
final class ElementwiseFusion {
  private ElementwiseFusion() {}

  /**
   * A chain: its node indices in order, the value it reads, and its steps. The kernel runs at the
   * last node's position and writes the last node's output.
   */
  record Chain(List<Integer> nodes, String input, Step[] steps) {
    int last() {
      return nodes.get(nodes.size() - 1);
    }
  }

  /** Chains by each member node index. */
  static Map<Integer, Chain> find(Graph graph, ShapeInference.Result analysis) {
    List<Node> nodes = graph.nodes();
    Map<String, List<Integer>> consumers = new HashMap<>();
    for (int i = 0; i < nodes.size(); i++) {
      if (analysis.isStatic(nodes.get(i).outputs().get(0))) {
        continue;
      }
      for (String input : nodes.get(i).inputs()) {
        consumers.computeIfAbsent(input, k -> new ArrayList<>()).add(i);
      }
    }
    Set<String> graphOutputs = new HashSet<>();
    graph.outputs().stream().map(ValueInfo::name).forEach(graphOutputs::add);
    Map<Integer, Chain> chains = new HashMap<>();
    for (int i = 0; i < nodes.size(); i++) {
      Node start = nodes.get(i);
      if (chains.containsKey(i) || analysis.isStatic(start.outputs().get(0))) {
        continue;
      }
      String x = chainInput(start, analysis);
      if (x == null) {
        continue;
      }
      long count = Shapes.elementCount(analysis.shapes().get(x));
      Step first = step(graph, start, x, x, count, analysis);
      if (first == null) {
        continue;
      }
      List<Integer> members = new ArrayList<>(List.of(i));
      List<Step> steps = new ArrayList<>(List.of(first));
      String current = start.outputs().get(0);
      while (!graphOutputs.contains(current)
          && consumers.getOrDefault(current, List.of()).size() == 1) {
        int next = consumers.get(current).get(0);
        Step step = step(graph, nodes.get(next), current, x, count, analysis);
        if (step == null || chains.containsKey(next)) {
          break;
        }
        members.add(next);
        steps.add(step);
        current = nodes.get(next).outputs().get(0);
      }
      if (members.size() >= 2) {
        Chain chain = new Chain(List.copyOf(members), x, steps.toArray(Step[]::new));
        members.forEach(member -> chains.put(member, chain));
      }
    }
    return chains;
  }

  /**
   * The chain as a native epilogue ({@link Fp32Kernels.Epilogue}), so a convolution can apply it
   * while its outputs are in cache; null when a step has no native twin (sqrt, exp, tanh, powers
   * other than 2).
   */
  static Fp32Kernels.Epilogue epilogue(Step[] steps) {
    int[] kinds = new int[steps.length];
    float[] params = new float[2 * steps.length];
    for (int i = 0; i < steps.length; i++) {
      Step step = steps[i];
      Integer code =
          switch (step.kind()) {
            case ADD -> Fp32Kernels.STEP_ADD;
            case SUB -> Fp32Kernels.STEP_SUB;
            case REVERSE_SUB -> Fp32Kernels.STEP_REVERSE_SUB;
            case MUL -> Fp32Kernels.STEP_MUL;
            case DIV -> Fp32Kernels.STEP_DIV;
            case REVERSE_DIV -> Fp32Kernels.STEP_REVERSE_DIV;
            case CLIP -> Fp32Kernels.STEP_CLIP;
            case RELU -> Fp32Kernels.STEP_RELU;
            case HARD_SIGMOID -> Fp32Kernels.STEP_HARD_SIGMOID;
            case SIGMOID -> Fp32Kernels.STEP_SIGMOID;
            case POW -> step.a() == 2f ? Fp32Kernels.STEP_SQUARE : null;
            case NEG -> Fp32Kernels.STEP_NEG;
            case ABS -> Fp32Kernels.STEP_ABS;
            case ADD_INPUT -> Fp32Kernels.STEP_ADD_INPUT;
            case MUL_INPUT -> Fp32Kernels.STEP_MUL_INPUT;
            case SQRT, EXP, TANH -> null;
          };
      if (code == null) {
        return null;
      }
      kinds[i] = code;
      params[2 * i] = step.a();
      params[2 * i + 1] = step.b();
    }
    return Fp32Kernels.Epilogue.of(kinds, params);
  }

  /** The value a chain starting at {@code node} reads: its only non-scalar input. */
  private static String chainInput(Node node, ShapeInference.Result analysis) {
    return switch (node.op()) {
      case RELU, SIGMOID, HARD_SIGMOID, SQRT, ABS, NEG, EXP, TANH, CLIP -> node.inputs().get(0);
      case ADD, SUB, MUL, DIV, POW -> {
        boolean firstScalar = scalar(node.inputs().get(0), analysis) != null;
        boolean secondScalar = scalar(node.inputs().get(1), analysis) != null;
        yield firstScalar == secondScalar ? null : node.inputs().get(firstScalar ? 1 : 0);
      }
      default -> null;
    };
  }

  /** The step computing {@code node} from the accumulator value {@code acc}, or null. */
  private static Step step(
      Graph graph, Node node, String acc, String x, long count, ShapeInference.Result analysis) {
    if (Shapes.elementCount(analysis.shapes().get(node.outputs().get(0))) != count
        || !node.inputs().get(0).equals(acc) && !isBinary(node)) {
      return null;
    }
    var attributes = node.attributes();
    switch (node.op()) {
      case RELU:
        return new Step(Step.Kind.RELU, 0, 0);
      case SIGMOID:
        return new Step(Step.Kind.SIGMOID, 0, 0);
      case SQRT:
        return new Step(Step.Kind.SQRT, 0, 0);
      case ABS:
        return new Step(Step.Kind.ABS, 0, 0);
      case NEG:
        return new Step(Step.Kind.NEG, 0, 0);
      case EXP:
        return new Step(Step.Kind.EXP, 0, 0);
      case TANH:
        return new Step(Step.Kind.TANH, 0, 0);
      case HARD_SIGMOID:
        return new Step(
            Step.Kind.HARD_SIGMOID,
            attributes.getFloat("alpha", 0.2f),
            attributes.getFloat("beta", 0.5f));
      case CLIP:
        {
          if (graph.opsetVersion() < 11) {
            return new Step(
                Step.Kind.CLIP,
                attributes.getFloat("min", -Float.MAX_VALUE),
                attributes.getFloat("max", Float.MAX_VALUE));
          }
          Float low = node.hasInput(1) ? scalar(node.inputs().get(1), analysis) : null;
          Float high = node.hasInput(2) ? scalar(node.inputs().get(2), analysis) : null;
          if ((node.hasInput(1) && low == null) || (node.hasInput(2) && high == null)) {
            return null;
          }
          return new Step(
              Step.Kind.CLIP,
              low == null ? Float.NEGATIVE_INFINITY : low,
              high == null ? Float.POSITIVE_INFINITY : high);
        }
      case ADD:
      case SUB:
      case MUL:
      case DIV:
      case POW:
        return binaryStep(node, acc, x, analysis);
      default:
        return null;
    }
  }

  private static boolean isBinary(Node node) {
    return switch (node.op()) {
      case ADD, SUB, MUL, DIV, POW -> true;
      default -> false;
    };
  }

  private static Step binaryStep(Node node, String acc, String x, ShapeInference.Result analysis) {
    String p = node.inputs().get(0);
    String q = node.inputs().get(1);
    boolean accFirst = p.equals(acc);
    if (!accFirst && !q.equals(acc)) {
      return null;
    }
    String other = accFirst ? q : p;
    Float constant = scalar(other, analysis);
    if (constant != null) {
      float c = constant;
      return switch (node.op()) {
        case ADD -> new Step(Step.Kind.ADD, c, 0);
        case MUL -> new Step(Step.Kind.MUL, c, 0);
        case SUB -> new Step(accFirst ? Step.Kind.SUB : Step.Kind.REVERSE_SUB, c, 0);
        case DIV -> new Step(accFirst ? Step.Kind.DIV : Step.Kind.REVERSE_DIV, c, 0);
        case POW -> accFirst ? new Step(Step.Kind.POW, c, 0) : null;
        default -> null;
      };
    }
    if (other.equals(x) && !acc.equals(x)) {
      return switch (node.op()) {
        case ADD -> new Step(Step.Kind.ADD_INPUT, 0, 0);
        case MUL -> new Step(Step.Kind.MUL_INPUT, 0, 0);
        default -> null;
      };
    }
    return null;
  }

  /** The value of a plan-time float scalar, or null. */
  private static Float scalar(String name, ShapeInference.Result analysis) {
    ConstTensor value = analysis.values().get(name);
    if (value == null || !value.isFloat() || value.floats().length != 1) {
      return null;
    }
    return value.floats()[0];
  }
}
