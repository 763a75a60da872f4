package io.cacheai.runtime;

import io.cacheai.graph.Shapes;
import java.nio.FloatBuffer;

/**
 * ReduceMean, and GlobalAveragePool as ReduceMean over the spatial axes. When the reduced axes are
 * a trailing run (the common case: the last axis in layer norms, H·W in pooling) each output is the
 * mean of one contiguous row; otherwise every input element is added to its output by an odometer
 * over the input's axes, with stride 0 along reduced ones.
 */
final class ReduceMeanKernel implements Kernel {
  private final int in;
  private final int out;
  private final long[] inShape;
  private final int count;
  private final int outCount;
  private final long[] outStrides;
  private final int row;

  ReduceMeanKernel(int in, int out, long[] inShape, boolean[] reduced) {
    this.in = in;
    this.out = out;
    this.inShape = inShape.clone();
    this.count = Math.toIntExact(Shapes.elementCount(inShape));
    int rank = inShape.length;
    outStrides = new long[rank];
    long stride = 1;
    long kept = 1;
    for (int i = rank - 1; i >= 0; i--) {
      outStrides[i] = reduced[i] ? 0 : stride;
      if (!reduced[i]) {
        stride *= inShape[i];
        kept *= inShape[i];
      }
    }
    this.outCount = Math.toIntExact(kept);
    int first = rank;
    while (first > 0 && (reduced[first - 1] || inShape[first - 1] == 1)) {
      first--;
    }
    boolean trailing = true;
    for (int i = 0; i < first; i++) {
      trailing &= !reduced[i] || inShape[i] == 1;
    }
    this.row = trailing ? Math.toIntExact(Shapes.product(inShape, first, rank)) : -1;
  }

  @Override
  public void run(Frame frame) {
    FloatBuffer x = frame.buffer(in);
    FloatBuffer y = frame.buffer(out);
    float[] source = frame.heap(0, count);
    float[] target = frame.heap(1, outCount);
    x.get(0, source, 0, count);
    int reducedCount = outCount == 0 ? 0 : count / outCount;
    if (row >= 0) {
      for (int o = 0; o < outCount; o++) {
        float sum = 0f;
        int base = o * row;
        for (int i = 0; i < row; i++) {
          sum += source[base + i];
        }
        target[o] = sum / row;
      }
    } else {
      java.util.Arrays.fill(target, 0, outCount, 0f);
      int rank = inShape.length;
      int[] index = frame.odometer(rank);
      long offset = 0;
      for (int i = 0; i < count; i++) {
        target[(int) offset] += source[i];
        for (int axis = rank - 1; axis >= 0; axis--) {
          index[axis]++;
          offset += outStrides[axis];
          if (index[axis] < inShape[axis]) {
            break;
          }
          offset -= outStrides[axis] * inShape[axis];
          index[axis] = 0;
        }
      }
      for (int o = 0; o < outCount; o++) {
        target[o] /= reducedCount;
      }
    }
    y.put(0, target, 0, outCount);
  }
}
