package io.cacheai.runtime;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;

/**
 * The int8 matrix product behind {@code QLinearGemm} and {@code QLinearConv}: u8 activations with a
 * zero point × s8 weights per output channel → s32 accumulators → fp32 (the fused output stage).
 *
 * <pre>
 *   acc[m,n] = Σ_k (a[m,k] − aZero) · w[n,k] + bias[n]        (exact, int32)
 *   y[m,n]   = outScale[n] · acc[m,n]                            (outScale[n] = a_scale · w_scale[n])
 * </pre>
 *
 * a is u8 [M,K] row-major, w s8 [N,K] row-major (each output channel's K weights contiguous, as the
 * bundle stores them), bias s32 little-endian [N] or null, y fp32 [M,N] row-major (native order).
 * All buffers are read from index 0 regardless of position. Implementations: {@link #reference()},
 * a plain Java loop that the tests trust; a native kernel plugs in here.
 */
public interface Int8Gemm {
  void run(
      int m,
      int n,
      int k,
      ByteBuffer a,
      int aZero,
      ByteBuffer w,
      ByteBuffer bias,
      float[] outScale,
      FloatBuffer y);

  /** The plain Java implementation (exact integer arithmetic, one thread). */
  static Int8Gemm reference() {
    return ReferenceInt8Gemm.INSTANCE;
  }
}
