package io.cacheai.kernels;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;

/**
 * Products with 4-bit weights in groups of 32 ({@code q4g32}), fp32 in and out: the low-bit path
 * where weight bytes, not arithmetic, bound the speed.
 *
 * <p>Format (drawn also in {@code cai_int8.h}): 5 bits per weight; two consecutive groups of 32
 * weights of a row form one 40-byte block, so that one 32-byte load brings 64 weights. An [n, k]
 * matrix (k a multiple of 32) is n rows of ceil(k/64) blocks; when k/32 is odd, each row's last
 * group is padding with d = 0 and q = 8.
 *
 * <pre>
 *   0          4          8                          24                         40
 *   | d[0] f32 | d[1] f32 | qs[0][16]: group 2b      | qs[1][16]: group 2b+1    |
 *   qs[h][i] = q[i] | q[i+16] &lt;&lt; 4     w = d[h] · (q − 8),  q in 0..15   (floats little-endian)
 * </pre>
 *
 * <p>How it computes: each group of 32 activations is quantized to s8 with its own scale (dx =
 * max|x|/127, xq = rint(x · (1/dx))), and the group's dot product Σ (q−8)·xq is computed exactly in
 * integers ({@code vpmaddubsw} on u8 q ≤ 15 and s8 xq cannot saturate: 2·15·127 = 3810), then
 * scaled by d·dx in fp32. The only approximation beyond the weights' own is that rounding of x: per
 * group |error| ≤ Σ|w| · dx / 2. This beats converting nibbles to fp32 (one integer multiply-add
 * per 32 weight pairs instead of four float FMAs plus conversions) and, unlike u8 activations with
 * one zero point, needs no calibration: the activation scale is per group and dynamic.
 */
public final class Q4Gemm {
  /** Weights per group (one scale each). */
  public static final int GROUP_SIZE = 32;

  /** Bytes per block: two groups, two fp32 scales and 32 bytes of nibbles. */
  public static final int BLOCK_SIZE_BYTES = 40;

  /** Groups per block. */
  public static final int GROUPS_PER_BLOCK = 2;

  private Q4Gemm() {}

  /** Bytes of an [n, k] q4g32 matrix: n · ceil(k/64) · 40. */
  public static long sizeBytes(int n, int k) {
    checkShape(n, k);
    return (long) n * blocksPerRow(k) * BLOCK_SIZE_BYTES;
  }

  /** Blocks per row of k weights: ceil(k / 64). */
  public static int blocksPerRow(int k) {
    return (k + GROUP_SIZE * GROUPS_PER_BLOCK - 1) / (GROUP_SIZE * GROUPS_PER_BLOCK);
  }

  /**
   * Quantizes fp32 weights [n, k] to q4g32: per group d = (the value of largest magnitude) / −8, so
   * that value is exactly −8·d, and q = clamp(rint(w/d) + 8, 0, 15).
   */
  public static void quantize(FloatBuffer weights, int n, int k, ByteBuffer out) {
    checkShape(n, k);
    Buffers.checkInput("weights", weights, (long) n * k);
    Buffers.checkOutput("out", out, sizeBytes(n, k));
    if (n == 0 || k == 0) {
      return;
    }
    IntKernelsNative.quantizeQ4g32(weights, n, k, out);
  }

  /** {@code y[n] = W · x[k]}. */
  public static void gemv(ByteBuffer weights, int n, int k, FloatBuffer x, FloatBuffer y) {
    checkOperands(weights, n, k, x, 1, y);
    if (n == 0) {
      return;
    }
    if (k == 0) {
      zero(y, n);
      return;
    }
    IntKernelsNative.gemvQ4g32F32(weights, x, y, n, k);
  }

  /** {@code y[m, n] = x[m, k] · Wᵀ}. */
  public static void gemm(ByteBuffer weights, int n, int k, FloatBuffer x, int m, FloatBuffer y) {
    checkOperands(weights, n, k, x, m, y);
    if (m == 0 || n == 0) {
      return;
    }
    if (k == 0) {
      zero(y, (long) m * n);
      return;
    }
    IntKernelsNative.gemmQ4g32F32(weights, x, k, y, n, m, n, k);
  }

  /**
   * {@code y[m, n] = x[m, k] · Wᵀ + bias}, then max(·, 0) when {@code relu} (Java's {@code t < 0 ?
   * 0 : t}: a NaN stays NaN) — the product of {@link #gemm}, bias and ReLU in one crossing.
   *
   * @param bias n floats from its position, or null for none
   */
  public static void gemmBias(
      ByteBuffer weights,
      int n,
      int k,
      FloatBuffer x,
      int m,
      FloatBuffer bias,
      boolean relu,
      FloatBuffer y) {
    checkOperands(weights, n, k, x, m, y);
    if (bias != null) {
      Buffers.checkInput("bias", bias, n);
    }
    if (m == 0 || n == 0) {
      return;
    }
    if (k == 0) {
      zero(y, (long) m * n);
      if (bias == null && !relu) {
        return;
      }
      throw new IllegalArgumentException("k=0 with a bias or ReLU: use gemm and add it");
    }
    IntKernelsNative.gemmQ4g32BiasF32(weights, x, y, m, n, k, bias, relu ? 1 : 0);
  }

  /** The scalar C twin of {@link #gemm}. */
  static void gemmRef(ByteBuffer weights, int n, int k, FloatBuffer x, int m, FloatBuffer y) {
    checkOperands(weights, n, k, x, m, y);
    if (m == 0 || n == 0 || k == 0) {
      return;
    }
    IntKernelsNative.gemmQ4g32F32Ref(weights, x, k, y, n, m, n, k);
  }

  private static void checkOperands(
      ByteBuffer weights, int n, int k, FloatBuffer x, int m, FloatBuffer y) {
    checkShape(n, k);
    Buffers.checkShape("[m]", m);
    Buffers.checkInput("weights", weights, sizeBytes(n, k));
    Buffers.checkInput("x", x, (long) m * k);
    Buffers.checkOutput("y", y, (long) m * n);
  }

  private static void checkShape(int n, int k) {
    Buffers.checkShape("[n,k]", n, k);
    if (k % GROUP_SIZE != 0) {
      throw new IllegalArgumentException("k=" + k + " must be a multiple of " + GROUP_SIZE);
    }
  }

  private static void zero(FloatBuffer y, long count) {
    int base = y.position();
    for (int i = 0; i < count; i++) {
      y.put(base + i, 0f);
    }
  }
}
