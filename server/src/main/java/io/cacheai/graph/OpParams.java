package io.cacheai.graph;

import java.util.Arrays;
import java.util.Map;

/**
 * Reads an op's parameters where its opset puts them: attributes in older opsets, inputs in newer
 * ones (Slice from 10, Squeeze/Unsqueeze from 13, ReduceMean from 18, Clip from 11). Parameter
 * inputs must be known when a plan is built: constants or values computed from shapes.
 */
public final class OpParams {
  private OpParams() {}

  /** The integer elements of input {@code index}, which must be known at plan time. */
  public static long[] staticLongs(Node node, int index, Map<String, ConstTensor> values) {
    ConstTensor value = values.get(node.inputs().get(index));
    if (value == null) {
      throw new IllegalArgumentException(
          node.describe()
              + ": input "
              + index
              + " ('"
              + node.inputs().get(index)
              + "') must be a constant or computed from shapes; it depends on request data");
    }
    if (value.isFloat()) {
      throw new IllegalArgumentException(
          node.describe() + ": input " + index + " must be an integer tensor");
    }
    return value.longs();
  }

  /** Optional integer input {@code index} if given, else the INTS attribute (or null). */
  private static long[] inputOrAttribute(
      Graph graph,
      Node node,
      int index,
      int inputSinceOpset,
      String attribute,
      Map<String, ConstTensor> values) {
    if (graph.opsetVersion() >= inputSinceOpset) {
      return node.hasInput(index) ? staticLongs(node, index, values) : null;
    }
    return node.attributes().getLongs(attribute);
  }

  /** Slice's geometry for an input of {@code inShape}. */
  public static SliceGeometry slice(
      Graph graph, Node node, long[] inShape, Map<String, ConstTensor> values) {
    long[] starts;
    long[] ends;
    long[] axes;
    long[] steps = null;
    if (graph.opsetVersion() >= 10) {
      starts = staticLongs(node, 1, values);
      ends = staticLongs(node, 2, values);
      axes = node.hasInput(3) ? staticLongs(node, 3, values) : null;
      steps = node.hasInput(4) ? staticLongs(node, 4, values) : null;
    } else {
      starts = require(node, node.attributes().getLongs("starts"), "starts");
      ends = require(node, node.attributes().getLongs("ends"), "ends");
      axes = node.attributes().getLongs("axes");
    }
    return SliceGeometry.resolve(node, inShape, starts, ends, axes, steps);
  }

  /**
   * ReduceMean: which axes are reduced (all when no axes are given, unless noop_with_empty_axes).
   */
  public static boolean[] reducedAxes(
      Graph graph, Node node, int rank, Map<String, ConstTensor> values) {
    long[] axes = inputOrAttribute(graph, node, 1, 18, "axes", values);
    boolean[] reduced = new boolean[rank];
    if (axes == null || axes.length == 0) {
      boolean noop = node.attributes().getLong("noop_with_empty_axes", 0) != 0;
      Arrays.fill(reduced, !noop);
      return reduced;
    }
    for (long axis : axes) {
      reduced[Shapes.normalizeAxis(axis, rank, node.describe())] = true;
    }
    return reduced;
  }

  /** ReduceMean's output shape. */
  public static long[] reduceShape(
      Graph graph, Node node, long[] inShape, Map<String, ConstTensor> values) {
    boolean[] reduced = reducedAxes(graph, node, inShape.length, values);
    boolean keep = node.attributes().getLong("keepdims", 1) != 0;
    long[] out = new long[inShape.length];
    int rank = 0;
    for (int i = 0; i < inShape.length; i++) {
      if (!reduced[i]) {
        out[rank++] = inShape[i];
      } else if (keep) {
        out[rank++] = 1;
      }
    }
    return Arrays.copyOf(out, rank);
  }

  /** Squeeze's output shape. */
  public static long[] squeezeShape(
      Graph graph, Node node, long[] inShape, Map<String, ConstTensor> values) {
    long[] axes = inputOrAttribute(graph, node, 1, 13, "axes", values);
    boolean[] drop = new boolean[inShape.length];
    if (axes == null) {
      for (int i = 0; i < inShape.length; i++) {
        drop[i] = inShape[i] == 1;
      }
    } else {
      for (long axis : axes) {
        int a = Shapes.normalizeAxis(axis, inShape.length, node.describe());
        if (inShape[a] != 1) {
          throw new IllegalArgumentException(
              node.describe() + ": axis " + axis + " of " + Shapes.toString(inShape) + " is not 1");
        }
        drop[a] = true;
      }
    }
    long[] out = new long[inShape.length];
    int rank = 0;
    for (int i = 0; i < inShape.length; i++) {
      if (!drop[i]) {
        out[rank++] = inShape[i];
      }
    }
    return Arrays.copyOf(out, rank);
  }

  /** Unsqueeze's output shape. */
  public static long[] unsqueezeShape(
      Graph graph, Node node, long[] inShape, Map<String, ConstTensor> values) {
    long[] axes = require(node, inputOrAttribute(graph, node, 1, 13, "axes", values), "axes");
    int rank = inShape.length + axes.length;
    boolean[] inserted = new boolean[rank];
    for (long axis : axes) {
      int a = Shapes.normalizeAxis(axis, rank, node.describe());
      if (inserted[a]) {
        throw new IllegalArgumentException(node.describe() + ": axis " + axis + " given twice");
      }
      inserted[a] = true;
    }
    long[] out = new long[rank];
    for (int i = 0, j = 0; i < rank; i++) {
      out[i] = inserted[i] ? 1 : inShape[j++];
    }
    return out;
  }

  /** Transpose's permutation (default: reversed axes), checked to be one. */
  public static int[] perm(Node node, int rank) {
    long[] perm = node.attributes().getLongs("perm");
    int[] result = new int[rank];
    boolean[] used = new boolean[rank];
    for (int i = 0; i < rank; i++) {
      long axis = perm == null ? rank - 1 - i : (i < perm.length ? perm[i] : -1);
      if (perm != null && perm.length != rank || axis < 0 || axis >= rank || used[(int) axis]) {
        throw new IllegalArgumentException(
            node.describe()
                + ": perm "
                + Arrays.toString(perm)
                + " is not a permutation of rank "
                + rank);
      }
      used[(int) axis] = true;
      result[i] = (int) axis;
    }
    return result;
  }

  /** Cast's target: true for floating point types, false for integer/bool ones. */
  public static boolean castToFloat(Node node) {
    long to = node.attributes().getLong("to", 0);
    return switch ((int) to) {
      case 1, 10, 11, 16 -> true; // FLOAT, FLOAT16, DOUBLE, BFLOAT16
      case 2, 3, 4, 5, 6, 7, 9, 12, 13 -> false; // (U)INT8..64, BOOL
      default ->
          throw new IllegalArgumentException(
              node.describe() + ": cast to data type " + to + " is not supported");
    };
  }

  private static long[] require(Node node, long[] value, String name) {
    if (value == null) {
      throw new IllegalArgumentException(node.describe() + ": " + name + " is required");
    }
    return value;
  }
}
