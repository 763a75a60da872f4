package io.cacheai.runtime;

import io.cacheai.graph.Shapes;

/**
 * Transpose: output element [i0..ir] = input element [i_perm^-1...]. The output is written in
 * order; an odometer over its outer axes tracks the input offset, and the innermost output axis is
 * a strided gather from the heap copy of the input.
 */
final class TransposeKernel implements Kernel {
  private final int in;
  private final int out;
  private final int count;
  private final long[] outShape;
  private final long[] inStrides;

  TransposeKernel(int in, int out, long[] inShape, int[] perm) {
    this.in = in;
    this.out = out;
    this.count = Math.toIntExact(Shapes.elementCount(inShape));
    int rank = inShape.length;
    long[] strides = new long[rank];
    long stride = 1;
    for (int i = rank - 1; i >= 0; i--) {
      strides[i] = stride;
      stride *= inShape[i];
    }
    outShape = new long[rank];
    inStrides = new long[rank];
    for (int i = 0; i < rank; i++) {
      outShape[i] = inShape[perm[i]];
      inStrides[i] = strides[perm[i]];
    }
  }

  @Override
  public void run(Frame frame) {
    float[] source = frame.heap(0, count);
    float[] target = frame.heap(1, count);
    frame.buffer(in).get(0, source, 0, count);
    int rank = outShape.length;
    if (rank == 0 || count == 0) {
      frame.buffer(out).put(0, source, 0, count);
      return;
    }
    int inner = (int) outShape[rank - 1];
    int step = (int) inStrides[rank - 1];
    int[] index = frame.odometer(rank);
    int offset = 0;
    for (int base = 0; base < count; base += inner) {
      for (int i = 0; i < inner; i++) {
        target[base + i] = source[offset + i * step];
      }
      for (int axis = rank - 2; axis >= 0; axis--) {
        index[axis]++;
        offset += (int) inStrides[axis];
        if (index[axis] < outShape[axis]) {
          break;
        }
        offset -= (int) (inStrides[axis] * outShape[axis]);
        index[axis] = 0;
      }
    }
    frame.buffer(out).put(0, target, 0, count);
  }
}
