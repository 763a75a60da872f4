package io.cacheai.runtime;

import io.cacheai.graph.PackedTensor;
import io.cacheai.kernels.Fp32Blas;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/**
 * {@code LowBitGemm}: y [M,N] = x [M,K] · Wᵀ + b with W stored 4- or 3-bit per group. Reference
 * path: W is expanded to fp32 in the frame for this run (only the packed form is kept between
 * runs), then one sgemm.
 */
final class LowBitGemmKernel implements Kernel {
  private final int in;
  private final int out;
  private final int m;
  private final int n;
  private final int k;
  private final PackedTensor weight;
  private final FloatBuffer bias;

  LowBitGemmKernel(int in, int out, long[] inShape, PackedTensor weight, PackedTensor bias) {
    this.in = in;
    this.out = out;
    this.m = Math.toIntExact(inShape[0]);
    this.k = weight.rowLength();
    this.n = weight.rows();
    this.weight = weight;
    this.bias = bias == null ? null : bias.data().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
  }

  @Override
  public void run(Frame frame) {
    FloatBuffer w = frame.dequantized(n * k);
    LowBitWeights.dequantize(weight, w);
    FloatBuffer y = frame.buffer(out);
    float beta = 0f;
    if (bias != null) {
      for (int i = 0; i < m; i++) {
        y.put(i * n, bias, 0, n);
      }
      beta = 1f;
    }
    Fp32Blas.gemm(false, true, m, n, k, 1f, frame.buffer(in), k, w, k, beta, y, n);
  }
}
