package io.cacheai.runtime;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;

/**
 * The int8 matrix product behind {@code QLinearGemm} and {@code QLinearConv}: u8 activations × s8
 * weights per output channel → exact s32 → fp32 (the fused output stage).
 *
 * <pre>
 *   acc[m,n] = Σ_k a[m,k] · w[n,k] + bias[n]          (int32, exact, wrapping like Java int)
 *   y[m,n]   = (float) acc[m,n] · scale[n]             (scale[n] = a_scale · w_scale[n])
 * </pre>
 *
 * a is u8 [M,K] row-major; w is s8 [N,K] in the native kernel's s8p16 panel layout ({@link
 * io.cacheai.graph.PackedTensor.Format#S8_PANEL16}), read in place from the mapped bundle; bias
 * (already holding {@code −a_zero_point · Σ_k w[n,k]}, which keeps the zero point out of the inner
 * loop) and scale are [N]; y is fp32 [M,N]. All buffers are read from index 0 and are direct.
 * Implementations: {@link #reference()} (plain Java, what the tests trust) and {@link
 * #nativeKernels()} (AVX2 C through {@link io.cacheai.kernels.Int8Gemm}); both give identical
 * results, bit for bit.
 */
public interface Int8Gemm {
  void run(
      int m,
      int n,
      int k,
      ByteBuffer a,
      ByteBuffer packedWeights,
      IntBuffer bias,
      FloatBuffer scale,
      FloatBuffer y);

  /**
   * As {@link #run}, then a fused ReLU when {@code relu}: {@code y = y < 0 ? 0 : y}, the C output
   * stage's rule. This default clamps in a second pass; the native kernels clamp in the stage.
   */
  default void run(
      int m,
      int n,
      int k,
      ByteBuffer a,
      ByteBuffer packedWeights,
      IntBuffer bias,
      FloatBuffer scale,
      FloatBuffer y,
      boolean relu) {
    run(m, n, k, a, packedWeights, bias, scale, y);
    if (relu) {
      for (int i = 0, count = m * n; i < count; i++) {
        if (y.get(i) < 0f) {
          y.put(i, 0f);
        }
      }
    }
  }

  /**
   * As {@link #run}, written transposed: {@code yT[n, m] = y[m, n]} (a convolution's [pixels,
   * channels] product into NCHW), with the optional ReLU. This default goes through {@code tmp} (at
   * least m·n floats) and a Java transpose; the native kernels write yT directly from the s32
   * accumulators.
   */
  default void runTransposed(
      int m,
      int n,
      int k,
      ByteBuffer a,
      ByteBuffer packedWeights,
      IntBuffer bias,
      FloatBuffer scale,
      FloatBuffer tmp,
      FloatBuffer yT,
      boolean relu) {
    run(m, n, k, a, packedWeights, bias, scale, tmp, relu);
    for (int i = 0; i < m; i++) {
      for (int j = 0; j < n; j++) {
        yT.put(j * m + i, tmp.get(i * n + j));
      }
    }
  }

  /** The plain Java implementation (exact integer arithmetic, one thread). */
  static Int8Gemm reference() {
    return ReferenceInt8Gemm.INSTANCE;
  }

  /**
   * The native kernels when their library loads on this machine, else the reference (logged once to
   * stderr): what served models use.
   */
  static Int8Gemm best() {
    return NativeInt8Gemm.AVAILABLE ? NativeInt8Gemm.INSTANCE : ReferenceInt8Gemm.INSTANCE;
  }

  /** cacheai's native kernels ({@code io.cacheai.kernels}); AVX2 when the CPU has it. */
  static Int8Gemm nativeKernels() {
    return NativeInt8Gemm.INSTANCE;
  }
}
