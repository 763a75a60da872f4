package io.cacheai.runtime;

import io.cacheai.graph.Shapes;
import io.cacheai.graph.SliceGeometry;

/**
 * Slice of a float tensor: a gather through an index table built once per plan (output element i
 * copies input element {@code source[i]}).
 */
final class SliceKernel implements Kernel {
  private final int in;
  private final int out;
  private final int inCount;
  private final int[] source;

  SliceKernel(int in, int out, long[] inShape, SliceGeometry geometry) {
    this.in = in;
    this.out = out;
    this.inCount = Math.toIntExact(Shapes.elementCount(inShape));
    this.source = geometry.sourceIndex(inShape);
  }

  @Override
  public void run(Frame frame) {
    float[] x = frame.heap(0, inCount);
    float[] y = frame.heap(1, source.length);
    frame.buffer(in).get(0, x, 0, inCount);
    for (int i = 0; i < source.length; i++) {
      y[i] = x[source[i]];
    }
    frame.buffer(out).put(0, y, 0, source.length);
  }
}
