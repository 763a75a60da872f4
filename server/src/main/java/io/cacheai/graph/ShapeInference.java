package io.cacheai.graph;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The shape of every value of a graph for one batch size, computed from the graph inputs' declared
 * shapes, the constants and each op's ONNX shape rule. The importer runs it to refuse inconsistent
 * models; the runtime runs it once per batch size to plan its buffers.
 */
public final class ShapeInference {
  private ShapeInference() {}

  /**
   * Every value's shape (inputs, constants, node outputs) with the batch dimension set to {@code
   * batch}. Throws {@link IllegalArgumentException} naming the node on any inconsistency.
   */
  public static Map<String, long[]> infer(Graph graph, long batch) {
    Map<String, long[]> inputShapes = new HashMap<>();
    for (ValueInfo input : graph.inputs()) {
      inputShapes.put(input.name(), input.shapeForBatch(batch));
    }
    return infer(graph, inputShapes);
  }

  /** Every value's shape, given a concrete shape for each graph input. */
  public static Map<String, long[]> infer(Graph graph, Map<String, long[]> inputShapes) {
    Map<String, long[]> shapes = new HashMap<>();
    for (ValueInfo input : graph.inputs()) {
      long[] shape = inputShapes.get(input.name());
      if (shape == null) {
        throw new IllegalArgumentException("no shape for graph input '" + input.name() + "'");
      }
      shapes.put(input.name(), shape.clone());
    }
    graph.constants().forEach((name, constant) -> shapes.put(name, constant.shape()));
    for (Node node : graph.nodes()) {
      requireInputCount(node);
      long[][] in = new long[node.inputs().size()][];
      for (int i = 0; i < in.length; i++) {
        String name = node.inputs().get(i);
        if (name.isEmpty()) {
          continue;
        }
        in[i] = shapes.get(name);
        if (in[i] == null) {
          throw new IllegalArgumentException(
              node.describe() + ": input '" + name + "' is not produced before it is used");
        }
      }
      long[] out;
      try {
        out = outputShape(graph, node, in);
      } catch (ArithmeticException e) {
        throw new IllegalArgumentException(node.describe() + ": shape overflow", e);
      }
      shapes.put(node.outputs().get(0), out);
    }
    return shapes;
  }

  /**
   * The node has the inputs its op reads: at least the required ones (given, not empty names) and
   * at most the optional ones too, so that no rule below or kernel reads a missing input.
   */
  private static void requireInputCount(Node node) {
    int required;
    int optional;
    switch (node.op()) {
      case ADD, MAT_MUL, RESHAPE -> {
        required = 2;
        optional = 0;
      }
      case GEMM, CONV -> {
        required = 2;
        optional = 1;
      }
      case BATCH_NORMALIZATION -> {
        required = 5;
        optional = 0;
      }
      case RELU, IDENTITY, SOFTMAX, FLATTEN, MAX_POOL, AVERAGE_POOL -> {
        required = 1;
        optional = 0;
      }
      default -> {
        return; // an op added later states its arity here; its shape rule checks until then
      }
    }
    List<String> inputs = node.inputs();
    boolean missing = false;
    for (int i = 0; i < Math.min(required, inputs.size()); i++) {
      missing |= inputs.get(i).isEmpty();
    }
    if (inputs.size() < required || inputs.size() > required + optional || missing) {
      throw new IllegalArgumentException(
          node.describe()
              + ": inputs "
              + inputs
              + "; "
              + node.op().onnxName()
              + " takes "
              + required
              + (optional > 0 ? " to " + (required + optional) : "")
              + " (the first "
              + required
              + " given)");
    }
  }

  private static long[] outputShape(Graph graph, Node node, long[][] in) {
    Attributes attributes = node.attributes();
    return switch (node.op()) {
      case ADD -> broadcast(node, in[0], in[1]);
      case RELU, IDENTITY, SOFTMAX -> in[0].clone();
      case BATCH_NORMALIZATION -> {
        requireRankAtLeast(node, in[0], 2);
        for (int i = 1; i <= 4; i++) {
          if (in[i].length != 1 || in[i][0] != in[0][1]) {
            throw new IllegalArgumentException(
                node.describe()
                    + ": input "
                    + i
                    + " has shape "
                    + Shapes.toString(in[i])
                    + ", expected ["
                    + in[0][1]
                    + "]");
          }
        }
        yield in[0].clone();
      }
      case FLATTEN -> {
        int axis = (int) attributes.getLong("axis", 1);
        int rank = in[0].length;
        int normalized = axis < 0 ? axis + rank : axis;
        if (normalized < 0 || normalized > rank) {
          throw new IllegalArgumentException(
              node.describe() + ": axis " + axis + " out of range for rank " + rank);
        }
        yield new long[] {
          Shapes.product(in[0], 0, normalized), Shapes.product(in[0], normalized, rank)
        };
      }
      case RESHAPE -> reshape(graph, node, in[0]);
      case GEMM -> gemm(node, in);
      case MAT_MUL -> matMul(node, in[0], in[1]);
      case CONV -> conv(node, in);
      case MAX_POOL, AVERAGE_POOL -> pool(node, in[0]);
      case CONSTANT ->
          throw new IllegalStateException(node.describe() + ": Constant nodes become constants");
    };
  }

  private static long[] broadcast(Node node, long[] a, long[] b) {
    try {
      return Shapes.broadcast(a, b);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(node.describe() + ": " + e.getMessage());
    }
  }

  private static long[] reshape(Graph graph, Node node, long[] input) {
    ConstTensor target = graph.constants().get(node.inputs().get(1));
    if (target == null || target.isFloat()) {
      throw new IllegalArgumentException(
          node.describe() + ": the shape input must be a constant int64 tensor");
    }
    boolean allowZero = node.attributes().getLong("allowzero", 0) != 0;
    long[] shape = target.longs().clone();
    int inferred = -1;
    long known = 1;
    for (int i = 0; i < shape.length; i++) {
      if (shape[i] == 0 && !allowZero) {
        if (i >= input.length) {
          throw new IllegalArgumentException(
              node.describe() + ": 0 at axis " + i + " but the input has rank " + input.length);
        }
        shape[i] = input[i];
      }
      if (shape[i] == -1) {
        if (inferred >= 0) {
          throw new IllegalArgumentException(node.describe() + ": more than one -1 in the shape");
        }
        inferred = i;
      } else if (shape[i] < 0) {
        throw new IllegalArgumentException(
            node.describe() + ": invalid dimension " + shape[i] + " in the shape");
      } else {
        known = Math.multiplyExact(known, shape[i]);
      }
    }
    long count = Shapes.elementCount(input);
    if (inferred >= 0) {
      if (known == 0 || count % known != 0) {
        throw new IllegalArgumentException(
            node.describe()
                + ": cannot reshape "
                + Shapes.toString(input)
                + " to "
                + Arrays.toString(target.longs()));
      }
      shape[inferred] = count / known;
    } else if (known != count) {
      throw new IllegalArgumentException(
          node.describe()
              + ": cannot reshape "
              + Shapes.toString(input)
              + " ("
              + count
              + " elements) to "
              + Shapes.toString(shape));
    }
    return shape;
  }

  private static long[] gemm(Node node, long[][] in) {
    requireRank(node, in[0], 2);
    requireRank(node, in[1], 2);
    boolean transA = node.attributes().getLong("transA", 0) != 0;
    boolean transB = node.attributes().getLong("transB", 0) != 0;
    long m = transA ? in[0][1] : in[0][0];
    long k = transA ? in[0][0] : in[0][1];
    long kb = transB ? in[1][1] : in[1][0];
    long n = transB ? in[1][0] : in[1][1];
    if (k != kb) {
      throw new IllegalArgumentException(
          node.describe()
              + ": inner dimensions differ: A "
              + Shapes.toString(in[0])
              + " B "
              + Shapes.toString(in[1]));
    }
    long[] out = {m, n};
    if (node.hasInput(2) && !Arrays.equals(broadcast(node, out, in[2]), out)) {
      throw new IllegalArgumentException(
          node.describe()
              + ": C "
              + Shapes.toString(in[2])
              + " does not broadcast to "
              + Shapes.toString(out));
    }
    return out;
  }

  /** numpy matmul: 1-D operands are promoted and the promoted axis removed again. */
  static long[] matMul(Node node, long[] a, long[] b) {
    if (a.length == 0 || b.length == 0) {
      throw new IllegalArgumentException(node.describe() + ": scalar operands are not allowed");
    }
    long[] a2 = a.length == 1 ? new long[] {1, a[0]} : a;
    long[] b2 = b.length == 1 ? new long[] {b[0], 1} : b;
    if (a2[a2.length - 1] != b2[b2.length - 2]) {
      throw new IllegalArgumentException(
          node.describe()
              + ": inner dimensions differ: "
              + Shapes.toString(a)
              + " x "
              + Shapes.toString(b));
    }
    long[] batch =
        broadcast(node, Arrays.copyOf(a2, a2.length - 2), Arrays.copyOf(b2, b2.length - 2));
    int rank = batch.length + 2;
    long[] out = Arrays.copyOf(batch, rank);
    out[rank - 2] = a2[a2.length - 2];
    out[rank - 1] = b2[b2.length - 1];
    if (a.length == 1 && b.length == 1) {
      return new long[0];
    }
    if (a.length == 1) {
      long[] squeezed = Arrays.copyOf(out, rank - 1);
      squeezed[rank - 2] = out[rank - 1];
      return squeezed;
    }
    if (b.length == 1) {
      return Arrays.copyOf(out, rank - 1);
    }
    return out;
  }

  private static long[] conv(Node node, long[][] in) {
    long[] x = in[0];
    long[] w = in[1];
    requireRankAtLeast(node, x, 3);
    if (w.length != x.length) {
      throw new IllegalArgumentException(
          node.describe()
              + ": weight "
              + Shapes.toString(w)
              + " and input "
              + Shapes.toString(x)
              + " differ in rank");
    }
    long group = node.attributes().getLong("group", 1);
    if (group < 1 || x[1] % group != 0 || w[0] % group != 0 || w[1] * group != x[1]) {
      throw new IllegalArgumentException(
          node.describe()
              + ": input channels "
              + x[1]
              + ", weight "
              + Shapes.toString(w)
              + " and group "
              + group
              + " do not agree");
    }
    long[] kernel = Arrays.copyOfRange(w, 2, w.length);
    long[] declared = node.attributes().getLongs("kernel_shape");
    if (declared != null && !Arrays.equals(declared, kernel)) {
      throw new IllegalArgumentException(
          node.describe()
              + ": kernel_shape "
              + Arrays.toString(declared)
              + " differs from the weight's "
              + Arrays.toString(kernel));
    }
    if (node.hasInput(2) && (in[2].length != 1 || in[2][0] != w[0])) {
      throw new IllegalArgumentException(
          node.describe() + ": bias " + Shapes.toString(in[2]) + ", expected [" + w[0] + "]");
    }
    Window2d window = Window2d.resolve(node, x, kernel);
    return withSpatial(new long[] {x[0], w[0]}, window.outputSpatial(x.length - 2));
  }

  private static long[] pool(Node node, long[] x) {
    requireRankAtLeast(node, x, 3);
    long[] kernel = node.attributes().getLongs("kernel_shape");
    if (kernel == null) {
      throw new IllegalArgumentException(node.describe() + ": kernel_shape is required");
    }
    Window2d window = Window2d.resolve(node, x, kernel);
    return withSpatial(new long[] {x[0], x[1]}, window.outputSpatial(x.length - 2));
  }

  private static long[] withSpatial(long[] head, long[] spatial) {
    long[] out = Arrays.copyOf(head, head.length + spatial.length);
    System.arraycopy(spatial, 0, out, head.length, spatial.length);
    return out;
  }

  private static void requireRank(Node node, long[] shape, int rank) {
    if (shape.length != rank) {
      throw new IllegalArgumentException(
          node.describe() + ": expected rank " + rank + ", got " + Shapes.toString(shape));
    }
  }

  private static void requireRankAtLeast(Node node, long[] shape, int rank) {
    if (shape.length < rank) {
      throw new IllegalArgumentException(
          node.describe() + ": expected rank >= " + rank + ", got " + Shapes.toString(shape));
    }
  }
}
