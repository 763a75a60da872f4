package io.cacheai.runtime;

import java.nio.FloatBuffer;

/**
 * Inference BatchNormalization over axis 1, precomputed into one multiply-add per channel: {@code y
 * = x·a[c] + b[c]} with {@code a = scale / sqrt(var + ε)} and {@code b = B − mean·a}.
 */
final class BatchNormKernel implements Kernel {
  private final int in;
  private final int out;
  private final int batch;
  private final int channels;
  private final int spatial;
  private final float[] multiplier;
  private final float[] addend;

  BatchNormKernel(
      int in,
      int out,
      long[] shape,
      float[] scale,
      float[] shift,
      float[] mean,
      float[] variance,
      float epsilon) {
    this.in = in;
    this.out = out;
    this.batch = Math.toIntExact(shape[0]);
    this.channels = Math.toIntExact(shape[1]);
    long rest = 1;
    for (int i = 2; i < shape.length; i++) {
      rest *= shape[i];
    }
    this.spatial = Math.toIntExact(rest);
    multiplier = new float[channels];
    addend = new float[channels];
    for (int c = 0; c < channels; c++) {
      double a = scale[c] / Math.sqrt((double) variance[c] + epsilon);
      multiplier[c] = (float) a;
      addend[c] = (float) (shift[c] - mean[c] * a);
    }
  }

  @Override
  public void run(Frame frame) {
    FloatBuffer x = frame.buffer(in);
    FloatBuffer y = frame.buffer(out);
    for (int n = 0; n < batch; n++) {
      for (int c = 0; c < channels; c++) {
        int base = (n * channels + c) * spatial;
        float a = multiplier[c];
        float b = addend[c];
        for (int i = 0; i < spatial; i++) {
          y.put(base + i, x.get(base + i) * a + b);
        }
      }
    }
  }
}
