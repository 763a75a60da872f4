package io.cacheai.runtime;

import io.cacheai.kernels.Fp32Kernels;

/**
 * Softmax over one axis, computed as exp(x − max) / Σ for stability. The input is seen as [outer,
 * axis, inner]; before opset 13 ONNX flattens everything from {@code axis} on into the reduced axis
 * ([outer, rest, 1]), from opset 13 on only that axis is reduced. Contiguous rows (inner = 1, the
 * usual last-axis softmax) run in native code ({@link Fp32Kernels#softmaxRows}, AVX2: a Java loop
 * over a scalar exp took ~2 ms for PP-OCR's 40 × 6625 logits); other layouts work on a heap copy.
 */
final class SoftmaxKernel implements Kernel {
  private final int in;
  private final int out;
  private final int outer;
  private final int axis;
  private final int inner;

  SoftmaxKernel(int in, int out, long outer, long axis, long inner) {
    this.in = in;
    this.out = out;
    this.outer = Math.toIntExact(outer);
    this.axis = Math.toIntExact(axis);
    this.inner = Math.toIntExact(inner);
  }

  @Override
  public void run(Frame frame) {
    if (inner == 1) {
      Fp32Kernels.softmaxRows(frame.buffer(in), frame.buffer(out), outer, axis);
      return;
    }
    int count = outer * axis * inner;
    float[] x = frame.heap(0, count);
    frame.buffer(in).get(0, x, 0, count);
    for (int o = 0; o < outer; o++) {
      for (int i = 0; i < inner; i++) {
        int base = o * axis * inner + i;
        float max = Float.NEGATIVE_INFINITY;
        for (int k = 0; k < axis; k++) {
          max = Math.max(max, x[base + k * inner]);
        }
        double sum = 0;
        for (int k = 0; k < axis; k++) {
          float e = FastMath.exp(x[base + k * inner] - max);
          x[base + k * inner] = e;
          sum += e;
        }
        float inverse = (float) (1.0 / sum);
        for (int k = 0; k < axis; k++) {
          x[base + k * inner] *= inverse;
        }
      }
    }
    frame.buffer(out).put(0, x, 0, count);
  }
}
