package io.cacheai.runtime;

import java.nio.FloatBuffer;

/**
 * Elementwise binary ops (Add, Sub, Mul, Div, Pow) with numpy broadcasting.
 *
 * <p>At plan time the output's axes are collapsed: neighbouring axes that both operands read
 * contiguously (or both broadcast) merge, so e.g. [N,C,H,W]·[N,C,1,1] becomes [N·C, H·W] with the
 * second operand's inner stride 0. At run time each output row of the innermost axis is read from
 * the arena into heap arrays at offset 0 (C2 vectorizes loops over arrays, not over direct buffers,
 * and not over arrays read at different offsets), computed by one tight loop and written back; an
 * odometer walks the outer axes.
 */
final class BinaryKernel implements Kernel {
  enum Op {
    ADD,
    SUB,
    MUL,
    DIV,
    POW
  }

  private final Op op;
  private final int a;
  private final int b;
  private final int out;
  private final int countA;
  private final int countB;
  private final int countOut;
  private final int[] dims;
  private final int[] stridesA;
  private final int[] stridesB;

  BinaryKernel(Op op, int a, int b, int out, long[] shapeA, long[] shapeB, long[] outShape) {
    this.op = op;
    this.a = a;
    this.b = b;
    this.out = out;
    this.countA = Math.toIntExact(io.cacheai.graph.Shapes.elementCount(shapeA));
    this.countB = Math.toIntExact(io.cacheai.graph.Shapes.elementCount(shapeB));
    this.countOut = Math.toIntExact(io.cacheai.graph.Shapes.elementCount(outShape));
    long[] sa = Broadcast.strides(shapeA, outShape);
    long[] sb = Broadcast.strides(shapeB, outShape);
    int[] d = new int[outShape.length + 1];
    int[] ta = new int[d.length];
    int[] tb = new int[d.length];
    int rank = 0;
    for (int i = 0; i < outShape.length; i++) {
      if (outShape[i] == 1) {
        continue;
      }
      int dim = Math.toIntExact(outShape[i]);
      if (rank > 0 && ta[rank - 1] == sa[i] * dim && tb[rank - 1] == sb[i] * dim) {
        d[rank - 1] *= dim;
        ta[rank - 1] = (int) sa[i];
        tb[rank - 1] = (int) sb[i];
      } else {
        d[rank] = dim;
        ta[rank] = (int) sa[i];
        tb[rank] = (int) sb[i];
        rank++;
      }
    }
    if (rank == 0) { // a single element
      d[0] = countOut;
      rank = 1;
    }
    this.dims = java.util.Arrays.copyOf(d, rank);
    this.stridesA = java.util.Arrays.copyOf(ta, rank);
    this.stridesB = java.util.Arrays.copyOf(tb, rank);
  }

  @Override
  public void run(Frame frame) {
    if (countOut == 0) {
      return;
    }
    FloatBuffer x = frame.buffer(a);
    FloatBuffer y = frame.buffer(b);
    FloatBuffer z = frame.buffer(out);
    int rank = dims.length;
    int inner = dims[rank - 1];
    int sx = stridesA[rank - 1];
    int sy = stridesB[rank - 1];
    float[] r = frame.heap(2, inner);
    float[] s = frame.heap(3, inner);
    int[] index = frame.odometer(rank);
    int ix = 0;
    int iy = 0;
    for (int base = 0; base < countOut; base += inner) {
      // Each row is computed at offset 0 of heap arrays: C2 vectorizes such loops, not ones
      // whose operands sit at different offsets.
      if (sx == 1 && sy == 1) {
        x.get(ix, r, 0, inner);
        y.get(iy, s, 0, inner);
        vectorVector(op, r, s, inner);
      } else if (sx == 1) {
        x.get(ix, r, 0, inner);
        vectorScalar(op, r, y.get(iy), inner);
      } else if (sy == 1) {
        y.get(iy, s, 0, inner);
        scalarVector(op, x.get(ix), s, r, inner);
      } else {
        java.util.Arrays.fill(r, 0, inner, scalar(op, x.get(ix), y.get(iy)));
      }
      z.put(base, r, 0, inner);
      for (int axis = rank - 2; axis >= 0; axis--) {
        index[axis]++;
        ix += stridesA[axis];
        iy += stridesB[axis];
        if (index[axis] < dims[axis]) {
          break;
        }
        ix -= stridesA[axis] * dims[axis];
        iy -= stridesB[axis] * dims[axis];
        index[axis] = 0;
      }
    }
  }

  /** r = r op s. */
  private static void vectorVector(Op op, float[] r, float[] s, int n) {
    switch (op) {
      case ADD -> {
        for (int i = 0; i < n; i++) {
          r[i] = r[i] + s[i];
        }
      }
      case SUB -> {
        for (int i = 0; i < n; i++) {
          r[i] = r[i] - s[i];
        }
      }
      case MUL -> {
        for (int i = 0; i < n; i++) {
          r[i] = r[i] * s[i];
        }
      }
      case DIV -> {
        for (int i = 0; i < n; i++) {
          r[i] = r[i] / s[i];
        }
      }
      case POW -> {
        for (int i = 0; i < n; i++) {
          r[i] = (float) Math.pow(r[i], s[i]);
        }
      }
    }
  }

  /** r = r op b. */
  private static void vectorScalar(Op op, float[] r, float b, int n) {
    switch (op) {
      case ADD -> {
        for (int i = 0; i < n; i++) {
          r[i] = r[i] + b;
        }
      }
      case SUB -> {
        for (int i = 0; i < n; i++) {
          r[i] = r[i] - b;
        }
      }
      case MUL -> {
        for (int i = 0; i < n; i++) {
          r[i] = r[i] * b;
        }
      }
      case DIV -> {
        for (int i = 0; i < n; i++) {
          r[i] = r[i] / b;
        }
      }
      case POW -> {
        if (b == 2f) {
          for (int i = 0; i < n; i++) {
            r[i] = r[i] * r[i];
          }
        } else if (b == 0.5f) {
          for (int i = 0; i < n; i++) {
            r[i] = (float) Math.sqrt(r[i]);
          }
        } else {
          for (int i = 0; i < n; i++) {
            r[i] = (float) Math.pow(r[i], b);
          }
        }
      }
    }
  }

  /** r = a op s. */
  private static void scalarVector(Op op, float a, float[] s, float[] r, int n) {
    switch (op) {
      case ADD -> {
        for (int i = 0; i < n; i++) {
          r[i] = a + s[i];
        }
      }
      case SUB -> {
        for (int i = 0; i < n; i++) {
          r[i] = a - s[i];
        }
      }
      case MUL -> {
        for (int i = 0; i < n; i++) {
          r[i] = a * s[i];
        }
      }
      case DIV -> {
        for (int i = 0; i < n; i++) {
          r[i] = a / s[i];
        }
      }
      case POW -> {
        for (int i = 0; i < n; i++) {
          r[i] = (float) Math.pow(a, s[i]);
        }
      }
    }
  }

  private static float scalar(Op op, float x, float y) {
    return switch (op) {
      case ADD -> x + y;
      case SUB -> x - y;
      case MUL -> x * y;
      case DIV -> x / y;
      case POW -> (float) Math.pow(x, y);
    };
  }
}
