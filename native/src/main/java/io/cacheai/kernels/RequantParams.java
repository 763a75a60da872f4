package io.cacheai.kernels;

import java.nio.FloatBuffer;
import java.nio.IntBuffer;

/**
 * The output stage of an integer layer, in one value: what turns s32 accumulators into the next
 * layer's u8 codes or into fp32 (see {@link Requantize} for the exact rounding rules).
 *
 * @param bias s32 per output channel, added first (already minus {@code z_a · Σ W[j]}, see {@link
 *     Int8Gemm}), or {@code null} for none; read from its position
 * @param scale fp32 per output channel: {@code s_a · s_w[j] / s_out} for u8 output, {@code s_a ·
 *     s_w[j]} for fp32 output; read from its position
 * @param outZeroPoint the u8 output's zero point, 0..255 (ignored for fp32 output)
 * @param relu clamp the real value at 0 (fused ReLU)
 */
public record RequantParams(IntBuffer bias, FloatBuffer scale, int outZeroPoint, boolean relu) {
  public RequantParams {
    if (outZeroPoint < 0 || outZeroPoint > 255) {
      throw new IllegalArgumentException("outZeroPoint=" + outZeroPoint + " must be in 0..255");
    }
  }
}
