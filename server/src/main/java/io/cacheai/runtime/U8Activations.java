package io.cacheai.runtime;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;

/**
 * Per-tensor asymmetric u8 quantization of activations, as ONNX QuantizeLinear defines it: {@code q
 * = saturate(rint(x / scale) + zeroPoint)} in [0, 255] (round half to even; NaN → zeroPoint). The
 * rounded quotient is clamped to ±1024 before the int cast: {@code (int) rint(1e30f / s) +
 * zeroPoint} would overflow and wrap to 0 instead of saturating to 255. The native twin ({@link
 * io.cacheai.kernels.U8Activations}) follows this rule bit for bit.
 */
final class U8Activations {
  private U8Activations() {}

  static int quantize(float x, float scale, int zeroPoint) {
    double r = Math.rint(x / scale);
    int q = r <= -1024 ? 0 : r >= 1024 ? 255 : (int) r + zeroPoint;
    return q < 0 ? 0 : Math.min(q, 255);
  }

  /** Quantizes {@code count} floats of {@code x} from {@code from} into {@code out} at 0. */
  static void quantize(
      FloatBuffer x, int from, int count, float scale, int zeroPoint, ByteBuffer out) {
    for (int i = 0; i < count; i++) {
      out.put(i, (byte) quantize(x.get(from + i), scale, zeroPoint));
    }
  }
}
