package io.cacheai.runtime;

import io.cacheai.kernels.Fp32Blas;
import java.nio.FloatBuffer;

/**
 * ONNX Gemm: {@code Y = alpha·op(A)·op(B) + beta·C}, C broadcast to [M,N]. The broadcast C is
 * written into Y first, then one sgemm (sgemv for M = 1) accumulates onto it.
 */
final class GemmKernel implements Kernel {
  private final int a;
  private final int b;
  private final int c;
  private final int out;
  private final boolean transA;
  private final boolean transB;
  private final int m;
  private final int n;
  private final int k;
  private final float alpha;
  private final float beta;
  private final long[] stridesC;

  GemmKernel(
      int a,
      int b,
      int c,
      int out,
      long[] shapeA,
      long[] shapeC,
      boolean transA,
      boolean transB,
      float alpha,
      float beta,
      long[] outShape) {
    this.a = a;
    this.b = b;
    this.c = c;
    this.out = out;
    this.transA = transA;
    this.transB = transB;
    this.m = Math.toIntExact(outShape[0]);
    this.n = Math.toIntExact(outShape[1]);
    this.k = Math.toIntExact(transA ? shapeA[0] : shapeA[1]);
    this.alpha = alpha;
    this.beta = beta;
    this.stridesC = c >= 0 ? Broadcast.strides(shapeC, outShape) : null;
  }

  @Override
  public void run(Frame frame) {
    FloatBuffer y = frame.buffer(out);
    float accumulate = 0f;
    if (c >= 0 && beta != 0f) {
      FloatBuffer bias = frame.buffer(c);
      for (int i = 0; i < m; i++) {
        for (int j = 0; j < n; j++) {
          y.put(i * n + j, beta * bias.get((int) (i * stridesC[0] + j * stridesC[1])));
        }
      }
      accumulate = 1f;
    }
    Fp32Blas.gemm(
        transA,
        transB,
        m,
        n,
        k,
        alpha,
        frame.buffer(a),
        transA ? m : k,
        frame.buffer(b),
        transB ? k : n,
        accumulate,
        y,
        n);
  }
}
