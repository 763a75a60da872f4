package io.cacheai.graph;

import java.util.Map;

/**
 * Evaluates a node in plain Java when all its inputs are known before any request data arrives: the
 * integer "shape subgraphs" exporters emit (Shape → Cast → Slice → Concat → Reshape) and small
 * constant arithmetic. The runtime is fp32-only, so integer tensors exist only here, at plan time.
 */
final class ConstantFolder {
  private ConstantFolder() {}

  /** Whether {@code op} can be evaluated here. */
  static boolean supports(OpType op) {
    return switch (op) {
      case IDENTITY,
          RESHAPE,
          FLATTEN,
          SQUEEZE,
          UNSQUEEZE,
          CAST,
          CONCAT,
          SLICE,
          ADD,
          SUB,
          MUL,
          DIV,
          NEG ->
          true;
      default -> false;
    };
  }

  /** The node's output value; inputs are the known values in node input order (null if absent). */
  static ConstTensor evaluate(
      Graph graph,
      Node node,
      ConstTensor[] in,
      long[][] inShapes,
      long[] outShape,
      Map<String, ConstTensor> values) {
    return switch (node.op()) {
      case IDENTITY, RESHAPE, FLATTEN, SQUEEZE, UNSQUEEZE -> reshaped(in[0], outShape);
      case CAST -> cast(in[0], OpParams.castToFloat(node));
      case CONCAT -> concat(node, in, inShapes, outShape);
      case SLICE -> {
        int[] source = OpParams.slice(graph, node, inShapes[0], values).sourceIndex(inShapes[0]);
        if (in[0].isFloat()) {
          float[] out = new float[source.length];
          for (int i = 0; i < out.length; i++) {
            out[i] = in[0].floats()[source[i]];
          }
          yield ConstTensor.ofFloats(outShape, out);
        }
        long[] out = new long[source.length];
        for (int i = 0; i < out.length; i++) {
          out[i] = in[0].longs()[source[i]];
        }
        yield ConstTensor.ofLongs(outShape, out);
      }
      case NEG ->
          in[0].isFloat()
              ? unaryFloat(in[0], outShape)
              : ConstTensor.ofLongs(
                  outShape, java.util.Arrays.stream(in[0].longs()).map(v -> -v).toArray());
      case ADD, SUB, MUL, DIV -> binary(node, in[0], in[1], inShapes, outShape);
      default -> throw new IllegalStateException(node.describe() + ": not foldable");
    };
  }

  private static ConstTensor unaryFloat(ConstTensor x, long[] outShape) {
    float[] out = x.floats().clone();
    for (int i = 0; i < out.length; i++) {
      out[i] = -out[i];
    }
    return ConstTensor.ofFloats(outShape, out);
  }

  private static ConstTensor reshaped(ConstTensor x, long[] shape) {
    return x.isFloat()
        ? ConstTensor.ofFloats(shape, x.floats())
        : ConstTensor.ofLongs(shape, x.longs());
  }

  private static ConstTensor cast(ConstTensor x, boolean toFloat) {
    if (toFloat) {
      if (x.isFloat()) {
        return x;
      }
      float[] out = new float[x.longs().length];
      for (int i = 0; i < out.length; i++) {
        out[i] = x.longs()[i];
      }
      return ConstTensor.ofFloats(x.shape(), out);
    }
    if (!x.isFloat()) {
      return x;
    }
    long[] out = new long[x.floats().length];
    for (int i = 0; i < out.length; i++) {
      out[i] = (long) x.floats()[i]; // truncation toward zero, as C casts
    }
    return ConstTensor.ofLongs(x.shape(), out);
  }

  private static ConstTensor concat(Node node, ConstTensor[] in, long[][] shapes, long[] outShape) {
    int axis =
        Shapes.normalizeAxis(
            node.attributes().getLong("axis", 0), outShape.length, node.describe());
    boolean floats = in[0].isFloat();
    long outer = Shapes.product(outShape, 0, axis);
    long inner = Shapes.product(outShape, axis + 1, outShape.length);
    int total = Math.toIntExact(Shapes.elementCount(outShape));
    float[] f = floats ? new float[total] : null;
    long[] l = floats ? null : new long[total];
    int position = 0;
    for (long o = 0; o < outer; o++) {
      for (int i = 0; i < in.length; i++) {
        if (in[i].isFloat() != floats) {
          throw new IllegalArgumentException(node.describe() + ": inputs differ in element type");
        }
        int block = Math.toIntExact(shapes[i][axis] * inner);
        if (floats) {
          System.arraycopy(in[i].floats(), (int) (o * block), f, position, block);
        } else {
          System.arraycopy(in[i].longs(), (int) (o * block), l, position, block);
        }
        position += block;
      }
    }
    return floats ? ConstTensor.ofFloats(outShape, f) : ConstTensor.ofLongs(outShape, l);
  }

  private static ConstTensor binary(
      Node node, ConstTensor a, ConstTensor b, long[][] shapes, long[] outShape) {
    if (a.isFloat() != b.isFloat()) {
      throw new IllegalArgumentException(node.describe() + ": inputs differ in element type");
    }
    int[] ia = broadcastIndex(shapes[0], outShape);
    int[] ib = broadcastIndex(shapes[1], outShape);
    if (a.isFloat()) {
      float[] out = new float[ia.length];
      for (int i = 0; i < out.length; i++) {
        float x = a.floats()[ia[i]];
        float y = b.floats()[ib[i]];
        out[i] =
            switch (node.op()) {
              case ADD -> x + y;
              case SUB -> x - y;
              case MUL -> x * y;
              default -> x / y;
            };
      }
      return ConstTensor.ofFloats(outShape, out);
    }
    long[] out = new long[ia.length];
    for (int i = 0; i < out.length; i++) {
      long x = a.longs()[ia[i]];
      long y = b.longs()[ib[i]];
      if (node.op() == OpType.DIV && y == 0) {
        throw new IllegalArgumentException(node.describe() + ": integer division by zero");
      }
      out[i] =
          switch (node.op()) {
            case ADD -> x + y;
            case SUB -> x - y;
            case MUL -> x * y;
            default -> x / y;
          };
    }
    return ConstTensor.ofLongs(outShape, out);
  }

  /** For each element of {@code to}, the element of broadcast operand {@code from} it reads. */
  static int[] broadcastIndex(long[] from, long[] to) {
    int rank = to.length;
    long[] strides = new long[rank];
    long stride = 1;
    for (int i = rank - 1; i >= 0; i--) {
      int j = i - (rank - from.length);
      long dim = j >= 0 ? from[j] : 1;
      strides[i] = dim == 1 ? 0 : stride;
      stride *= dim;
    }
    int count = Math.toIntExact(Shapes.elementCount(to));
    int[] index = new int[count];
    long[] position = new long[rank];
    long offset = 0;
    for (int o = 0; o < count; o++) {
      index[o] = (int) offset;
      for (int axis = rank - 1; axis >= 0; axis--) {
        position[axis]++;
        offset += strides[axis];
        if (position[axis] < to[axis]) {
          break;
        }
        offset -= strides[axis] * to[axis];
        position[axis] = 0;
      }
    }
    return index;
  }
}
