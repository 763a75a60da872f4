package io.cacheai.kernels;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;

/**
 * The fused output stage of an int8 layer: s32 accumulators [m, n] → + bias → × per-channel scale →
 * u8 with zero point (the next layer's input) or fp32, optional ReLU, in one pass.
 *
 * <p>Rounding rules, bit-exact between the AVX2 body, the scalar C twin and this Java statement of
 * them (for finite scales; the s32 add wraps like Java's {@code int +}):
 *
 * <pre>
 *   t = acc + bias[j]                                  (int, two's complement)
 *   y = (float) t * scale[j]                           (int→float nearest-even, one fp32 multiply)
 *   fp32: out = relu ? max(y, 0) : y
 *   u8:   lo = relu ? 0 : −zp,  hi = 255 − zp
 *         out = (int) Math.rint(min(max(y, lo), hi)) + zp     (nearest, ties to even)
 * </pre>
 */
public final class Requantize {
  private Requantize() {}

  /** {@code out[m, n]} (u8, from its position) from {@code acc[m, n]} (s32). */
  public static void toU8(IntBuffer acc, int m, int n, RequantParams params, ByteBuffer out) {
    check(acc, m, n, params);
    Buffers.checkOutput("out", out, (long) m * n);
    if (m == 0 || n == 0) {
      return;
    }
    IntKernelsNative.requantS32U8(
        acc,
        n,
        m,
        n,
        params.bias(),
        params.scale(),
        params.outZeroPoint(),
        relu(params),
        out,
        n,
        0);
  }

  /** {@code out[m, n]} (fp32, from its position) from {@code acc[m, n]} (s32). */
  public static void toF32(IntBuffer acc, int m, int n, RequantParams params, FloatBuffer out) {
    check(acc, m, n, params);
    Buffers.checkOutput("out", out, (long) m * n);
    if (m == 0 || n == 0) {
      return;
    }
    IntKernelsNative.requantS32F32(
        acc, n, m, n, params.bias(), params.scale(), relu(params), out, n, 0);
  }

  /** The scalar C twin of {@link #toU8}. */
  static void toU8Ref(IntBuffer acc, int m, int n, RequantParams params, ByteBuffer out) {
    check(acc, m, n, params);
    Buffers.checkOutput("out", out, (long) m * n);
    if (m == 0 || n == 0) {
      return;
    }
    IntKernelsNative.requantS32U8(
        acc,
        n,
        m,
        n,
        params.bias(),
        params.scale(),
        params.outZeroPoint(),
        relu(params),
        out,
        n,
        1);
  }

  private static void check(IntBuffer acc, int m, int n, RequantParams params) {
    Buffers.checkShape("[m,n]", m, n);
    if (params == null) {
      throw new IllegalArgumentException("params is null");
    }
    Buffers.checkInput("acc", acc, (long) m * n);
    Buffers.checkInput("scale", params.scale(), n);
    if (params.bias() != null) {
      Buffers.checkInput("bias", params.bias(), n);
    }
  }

  private static int relu(RequantParams params) {
    return params.relu() ? 1 : 0;
  }
}
