package io.cacheai.runtime;

/**
 * Inference BatchNormalization over axis 1, one multiply-add per element: {@code y = x·a[c] + b[c]}
 * with {@code a = scale / sqrt(var + ε)} and {@code b = B − mean·a}. The parameters are read from
 * the frame at every run (they are constants in exported models, but ONNX allows any tensor); a
 * BatchNormalization right after a Conv is folded into it at import instead.
 */
final class BatchNormKernel implements Kernel {
  private final int in;
  private final int out;
  private final int scale;
  private final int shift;
  private final int mean;
  private final int variance;
  private final int batch;
  private final int channels;
  private final int spatial;
  private final float epsilon;

  BatchNormKernel(
      int in, int out, long[] shape, int scale, int shift, int mean, int variance, float epsilon) {
    this.in = in;
    this.out = out;
    this.scale = scale;
    this.shift = shift;
    this.mean = mean;
    this.variance = variance;
    this.batch = Math.toIntExact(shape[0]);
    this.channels = Math.toIntExact(shape[1]);
    this.spatial = Math.toIntExact(io.cacheai.graph.Shapes.product(shape, 2, shape.length));
    this.epsilon = epsilon;
  }

  @Override
  public void run(Frame frame) {
    int count = batch * channels * spatial;
    float[] x = frame.heap(0, count);
    frame.buffer(in).get(0, x, 0, count);
    for (int c = 0; c < channels; c++) {
      double s =
          frame.buffer(scale).get(c) / Math.sqrt((double) frame.buffer(variance).get(c) + epsilon);
      float a = (float) s;
      float b = (float) (frame.buffer(shift).get(c) - frame.buffer(mean).get(c) * s);
      for (int n = 0; n < batch; n++) {
        int base = (n * channels + c) * spatial;
        for (int i = 0; i < spatial; i++) {
          x[base + i] = x[base + i] * a + b;
        }
      }
    }
    frame.buffer(out).put(0, x, 0, count);
  }
}
