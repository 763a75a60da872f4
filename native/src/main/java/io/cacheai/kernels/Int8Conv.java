package io.cacheai.kernels;

import static io.cacheai.kernels.ConvChecks.checkIntSized;
import static io.cacheai.kernels.ConvChecks.checkMaxK;
import static io.cacheai.kernels.ConvChecks.checkParamBuffers;
import static io.cacheai.kernels.ConvChecks.checkParams;
import static io.cacheai.kernels.ConvChecks.checkQuantization;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;

/**
 * The int8 convolution computed in NCHW, output channels × pixels: no transposes on either side of
 * the product, unlike im2row + {@link Int8Gemm#gemm} (pixels × channels) + a transposed output
 * stage. Per image:
 *
 * <pre>
 *   y[j, p] = relu?((float) (Σ_k W[j][k] · X[k][p] + bias[j]) · scale[j])     j &lt; m, p &lt; P
 * </pre>
 *
 * W is the s8p16-packed weight [m, k] ({@link Int8Gemm#pack}, read in place from the bundle); X is
 * the u8 patch matrix [k, P] in the <b>u8c4</b> layout — groups of 4 rows, each group P16 pixels ×
 * 4 bytes (P16 = P rounded up to 16, rows ≥ k and pixels ≥ P zero):
 *
 * <pre>
 *   group g, pixel p: | X[4g][p] | X[4g+1][p] | X[4g+2][p] | X[4g+3][p] |   at byte (g·P16 + p)·4
 * </pre>
 *
 * so that one 64-byte load is 16 pixels × 4 k, the u8 operand of an AVX-512 VNNI {@code vpdpbusd}
 * against one channel's broadcast weight quad. The output stage is the one of {@link
 * U8Activations#toF32Transposed} (same rounding), so results are bit-identical to the im2row path;
 * tests compare both, and the scalar twin ({@link ConvBody#SCALAR_TWIN}).
 *
 * <p>The patch matrix comes from {@link #quantizePadded} + {@link #im2col} (k×k windows) or {@link
 * #quantizeU8c4} (1×1, stride 1, no padding: the image itself). {@link #available()} says whether
 * the VNNI body runs here; without it the scalar twin runs, which is slow, so callers keep the
 * im2row path then. Every size is checked here before an address crosses to C.
 *
 * <p>The other families share the u8c4 layout and the output stage: {@link Int8DirectConv} (no
 * patch matrix, wide rows), {@link Int8KqConv} (quads along kw, few channels), {@link
 * Int8LanesConv} (output channels in the lanes, pooled); {@link Int8CropPool} compacts or pools
 * their outputs.
 */
public final class Int8Conv {
  /** Pixels per u8c4 column block: one zmm of s32 lanes. */
  public static final int PIXEL_BLOCK = 16;

  private Int8Conv() {}

  /** Whether the VNNI body runs on this CPU (not forced off by {@link IntKernels}). */
  public static boolean available() {
    return IntKernels.vnni();
  }

  /** Bytes of the u8c4 form of X [k, pixels]: ceil(k/4) · round_up(pixels, 16) · 4. */
  public static long u8c4Bytes(int k, int pixels) {
    Buffers.checkShape("[k,pixels]", k, pixels);
    return (long) ((k + 3) / 4) * Int8Gemm.roundUp(pixels, PIXEL_BLOCK) * 4;
  }

  /**
   * {@code out[c][padT + h][padL + w] = q(x[c][h][w])} ({@link U8Activations} rule), the border of
   * the padded [channels, h + padT + padB, w + padL + padR] image filled with the zero point.
   */
  public static void quantizePadded(
      FloatBuffer x,
      int channels,
      int h,
      int w,
      int padT,
      int padB,
      int padL,
      int padR,
      float scale,
      int zeroPoint,
      ByteBuffer out) {
    if (checkQuantizePadded(x, channels, h, w, padT, padB, padL, padR, scale, zeroPoint, out)) {
      IntKernelsNative.quantizePadF32U8(
          x, channels, h, w, padT, padB, padL, padR, scale, zeroPoint, out);
    }
  }

  /** {@link #checkQuantizePadded} of a whole-image call's input. */
  static boolean checkQuantizePadded(ConvInput in, ByteBuffer out) {
    int[] p = in.pads();
    return checkQuantizePadded(
        in.x(),
        in.channels(),
        in.h(),
        in.w(),
        p[0],
        p[1],
        p[2],
        p[3],
        in.scale(),
        in.zeroPoint(),
        out);
  }

  static boolean checkQuantizePadded(
      FloatBuffer x,
      int channels,
      int h,
      int w,
      int padT,
      int padB,
      int padL,
      int padR,
      float scale,
      int zeroPoint,
      ByteBuffer out) {
    Buffers.checkShape(
        "[channels,h,w,padT,padB,padL,padR]", channels, h, w, padT, padB, padL, padR);
    checkQuantization(scale, zeroPoint);
    long padded = (long) channels * (h + (long) padT + padB) * (w + (long) padL + padR);
    checkIntSized("padded image", padded);
    Buffers.checkInput("x", x, (long) channels * h * w);
    Buffers.checkOutput("out", out, padded);
    return padded > 0;
  }

  /**
   * Patches of the padded u8 image [channels, ph, pw] in u8c4: {@code X[(c·kH + kh)·kW +
   * kw][oh·outW + ow] = padded[c][oh·sH + kh·dH][ow·sW + kw·dW]}; {@code window} = {kH, kW, sH, sW,
   * dH, dW, outH, outW}. Refused unless every index falls inside the padded image.
   */
  public static void im2col(
      ByteBuffer padded, int channels, int ph, int pw, int[] window, ByteBuffer out) {
    if (checkIm2col(padded, channels, ph, pw, window, out)) {
      IntKernelsNative.im2colU8c4(
          padded, channels, ph, pw, window[0], window[1], window[2], window[3], window[4],
          window[5], window[6], window[7], out);
    }
  }

  private static boolean checkIm2col(
      ByteBuffer padded, int channels, int ph, int pw, int[] window, ByteBuffer out) {
    if (window == null || window.length != 8) {
      throw new IllegalArgumentException("window must be {kH,kW,sH,sW,dH,dW,outH,outW}");
    }
    Buffers.checkShape("[channels,ph,pw]", channels, ph, pw);
    Buffers.checkShape("window", window);
    for (int at = 0; at < 6; at++) {
      if (window[at] < 1) {
        throw new IllegalArgumentException(
            "window=" + java.util.Arrays.toString(window) + ": kernel, stride, dilation >= 1");
      }
    }
    int kH = window[0];
    int kW = window[1];
    int outH = window[6];
    int outW = window[7];
    if (outH > 0
        && outW > 0
        && ((long) (outH - 1) * window[2] + (long) (kH - 1) * window[4] >= ph
            || (long) (outW - 1) * window[3] + (long) (kW - 1) * window[5] >= pw)) {
      throw new IllegalArgumentException(
          "window="
              + java.util.Arrays.toString(window)
              + " reads past the padded image ph="
              + ph
              + " pw="
              + pw);
    }
    long k = (long) channels * kH * kW;
    long pixels = (long) outH * outW;
    checkIntSized("k", k);
    checkIntSized("pixels", pixels);
    long bytes = u8c4Bytes((int) k, (int) pixels);
    checkIntSized("patches", bytes);
    Buffers.checkInput("padded", padded, (long) channels * ph * pw);
    Buffers.checkOutput("out", out, bytes);
    return bytes > 0;
  }

  /** {@code X[c][p] = q(x[c][p])} in u8c4 for x [k, pixels]: a 1×1 convolution's patches. */
  public static void quantizeU8c4(
      FloatBuffer x, int k, int pixels, float scale, int zeroPoint, ByteBuffer out) {
    Buffers.checkShape("[k,pixels]", k, pixels);
    checkQuantization(scale, zeroPoint);
    long bytes = u8c4Bytes(k, pixels);
    checkIntSized("patches", bytes);
    Buffers.checkInput("x", x, (long) k * pixels);
    Buffers.checkOutput("out", out, bytes);
    if (bytes > 0) {
      IntKernelsNative.quantizeF32U8c4(x, k, pixels, scale, zeroPoint, out);
    }
  }

  /**
   * {@code y[j·pixels + p]} for j &lt; m, p &lt; pixels (see the class comment): {@code body} BEST
   * runs the VNNI body when {@link #available()}, else (and for SCALAR_TWIN) the scalar twin.
   */
  public static void conv(
      ByteBuffer packedWeights,
      int m,
      int k,
      ByteBuffer x4,
      int pixels,
      RequantParams params,
      FloatBuffer y,
      ConvBody body) {
    if (checkConv(packedWeights, m, k, x4, pixels, params, y)) {
      IntKernelsNative.convS8p16U8c4F32(
          packedWeights,
          m,
          k,
          x4,
          pixels,
          params.bias(),
          params.scale(),
          params.relu() ? 1 : 0,
          y,
          pixels,
          body.useRef());
    }
  }

  private static boolean checkConv(
      ByteBuffer packedWeights,
      int m,
      int k,
      ByteBuffer x4,
      int pixels,
      RequantParams params,
      FloatBuffer y) {
    Buffers.checkShape("[m,k,pixels]", m, k, pixels);
    checkMaxK("k", k);
    checkParams(params);
    checkIntSized("y", (long) m * pixels);
    Buffers.checkInput("packedWeights", packedWeights, Int8Gemm.packedSizeBytes(m, k));
    Buffers.checkInput("x4", x4, u8c4Bytes(k, pixels));
    checkParamBuffers(params, m);
    Buffers.checkOutput("y", y, (long) m * pixels);
    return m > 0 && pixels > 0;
  }

  /**
   * One image through {@link #quantizePadded} → {@link #im2col} → {@link #conv} into y [m, P]
   * ({@code pool} null), or into {@code convOut} [m, P] and then {@link Int8CropPool#cropPool} into
   * y: the checks of every step, then one native call chaining them (same kernels, same results),
   * since each crossing costs about as much as a small step.
   *
   * @param in x, its zero-point padding {padT, padB, padL, padR} and quantization
   * @param window {kH, kW, sH, sW, dH, dW, outH, outW} as {@link #im2col}
   * @param pool {poolK, poolS, outH2, outW2}, or null
   */
  public static void convImage(
      ConvInput in,
      ByteBuffer packedWeights,
      int m,
      int[] window,
      RequantParams params,
      ByteBuffer padded,
      ByteBuffer patches,
      FloatBuffer convOut,
      int[] pool,
      FloatBuffer y) {
    ConvChecks.checkPadsPool(in, pool, false);
    boolean work = checkQuantizePadded(in, padded);
    int ph = in.h() + in.pads()[0] + in.pads()[1];
    int pw = in.w() + in.pads()[2] + in.pads()[3];
    work &= checkIm2col(padded, in.channels(), ph, pw, window, patches);
    int k = in.channels() * window[0] * window[1];
    int pixels = window[6] * window[7];
    FloatBuffer product = pool == null ? y : convOut;
    work &= checkConv(packedWeights, m, k, patches, pixels, params, product);
    if (pool != null) {
      work &=
          Int8CropPool.checkCropPool(
              convOut, m, pixels, window[7], window[6], window[7], pool[0], pool[1], pool[2],
              pool[3], y);
    }
    if (!work) { // an empty extent somewhere: the steps one by one handle it
      quantizePadded(
          in.x(),
          in.channels(),
          in.h(),
          in.w(),
          in.pads()[0],
          in.pads()[1],
          in.pads()[2],
          in.pads()[3],
          in.scale(),
          in.zeroPoint(),
          padded);
      im2col(padded, in.channels(), ph, pw, window, patches);
      conv(packedWeights, m, k, patches, pixels, params, product, ConvBody.BEST);
      if (pool != null) {
        Int8CropPool.cropPool(
            convOut, m, pixels, window[7], window[6], window[7], pool[0], pool[1], pool[2], pool[3],
            y);
      }
      return;
    }
    IntKernelsNative.qconvIm2colF32(
        in.x(),
        in.channels(),
        in.h(),
        in.w(),
        in.pads()[0],
        in.pads()[1],
        in.pads()[2],
        in.pads()[3],
        in.scale(),
        in.zeroPoint(),
        packedWeights,
        m,
        window[0],
        window[1],
        window[2],
        window[3],
        window[4],
        window[5],
        window[6],
        window[7],
        params.bias(),
        params.scale(),
        params.relu() ? 1 : 0,
        padded,
        patches,
        pool == null ? y : convOut,
        pool == null ? 0 : pool[0],
        pool == null ? 0 : pool[1],
        pool == null ? 0 : pool[2],
        pool == null ? 0 : pool[3],
        y);
  }
}
