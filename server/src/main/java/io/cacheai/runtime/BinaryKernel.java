package io.cacheai.runtime;

import java.nio.FloatBuffer;

/**
 * Elementwise binary ops (Add, Sub, Mul, Div, Pow) with numpy broadcasting.
 *
 * <p>At plan time the output's axes are collapsed: neighbouring axes that both operands read
 * contiguously (or both broadcast) merge, so e.g. [N,C,H,W]·[N,C,1,1] becomes [N·C, H·W] with the
 * second operand's inner stride 0. At run time the operands are copied to heap arrays (C2
 * vectorizes loops over arrays, not over direct buffers), each output row of the innermost axis is
 * one tight loop, and an odometer walks the outer axes.
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
    float[] x = frame.heap(2, countA);
    float[] y = frame.heap(3, countB);
    float[] z = frame.heap(1, countOut);
    frame.buffer(a).get(0, x, 0, countA);
    frame.buffer(b).get(0, y, 0, countB);
    if (countOut == 0) {
      return;
    }
    int rank = dims.length;
    int inner = dims[rank - 1];
    int sx = stridesA[rank - 1];
    int sy = stridesB[rank - 1];
    int[] index = new int[rank];
    int ix = 0;
    int iy = 0;
    for (int base = 0; base < countOut; base += inner) {
      apply(op, x, ix, sx, y, iy, sy, z, base, inner);
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
    FloatBuffer target = frame.buffer(out);
    target.put(0, z, 0, countOut);
  }

  /** z[iz..iz+n) = x op y, where x and y advance by sx and sy (each 0 or 1). */
  static void apply(
      Op op, float[] x, int ix, int sx, float[] y, int iy, int sy, float[] z, int iz, int n) {
    if (sx == 0 && sy == 0) {
      float value = scalar(op, x[ix], y[iy]);
      java.util.Arrays.fill(z, iz, iz + n, value);
      return;
    }
    switch (op) {
      case ADD -> {
        if (sx == 1 && sy == 1) {
          for (int i = 0; i < n; i++) {
            z[iz + i] = x[ix + i] + y[iy + i];
          }
        } else if (sy == 0) {
          float b = y[iy];
          for (int i = 0; i < n; i++) {
            z[iz + i] = x[ix + i * sx] + b;
          }
        } else {
          float a = x[ix];
          for (int i = 0; i < n; i++) {
            z[iz + i] = a + y[iy + i];
          }
        }
      }
      case SUB -> {
        if (sx == 1 && sy == 1) {
          for (int i = 0; i < n; i++) {
            z[iz + i] = x[ix + i] - y[iy + i];
          }
        } else if (sy == 0) {
          float b = y[iy];
          for (int i = 0; i < n; i++) {
            z[iz + i] = x[ix + i * sx] - b;
          }
        } else {
          float a = x[ix];
          for (int i = 0; i < n; i++) {
            z[iz + i] = a - y[iy + i];
          }
        }
      }
      case MUL -> {
        if (sx == 1 && sy == 1) {
          for (int i = 0; i < n; i++) {
            z[iz + i] = x[ix + i] * y[iy + i];
          }
        } else if (sy == 0) {
          float b = y[iy];
          for (int i = 0; i < n; i++) {
            z[iz + i] = x[ix + i * sx] * b;
          }
        } else {
          float a = x[ix];
          for (int i = 0; i < n; i++) {
            z[iz + i] = a * y[iy + i];
          }
        }
      }
      case DIV -> {
        if (sx == 1 && sy == 1) {
          for (int i = 0; i < n; i++) {
            z[iz + i] = x[ix + i] / y[iy + i];
          }
        } else if (sy == 0) {
          float b = y[iy];
          for (int i = 0; i < n; i++) {
            z[iz + i] = x[ix + i * sx] / b;
          }
        } else {
          float a = x[ix];
          for (int i = 0; i < n; i++) {
            z[iz + i] = a / y[iy + i];
          }
        }
      }
      case POW -> {
        if (sy == 0 && y[iy] == 2f) {
          for (int i = 0; i < n; i++) {
            float v = x[ix + i];
            z[iz + i] = v * v;
          }
        } else if (sy == 0 && y[iy] == 0.5f) {
          for (int i = 0; i < n; i++) {
            z[iz + i] = (float) Math.sqrt(x[ix + i]);
          }
        } else {
          for (int i = 0; i < n; i++) {
            z[iz + i] = (float) Math.pow(x[ix + i * sx], y[iy + i * sy]);
          }
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
