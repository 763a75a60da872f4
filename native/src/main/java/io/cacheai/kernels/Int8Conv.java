package io.cacheai.kernels;

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
 * tests compare both, and the scalar twin ({@link #convRef}).
 *
 * <p>The patch matrix comes from {@link #quantizePadded} + {@link #im2col} (k×k windows) or {@link
 * #quantizeU8c4} (1×1, stride 1, no padding: the image itself). {@link #available()} says whether
 * the VNNI body runs here; without it the scalar twin runs, which is slow, so callers keep the
 * im2row path then. Every size is checked here before an address crosses to C.
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

  private static boolean checkQuantizePadded(
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
   * {@code y[j·pixels + p]} for j &lt; m, p &lt; pixels (see the class comment): the VNNI body when
   * {@link #available()}, else the scalar twin.
   */
  public static void conv(
      ByteBuffer packedWeights,
      int m,
      int k,
      ByteBuffer x4,
      int pixels,
      RequantParams params,
      FloatBuffer y) {
    conv(packedWeights, m, k, x4, pixels, params, y, false);
  }

  /** The scalar C twin of {@link #conv}, for tests. */
  public static void convRef(
      ByteBuffer packedWeights,
      int m,
      int k,
      ByteBuffer x4,
      int pixels,
      RequantParams params,
      FloatBuffer y) {
    conv(packedWeights, m, k, x4, pixels, params, y, true);
  }

  private static void conv(
      ByteBuffer packedWeights,
      int m,
      int k,
      ByteBuffer x4,
      int pixels,
      RequantParams params,
      FloatBuffer y,
      boolean ref) {
    if (checkConv(packedWeights, m, k, x4, pixels, params, y, ref)) {
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
          ref ? 1 : 0);
    }
  }

  private static boolean checkConv(
      ByteBuffer packedWeights,
      int m,
      int k,
      ByteBuffer x4,
      int pixels,
      RequantParams params,
      FloatBuffer y,
      boolean ref) {
    Buffers.checkShape("[m,k,pixels]", m, k, pixels);
    if (k > Int8Gemm.MAX_K) {
      throw new IllegalArgumentException("k=" + k + " exceeds MAX_K=" + Int8Gemm.MAX_K);
    }
    if (params == null) {
      throw new IllegalArgumentException("params is null");
    }
    checkIntSized("y", (long) m * pixels);
    Buffers.checkInput("packedWeights", packedWeights, Int8Gemm.packedSizeBytes(m, k));
    Buffers.checkInput("x4", x4, u8c4Bytes(k, pixels));
    Buffers.checkInput("scale", params.scale(), m);
    if (params.bias() != null) {
      Buffers.checkInput("bias", params.bias(), m);
    }
    Buffers.checkOutput("y", y, (long) m * pixels);
    return m > 0 && pixels > 0;
  }

  // ---------------------------------------------------------------------------------------------
  // The direct convolution (stride 1, dilation 1): no patch matrix. Layouts drawn in cai_int8.h.
  // ---------------------------------------------------------------------------------------------

  /** Output channels per block of the s8q4m4 weight layout. */
  public static final int DIRECT_CHANNEL_BLOCK = 4;

  /** Bytes of the s8q4m4 weights of an [m, c, kH, kW] convolution. */
  public static long directWeightBytes(int m, int c, int kH, int kW) {
    Buffers.checkShape("[m,c,kH,kW]", m, c, kH, kW);
    return (long) ((m + DIRECT_CHANNEL_BLOCK - 1) / DIRECT_CHANNEL_BLOCK)
        * ((c + 3) / 4)
        * kH
        * kW
        * DIRECT_CHANNEL_BLOCK
        * 4;
  }

  /**
   * The s8q4m4 form of the s8p16 weights [m, c·kH·kW] ({@link Int8Gemm#pack}), in a new direct
   * buffer: done once per plan, read by every {@link #convDirect}.
   */
  public static ByteBuffer packDirectWeights(
      ByteBuffer packedWeights, int m, int c, int kH, int kW) {
    long bytes = directWeightBytes(m, c, kH, kW);
    checkIntSized("direct weights", bytes);
    long k = (long) c * kH * kW;
    checkIntSized("k", k);
    if (k > Int8Gemm.MAX_K) {
      throw new IllegalArgumentException("k=" + k + " exceeds MAX_K=" + Int8Gemm.MAX_K);
    }
    Buffers.checkInput("packedWeights", packedWeights, Int8Gemm.packedSizeBytes(m, (int) k));
    ByteBuffer out = ByteBuffer.allocateDirect((int) Math.max(bytes, 1));
    if (bytes > 0) {
      IntKernelsNative.packConvQ4(packedWeights, m, c, kH, kW, out);
    }
    return out;
  }

  /**
   * Pixels of a wide output plane: {@code round_up(outH · pw, 16)} (columns past outW are scrap).
   */
  public static int directWideLength(int outH, int pw) {
    Buffers.checkShape("[outH,pw]", outH, pw);
    long wide = (long) outH * pw;
    checkIntSized("wide plane", wide + PIXEL_BLOCK);
    return Int8Gemm.roundUp((int) wide, PIXEL_BLOCK);
  }

  /**
   * Pixels per channel group of the direct kernel's input: every 64-byte load of every tap stays
   * inside, {@code round_up(wide + (kH-1)·pw + kW-1, 16)}, and at least {@code ph · pw}.
   */
  public static int directPixelStride(int ph, int pw, int kH, int kW, int outH) {
    Buffers.checkShape("[ph,pw,kH,kW,outH]", ph, pw, kH, kW, outH);
    long reach = (long) directWideLength(outH, pw) + (long) (kH - 1) * pw + (kW - 1);
    long stride = Math.max(reach, (long) ph * pw);
    checkIntSized("pixel stride", stride + PIXEL_BLOCK);
    return Int8Gemm.roundUp((int) stride, PIXEL_BLOCK);
  }

  /** Bytes of the direct kernel's input: {@code ceil(c/4) · pixelStride · 4}. */
  public static long directInputBytes(int c, int pixelStride) {
    Buffers.checkShape("[c,pixelStride]", c, pixelStride);
    return (long) ((c + 3) / 4) * pixelStride * 4;
  }

  /**
   * The zero-point-padded u8 image of x [channels, h, w] ({@link #quantizePadded}'s rule) in the
   * direct kernel's channel-quad layout, {@code pixelStride} pixels per group (the tail zero);
   * {@code scratch} holds the padded planes on the way.
   */
  public static void quantizePaddedQuads(
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
      int pixelStride,
      ByteBuffer scratch,
      ByteBuffer out) {
    if (checkQuantizePaddedQuads(
        x, channels, h, w, padT, padB, padL, padR, scale, zeroPoint, pixelStride, scratch, out)) {
      IntKernelsNative.quantizePadF32U8c4(
          x, channels, h, w, padT, padB, padL, padR, scale, zeroPoint, pixelStride, scratch, out);
    }
  }

  private static boolean checkQuantizePaddedQuads(
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
      int pixelStride,
      ByteBuffer scratch,
      ByteBuffer out) {
    Buffers.checkShape(
        "[channels,h,w,padT,padB,padL,padR,pixelStride]",
        channels,
        h,
        w,
        padT,
        padB,
        padL,
        padR,
        pixelStride);
    checkQuantization(scale, zeroPoint);
    long plane = (h + (long) padT + padB) * (w + (long) padL + padR);
    if (plane > pixelStride || pixelStride % PIXEL_BLOCK != 0) {
      throw new IllegalArgumentException(
          "pixelStride="
              + pixelStride
              + " must be a multiple of "
              + PIXEL_BLOCK
              + " and >= the padded plane="
              + plane);
    }
    checkIntSized("padded image", channels * plane);
    Buffers.checkInput("x", x, (long) channels * h * w);
    Buffers.checkOutput("scratch", scratch, channels * plane);
    Buffers.checkOutput("out", out, directInputBytes(channels, pixelStride));
    return channels > 0 && plane > 0;
  }

  /**
   * The direct convolution of the quad-layout image x4 [c, ph, pw] (pixel stride {@code
   * pixelStride}) by the s8q4m4 weights {@code wq} [m, c, kH, kW], stride 1: {@code y[j·ldy + q]}
   * for every wide pixel q = oh·pw + ow &lt; {@link #directWideLength}(outH, pw), outH = ph − kH +
   * 1; only ow &lt; pw − kW + 1 are outputs (the rest is scrap, see {@link #cropPool}). Same output
   * stage and rounding as {@link #conv}.
   */
  public static void convDirect(
      ByteBuffer wq,
      int m,
      int c,
      int kH,
      int kW,
      ByteBuffer x4,
      int pixelStride,
      int ph,
      int pw,
      RequantParams params,
      FloatBuffer y,
      int ldy) {
    convDirect(wq, m, c, kH, kW, x4, pixelStride, ph, pw, params, y, ldy, false);
  }

  /** The scalar C twin of {@link #convDirect}, for tests. */
  public static void convDirectRef(
      ByteBuffer wq,
      int m,
      int c,
      int kH,
      int kW,
      ByteBuffer x4,
      int pixelStride,
      int ph,
      int pw,
      RequantParams params,
      FloatBuffer y,
      int ldy) {
    convDirect(wq, m, c, kH, kW, x4, pixelStride, ph, pw, params, y, ldy, true);
  }

  private static void convDirect(
      ByteBuffer wq,
      int m,
      int c,
      int kH,
      int kW,
      ByteBuffer x4,
      int pixelStride,
      int ph,
      int pw,
      RequantParams params,
      FloatBuffer y,
      int ldy,
      boolean ref) {
    if (checkConvDirect(wq, m, c, kH, kW, x4, pixelStride, ph, pw, params, y, ldy, ref)) {
      IntKernelsNative.convDirectU8c4F32(
          wq,
          m,
          c,
          kH,
          kW,
          x4,
          pixelStride,
          pw,
          ph - kH + 1,
          params.bias(),
          params.scale(),
          params.relu() ? 1 : 0,
          y,
          ldy,
          ref ? 1 : 0);
    }
  }

  private static boolean checkConvDirect(
      ByteBuffer wq,
      int m,
      int c,
      int kH,
      int kW,
      ByteBuffer x4,
      int pixelStride,
      int ph,
      int pw,
      RequantParams params,
      FloatBuffer y,
      int ldy,
      boolean ref) {
    Buffers.checkShape("[m,c,kH,kW,pixelStride,ph,pw,ldy]", m, c, kH, kW, pixelStride, ph, pw, ldy);
    if (kH < 1 || kW < 1 || kH > ph || kW > pw) {
      throw new IllegalArgumentException(
          "kernel kH="
              + kH
              + " kW="
              + kW
              + " must be >= 1 and fit the image ph="
              + ph
              + " pw="
              + pw);
    }
    if ((long) c * kH * kW > Int8Gemm.MAX_K) {
      throw new IllegalArgumentException(
          "k=c·kH·kW=" + (long) c * kH * kW + " exceeds MAX_K=" + Int8Gemm.MAX_K);
    }
    if (params == null) {
      throw new IllegalArgumentException("params is null");
    }
    int outH = ph - kH + 1;
    int wide = directWideLength(outH, pw);
    if (pixelStride != directPixelStride(ph, pw, kH, kW, outH)) {
      throw new IllegalArgumentException(
          "pixelStride="
              + pixelStride
              + ", expected "
              + directPixelStride(ph, pw, kH, kW, outH)
              + " for ph="
              + ph
              + " pw="
              + pw
              + " kH="
              + kH
              + " kW="
              + kW);
    }
    if (ldy < wide) {
      throw new IllegalArgumentException("ldy=" + ldy + " < wide plane=" + wide);
    }
    Buffers.checkInput("wq", wq, directWeightBytes(m, c, kH, kW));
    Buffers.checkInput("x4", x4, directInputBytes(c, pixelStride));
    Buffers.checkInput("scale", params.scale(), m);
    if (params.bias() != null) {
      Buffers.checkInput("bias", params.bias(), m);
    }
    long needed = m == 0 ? 0 : (long) (m - 1) * ldy + wide;
    checkIntSized("y", needed);
    Buffers.checkOutput("y", y, needed);
    return m > 0 && c > 0;
  }

  /**
   * Compact outputs from row-strided planes: {@code src[j·srcPlane + r·srcRow + col]} for r &lt;
   * rows, col &lt; cols. {@code poolK} 0 copies them into y [m, rows, cols]; otherwise y [m, outH2,
   * outW2] is their max over poolK×poolK windows at stride poolS (no padding, every window inside).
   * The plain max equals Java's {@code Math.max} on convolution outputs (never NaN, never −0).
   */
  public static void cropPool(
      FloatBuffer src,
      int m,
      int srcPlane,
      int srcRow,
      int rows,
      int cols,
      int poolK,
      int poolS,
      int outH2,
      int outW2,
      FloatBuffer y) {
    if (checkCropPool(src, m, srcPlane, srcRow, rows, cols, poolK, poolS, outH2, outW2, y)) {
      IntKernelsNative.convCropPoolF32(
          src, m, srcPlane, srcRow, rows, cols, poolK, poolS, outH2, outW2, y);
    }
  }

  private static boolean checkCropPool(
      FloatBuffer src,
      int m,
      int srcPlane,
      int srcRow,
      int rows,
      int cols,
      int poolK,
      int poolS,
      int outH2,
      int outW2,
      FloatBuffer y) {
    Buffers.checkShape(
        "[m,srcPlane,srcRow,rows,cols,poolK,poolS,outH2,outW2]",
        m,
        srcPlane,
        srcRow,
        rows,
        cols,
        poolK,
        poolS,
        outH2,
        outW2);
    if (cols > srcRow || (long) rows * srcRow > srcPlane && m > 1) {
      throw new IllegalArgumentException(
          "cols="
              + cols
              + " rows="
              + rows
              + " do not fit srcRow="
              + srcRow
              + " srcPlane="
              + srcPlane);
    }
    long outputs;
    if (poolK == 0) {
      outputs = (long) m * rows * cols;
    } else {
      if (poolS < 1
          || outH2 < 1
          || outW2 < 1
          || (long) (outH2 - 1) * poolS + poolK > rows
          || (long) (outW2 - 1) * poolS + poolK > cols) {
        throw new IllegalArgumentException(
            "pool poolK="
                + poolK
                + " poolS="
                + poolS
                + " outH2="
                + outH2
                + " outW2="
                + outW2
                + " reads past rows="
                + rows
                + " cols="
                + cols);
      }
      outputs = (long) m * outH2 * outW2;
    }
    long reads =
        m == 0 || rows == 0 ? 0 : (long) (m - 1) * srcPlane + (long) (rows - 1) * srcRow + cols;
    checkIntSized("src", reads);
    checkIntSized("y", outputs);
    Buffers.checkInput("src", src, reads);
    Buffers.checkOutput("y", y, outputs);
    return outputs > 0;
  }

  // ---------------------------------------------------------------------------------------------
  // Whole images in one crossing: the checks of every step above, then one native call chaining
  // them (same kernels, same results), since each crossing costs about as much as a small step.
  // ---------------------------------------------------------------------------------------------

  /**
   * One image through {@link #quantizePadded} → {@link #im2col} → {@link #conv} into y [m, P]
   * ({@code pool} null), or into {@code convOut} [m, P] and then {@link #cropPool} into y.
   *
   * @param pads {padT, padB, padL, padR}
   * @param window {kH, kW, sH, sW, dH, dW, outH, outW} as {@link #im2col}
   * @param pool {poolK, poolS, outH2, outW2}, or null
   */
  public static void convImage(
      FloatBuffer x,
      int channels,
      int h,
      int w,
      int[] pads,
      float scale,
      int zeroPoint,
      ByteBuffer packedWeights,
      int m,
      int[] window,
      RequantParams params,
      ByteBuffer padded,
      ByteBuffer patches,
      FloatBuffer convOut,
      int[] pool,
      FloatBuffer y) {
    if (pads == null || pads.length != 4 || pool != null && pool.length != 4) {
      throw new IllegalArgumentException("pads must be {t,b,l,r} and pool {k,s,outH2,outW2}");
    }
    Buffers.checkShape("pads", pads);
    boolean work =
        checkQuantizePadded(
            x, channels, h, w, pads[0], pads[1], pads[2], pads[3], scale, zeroPoint, padded);
    int ph = h + pads[0] + pads[1];
    int pw = w + pads[2] + pads[3];
    work &= checkIm2col(padded, channels, ph, pw, window, patches);
    int k = channels * window[0] * window[1];
    int pixels = window[6] * window[7];
    FloatBuffer product = pool == null ? y : convOut;
    work &= checkConv(packedWeights, m, k, patches, pixels, params, product, false);
    if (pool != null) {
      work &=
          checkCropPool(
              convOut, m, pixels, window[7], window[6], window[7], pool[0], pool[1], pool[2],
              pool[3], y);
    }
    if (!work) { // an empty extent somewhere: the steps one by one handle it
      quantizePadded(
          x, channels, h, w, pads[0], pads[1], pads[2], pads[3], scale, zeroPoint, padded);
      im2col(padded, channels, ph, pw, window, patches);
      conv(packedWeights, m, k, patches, pixels, params, product);
      if (pool != null) {
        cropPool(
            convOut, m, pixels, window[7], window[6], window[7], pool[0], pool[1], pool[2], pool[3],
            y);
      }
      return;
    }
    IntKernelsNative.qconvIm2colF32(
        x,
        channels,
        h,
        w,
        pads[0],
        pads[1],
        pads[2],
        pads[3],
        scale,
        zeroPoint,
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

  /**
   * One image through {@link #quantizePaddedQuads} → {@link #convDirect} (into {@code planes}, ldy
   * = {@link #directWideLength}) → {@link #cropPool} (crop when {@code pool} is null) into y.
   *
   * @param pads {padT, padB, padL, padR}
   * @param pool {poolK, poolS, outH2, outW2}, or null
   */
  public static void directImage(
      FloatBuffer x,
      int channels,
      int h,
      int w,
      int[] pads,
      float scale,
      int zeroPoint,
      ByteBuffer wq,
      int m,
      int kH,
      int kW,
      int pixelStride,
      RequantParams params,
      ByteBuffer scratch,
      ByteBuffer x4,
      FloatBuffer planes,
      int[] pool,
      FloatBuffer y) {
    if (pads == null || pads.length != 4 || pool != null && pool.length != 4) {
      throw new IllegalArgumentException("pads must be {t,b,l,r} and pool {k,s,outH2,outW2}");
    }
    Buffers.checkShape("pads", pads);
    boolean work =
        checkQuantizePaddedQuads(
            x,
            channels,
            h,
            w,
            pads[0],
            pads[1],
            pads[2],
            pads[3],
            scale,
            zeroPoint,
            pixelStride,
            scratch,
            x4);
    int ph = h + pads[0] + pads[1];
    int pw = w + pads[2] + pads[3];
    int outH = ph - kH + 1;
    int outW = pw - kW + 1;
    int wide = directWideLength(Math.max(outH, 0), pw);
    work &=
        checkConvDirect(
            wq, m, channels, kH, kW, x4, pixelStride, ph, pw, params, planes, wide, false);
    int poolK = pool == null ? 0 : pool[0];
    int poolS = pool == null ? 0 : pool[1];
    int outH2 = pool == null ? 0 : pool[2];
    int outW2 = pool == null ? 0 : pool[3];
    work &= checkCropPool(planes, m, wide, pw, outH, outW, poolK, poolS, outH2, outW2, y);
    if (!work) {
      throw new IllegalArgumentException(
          "directImage: empty extent channels="
              + channels
              + " m="
              + m
              + " ph="
              + ph
              + " pw="
              + pw
              + " (the direct path needs a non-empty image and output)");
    }
    IntKernelsNative.qconvDirectF32(
        x,
        channels,
        h,
        w,
        pads[0],
        pads[1],
        pads[2],
        pads[3],
        scale,
        zeroPoint,
        wq,
        m,
        kH,
        kW,
        pixelStride,
        params.bias(),
        params.scale(),
        params.relu() ? 1 : 0,
        scratch,
        x4,
        planes,
        wide,
        poolK,
        poolS,
        outH2,
        outW2,
        y);
  }

  // ---------------------------------------------------------------------------------------------
  // The direct convolution for few input channels: quads along kw (layouts drawn in cai_int8.h).
  // ---------------------------------------------------------------------------------------------

  /** Output channels per block of the s8k4m16 weight layout. */
  public static final int KQ_CHANNEL_BLOCK = 16;

  /** Whether the kw-quad kernel's vector body runs here (AVX-512 VNNI + VBMI). */
  public static boolean kqAvailable() {
    return IntKernels.vnni() && IntKernelsNative.convKqAvailable() != 0;
  }

  /** Bytes of the s8k4m16 weights of an [m, c, kH, kW] convolution. */
  public static long kqWeightBytes(int m, int c, int kH, int kW) {
    Buffers.checkShape("[m,c,kH,kW]", m, c, kH, kW);
    return (long) ((m + KQ_CHANNEL_BLOCK - 1) / KQ_CHANNEL_BLOCK)
        * c
        * kH
        * ((kW + 3) / 4)
        * KQ_CHANNEL_BLOCK
        * 4;
  }

  /** The s8k4m16 form of the s8p16 weights [m, c·kH·kW], in a new direct buffer (once per plan). */
  public static ByteBuffer packKqWeights(ByteBuffer packedWeights, int m, int c, int kH, int kW) {
    long bytes = kqWeightBytes(m, c, kH, kW);
    checkIntSized("kq weights", bytes);
    long k = (long) c * kH * kW;
    if (k > Int8Gemm.MAX_K) {
      throw new IllegalArgumentException("k=" + k + " exceeds MAX_K=" + Int8Gemm.MAX_K);
    }
    Buffers.checkInput("packedWeights", packedWeights, Int8Gemm.packedSizeBytes(m, (int) k));
    ByteBuffer out = ByteBuffer.allocateDirect((int) Math.max(bytes, 1));
    if (bytes > 0) {
      IntKernelsNative.packConvKq(packedWeights, m, c, kH, kW, out);
    }
    return out;
  }

  /**
   * Bytes per plane of the kw-quad kernel's input: every 64-byte load stays inside, {@code
   * round_up(max(wide + (kH-1)·pw + 4·ceil(kW/4) + 48, ph·pw), 16)}.
   */
  public static int kqPixelStride(int ph, int pw, int kH, int kW, int outH) {
    Buffers.checkShape("[ph,pw,kH,kW,outH]", ph, pw, kH, kW, outH);
    long reach =
        (long) directWideLength(outH, pw) + (long) (kH - 1) * pw + 4L * ((kW + 3) / 4) + 48;
    long stride = Math.max(reach, (long) ph * pw);
    checkIntSized("pixel stride", stride + PIXEL_BLOCK);
    return Int8Gemm.roundUp((int) stride, PIXEL_BLOCK);
  }

  /**
   * One image, stride 1, through the kw-quad kernel: each plane quantized and padded ({@link
   * #quantizePadded}'s rule) into {@code img} ({@code pixelStride} bytes per plane), the product on
   * wide rows into {@code planes} [m, {@link #directWideLength}], then {@link #cropPool} into y.
   * Same output stage and results as {@link #conv}.
   *
   * @param pads {padT, padB, padL, padR}
   * @param pool {poolK, poolS, outH2, outW2}, or null
   */
  public static void kqImage(
      FloatBuffer x,
      int channels,
      int h,
      int w,
      int[] pads,
      float scale,
      int zeroPoint,
      ByteBuffer wk,
      int m,
      int kH,
      int kW,
      int pixelStride,
      RequantParams params,
      ByteBuffer img,
      FloatBuffer planes,
      int[] pool,
      FloatBuffer y) {
    kqImage(
        x,
        channels,
        h,
        w,
        pads,
        scale,
        zeroPoint,
        wk,
        m,
        kH,
        kW,
        pixelStride,
        params,
        img,
        planes,
        pool,
        y,
        false);
  }

  /** {@link #kqImage} with the scalar C twin of the product, for tests. */
  public static void kqImageRef(
      FloatBuffer x,
      int channels,
      int h,
      int w,
      int[] pads,
      float scale,
      int zeroPoint,
      ByteBuffer wk,
      int m,
      int kH,
      int kW,
      int pixelStride,
      RequantParams params,
      ByteBuffer img,
      FloatBuffer planes,
      int[] pool,
      FloatBuffer y) {
    kqImage(
        x,
        channels,
        h,
        w,
        pads,
        scale,
        zeroPoint,
        wk,
        m,
        kH,
        kW,
        pixelStride,
        params,
        img,
        planes,
        pool,
        y,
        true);
  }

  private static void kqImage(
      FloatBuffer x,
      int channels,
      int h,
      int w,
      int[] pads,
      float scale,
      int zeroPoint,
      ByteBuffer wk,
      int m,
      int kH,
      int kW,
      int pixelStride,
      RequantParams params,
      ByteBuffer img,
      FloatBuffer planes,
      int[] pool,
      FloatBuffer y,
      boolean ref) {
    if (pads == null || pads.length != 4 || pool != null && pool.length != 4) {
      throw new IllegalArgumentException("pads must be {t,b,l,r} and pool {k,s,outH2,outW2}");
    }
    Buffers.checkShape(
        "[channels,h,w,m,kH,kW,pixelStride]", channels, h, w, m, kH, kW, pixelStride);
    Buffers.checkShape("pads", pads);
    checkQuantization(scale, zeroPoint);
    if (params == null) {
      throw new IllegalArgumentException("params is null");
    }
    long phLong = (long) h + pads[0] + pads[1];
    long pwLong = (long) w + pads[2] + pads[3];
    checkIntSized("padded plane", phLong * pwLong);
    int ph = (int) phLong;
    int pw = (int) pwLong;
    if (channels < 1 || m < 1 || kH < 1 || kW < 1 || kH > ph || kW > pw) {
      throw new IllegalArgumentException(
          "kqImage: channels="
              + channels
              + " m="
              + m
              + " kernel "
              + kH
              + "x"
              + kW
              + " must be >= 1 and fit the padded image "
              + ph
              + "x"
              + pw);
    }
    if ((long) channels * kH * kW > Int8Gemm.MAX_K) {
      throw new IllegalArgumentException(
          "k=c·kH·kW=" + (long) channels * kH * kW + " exceeds MAX_K=" + Int8Gemm.MAX_K);
    }
    int outH = ph - kH + 1;
    int outW = pw - kW + 1;
    int expected = kqPixelStride(ph, pw, kH, kW, outH);
    if (pixelStride != expected) {
      throw new IllegalArgumentException(
          "pixelStride=" + pixelStride + ", expected " + expected + " for ph=" + ph + " pw=" + pw);
    }
    int wide = directWideLength(outH, pw);
    Buffers.checkInput("x", x, (long) channels * h * w);
    Buffers.checkInput("wk", wk, kqWeightBytes(m, channels, kH, kW));
    Buffers.checkOutput("img", img, (long) channels * pixelStride);
    Buffers.checkInput("scale", params.scale(), m);
    if (params.bias() != null) {
      Buffers.checkInput("bias", params.bias(), m);
    }
    checkIntSized("planes", (long) m * wide);
    Buffers.checkOutput("planes", planes, (long) m * wide);
    int poolK = pool == null ? 0 : pool[0];
    int poolS = pool == null ? 0 : pool[1];
    int outH2 = pool == null ? 0 : pool[2];
    int outW2 = pool == null ? 0 : pool[3];
    checkCropPool(planes, m, wide, pw, outH, outW, poolK, poolS, outH2, outW2, y);
    IntKernelsNative.qconvKqF32(
        x,
        channels,
        h,
        w,
        pads[0],
        pads[1],
        pads[2],
        pads[3],
        scale,
        zeroPoint,
        wk,
        m,
        kH,
        kW,
        pixelStride,
        params.bias(),
        params.scale(),
        params.relu() ? 1 : 0,
        img,
        planes,
        wide,
        poolK,
        poolS,
        outH2,
        outW2,
        y,
        ref ? 1 : 0);
  }

  // ---------------------------------------------------------------------------------------------
  // The direct convolution with output channels in the lanes, pooled (layout drawn in cai_int8.h).
  // ---------------------------------------------------------------------------------------------

  /** Bytes of the s8q4n16 weights of an [m, c, kH, kW] convolution. */
  public static long lanesWeightBytes(int m, int c, int kH, int kW) {
    Buffers.checkShape("[m,c,kH,kW]", m, c, kH, kW);
    return (long) ((m + 15) / 16) * ((c + 3) / 4) * kH * kW * 64;
  }

  /** The s8q4n16 form of the s8p16 weights [m, c·kH·kW], in a new direct buffer (once per plan). */
  public static ByteBuffer packLanesWeights(
      ByteBuffer packedWeights, int m, int c, int kH, int kW) {
    long bytes = lanesWeightBytes(m, c, kH, kW);
    checkIntSized("lanes weights", bytes);
    long k = (long) c * kH * kW;
    if (k > Int8Gemm.MAX_K) {
      throw new IllegalArgumentException("k=" + k + " exceeds MAX_K=" + Int8Gemm.MAX_K);
    }
    Buffers.checkInput("packedWeights", packedWeights, Int8Gemm.packedSizeBytes(m, (int) k));
    ByteBuffer out = ByteBuffer.allocateDirect((int) Math.max(bytes, 1));
    if (bytes > 0) {
      IntKernelsNative.packConvT16(packedWeights, m, c, kH, kW, out);
    }
    return out;
  }

  /** Floats of the lanes kernel's product: outH · outW · round_up(m, 16). */
  public static long lanesProductFloats(int m, int outH, int outW) {
    Buffers.checkShape("[m,outH,outW]", m, outH, outW);
    return (long) outH * outW * Int8Gemm.roundUp(m, 16);
  }

  /**
   * One image, stride 1, pooled: {@link #quantizePaddedQuads} (pixel stride {@link
   * #directPixelStride}), the product with 16 output channels per vector for real outputs only into
   * {@code t} [outH·outW, round_up(m,16)], then the max over {@code pool} = {poolK, poolS, outH2,
   * outW2} windows (1, 1: a copy) into y [m, outH2, outW2]. Same results as {@link #directImage}.
   */
  public static void lanesImage(
      FloatBuffer x,
      int channels,
      int h,
      int w,
      int[] pads,
      float scale,
      int zeroPoint,
      ByteBuffer wt,
      int m,
      int kH,
      int kW,
      int pixelStride,
      RequantParams params,
      ByteBuffer scratch,
      ByteBuffer x4,
      FloatBuffer t,
      int[] pool,
      FloatBuffer y) {
    lanesImage(
        x,
        channels,
        h,
        w,
        pads,
        scale,
        zeroPoint,
        wt,
        m,
        kH,
        kW,
        pixelStride,
        params,
        scratch,
        x4,
        t,
        pool,
        y,
        false);
  }

  /** {@link #lanesImage} on the scalar C twins, for tests. */
  public static void lanesImageRef(
      FloatBuffer x,
      int channels,
      int h,
      int w,
      int[] pads,
      float scale,
      int zeroPoint,
      ByteBuffer wt,
      int m,
      int kH,
      int kW,
      int pixelStride,
      RequantParams params,
      ByteBuffer scratch,
      ByteBuffer x4,
      FloatBuffer t,
      int[] pool,
      FloatBuffer y) {
    lanesImage(
        x,
        channels,
        h,
        w,
        pads,
        scale,
        zeroPoint,
        wt,
        m,
        kH,
        kW,
        pixelStride,
        params,
        scratch,
        x4,
        t,
        pool,
        y,
        true);
  }

  private static void lanesImage(
      FloatBuffer x,
      int channels,
      int h,
      int w,
      int[] pads,
      float scale,
      int zeroPoint,
      ByteBuffer wt,
      int m,
      int kH,
      int kW,
      int pixelStride,
      RequantParams params,
      ByteBuffer scratch,
      ByteBuffer x4,
      FloatBuffer t,
      int[] pool,
      FloatBuffer y,
      boolean ref) {
    if (pads == null || pads.length != 4 || pool == null || pool.length != 4) {
      throw new IllegalArgumentException("pads must be {t,b,l,r} and pool {k,s,outH2,outW2}");
    }
    Buffers.checkShape("[channels,h,w,m,kH,kW]", channels, h, w, m, kH, kW);
    Buffers.checkShape("pads", pads);
    Buffers.checkShape("pool", pool);
    if (params == null) {
      throw new IllegalArgumentException("params is null");
    }
    boolean work =
        checkQuantizePaddedQuads(
            x,
            channels,
            h,
            w,
            pads[0],
            pads[1],
            pads[2],
            pads[3],
            scale,
            zeroPoint,
            pixelStride,
            scratch,
            x4);
    int ph = h + pads[0] + pads[1];
    int pw = w + pads[2] + pads[3];
    if (!work || m < 1 || kH < 1 || kW < 1 || kH > ph || kW > pw) {
      throw new IllegalArgumentException(
          "lanesImage: channels="
              + channels
              + " m="
              + m
              + " kernel "
              + kH
              + "x"
              + kW
              + " must be >= 1 and fit the padded image "
              + ph
              + "x"
              + pw);
    }
    if ((long) channels * kH * kW > Int8Gemm.MAX_K) {
      throw new IllegalArgumentException(
          "k=c·kH·kW=" + (long) channels * kH * kW + " exceeds MAX_K=" + Int8Gemm.MAX_K);
    }
    int outH = ph - kH + 1;
    int outW = pw - kW + 1;
    if (pixelStride != directPixelStride(ph, pw, kH, kW, outH)) {
      throw new IllegalArgumentException(
          "pixelStride=" + pixelStride + ", expected " + directPixelStride(ph, pw, kH, kW, outH));
    }
    if (pool[0] < 1
        || pool[1] < 1
        || pool[2] < 1
        || pool[3] < 1
        || (long) (pool[2] - 1) * pool[1] + pool[0] > outH
        || (long) (pool[3] - 1) * pool[1] + pool[0] > outW) {
      throw new IllegalArgumentException(
          "pool="
              + java.util.Arrays.toString(pool)
              + " reads past the output "
              + outH
              + "x"
              + outW);
    }
    long product = lanesProductFloats(m, outH, outW);
    long outputs = (long) m * pool[2] * pool[3];
    checkIntSized("t", product);
    checkIntSized("y", outputs);
    Buffers.checkInput("wt", wt, lanesWeightBytes(m, channels, kH, kW));
    Buffers.checkInput("scale", params.scale(), m);
    if (params.bias() != null) {
      Buffers.checkInput("bias", params.bias(), m);
    }
    Buffers.checkOutput("t", t, product);
    Buffers.checkOutput("y", y, outputs);
    IntKernelsNative.qconvDirectTF32(
        x,
        channels,
        h,
        w,
        pads[0],
        pads[1],
        pads[2],
        pads[3],
        scale,
        zeroPoint,
        wt,
        m,
        kH,
        kW,
        pixelStride,
        params.bias(),
        params.scale(),
        params.relu() ? 1 : 0,
        scratch,
        x4,
        t,
        pool[0],
        pool[1],
        pool[2],
        pool[3],
        y,
        ref ? 1 : 0);
  }

  private static void checkIntSized(String name, long value) {
    if (value > Integer.MAX_VALUE) {
      throw new IllegalArgumentException(name + "=" + value + " exceeds 2^31-1");
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
