package io.cacheai.runtime;

import java.nio.FloatBuffer;

/**
 * {@code C = A + B} with numpy broadcasting. The innermost output axis is a tight loop; outer axes
 * are walked with an odometer over the operands' broadcast strides.
 */
final class AddKernel implements Kernel {
  private final int a;
  private final int b;
  private final int out;
  private final long[] outShape;
  private final long[] stridesA;
  private final long[] stridesB;
  private final boolean sameShape;

  AddKernel(int a, int b, int out, long[] shapeA, long[] shapeB, long[] outShape) {
    this.a = a;
    this.b = b;
    this.out = out;
    this.outShape = outShape.clone();
    this.stridesA = Broadcast.strides(shapeA, outShape);
    this.stridesB = Broadcast.strides(shapeB, outShape);
    this.sameShape =
        Broadcast.isIdentity(shapeA, outShape) && Broadcast.isIdentity(shapeB, outShape);
  }

  @Override
  public void run(Frame frame) {
    FloatBuffer x = frame.buffer(a);
    FloatBuffer y = frame.buffer(b);
    FloatBuffer z = frame.buffer(out);
    int total = z.capacity();
    if (sameShape) {
      for (int i = 0; i < total; i++) {
        z.put(i, x.get(i) + y.get(i));
      }
      return;
    }
    int rank = outShape.length;
    if (rank == 0) {
      z.put(0, x.get(0) + y.get(0));
      return;
    }
    int inner = (int) outShape[rank - 1];
    int strideA = (int) stridesA[rank - 1];
    int strideB = (int) stridesB[rank - 1];
    int[] index = new int[rank];
    long offsetA = 0;
    long offsetB = 0;
    for (int base = 0; base < total; base += inner) {
      int ia = (int) offsetA;
      int ib = (int) offsetB;
      for (int i = 0; i < inner; i++) {
        z.put(base + i, x.get(ia + i * strideA) + y.get(ib + i * strideB));
      }
      // Advance the odometer over the outer axes.
      for (int axis = rank - 2; axis >= 0; axis--) {
        index[axis]++;
        offsetA += stridesA[axis];
        offsetB += stridesB[axis];
        if (index[axis] < outShape[axis]) {
          break;
        }
        offsetA -= stridesA[axis] * outShape[axis];
        offsetB -= stridesB[axis] * outShape[axis];
        index[axis] = 0;
      }
    }
  }
}
