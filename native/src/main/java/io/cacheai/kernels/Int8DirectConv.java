package io.cacheai.kernels;

import static io.cacheai.kernels.ConvChecks.checkIntSized;
import static io.cacheai.kernels.ConvChecks.checkMaxK;
import static io.cacheai.kernels.ConvChecks.checkParamBuffers;
import static io.cacheai.kernels.ConvChecks.checkParams;
import static io.cacheai.kernels.ConvChecks.checkQuantization;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;

/**
 * The direct int8 convolution (stride 1, dilation 1): no patch matrix at all. The padded u8 image
 * [C, ph, pw] is quantized into channel quads over its flattened pixels ({@link
 * #quantizePaddedQuads}), {@link #pixelStride} pixels per quad group, the tail zero:
 *
 * <pre>
 *   group cg (channels 4cg..4cg+3), pixel q = row·pw + col:
 *   | x[4cg][q] | x[4cg+1][q] | x[4cg+2][q] | x[4cg+3][q] |   at byte (cg·pixelStride + q)·4
 * </pre>
 *
 * Outputs are computed on "wide" rows of pw pixels (q' = oh·pw + ow for every ow &lt; pw), so for
 * tap (kh, kw) the u8 operand of 16 consecutive outputs is one 64-byte load at q' + kh·pw + kw.
 * Columns ow ≥ outW read across the row edge and are scrap, dropped by {@link
 * Int8CropPool#cropPool}; the others are exactly the im2col convolution's values ({@link
 * Int8Conv}). The weights are repacked once per plan into s8q4m4 ({@link #packWeights}): blocks of
 * {@link #CHANNEL_BLOCK} output channels, tap t = (cg·kH + kh)·kW + kw, one s32 quad per channel:
 *
 * <pre>
 *   block jb, tap t (16 bytes):
 *   | W[4jb][4cg..4cg+3][kh][kw] | W[4jb+1][4cg..+3][kh][kw] | ... | W[4jb+3][4cg..+3][kh][kw] |
 * </pre>
 *
 * (channels ≥ C and output channels ≥ m are 0), so the broadcast quad of a {@code vpdpbusd} is one
 * aligned 4-byte memory operand. Also drawn in {@code cai_int8.h}.
 */
public final class Int8DirectConv {
  private Int8DirectConv() {}

  /** Output channels per block of the s8q4m4 weight layout. */
  public static final int CHANNEL_BLOCK = 4;

  /** Bytes of the s8q4m4 weights of an [m, c, kH, kW] convolution. */
  public static long weightBytes(int m, int c, int kH, int kW) {
    Buffers.checkShape("[m,c,kH,kW]", m, c, kH, kW);
    return (long) ((m + CHANNEL_BLOCK - 1) / CHANNEL_BLOCK)
        * ((c + 3) / 4)
        * kH
        * kW
        * CHANNEL_BLOCK
        * 4;
  }

  /**
   * The s8q4m4 form of the s8p16 weights [m, c·kH·kW] ({@link Int8Gemm#pack}), in a new direct
   * buffer: done once per plan, read by every {@link #conv}.
   */
  public static ByteBuffer packWeights(ByteBuffer packedWeights, int m, int c, int kH, int kW) {
    long bytes = weightBytes(m, c, kH, kW);
    ByteBuffer out = ConvChecks.repackTarget("direct weights", bytes, packedWeights, m, c, kH, kW);
    if (bytes > 0) {
      IntKernelsNative.packConvQ4(packedWeights, m, c, kH, kW, out);
    }
    return out;
  }

  /**
   * Pixels of a wide output plane: {@code round_up(outH · pw, 16)} (columns past outW are scrap).
   */
  public static int wideLength(int outH, int pw) {
    Buffers.checkShape("[outH,pw]", outH, pw);
    long wide = (long) outH * pw;
    checkIntSized("wide plane", wide + Int8Conv.PIXEL_BLOCK);
    return Int8Gemm.roundUp((int) wide, Int8Conv.PIXEL_BLOCK);
  }

  /**
   * Pixels per channel group of the direct kernel's input: every 64-byte load of every tap stays
   * inside, {@code round_up(wide + (kH-1)·pw + kW-1, 16)}, and at least {@code ph · pw}.
   */
  public static int pixelStride(int ph, int pw, int kH, int kW, int outH) {
    Buffers.checkShape("[ph,pw,kH,kW,outH]", ph, pw, kH, kW, outH);
    long reach = (long) wideLength(outH, pw) + (long) (kH - 1) * pw + (kW - 1);
    long stride = Math.max(reach, (long) ph * pw);
    checkIntSized("pixel stride", stride + Int8Conv.PIXEL_BLOCK);
    return Int8Gemm.roundUp((int) stride, Int8Conv.PIXEL_BLOCK);
  }

  /** Bytes of the direct kernel's input: {@code ceil(c/4) · pixelStride · 4}. */
  public static long inputBytes(int c, int pixelStride) {
    Buffers.checkShape("[c,pixelStride]", c, pixelStride);
    return (long) ((c + 3) / 4) * pixelStride * 4;
  }

  /**
   * The zero-point-padded u8 image of x [channels, h, w] ({@link Int8Conv#quantizePadded}'s rule)
   * in the direct kernel's channel-quad layout, {@code pixelStride} pixels per group (the tail
   * zero); {@code scratch} holds the padded planes on the way.
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

  /** {@link #checkQuantizePaddedQuads} of a whole-image call's input. */
  static boolean checkQuantizePaddedQuads(
      ConvInput in, int pixelStride, ByteBuffer scratch, ByteBuffer out) {
    int[] p = in.pads();
    return checkQuantizePaddedQuads(
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
        pixelStride,
        scratch,
        out);
  }

  static boolean checkQuantizePaddedQuads(
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
    if (plane > pixelStride || pixelStride % Int8Conv.PIXEL_BLOCK != 0) {
      throw new IllegalArgumentException(
          "pixelStride="
              + pixelStride
              + " must be a multiple of "
              + Int8Conv.PIXEL_BLOCK
              + " and >= the padded plane="
              + plane);
    }
    checkIntSized("padded image", channels * plane);
    Buffers.checkInput("x", x, (long) channels * h * w);
    Buffers.checkOutput("scratch", scratch, channels * plane);
    Buffers.checkOutput("out", out, inputBytes(channels, pixelStride));
    return channels > 0 && plane > 0;
  }

  /**
   * The direct convolution of the quad-layout image x4 [c, ph, pw] (pixel stride {@code
   * pixelStride}) by the s8q4m4 weights {@code wq} [m, c, kH, kW], stride 1: {@code y[j·ldy + q]}
   * for every wide pixel q = oh·pw + ow &lt; {@link #wideLength}(outH, pw), outH = ph − kH + 1;
   * only ow &lt; pw − kW + 1 are outputs (the rest is scrap, see {@link Int8CropPool#cropPool}).
   * Same output stage and rounding as {@link Int8Conv#conv}; {@code body} picks the VNNI body or
   * the scalar twin.
   */
  public static void conv(
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
      ConvBody body) {
    if (checkConv(wq, m, c, kH, kW, x4, pixelStride, ph, pw, params, y, ldy)) {
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
          body.useRef());
    }
  }

  static boolean checkConv(
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
    checkMaxK("k=c·kH·kW", (long) c * kH * kW);
    checkParams(params);
    int outH = ph - kH + 1;
    int wide = wideLength(outH, pw);
    if (pixelStride != pixelStride(ph, pw, kH, kW, outH)) {
      throw new IllegalArgumentException(
          "pixelStride="
              + pixelStride
              + ", expected "
              + pixelStride(ph, pw, kH, kW, outH)
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
    Buffers.checkInput("wq", wq, weightBytes(m, c, kH, kW));
    Buffers.checkInput("x4", x4, inputBytes(c, pixelStride));
    checkParamBuffers(params, m);
    long needed = m == 0 ? 0 : (long) (m - 1) * ldy + wide;
    checkIntSized("y", needed);
    Buffers.checkOutput("y", y, needed);
    return m > 0 && c > 0;
  }

  /**
   * One image through {@link #quantizePaddedQuads} → {@link #conv} (into {@code planes}, ldy =
   * {@link #wideLength}) → {@link Int8CropPool#cropPool} (crop when {@code pool} is null) into y.
   *
   * @param in x, its zero-point padding {padT, padB, padL, padR} and quantization
   * @param pool {poolK, poolS, outH2, outW2}, or null
   */
  public static void image(
      ConvInput in,
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
    ConvChecks.checkPadsPool(in, pool, false);
    boolean work = checkQuantizePaddedQuads(in, pixelStride, scratch, x4);
    int ph = in.h() + in.pads()[0] + in.pads()[1];
    int pw = in.w() + in.pads()[2] + in.pads()[3];
    int outH = ph - kH + 1;
    int outW = pw - kW + 1;
    int wide = wideLength(Math.max(outH, 0), pw);
    work &= checkConv(wq, m, in.channels(), kH, kW, x4, pixelStride, ph, pw, params, planes, wide);
    int poolK = pool == null ? 0 : pool[0];
    int poolS = pool == null ? 0 : pool[1];
    int outH2 = pool == null ? 0 : pool[2];
    int outW2 = pool == null ? 0 : pool[3];
    work &=
        Int8CropPool.checkCropPool(planes, m, wide, pw, outH, outW, poolK, poolS, outH2, outW2, y);
    if (!work) {
      throw new IllegalArgumentException(
          "Int8DirectConv.image: empty extent channels="
              + in.channels()
              + " m="
              + m
              + " ph="
              + ph
              + " pw="
              + pw
              + " (the direct path needs a non-empty image and output)");
    }
    IntKernelsNative.qconvDirectF32(
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
}
