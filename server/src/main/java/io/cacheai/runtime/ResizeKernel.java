package io.cacheai.runtime;

import io.cacheai.graph.ResizeGeometry;
import io.cacheai.graph.Shapes;

/**
 * Resize (nearest or linear) as one pass per resized axis — linear interpolation is separable —
 * each pass reading the tensor as [outer, in, inner] and writing [outer, out, inner]:
 *
 * <pre>
 *   y[o, j, i] = (1 − w[j]) · x[o, i0[j], i] + w[j] · x[o, i1[j], i]
 * </pre>
 *
 * Passes ping-pong between two heap arrays; the tables come from {@link ResizeGeometry}.
 */
final class ResizeKernel implements Kernel {
  private final int in;
  private final int out;
  private final long[] inShape;
  private final ResizeGeometry geometry;
  private final int maxFloats;

  ResizeKernel(int in, int out, long[] inShape, ResizeGeometry geometry) {
    this.in = in;
    this.out = out;
    this.inShape = inShape.clone();
    this.geometry = geometry;
    long[] shape = inShape.clone();
    long max = Shapes.elementCount(shape);
    for (int axis : geometry.axes()) {
      shape[axis] = geometry.outShape()[axis];
      max = Math.max(max, Shapes.elementCount(shape));
    }
    this.maxFloats = Math.toIntExact(max);
  }

  @Override
  public void run(Frame frame) {
    int count = Math.toIntExact(Shapes.elementCount(inShape));
    float[] source = frame.heap(0, maxFloats);
    float[] target = frame.heap(1, maxFloats);
    frame.buffer(in).get(0, source, 0, count);
    long[] shape = inShape.clone();
    int[] axes = geometry.axes();
    for (int r = 0; r < axes.length; r++) {
      int axis = axes[r];
      int outer = Math.toIntExact(Shapes.product(shape, 0, axis));
      int inner = Math.toIntExact(Shapes.product(shape, axis + 1, shape.length));
      int inDim = (int) shape[axis];
      int[] i0 = geometry.index0()[r];
      int[] i1 = geometry.index1()[r];
      float[] w1 = geometry.weight1()[r];
      int outDim = i0.length;
      for (int o = 0; o < outer; o++) {
        int sourceBase = o * inDim * inner;
        int targetBase = o * outDim * inner;
        for (int j = 0; j < outDim; j++) {
          int a = sourceBase + i0[j] * inner;
          int dst = targetBase + j * inner;
          float w = w1[j];
          if (w == 0f) {
            System.arraycopy(source, a, target, dst, inner);
          } else {
            int b = sourceBase + i1[j] * inner;
            float keep = 1f - w;
            for (int i = 0; i < inner; i++) {
              target[dst + i] = keep * source[a + i] + w * source[b + i];
            }
          }
        }
      }
      shape[axis] = outDim;
      float[] swap = source;
      source = target;
      target = swap;
    }
    frame.buffer(out).put(0, source, 0, Math.toIntExact(Shapes.elementCount(shape)));
  }
}
