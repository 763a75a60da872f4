package io.cacheai.kernels;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;

/**
 * The low-bit convolution in NCHW: 4-bit weights (3- and 2-bit ones re-encoded exactly) in groups
 * of 32 along K, u8 activations with one dynamic scale per image, computed like {@link Int8Conv} as
 * y[channels, pixels] = W · X on the same u8c4 patches ({@link Int8Conv#quantizePadded} + {@link
 * Int8Conv#im2col}), but each group of 32 k summed exactly in s32 and scaled by its own fp32 d
 * before the groups are added:
 *
 * <pre>
 *   y[j, p] = relu?( xScale · (Σ_g d[j][g] · Σ_{k∈g} w[j][k] · X[k][p] − zp · zsum[j]) + bias[j] )
 * </pre>
 *
 * <p>Weights: the <b>s4g32</b> form, built once from q4g32 blocks by {@link #fromQ4g32} (8 bits per
 * weight in memory; the bundle keeps its 2–4 bits). For W [m, k], Kp = k rounded up to 32, G = Kp /
 * 32:
 *
 * <pre>
 *   w     m × Kp  s8    row j at byte j·Kp, values −8..7 (q − 8), 0 past k
 *   d     m × G   fp32  d[j·G + g]: scale of row j's group g (weight = d · w)
 *   zsum  m       fp32  Σ_g d[j][g] · (Σ of group g's w): the zero-point term, folded into the
 *                       bias once per call
 * </pre>
 *
 * Why: {@code vpdpbusd} multiplies 16 pixels × 4 k of u8 X by a broadcast quad of one channel's s8
 * weights, exactly; per group one convert and one FMA apply the group's scale. |w| ≤ 8 keeps the
 * AVX2 body ({@code vpmaddubsw}) exact too. The only error beyond the weights' own is the rounding
 * of x to u8: per output at most Σ|d·w| · xScale / 2. Layout and float order: {@code
 * cai_lowbit_conv.h}; the VNNI, AVX2 and scalar bodies agree bit for bit.
 */
public final class LowBitConv {
  /** Weights per group (one scale each). */
  public static final int GROUP_SIZE = 32;

  private static final ThreadLocal<FloatBuffer> MIN_MAX =
      ThreadLocal.withInitial(() -> FloatBuffers.allocate(2));

  private LowBitConv() {}

  /**
   * Weights W [m, k] in the s4g32 form (see the class comment), direct and native-ordered.
   *
   * @param m output channels
   * @param k weights per channel (C·kH·kW), before padding to 32
   */
  public record Weights(int m, int k, ByteBuffer w, FloatBuffer d, FloatBuffer zsum) {
    public Weights {
      Buffers.checkShape("[m,k]", m, k);
      long kp = paddedK(k);
      Buffers.checkInput("w", w, m * kp);
      Buffers.checkInput("d", d, m * kp / GROUP_SIZE);
      Buffers.checkInput("zsum", zsum, m);
    }

    /** Bytes held in memory: m · (Kp · (1 + 4/32) + 4). */
    public long sizeBytes() {
      long kp = paddedK(k);
      return m * kp + m * kp / GROUP_SIZE * 4 + 4L * m;
    }
  }

  /** k rounded up to a multiple of 32. */
  public static long paddedK(int k) {
    return ((long) k + GROUP_SIZE - 1) / GROUP_SIZE * GROUP_SIZE;
  }

  /** Which body {@link #conv} runs here: 2 = AVX-512 VNNI, 1 = AVX2, 0 = the scalar twin. */
  public static int body() {
    return IntKernelsNative.convS4g32Body();
  }

  /**
   * The s4g32 form of q4g32 blocks ({@link Q4Gemm} layout, little-endian floats) of an [m, kq]
   * matrix, kq = k rounded up to 32, of which the first k weights of each row are kept (the rest
   * become 0 whatever the blocks hold there).
   */
  public static Weights fromQ4g32(ByteBuffer blocks, int m, int k) {
    Buffers.checkShape("[m,k]", m, k);
    int kp = Math.toIntExact(paddedK(k));
    if (blocks == null) {
      throw new IllegalArgumentException("blocks is null");
    }
    long needed = Q4Gemm.sizeBytes(m, kp);
    if (blocks.remaining() < needed) {
      throw new IllegalArgumentException(
          "blocks: needs="
              + needed
              + " bytes for [m,k]=["
              + m
              + ","
              + k
              + "] but remaining="
              + blocks.remaining());
    }
    ByteBuffer in = blocks.slice().order(ByteOrder.LITTLE_ENDIAN);
    int groups = kp / GROUP_SIZE;
    int blocksPerRow = Q4Gemm.blocksPerRow(kp);
    ByteBuffer w = ByteBuffer.allocateDirect(Math.multiplyExact(m, kp));
    FloatBuffer d = FloatBuffers.allocate(Math.multiplyExact(m, groups));
    FloatBuffer zsum = FloatBuffers.allocate(m);
    byte[] row = new byte[kp];
    for (int j = 0; j < m; j++) {
      float z = 0f;
      for (int g = 0; g < groups; g++) {
        int block = (j * blocksPerRow + g / 2) * Q4Gemm.BLOCK_SIZE_BYTES;
        int h = g % 2;
        d.put(j * groups + g, in.getFloat(block + 4 * h));
        int sum = 0;
        for (int i = 0; i < 16; i++) {
          int codes = in.get(block + 8 + 16 * h + i) & 0xff;
          int lo = g * GROUP_SIZE + i;
          int hi = lo + 16;
          row[lo] = (byte) (lo < k ? (codes & 15) - 8 : 0);
          row[hi] = (byte) (hi < k ? (codes >>> 4) - 8 : 0);
          sum += row[lo] + row[hi];
        }
        z = Math.fma(d.get(j * groups + g), sum, z);
      }
      zsum.put(j, z);
      w.put(j * kp, row, 0, kp);
    }
    return new Weights(m, k, w, d, zsum);
  }

  /**
   * The u8c4 patches of one image x [channels, h, w]: the same bytes as {@link
   * Int8Conv#quantizePadded} into {@code padded} then {@link Int8Conv#im2col} into {@code out}, in
   * one call; with AVX-512 VBMI, rows are quantized 16 at a time with masks and the patches of 16
   * pixels (across output rows when they lie within 64 bytes) gathered by byte permutes.
   *
   * @param pads {padT, padB, padL, padR}
   * @param window {kH, kW, sH, sW, dH, dW, outH, outW}
   */
  public static void patches(
      FloatBuffer x,
      int channels,
      int h,
      int w,
      int[] pads,
      int[] window,
      float scale,
      int zeroPoint,
      ByteBuffer padded,
      ByteBuffer out) {
    patches(x, channels, h, w, pads, window, scale, zeroPoint, padded, out, false);
  }

  /** {@link #patches} through the two int8 builders only (tests compare the two). */
  static void patchesGeneric(
      FloatBuffer x,
      int channels,
      int h,
      int w,
      int[] pads,
      int[] window,
      float scale,
      int zeroPoint,
      ByteBuffer padded,
      ByteBuffer out) {
    patches(x, channels, h, w, pads, window, scale, zeroPoint, padded, out, true);
  }

  private static void patches(
      FloatBuffer x,
      int channels,
      int h,
      int w,
      int[] pads,
      int[] window,
      float scale,
      int zeroPoint,
      ByteBuffer padded,
      ByteBuffer out,
      boolean generic) {
    if (pads == null || pads.length != 4) {
      throw new IllegalArgumentException("pads must be {padT,padB,padL,padR}");
    }
    if (window == null || window.length != 8) {
      throw new IllegalArgumentException("window must be {kH,kW,sH,sW,dH,dW,outH,outW}");
    }
    Buffers.checkShape("[channels,h,w]", channels, h, w);
    Buffers.checkShape("pads", pads);
    Buffers.checkShape("window", window);
    for (int at = 0; at < 6; at++) {
      if (window[at] < 1) {
        throw new IllegalArgumentException(
            "window=" + java.util.Arrays.toString(window) + ": kernel, stride, dilation >= 1");
      }
    }
    if (!(scale > 0) || Float.isInfinite(scale)) {
      throw new IllegalArgumentException("scale=" + scale + " must be finite and > 0");
    }
    if (zeroPoint < 0 || zeroPoint > 255) {
      throw new IllegalArgumentException("zeroPoint=" + zeroPoint + " must be in 0..255");
    }
    long ph = (long) h + pads[0] + pads[1];
    long pw = (long) w + pads[2] + pads[3];
    long paddedBytes = channels * ph * pw;
    int outH = window[6];
    int outW = window[7];
    if (outH > 0
        && outW > 0
        && ((long) (outH - 1) * window[2] + (long) (window[0] - 1) * window[4] >= ph
            || (long) (outW - 1) * window[3] + (long) (window[1] - 1) * window[5] >= pw)) {
      throw new IllegalArgumentException(
          "window="
              + java.util.Arrays.toString(window)
              + " reads past the padded image ph="
              + ph
              + " pw="
              + pw);
    }
    long k = (long) channels * window[0] * window[1];
    long pixels = (long) outH * outW;
    if (paddedBytes > Integer.MAX_VALUE || k > Integer.MAX_VALUE || pixels > Integer.MAX_VALUE) {
      throw new IllegalArgumentException(
          "padded=" + paddedBytes + " k=" + k + " pixels=" + pixels + ": each must fit 2^31-1");
    }
    long patchBytes = Int8Conv.u8c4Bytes((int) k, (int) pixels);
    if (patchBytes > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("patches=" + patchBytes + " exceeds 2^31-1");
    }
    Buffers.checkInput("x", x, (long) channels * h * w);
    Buffers.checkOutput("padded", padded, paddedBytes);
    Buffers.checkOutput("out", out, patchBytes);
    if (paddedBytes == 0 || patchBytes == 0) {
      return;
    }
    IntKernelsNative.lowbitPatchesF32U8c4(
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
        window[0],
        window[1],
        window[2],
        window[3],
        window[4],
        window[5],
        outH,
        outW,
        padded,
        out,
        generic ? 1 : 0);
  }

  /** {@link #dynamicStage}: the stage is written, scale and zero point after it. */
  public static final int STAGE_OK = 1;

  /** {@link #dynamicStage}: the image holds a NaN or an infinity (or its range overflows). */
  public static final int STAGE_NOT_FINITE = 0;

  /** {@link #dynamicStage}: a stage scale or bias does not fit (a tiny activation scale). */
  public static final int STAGE_OUT_OF_RANGE = -1;

  /**
   * The per-output-channel constants of an int8 kernel run on a low-bit layer with a dynamic
   * activation scale, in one direct buffer made once per plan ({@link #of}): the channel's weight
   * scale d_j, Σ_k q[j,k] of its int8 codes and bias_j / d_j in double (absent without a bias).
   *
   * <pre>
   *   0                  4m                 8m                        16m
   *   | d_j f32 [m]      | Σq_j s32 [m]     | bias_j / d_j f64 [m]      |   (native order)
   * </pre>
   */
  public record TwinStage(int m, boolean hasBias, ByteBuffer constants) {
    public TwinStage {
      Buffers.checkShape("[m]", m);
      Buffers.checkInput("constants", constants, (hasBias ? 16L : 8L) * m);
      if (constants.position() != 0 || constants.order() != ByteOrder.nativeOrder()) {
        throw new IllegalArgumentException("constants must start at 0, in the native order");
      }
    }

    /** Lays out d_j, Σq_j and (bias null: none) bias_j / d_j for m = scales.length channels. */
    public static TwinStage of(float[] scales, int[] sums, FloatBuffer bias) {
      int m = scales.length;
      if (sums.length != m || bias != null && bias.remaining() < m) {
        throw new IllegalArgumentException(
            "m=" + m + ": sums=" + sums.length + (bias == null ? "" : " bias=" + bias.remaining()));
      }
      ByteBuffer constants =
          ByteBuffer.allocateDirect(Math.multiplyExact(bias == null ? 8 : 16, m))
              .order(ByteOrder.nativeOrder());
      for (int j = 0; j < m; j++) {
        constants.putFloat(4 * j, scales[j]);
        constants.putInt(4 * (m + j), sums[j]);
        if (bias != null) {
          constants.putDouble(8 * (m + j), bias.get(bias.position() + j) / (double) scales[j]);
        }
      }
      return new TwinStage(m, bias != null, constants);
    }
  }

  /**
   * One image's dynamic u8 quantization and the twin's output stage for it, in one crossing ({@code
   * cai_lb_dynamic_stage}, formulas in {@code cai_lowbit_conv.h}): lo = min(min x, 0), hi = max(max
   * x, 0), scale = (hi − lo)/255 (at least {@link Float#MIN_NORMAL}), zero point rint(−lo/scale) in
   * 0..255; {@code stageScale[j] = scale · d_j}, {@code stageBias[j] = rint((bias_j/d_j)/scale) −
   * zp · Σq_j}; then {@code stageScale[m] = scale}, {@code stageScale[m + 1] = zp}. Buffers are
   * read and written from their positions.
   *
   * @return {@link #STAGE_OK}, {@link #STAGE_NOT_FINITE} or {@link #STAGE_OUT_OF_RANGE}
   */
  public static int dynamicStage(
      FloatBuffer x, int count, TwinStage twin, IntBuffer stageBias, FloatBuffer stageScale) {
    if (count < 1) {
      throw new IllegalArgumentException("count=" + count + " must be >= 1");
    }
    Buffers.checkInput("x", x, count);
    Buffers.checkOutput("stageBias", stageBias, twin.m());
    Buffers.checkOutput("stageScale", stageScale, twin.m() + 2L);
    return IntKernelsNative.lbDynamicStage(
        x, count, twin.m(), twin.constants(), twin.hasBias() ? 1 : 0, stageBias, stageScale);
  }

  /** {@code out[0] = min, out[1] = max} of x[0, count); both NaN when any value is NaN. */
  public static void minMax(FloatBuffer x, int count, float[] out) {
    if (count < 1) {
      throw new IllegalArgumentException("count=" + count + " must be >= 1");
    }
    Buffers.checkInput("x", x, count);
    if (out == null || out.length < 2) {
      throw new IllegalArgumentException("out must hold 2 floats");
    }
    FloatBuffer result = MIN_MAX.get();
    IntKernelsNative.minMaxF32(x, count, result);
    out[0] = result.get(0);
    out[1] = result.get(1);
  }

  /**
   * {@code y[j·pixels + p]} for j &lt; m, p &lt; pixels (see the class comment) from the u8c4
   * patches {@code x4} of [k, pixels] ({@link Int8Conv#u8c4Bytes}), quantized with {@code xScale}
   * and {@code xZeroPoint}; bias fp32 [m] or null.
   */
  public static void conv(
      Weights weights,
      ByteBuffer x4,
      int pixels,
      float xScale,
      int xZeroPoint,
      FloatBuffer bias,
      boolean relu,
      FloatBuffer y) {
    conv(weights, x4, pixels, xScale, xZeroPoint, bias, relu, y, false);
  }

  /** The scalar C twin of {@link #conv}, for tests. */
  public static void convRef(
      Weights weights,
      ByteBuffer x4,
      int pixels,
      float xScale,
      int xZeroPoint,
      FloatBuffer bias,
      boolean relu,
      FloatBuffer y) {
    conv(weights, x4, pixels, xScale, xZeroPoint, bias, relu, y, true);
  }

  private static void conv(
      Weights weights,
      ByteBuffer x4,
      int pixels,
      float xScale,
      int xZeroPoint,
      FloatBuffer bias,
      boolean relu,
      FloatBuffer y,
      boolean ref) {
    if (weights == null) {
      throw new IllegalArgumentException("weights is null");
    }
    Buffers.checkShape("[pixels]", pixels);
    if (!(xScale > 0) || Float.isInfinite(xScale)) {
      throw new IllegalArgumentException("xScale=" + xScale + " must be finite and > 0");
    }
    if (xZeroPoint < 0 || xZeroPoint > 255) {
      throw new IllegalArgumentException("xZeroPoint=" + xZeroPoint + " must be in 0..255");
    }
    int m = weights.m();
    int k = weights.k();
    long outputs = (long) m * pixels;
    if (outputs > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("y=" + outputs + " exceeds 2^31-1");
    }
    Buffers.checkInput("x4", x4, Int8Conv.u8c4Bytes(k, pixels));
    if (bias != null) {
      Buffers.checkInput("bias", bias, m);
    }
    Buffers.checkOutput("y", y, outputs);
    if (m == 0 || pixels == 0) {
      return;
    }
    IntKernelsNative.convS4g32U8c4F32(
        weights.w(),
        weights.d(),
        weights.zsum(),
        m,
        k,
        x4,
        pixels,
        xScale,
        xZeroPoint,
        bias,
        relu ? 1 : 0,
        y,
        pixels,
        ref ? 1 : 0);
  }
}
