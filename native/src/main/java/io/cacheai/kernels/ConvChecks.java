package io.cacheai.kernels;

import java.nio.ByteBuffer;

/**
 * The argument checks every int8 convolution family shares ({@link Int8Conv}, {@link
 * Int8DirectConv}, {@link Int8KqConv}, {@link Int8LanesConv}, {@link Int8CropPool}): sizes that
 * must fit an int, the u8 quantization, the k limit, the output stage's buffers and the s8p16
 * weights a per-plan repack reads. Each throws {@link IllegalArgumentException} naming the field.
 */
final class ConvChecks {
  private ConvChecks() {}

  static void checkIntSized(String name, long value) {
    if (value > Integer.MAX_VALUE) {
      throw new IllegalArgumentException(name + "=" + value + " exceeds 2^31-1");
    }
  }

  static void checkQuantization(float scale, int zeroPoint) {
    if (!(scale > 0) || Float.isInfinite(scale)) {
      throw new IllegalArgumentException("scale=" + scale + " must be finite and > 0");
    }
    if (zeroPoint < 0 || zeroPoint > 255) {
      throw new IllegalArgumentException("zeroPoint=" + zeroPoint + " must be in 0..255");
    }
  }

  /** {@code k} (named {@code name}) within the s32 accumulators' exact range. */
  static void checkMaxK(String name, long k) {
    if (k > Int8Gemm.MAX_K) {
      throw new IllegalArgumentException(name + "=" + k + " exceeds MAX_K=" + Int8Gemm.MAX_K);
    }
  }

  static void checkParams(RequantParams params) {
    if (params == null) {
      throw new IllegalArgumentException("params is null");
    }
  }

  /** The output stage's per-channel scale (and bias, if any) hold {@code m} values. */
  static void checkParamBuffers(RequantParams params, int m) {
    Buffers.checkInput("scale", params.scale(), m);
    if (params.bias() != null) {
      Buffers.checkInput("bias", params.bias(), m);
    }
  }

  /** {@code in} given, its pads = {t, b, l, r} non-negative; {@code pool} {k, s, outH2, outW2}. */
  static void checkPadsPool(ConvInput in, int[] pool, boolean poolRequired) {
    if (in == null) {
      throw new IllegalArgumentException("in (the image input) is null");
    }
    int[] pads = in.pads();
    if (pads == null || pads.length != 4 || (pool == null ? poolRequired : pool.length != 4)) {
      throw new IllegalArgumentException("pads must be {t,b,l,r} and pool {k,s,outH2,outW2}");
    }
    Buffers.checkShape("pads", pads);
  }

  /**
   * The s8p16 weights [m, c·kH·kW] a per-plan repack reads, then a new direct buffer of {@code
   * bytes} (at least 1) for the repacked form.
   */
  static ByteBuffer repackTarget(
      String name, long bytes, ByteBuffer packedWeights, int m, int c, int kH, int kW) {
    checkIntSized(name, bytes);
    long k = (long) c * kH * kW;
    checkIntSized("k", k);
    checkMaxK("k", k);
    Buffers.checkInput("packedWeights", packedWeights, Int8Gemm.packedSizeBytes(m, (int) k));
    return ByteBuffer.allocateDirect((int) Math.max(bytes, 1));
  }

  /** A stride-1 kernel kH×kW over {@code channels} planes ph×pw into m channels: all non-empty. */
  static void checkKernelFits(String what, int channels, int m, int kH, int kW, int ph, int pw) {
    if (channels < 1 || m < 1 || kH < 1 || kW < 1 || kH > ph || kW > pw) {
      throw new IllegalArgumentException(
          what
              + ": channels="
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
    checkMaxK("k=c·kH·kW", (long) channels * kH * kW);
  }
}
