package io.cacheai.graph;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The shape of every value of a graph for one set of input shapes, computed from the inputs'
 * shapes, the constants and each op's ONNX shape rule — and, on the way, the value of everything
 * that is known before request data arrives: integer "shape subgraphs" (Shape → Cast → Slice →
 * Concat → Reshape) and constant arithmetic are evaluated here by {@link ConstantFolder}. The
 * importer runs it to refuse inconsistent models; the runtime runs it once per distinct set of
 * input shapes to plan buffers, so a width that varies per request gets its own folded shapes.
 *
 * <p>Only float tensors are computed per request: an integer tensor that would depend on request
 * data is refused here with the node's name.
 */
public final class ShapeInference {
  /** Float values larger than this are left to the runtime rather than folded (bytes / 4). */
  private static final long MAX_FOLDED_FLOATS = 1 << 16;

  private ShapeInference() {}

  /**
   * The outcome: every value's shape, and the values known at plan time (the graph's constants and
   * the folded node outputs).
   */
  public record Result(Map<String, long[]> shapes, Map<String, ConstTensor> values) {
    /** Whether {@code name} is known at plan time (a constant or folded). */
    public boolean isStatic(String name) {
      return values.containsKey(name);
    }
  }

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
    return analyze(graph, inputShapes).shapes();
  }

  /** Shapes and plan-time values, given a concrete shape for each graph input. */
  public static Result analyze(Graph graph, Map<String, long[]> inputShapes) {
    Map<String, long[]> shapes = new HashMap<>();
    Map<String, ConstTensor> values = new HashMap<>(graph.constants());
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
      ConstTensor[] known = new ConstTensor[in.length];
      boolean allStatic = true;
      boolean anyInteger = false;
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
        known[i] = values.get(name);
        allStatic &= known[i] != null;
        anyInteger |= known[i] != null && !known[i].isFloat();
      }
      String output = node.outputs().get(0);
      try {
        if (node.op() == OpType.SHAPE) {
          long[] shape = shapeOf(node, in[0]);
          shapes.put(output, new long[] {shape.length});
          values.put(output, ConstTensor.ofLongs(new long[] {shape.length}, shape));
          continue;
        }
        long[] out = outputShape(graph, node, in, values);
        shapes.put(output, out);
        if (allStatic
            && ConstantFolder.supports(node.op())
            && (anyInteger || Shapes.elementCount(out) <= MAX_FOLDED_FLOATS)) {
          values.put(output, ConstantFolder.evaluate(graph, node, known, in, out, values));
        } else {
          requireFloatData(graph, node, known);
        }
      } catch (ArithmeticException e) {
        throw new IllegalArgumentException(node.describe() + ": shape overflow", e);
      }
    }
    return new Result(shapes, values);
  }

  /** Shape's output: the input's dims, from {@code start} to {@code end} (opset 15). */
  private static long[] shapeOf(Node node, long[] shape) {
    int rank = shape.length;
    long start = node.attributes().getLong("start", 0);
    long end = node.attributes().getLong("end", rank);
    start = Math.max(0, Math.min(rank, start < 0 ? start + rank : start));
    end = Math.max(0, Math.min(rank, end < 0 ? end + rank : end));
    return end > start ? Arrays.copyOfRange(shape, (int) start, (int) end) : new long[0];
  }

  /** A node computed per request reads float data only; integer inputs must be parameters. */
  private static void requireFloatData(Graph graph, Node node, ConstTensor[] known) {
    int dataInputs =
        switch (node.op()) {
          case RESHAPE, SLICE, SQUEEZE, UNSQUEEZE, REDUCE_MEAN, RESIZE -> 1;
          default -> known.length;
        };
    for (int i = 0; i < dataInputs; i++) {
      if (known[i] != null && !known[i].isFloat()) {
        throw new IllegalArgumentException(
            node.describe()
                + ": input '"
                + node.inputs().get(i)
                + "' is an integer tensor: integer data is not supported at request time (integer"
                + " tensors are only evaluated in shape computations known before the request)");
      }
    }
    if (node.op() == OpType.CAST && !OpParams.castToFloat(node) && known[0] == null) {
      throw new IllegalArgumentException(
          node.describe()
              + ": cast to integer type "
              + node.attributes().getLong("to", 0)
              + " of a value computed per request is not supported (only float tensors run per"
              + " request)");
    }
  }

  /**
   * The node has the inputs its op reads: at least the required ones (given, not empty names) and
   * at most the optional ones too, so that no rule below or kernel reads a missing input.
   */
  private static void requireInputCount(Node node) {
    int required;
    int optional;
    switch (node.op()) {
      case ADD, SUB, MUL, DIV, POW, MAT_MUL, RESHAPE -> {
        required = 2;
        optional = 0;
      }
      case GEMM, CONV, CONV_TRANSPOSE -> {
        required = 2;
        optional = 1;
      }
      case BATCH_NORMALIZATION -> {
        required = 5;
        optional = 0;
      }
      case CLIP -> { // min and max: attributes before opset 11, optional inputs since
        required = 1;
        optional = 2;
      }
      case SLICE -> { // starts, ends, axes, steps: attributes before opset 10
        required = 1;
        optional = 4;
      }
      case SQUEEZE, UNSQUEEZE, REDUCE_MEAN -> { // axes: an attribute before opset 13 (18)
        required = 1;
        optional = 1;
      }
      case RESIZE -> { // roi, scales, sizes (opset 10: scales only)
        required = 1;
        optional = 3;
      }
      case CONCAT -> {
        required = 1;
        optional = Integer.MAX_VALUE - 1;
      }
      case CONSTANT -> {
        required = 0;
        optional = 0;
      }
      case ABS,
          NEG,
          EXP,
          TANH,
          SQRT,
          RELU,
          SIGMOID,
          HARD_SIGMOID,
          IDENTITY,
          SOFTMAX,
          FLATTEN,
          MAX_POOL,
          AVERAGE_POOL,
          GLOBAL_AVERAGE_POOL,
          SHAPE,
          CAST,
          TRANSPOSE,
          QLINEAR_GEMM,
          QLINEAR_CONV,
          LOW_BIT_GEMM,
          LOW_BIT_CONV,
          LOOKUP_GEMM,
          LOOKUP_CONV -> {
        required = 1;
        optional = 0;
      }
      default -> throw new IllegalStateException(node.describe() + ": no arity for this op");
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
              + (optional == Integer.MAX_VALUE - 1
                  ? " or more"
                  : optional > 0 ? " to " + (required + optional) : "")
              + " (the first "
              + required
              + " given)");
    }
  }

  private static long[] outputShape(
      Graph graph, Node node, long[][] in, Map<String, ConstTensor> values) {
    Attributes attributes = node.attributes();
    return switch (node.op()) {
      case ADD, SUB, MUL, DIV, POW -> broadcast(node, in[0], in[1]);
      case RELU, IDENTITY, SOFTMAX, SIGMOID, HARD_SIGMOID, SQRT, ABS, NEG, EXP, TANH, CAST ->
          in[0].clone();
      case CLIP -> {
        for (int i = 1; i < in.length; i++) {
          if (in[i] != null && Shapes.elementCount(in[i]) != 1) {
            throw new IllegalArgumentException(
                node.describe() + ": min/max must be scalars, got " + Shapes.toString(in[i]));
          }
        }
        yield in[0].clone();
      }
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
      case RESHAPE -> reshape(node, in[0], values);
      case GEMM -> gemm(node, in);
      case MAT_MUL -> matMul(node, in[0], in[1]);
      case CONV -> conv(node, in);
      // x [..., D] -> [..., M]: every leading axis is a row (a MatMul by a constant, a 1x1 Conv
      // between Transposes)
      case QLINEAR_GEMM, LOW_BIT_GEMM, LOOKUP_GEMM ->
          quantizedGemm(node, in[0], weightShape(node, 2));
      case QLINEAR_CONV, LOW_BIT_CONV -> conv(node, new long[][] {in[0], weightShape(node, 0)});
      case LOOKUP_CONV -> conv(node, new long[][] {in[0], lookupConvWeightShape(node, in[0])});
      case MAX_POOL, AVERAGE_POOL -> pool(node, in[0]);
      case GLOBAL_AVERAGE_POOL -> {
        requireRankAtLeast(node, in[0], 3);
        long[] out = in[0].clone();
        Arrays.fill(out, 2, out.length, 1);
        yield out;
      }
      case REDUCE_MEAN -> OpParams.reduceShape(graph, node, in[0], values);
      case SLICE -> OpParams.slice(graph, node, in[0], values).outShape();
      case SQUEEZE -> OpParams.squeezeShape(graph, node, in[0], values);
      case UNSQUEEZE -> OpParams.unsqueezeShape(graph, node, in[0], values);
      case TRANSPOSE -> {
        int[] perm = OpParams.perm(node, in[0].length);
        long[] out = new long[perm.length];
        for (int i = 0; i < perm.length; i++) {
          out[i] = in[0][perm[i]];
        }
        yield out;
      }
      case CONCAT -> concat(node, in);
      case RESIZE -> ResizeGeometry.resolve(graph, node, in[0], values).outShape();
      case CONV_TRANSPOSE -> {
        long group = attributes.getLong("group", 1);
        if (in[1].length != in[0].length
            || in[1][0] != in[0][1]
            || group < 1
            || in[0][1] % group != 0) {
          throw new IllegalArgumentException(
              node.describe()
                  + ": weight "
                  + Shapes.toString(in[1])
                  + " does not match input "
                  + Shapes.toString(in[0])
                  + " with group "
                  + group);
        }
        long outChannels = in[1][1] * group;
        if (node.hasInput(2) && (in[2].length != 1 || in[2][0] != outChannels)) {
          throw new IllegalArgumentException(
              node.describe()
                  + ": bias "
                  + Shapes.toString(in[2])
                  + ", expected ["
                  + outChannels
                  + "]");
        }
        ConvTransposeGeometry geometry = ConvTransposeGeometry.resolve(node, in[0], in[1]);
        yield withSpatial(
            new long[] {in[0][0], outChannels}, geometry.outputSpatial(in[0].length - 2));
      }
      case SHAPE -> throw new IllegalStateException(node.describe() + ": handled above");
      case CONSTANT ->
          throw new IllegalStateException(node.describe() + ": Constant nodes become constants");
    };
  }

  /**
   * The {@code weight_shape} attribute of a quantized op; {@code rank} 2 means a Gemm weight, which
   * quantized ops always store as [N,K] (returned as [K,N] for the Gemm rule); 0 means any rank.
   */
  /**
   * A quantized Gemm or MatMul by a constant [K,N]: x [..., K] (rank ≥ 2, the leading axes are
   * rows, as MatMul broadcasts a rank-2 right operand) gives y [..., N].
   */
  private static long[] quantizedGemm(Node node, long[] x, long[] kn) {
    if (x.length < 2) {
      throw new IllegalArgumentException(
          node.describe() + ": input " + Shapes.toString(x) + " (expected rank >= 2)");
    }
    if (x.length == 2) {
      return gemm(node, new long[][] {x, kn});
    }
    if (x[x.length - 1] != kn[0]) {
      throw new IllegalArgumentException(
          node.describe()
              + ": inner dimensions differ: A "
              + Shapes.toString(x)
              + " B "
              + Shapes.toString(kn));
    }
    long[] out = x.clone();
    out[out.length - 1] = kn[1];
    return out;
  }

  private static long[] weightShape(Node node, int rank) {
    long[] shape = node.attributes().getLongs("weight_shape");
    if (shape == null || (rank > 0 && shape.length != rank)) {
      throw new IllegalArgumentException(
          node.describe()
              + ": weight_shape="
              + (shape == null ? "missing" : Shapes.toString(shape))
              + (rank > 0 ? " (expected rank " + rank + ")" : ""));
    }
    return rank == 2 ? new long[] {shape[1], shape[0]} : shape;
  }

  private static long[] concat(Node node, long[][] in) {
    if (in.length == 0) {
      throw new IllegalArgumentException(node.describe() + ": no inputs");
    }
    int rank = in[0].length;
    int axis = Shapes.normalizeAxis(node.attributes().getLong("axis", 0), rank, node.describe());
    long[] out = in[0].clone();
    out[axis] = 0;
    for (long[] shape : in) {
      boolean fits = shape.length == rank;
      for (int i = 0; fits && i < rank; i++) {
        fits = i == axis || shape[i] == out[i];
      }
      if (!fits) {
        throw new IllegalArgumentException(
            node.describe()
                + ": input "
                + Shapes.toString(shape)
                + " does not match "
                + Shapes.toString(in[0])
                + " outside axis "
                + axis);
      }
      out[axis] += shape[axis];
    }
    return out;
  }

  private static long[] broadcast(Node node, long[] a, long[] b) {
    try {
      return Shapes.broadcast(a, b);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(node.describe() + ": " + e.getMessage());
    }
  }

  private static long[] reshape(Node node, long[] input, Map<String, ConstTensor> values) {
    ConstTensor target = values.get(node.inputs().get(1));
    if (target == null || target.isFloat()) {
      throw new IllegalArgumentException(
          node.describe()
              + ": the shape input must be an int64 tensor known before the request (a constant"
              + " or computed from shapes)");
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

  /**
   * The 4-D weight shape [M,C,kH,kW] a LookupConv stands for: {@code weight_shape} [M,D] with D =
   * C·kH·kW for the input's C channels and the node's {@code kernel_shape}.
   */
  private static long[] lookupConvWeightShape(Node node, long[] x) {
    long[] dm = weightShape(node, 2); // [D, M]
    long[] weightShape = {dm[1], dm[0]};
    long[] kernel = node.attributes().getLongs("kernel_shape");
    if (x.length != 4 || kernel == null || kernel.length != 2 || kernel[0] < 1 || kernel[1] < 1) {
      throw new IllegalArgumentException(
          node.describe()
              + ": input "
              + Shapes.toString(x)
              + " kernel_shape="
              + (kernel == null ? "missing" : Arrays.toString(kernel))
              + " (expected [N,C,H,W] and two kernel dims >= 1)");
    }
    if (weightShape[1] != x[1] * kernel[0] * kernel[1]) {
      throw new IllegalArgumentException(
          node.describe()
              + ": weight_shape="
              + Arrays.toString(weightShape)
              + " but input channels "
              + x[1]
              + " x kernel "
              + kernel[0]
              + "x"
              + kernel[1]
              + " = "
              + x[1] * kernel[0] * kernel[1]
              + " patch values");
    }
    return new long[] {weightShape[0], x[1], kernel[0], kernel[1]};
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
