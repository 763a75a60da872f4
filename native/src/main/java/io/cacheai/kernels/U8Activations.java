package io.cacheai.kernels;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;

/**
 * The activation side of the int8 operators in C: quantizing fp32 activations to u8, laying them
 * out as patch rows, and writing the GEMM's output stage transposed into NCHW. These replace Java
 * loops that copied each tensor to the heap and back; every result is bit for bit the Java
 * definition ({@code io.cacheai.runtime.U8Activations}, ONNX QuantizeLinear):
 *
 * <pre>
 *   q(x) = saturate_0_255(rint(x / scale) + zeroPoint)    float division, round half to even,
 *                                                          NaN → zeroPoint (Java's (int) NaN = 0)
 *   quantize:            out[i] = q(x[i])                              i &lt; count
 *   quantizeTransposed:  rows[p·C + c] = q(x[c·P + p])                 1×1 conv patch rows [P, C]
 *   im2row:              rows[(oh·oW + ow)·R + (c·kH + kh)·kW + kw] = image[c, ih, iw]
 *                        (zeroPoint outside the image), R = C·kH·kW
 *   toF32Transposed:     out[j·m + i] = relu?((float) (acc[i·n + j] + bias[j]) · scale[j])
 * </pre>
 *
 * Sizes, directness and byte order are checked here, before any address crosses to C; buffers are
 * read and written from their positions.
 */
public final class U8Activations {
  private U8Activations() {}

  /** {@code out[0..count) = q(x[0..count))}, AVX2 when available. */
  public static void quantize(
      FloatBuffer x, int count, float scale, int zeroPoint, ByteBuffer out) {
    quantize(x, count, scale, zeroPoint, out, false);
  }

  /** The scalar C twin of {@link #quantize}, for tests. */
  static void quantizeRef(FloatBuffer x, int count, float scale, int zeroPoint, ByteBuffer out) {
    quantize(x, count, scale, zeroPoint, out, true);
  }

  private static void quantize(
      FloatBuffer x, int count, float scale, int zeroPoint, ByteBuffer out, boolean ref) {
    Buffers.checkShape("[count]", count);
    checkQuantization(scale, zeroPoint);
    Buffers.checkInput("x", x, count);
    Buffers.checkOutput("out", out, count);
    if (count > 0) {
      IntKernelsNative.quantizeF32U8(x, count, scale, zeroPoint, out, ref ? 1 : 0);
    }
  }

  /** {@code rows[p·channels + c] = q(x[c·pixels + p])}: x is [C, P], rows is [P, C]. */
  public static void quantizeTransposed(
      FloatBuffer x, int channels, int pixels, float scale, int zeroPoint, ByteBuffer rows) {
    Buffers.checkShape("[channels,pixels]", channels, pixels);
    checkQuantization(scale, zeroPoint);
    long count = (long) channels * pixels;
    Buffers.checkInput("x", x, count);
    Buffers.checkOutput("rows", rows, count);
    if (count > 0) {
      IntKernelsNative.quantizeF32U8T(x, channels, pixels, scale, zeroPoint, rows);
    }
  }

  /**
   * Patch rows of the u8 image [C, inH, inW] for a convolution window; {@code window} holds {kH,
   * kW, strideH, strideW, padTop, padLeft, dilationH, dilationW, outH, outW}.
   */
  public static void im2row(
      ByteBuffer image,
      int channels,
      int inH,
      int inW,
      int[] window,
      int zeroPoint,
      ByteBuffer rows) {
    if (window == null || window.length != 10) {
      throw new IllegalArgumentException(
          "window must be {kH,kW,strideH,strideW,padTop,padLeft,dilationH,dilationW,outH,outW}");
    }
    Buffers.checkShape("[channels,inH,inW]", channels, inH, inW);
    Buffers.checkShape("window", window);
    for (int at : new int[] {0, 1, 2, 3, 6, 7}) {
      if (window[at] < 1) {
        throw new IllegalArgumentException(
            "window="
                + java.util.Arrays.toString(window)
                + ": kernel, stride, dilation must be >= 1");
      }
    }
    if (zeroPoint < 0 || zeroPoint > 255) {
      throw new IllegalArgumentException("zeroPoint=" + zeroPoint + " must be in 0..255");
    }
    long rowLength = (long) channels * window[0] * window[1];
    long count = (long) window[8] * window[9] * rowLength;
    if (count > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("im2row: rows=" + count + " bytes exceed 2^31-1");
    }
    Buffers.checkInput("image", image, (long) channels * inH * inW);
    Buffers.checkOutput("rows", rows, count);
    if (count > 0) {
      IntKernelsNative.im2rowU8(
          image, channels, inH, inW, window[0], window[1], window[2], window[3], window[4],
          window[5], window[6], window[7], window[8], window[9], zeroPoint, rows);
    }
  }

  /**
   * The fp32 output stage written transposed: acc is [m, n] (s32), out is [n, m] (fp32, from its
   * position): {@code out[j·m + i] = relu?((float) (acc[i·n + j] + bias[j]) · scale[j])}.
   */
  public static void toF32Transposed(
      IntBuffer acc, int m, int n, RequantParams params, FloatBuffer out) {
    Buffers.checkShape("[m,n]", m, n);
    if (params == null) {
      throw new IllegalArgumentException("params is null");
    }
    Buffers.checkInput("acc", acc, (long) m * n);
    Buffers.checkInput("scale", params.scale(), n);
    if (params.bias() != null) {
      Buffers.checkInput("bias", params.bias(), n);
    }
    Buffers.checkOutput("out", out, (long) m * n);
    if (m > 0 && n > 0) {
      IntKernelsNative.requantS32F32T(
          acc, n, m, n, params.bias(), params.scale(), params.relu() ? 1 : 0, out, m);
    }
  }

  private static void checkQuantization(float scale, int zeroPoint) {
    if (!(scale > 0) || Float.isInfinite(scale)) {
      throw new IllegalArgumentException("scale=" + scale + " must be finite and > 0");
    }
    if (zeroPoint < 0 || zeroPoint > 255) {
      throw new IllegalArgumentException("zeroPoint=" + zeroPoint + " must be in 0..255");
    }
  }
}
