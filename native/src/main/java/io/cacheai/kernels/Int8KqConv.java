package io.cacheai.kernels;

import static io.cacheai.kernels.ConvChecks.checkIntSized;
import static io.cacheai.kernels.ConvChecks.checkParamBuffers;
import static io.cacheai.kernels.ConvChecks.checkParams;
import static io.cacheai.kernels.ConvChecks.checkQuantization;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;

/**
 * The direct int8 convolution for few input channels (C &lt; 4, e.g. an image's first layer): quads
 * along kw instead of channels, so C = 1 wastes nothing on absent channels. Stride 1, dilation 1;
 * the vector body needs AVX-512 VBMI ({@code vpermb}) besides VNNI ({@link #available()}), else the
 * scalar twin runs.
 *
 * <p>Input: the zero-point-padded u8 image plane by plane, channel ch at byte ch·{@link
 * #pixelStride}, pixel row·pw + col (bytes ph·pw .. pixelStride−1 zero). Outputs on wide rows as
 * {@link Int8DirectConv}. The weights are repacked once per plan into s8k4m16 ({@link
 * #packWeights}): blocks of {@link #CHANNEL_BLOCK} output channels, tap t = (ch·kH + kh)·ceil(kW/4)
 * + kq, one s32 per channel:
 *
 * <pre>
 *   block jb, tap t (64 bytes):
 *   | W[16jb][ch][kh][4kq .. 4kq+3] | W[16jb+1][ch][kh][4kq .. +3] | ... | W[16jb+15][...] |
 * </pre>
 *
 * (kw ≥ kW and output channels ≥ m are 0). Also drawn in {@code cai_int8.h}.
 */
public final class Int8KqConv {
  private Int8KqConv() {}

  /** Output channels per block of the s8k4m16 weight layout. */
  public static final int CHANNEL_BLOCK = 16;

  /** Whether the kw-quad kernel's vector body runs here (AVX-512 VNNI + VBMI). */
  public static boolean available() {
    return IntKernels.vnni() && IntKernelsNative.convKqAvailable() != 0;
  }

  /** Bytes of the s8k4m16 weights of an [m, c, kH, kW] convolution. */
  public static long weightBytes(int m, int c, int kH, int kW) {
    Buffers.checkShape("[m,c,kH,kW]", m, c, kH, kW);
    return (long) ((m + CHANNEL_BLOCK - 1) / CHANNEL_BLOCK)
        * c
        * kH
        * ((kW + 3) / 4)
        * CHANNEL_BLOCK
        * 4;
  }

  /** The s8k4m16 form of the s8p16 weights [m, c·kH·kW], in a new direct buffer (once per plan). */
  public static ByteBuffer packWeights(ByteBuffer packedWeights, int m, int c, int kH, int kW) {
    long bytes = weightBytes(m, c, kH, kW);
    ByteBuffer out = ConvChecks.repackTarget("kq weights", bytes, packedWeights, m, c, kH, kW);
    if (bytes > 0) {
      IntKernelsNative.packConvKq(packedWeights, m, c, kH, kW, out);
    }
    return out;
  }

  /**
   * Bytes per plane of the kw-quad kernel's input: every 64-byte load stays inside, {@code
   * round_up(max(wide + (kH-1)·pw + 4·ceil(kW/4) + 48, ph·pw), 16)}.
   */
  public static int pixelStride(int ph, int pw, int kH, int kW, int outH) {
    Buffers.checkShape("[ph,pw,kH,kW,outH]", ph, pw, kH, kW, outH);
    long reach =
        (long) Int8DirectConv.wideLength(outH, pw)
            + (long) (kH - 1) * pw
            + 4L * ((kW + 3) / 4)
            + 48;
    long stride = Math.max(reach, (long) ph * pw);
    checkIntSized("pixel stride", stride + Int8Conv.PIXEL_BLOCK);
    return Int8Gemm.roundUp((int) stride, Int8Conv.PIXEL_BLOCK);
  }

  /**
   * One image, stride 1, through the kw-quad kernel: each plane quantized and padded ({@link
   * Int8Conv#quantizePadded}'s rule) into {@code img} ({@code pixelStride} bytes per plane), the
   * product on wide rows into {@code planes} [m, {@link Int8DirectConv#wideLength}], then {@link
   * Int8CropPool#cropPool} into y. Same output stage and results as {@link Int8Conv#conv}; {@code
   * body} picks the vector body (when {@link #available()}) or the scalar twin of the product.
   *
   * @param in x, its zero-point padding {padT, padB, padL, padR} and quantization
   * @param pool {poolK, poolS, outH2, outW2}, or null
   * @param body {@link ConvBody#BEST}, or the scalar twin of the product for tests
   */
  public static void image(
      ConvInput in,
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
      ConvBody body) {
    ConvChecks.checkPadsPool(in, pool, false);
    Buffers.checkShape(
        "[channels,h,w,m,kH,kW,pixelStride]",
        in.channels(),
        in.h(),
        in.w(),
        m,
        kH,
        kW,
        pixelStride);
    checkQuantization(in.scale(), in.zeroPoint());
    checkParams(params);
    long phLong = (long) in.h() + in.pads()[0] + in.pads()[1];
    long pwLong = (long) in.w() + in.pads()[2] + in.pads()[3];
    checkIntSized("padded plane", phLong * pwLong);
    int ph = (int) phLong;
    int pw = (int) pwLong;
    ConvChecks.checkKernelFits("kqImage", in.channels(), m, kH, kW, ph, pw);
    int outH = ph - kH + 1;
    int outW = pw - kW + 1;
    int expected = pixelStride(ph, pw, kH, kW, outH);
    if (pixelStride != expected) {
      throw new IllegalArgumentException(
          "pixelStride=" + pixelStride + ", expected " + expected + " for ph=" + ph + " pw=" + pw);
    }
    int wide = Int8DirectConv.wideLength(outH, pw);
    Buffers.checkInput("x", in.x(), (long) in.channels() * in.h() * in.w());
    Buffers.checkInput("wk", wk, weightBytes(m, in.channels(), kH, kW));
    Buffers.checkOutput("img", img, (long) in.channels() * pixelStride);
    checkParamBuffers(params, m);
    checkIntSized("planes", (long) m * wide);
    Buffers.checkOutput("planes", planes, (long) m * wide);
    int poolK = pool == null ? 0 : pool[0];
    int poolS = pool == null ? 0 : pool[1];
    int outH2 = pool == null ? 0 : pool[2];
    int outW2 = pool == null ? 0 : pool[3];
    Int8CropPool.checkCropPool(planes, m, wide, pw, outH, outW, poolK, poolS, outH2, outW2, y);
    IntKernelsNative.qconvKqF32(
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
        body.useRef());
  }
}
