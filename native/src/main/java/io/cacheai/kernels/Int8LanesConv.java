package io.cacheai.kernels;

import static io.cacheai.kernels.ConvChecks.checkIntSized;
import static io.cacheai.kernels.ConvChecks.checkParamBuffers;
import static io.cacheai.kernels.ConvChecks.checkParams;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;

/**
 * The direct int8 convolution with output channels in the lanes, for a pooled output: no scrap
 * columns. Same input as {@link Int8DirectConv} (channel quads of the padded image), but each
 * {@code vpdpbusd} computes 16 output channels of one output pixel: the u8 operand is the pixel's
 * broadcast channel quad, the s8 operand 16 channels' weight quads (one 64-byte load per tap). Only
 * real outputs are computed (the wide-row kernel also computes the kW−1 columns past each row's
 * end: 40 % more work for a 10-wide output of a 5×5 kernel). Results go to {@code t[(oh·outW +
 * ow)·ldc + j]} (ldc = round_up(m, 16)), then the pool scatters y[j][oh2][ow2] in NCHW.
 *
 * <p>The weights are repacked once per plan into s8q4n16 ({@link #packWeights}): blocks of 16
 * output channels, tap t = (cg·kH + kh)·kW + kw, 16 s32 quads (0 past c or m) = one zmm:
 *
 * <pre>
 *   block jb, tap t (64 bytes): | W[16jb][4cg..+3][kh][kw] | W[16jb+1][...] | ... | W[16jb+15][...] |
 * </pre>
 *
 * Also drawn in {@code cai_int8.h}.
 */
public final class Int8LanesConv {
  private Int8LanesConv() {}

  /** Bytes of the s8q4n16 weights of an [m, c, kH, kW] convolution. */
  public static long weightBytes(int m, int c, int kH, int kW) {
    Buffers.checkShape("[m,c,kH,kW]", m, c, kH, kW);
    return (long) ((m + 15) / 16) * ((c + 3) / 4) * kH * kW * 64;
  }

  /** The s8q4n16 form of the s8p16 weights [m, c·kH·kW], in a new direct buffer (once per plan). */
  public static ByteBuffer packWeights(ByteBuffer packedWeights, int m, int c, int kH, int kW) {
    long bytes = weightBytes(m, c, kH, kW);
    ByteBuffer out = ConvChecks.repackTarget("lanes weights", bytes, packedWeights, m, c, kH, kW);
    if (bytes > 0) {
      IntKernelsNative.packConvT16(packedWeights, m, c, kH, kW, out);
    }
    return out;
  }

  /** Floats of the lanes kernel's product: outH · outW · round_up(m, 16). */
  public static long productFloats(int m, int outH, int outW) {
    Buffers.checkShape("[m,outH,outW]", m, outH, outW);
    return (long) outH * outW * Int8Gemm.roundUp(m, 16);
  }

  /**
   * One image, stride 1, pooled: {@link Int8DirectConv#quantizePaddedQuads} (pixel stride {@link
   * Int8DirectConv#pixelStride}), the product with 16 output channels per vector for real outputs
   * only into {@code t} [outH·outW, round_up(m,16)], then the max over {@code pool} = {poolK,
   * poolS, outH2, outW2} windows (1, 1: a copy) into y [m, outH2, outW2]. Same results as {@link
   * Int8DirectConv#image}; {@code body} picks the vector bodies or the scalar twins.
   */
  public static void image(
      ConvInput in,
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
      ConvBody body) {
    ConvChecks.checkPadsPool(in, pool, true);
    Buffers.checkShape("[channels,h,w,m,kH,kW]", in.channels(), in.h(), in.w(), m, kH, kW);
    Buffers.checkShape("pool", pool);
    checkParams(params);
    Int8DirectConv.checkQuantizePaddedQuads(in, pixelStride, scratch, x4);
    int ph = in.h() + in.pads()[0] + in.pads()[1];
    int pw = in.w() + in.pads()[2] + in.pads()[3];
    ConvChecks.checkKernelFits("lanesImage", in.channels(), m, kH, kW, ph, pw);
    int outH = ph - kH + 1;
    int outW = pw - kW + 1;
    int expected = Int8DirectConv.pixelStride(ph, pw, kH, kW, outH);
    if (pixelStride != expected) {
      throw new IllegalArgumentException("pixelStride=" + pixelStride + ", expected " + expected);
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
    long product = productFloats(m, outH, outW);
    long outputs = (long) m * pool[2] * pool[3];
    checkIntSized("t", product);
    checkIntSized("y", outputs);
    Buffers.checkInput("wt", wt, weightBytes(m, in.channels(), kH, kW));
    checkParamBuffers(params, m);
    Buffers.checkOutput("t", t, product);
    Buffers.checkOutput("y", y, outputs);
    IntKernelsNative.qconvDirectTF32(
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
        body.useRef());
  }
}
