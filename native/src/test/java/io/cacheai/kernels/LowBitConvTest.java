package io.cacheai.kernels;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@link LowBitConv} (s4g32 weights × u8c4 patches → fp32 NCHW) against a plain Java loop over the
 * same definition and float order: equal bit for bit on every body (VNNI, AVX2, scalar) on odd
 * shapes (k not a multiple of 4 or 32, pixels not of 16, channels not of 4), on the extreme all-255
 * × −8 / +7 inputs, and {@link LowBitConv#fromQ4g32} holds exactly the blocks' weights.
 */
class LowBitConvTest {
  /** Q4Gemm blocks of random weights [m, kp], kp = k rounded up to 32. */
  private static ByteBuffer randomBlocks(int m, int k, Random random) {
    int kp = (int) LowBitConv.paddedK(k);
    float[] w = new float[m * kp];
    for (int i = 0; i < w.length; i++) {
      w[i] = (float) random.nextGaussian() * (1 + i % 5);
    }
    ByteBuffer blocks =
        ByteBuffer.allocateDirect((int) Q4Gemm.sizeBytes(m, kp))
            .order(java.nio.ByteOrder.LITTLE_ENDIAN);
    if (m > 0 && kp > 0) {
      Q4Gemm.quantize(FloatBuffers.of(w), m, kp, blocks);
    }
    return blocks;
  }

  /** X [k, pixels] (u8) in u8c4, rows ≥ k and pixels ≥ P zero. */
  private static ByteBuffer u8c4(int[][] x, int k, int pixels) {
    int p16 = (pixels + 15) / 16 * 16;
    ByteBuffer out = ByteBuffer.allocateDirect((int) Int8Conv.u8c4Bytes(k, pixels));
    for (int r = 0; r < k; r++) {
      for (int p = 0; p < pixels; p++) {
        out.put(((r / 4) * p16 + p) * 4 + r % 4, (byte) x[r][p]);
      }
    }
    return out;
  }

  /** The definition, in the float order of cai_lowbit_conv.h. */
  private static float[] javaConv(
      LowBitConv.Weights weights,
      int[][] x,
      int pixels,
      float xScale,
      int zp,
      float[] bias,
      boolean relu) {
    int m = weights.m();
    int k = weights.k();
    int kp = (int) LowBitConv.paddedK(k);
    int groups = kp / 32;
    float[] y = new float[m * pixels];
    for (int j = 0; j < m; j++) {
      float b = Math.fma(-xScale * (float) zp, weights.zsum().get(j), bias == null ? 0f : bias[j]);
      for (int p = 0; p < pixels; p++) {
        float f = 0f;
        for (int g = 0; g < groups; g++) {
          int acc = 0;
          for (int t = g * 32; t < Math.min(k, g * 32 + 32); t++) {
            acc += weights.w().get(j * kp + t) * x[t][p];
          }
          f = Math.fma((float) acc, weights.d().get(j * groups + g), f);
        }
        float v = Math.fma(f, xScale, b);
        y[j * pixels + p] = relu && v < 0f ? 0f : v;
      }
    }
    return y;
  }

  private static float[] run(
      LowBitConv.Weights weights,
      ByteBuffer x4,
      int pixels,
      float xScale,
      int zp,
      float[] bias,
      boolean relu,
      String body) {
    FloatBuffer y = FloatBuffers.allocate(Math.max(1, weights.m() * pixels));
    FloatBuffer b = bias == null ? null : FloatBuffers.of(bias);
    try {
      IntKernels.forceNoVnni(body.equals("avx2"));
      if (body.equals("scalar")) {
        LowBitConv.convRef(weights, x4, pixels, xScale, zp, b, relu, y);
      } else {
        LowBitConv.conv(weights, x4, pixels, xScale, zp, b, relu, y);
      }
    } finally {
      IntKernels.forceNoVnni(false);
    }
    float[] out = new float[weights.m() * pixels];
    y.get(0, out);
    return out;
  }

  @ParameterizedTest(name = "m={0} k={1} pixels={2}")
  @CsvSource({
    "16, 25, 576", // MNIST conv1
    "32, 400, 100", // MNIST conv2
    "5, 27, 17",
    "3, 45, 33",
    "7, 64, 16",
    "1, 1, 1",
    "9, 97, 50",
    "33, 130, 7"
  })
  void conv_equalsJavaLoop_everyBody(int m, int k, int pixels) {
    Random random = new Random(31L * m + 7L * k + pixels);
    LowBitConv.Weights weights = LowBitConv.fromQ4g32(randomBlocks(m, k, random), m, k);
    int[][] x = new int[k][pixels];
    for (int[] row : x) {
      for (int p = 0; p < pixels; p++) {
        row[p] = random.nextInt(256);
      }
    }
    ByteBuffer x4 = u8c4(x, k, pixels);
    float[] bias = new float[m];
    for (int j = 0; j < m; j++) {
      bias[j] = (float) random.nextGaussian();
    }
    int zp = random.nextInt(256);
    float xScale = 0.0123f;
    for (boolean relu : new boolean[] {false, true}) {
      float[] expected = javaConv(weights, x, pixels, xScale, zp, bias, relu);
      for (String body : new String[] {"scalar", "avx2", "vnni"}) {
        assertThat(run(weights, x4, pixels, xScale, zp, bias, relu, body))
            .as("%s relu=%s", body, relu)
            .containsExactly(expected);
      }
    }
    float[] noBias = javaConv(weights, x, pixels, xScale, zp, null, false);
    assertThat(run(weights, x4, pixels, xScale, zp, null, false, "vnni")).containsExactly(noBias);
  }

  @Test
  void conv_extremeInputs_exact() {
    int m = 2;
    int k = 400;
    int pixels = 37;
    // row 0 all −8, row 1 all +7 (codes 0 and 15), one scale 1: the sums are exact integers
    int kp = 416;
    ByteBuffer blocks =
        ByteBuffer.allocateDirect((int) Q4Gemm.sizeBytes(m, kp))
            .order(java.nio.ByteOrder.LITTLE_ENDIAN);
    for (int j = 0; j < m; j++) {
      for (int b = 0; b < Q4Gemm.blocksPerRow(kp); b++) {
        int at = (j * Q4Gemm.blocksPerRow(kp) + b) * 40;
        blocks.putFloat(at, 1f).putFloat(at + 4, 1f);
        for (int i = 0; i < 32; i++) {
          blocks.put(at + 8 + i, (byte) (j == 0 ? 0x00 : 0xff));
        }
      }
    }
    LowBitConv.Weights weights = LowBitConv.fromQ4g32(blocks, m, k);
    int[][] x = new int[k][pixels];
    for (int[] row : x) {
      java.util.Arrays.fill(row, 255);
    }
    ByteBuffer x4 = u8c4(x, k, pixels);
    for (String body : new String[] {"scalar", "avx2", "vnni"}) {
      float[] y = run(weights, x4, pixels, 1f, 0, null, false, body);
      assertThat(y[0]).as(body).isEqualTo(-8f * 255 * k);
      assertThat(y[pixels]).as(body).isEqualTo(7f * 255 * k);
      // zero point 255: every activation is real 0
      float[] zero = run(weights, x4, pixels, 1f, 255, null, false, body);
      assertThat(zero[0]).isZero();
      assertThat(zero[2 * pixels - 1]).isZero();
    }
  }

  @Test
  void fromQ4g32_holdsTheBlocksWeights_zeroPastK() {
    Random random = new Random(5);
    int m = 3;
    int k = 45;
    ByteBuffer blocks = randomBlocks(m, k, random);
    LowBitConv.Weights weights = LowBitConv.fromQ4g32(blocks, m, k);
    int kp = 64;
    assertThat(weights.sizeBytes()).isEqualTo(m * kp + m * 2 * 4L + 4L * m);
    for (int j = 0; j < m; j++) {
      for (int t = 0; t < kp; t++) {
        int block = j * 40 + 0; // kp = 64: one block per row
        int h = t / 32;
        int i = t % 32;
        int codes = blocks.get(block + 8 + 16 * h + i % 16) & 0xff;
        int q = (i < 16 ? codes & 15 : codes >>> 4) - 8;
        assertThat((int) weights.w().get(j * kp + t))
            .as("w[%d][%d]", j, t)
            .isEqualTo(t < k ? q : 0);
      }
      double zsum = 0;
      for (int g = 0; g < 2; g++) {
        assertThat(weights.d().get(j * 2 + g)).isEqualTo(blocks.getFloat(j * 40 + 4 * g));
        int sum = 0;
        for (int t = g * 32; t < g * 32 + 32; t++) {
          sum += weights.w().get(j * kp + t);
        }
        zsum += (double) weights.d().get(j * 2 + g) * sum;
      }
      assertThat((double) weights.zsum().get(j))
          .isCloseTo(zsum, within(1e-5 * (1 + Math.abs(zsum))));
    }
  }

  @ParameterizedTest(name = "C={0} {1}x{2} k{3}x{4} s{5} pads {6},{7},{8},{9} d{10}")
  @CsvSource({
    "1, 28, 28, 5, 5, 1, 0, 0, 0, 0, 1", // MNIST conv1: 16-pixel blocks across output rows
    "16, 12, 12, 5, 5, 1, 1, 1, 1, 1, 1", // MNIST conv2
    "3, 9, 8, 3, 3, 2, 1, 2, 1, 0, 1", // stride 2, asymmetric pads
    "5, 11, 7, 3, 3, 1, 2, 2, 2, 2, 2", // dilation 2
    "2, 5, 70, 3, 3, 1, 1, 1, 1, 1, 1", // 72-byte rows: blocks span > 64 bytes, the generic builder
    "37, 5, 7, 1, 1, 1, 0, 0, 0, 0, 1", // pointwise
    "1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1"
  })
  void patches_sameBytesAsTheInt8Builders(
      int channels,
      int h,
      int w,
      int kh,
      int kw,
      int stride,
      int padT,
      int padB,
      int padL,
      int padR,
      int dil) {
    Random random = new Random(17L * channels + h + 3L * w);
    float[] x = new float[channels * h * w];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) (random.nextGaussian() * 2);
    }
    x[0] = Float.NaN;
    if (x.length > 2) {
      x[1] = 1e9f;
      x[2] = -1e9f;
    }
    int ph = h + padT + padB;
    int pw = w + padL + padR;
    int outH = (ph - dil * (kh - 1) - 1) / stride + 1;
    int outW = (pw - dil * (kw - 1) - 1) / stride + 1;
    int[] pads = {padT, padB, padL, padR};
    int[] window = {kh, kw, stride, stride, dil, dil, outH, outW};
    int k = channels * kh * kw;
    int bytes = (int) Int8Conv.u8c4Bytes(k, outH * outW);
    FloatBuffer xb = FloatBuffers.of(x);
    ByteBuffer padded = ByteBuffer.allocateDirect(channels * ph * pw);
    ByteBuffer out = ByteBuffer.allocateDirect(bytes);
    ByteBuffer paddedGeneric = ByteBuffer.allocateDirect(channels * ph * pw);
    ByteBuffer outGeneric = ByteBuffer.allocateDirect(bytes);
    for (int b = 0; b < bytes; b++) { // stale bytes must be overwritten
      out.put(b, (byte) 0x5a);
    }
    LowBitConv.patches(xb, channels, h, w, pads, window, 0.031f, 77, padded, out);
    LowBitConv.patchesGeneric(
        xb, channels, h, w, pads, window, 0.031f, 77, paddedGeneric, outGeneric);
    assertThat(padded).isEqualTo(paddedGeneric);
    assertThat(out).isEqualTo(outGeneric);
    assertThatThrownBy(
            () ->
                LowBitConv.patches(
                    xb,
                    channels,
                    h,
                    w,
                    pads,
                    new int[] {kh, kw, stride, stride, dil, dil, outH + 1, outW},
                    0.031f,
                    77,
                    padded,
                    out))
        .hasMessageContaining("reads past the padded image");
  }

  @Test
  void minMax_rangeOrNaN() {
    float[] values = new float[37];
    for (int i = 0; i < values.length; i++) {
      values[i] = i - 10.5f;
    }
    float[] out = new float[2];
    LowBitConv.minMax(FloatBuffers.of(values), values.length, out);
    assertThat(out).containsExactly(-10.5f, 25.5f);
    for (int at : new int[] {3, 20, 36}) { // in the 8-wide body and in the tail
      float[] withNaN = values.clone();
      withNaN[at] = Float.NaN;
      LowBitConv.minMax(FloatBuffers.of(withNaN), withNaN.length, out);
      assertThat(Float.isNaN(out[0]) && Float.isNaN(out[1])).as("NaN at %d", at).isTrue();
    }
  }

  @Test
  void conv_badOperands_refusedBeforeNative() {
    Random random = new Random(1);
    LowBitConv.Weights weights = LowBitConv.fromQ4g32(randomBlocks(4, 25, random), 4, 25);
    ByteBuffer x4 = ByteBuffer.allocateDirect((int) Int8Conv.u8c4Bytes(25, 20));
    FloatBuffer y = FloatBuffers.allocate(4 * 20);
    ByteBuffer short4 = ByteBuffer.allocateDirect((int) Int8Conv.u8c4Bytes(25, 16));
    assertThatThrownBy(() -> LowBitConv.conv(weights, short4, 20, 1f, 0, null, false, y))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("x4");
    assertThatThrownBy(
            () -> LowBitConv.conv(weights, x4, 20, 1f, 0, null, false, FloatBuffers.allocate(79)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("y");
    assertThatThrownBy(() -> LowBitConv.conv(weights, x4, 20, 0f, 0, null, false, y))
        .hasMessageContaining("xScale=0.0");
    assertThatThrownBy(() -> LowBitConv.conv(weights, x4, 20, 1f, 256, null, false, y))
        .hasMessageContaining("xZeroPoint=256");
    assertThatThrownBy(
            () -> LowBitConv.conv(weights, x4, 20, 1f, 0, FloatBuffers.allocate(3), false, y))
        .hasMessageContaining("bias");
    assertThatThrownBy(() -> LowBitConv.fromQ4g32(ByteBuffer.allocateDirect(39), 1, 25))
        .hasMessageContaining("blocks: needs=40");
  }
}
