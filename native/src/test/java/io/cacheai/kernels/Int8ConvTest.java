package io.cacheai.kernels;

import static io.cacheai.kernels.IntBuffersForTests.bytes;
import static io.cacheai.kernels.IntBuffersForTests.floats;
import static io.cacheai.kernels.IntBuffersForTests.ints;
import static io.cacheai.kernels.IntBuffersForTests.zeroBytes;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.util.Random;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@link Int8Conv} (NCHW int8 convolution) against a plain Java loop over the same definition and
 * against the im2row path it replaces ({@link U8Activations#im2row} + {@link Int8Gemm#gemm} +
 * {@link U8Activations#toF32Transposed}): equal bit for bit, VNNI body and scalar twin, on odd
 * shapes (k not a multiple of 4, pixels not of 16, channels not of 4 or 16) and on the adversarial
 * all-255 × ±127 / −128 inputs.
 */
class Int8ConvTest {
  /** The Java rule of the u8 activations (as U8ActivationsTest's). */
  private static int q(float x, float scale, int zeroPoint) {
    double r = Math.rint(x / scale);
    int q = r <= -1024 ? 0 : r >= 1024 ? 255 : (int) r + zeroPoint;
    return q < 0 ? 0 : Math.min(q, 255);
  }

  private record Case(
      int channels, int h, int w, int m, int kh, int kw, int stride, int pad, int dil) {
    int outH() {
      return (h + 2 * pad - dil * (kh - 1) - 1) / stride + 1;
    }

    int outW() {
      return (w + 2 * pad - dil * (kw - 1) - 1) / stride + 1;
    }

    int k() {
      return channels * kh * kw;
    }

    int pixels() {
      return outH() * outW();
    }

    boolean pointwise() {
      return kh == 1 && kw == 1 && stride == 1 && pad == 0;
    }
  }

  @ParameterizedTest(name = "C={0} {1}x{2} M={3} k{4}x{5} s{6} p{7} d{8}")
  @CsvSource({
    "1, 28, 28, 16, 5, 5, 1, 2, 1", // MNIST conv1
    "16, 14, 14, 32, 5, 5, 1, 0, 1", // MNIST conv2
    "3, 48, 40, 16, 3, 3, 2, 1, 1", // a stem, stride 2
    "5, 7, 9, 5, 3, 3, 1, 1, 1",
    "7, 9, 11, 19, 3, 3, 1, 2, 2", // dilation
    "37, 5, 13, 19, 1, 1, 1, 0, 1", // pointwise, odd everything
    "64, 3, 20, 48, 1, 1, 1, 0, 1",
    "2, 1, 1, 3, 1, 1, 1, 0, 1",
    "4, 6, 6, 4, 3, 3, 1, 1, 1",
    "13, 9, 5, 6, 5, 3, 1, 2, 1", // wide rows of 9 with a 3-wide kernel, channels not of 4
    "33, 20, 31, 37, 3, 3, 1, 1, 1" // several pixel tiles and a partial channel block
  })
  void conv_equalsJavaLoopAndIm2rowPath(
      int channels, int h, int w, int m, int kh, int kw, int stride, int pad, int dil) {
    Case c = new Case(channels, h, w, m, kh, kw, stride, pad, dil);
    Random random = new Random(31L * channels + m);
    float scale = 0.05f;
    int zp = 7 + random.nextInt(200);
    float[] x = new float[channels * h * w];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) (random.nextGaussian() * 4);
    }
    byte[] weights = new byte[m * c.k()];
    for (int i = 0; i < weights.length; i++) {
      weights[i] = (byte) (random.nextInt(256) - 128);
    }
    int[] bias = new int[m];
    float[] scales = new float[m];
    for (int j = 0; j < m; j++) {
      bias[j] = random.nextInt(20001) - 10000;
      scales[j] = 0.0001f * (1 + random.nextInt(50));
    }
    for (boolean relu : new boolean[] {false, true}) {
      float[] expected = javaConv(c, x, scale, zp, weights, bias, scales, relu);
      assertThat(im2rowPath(c, x, scale, zp, weights, bias, scales, relu))
          .as("im2row path, relu=%s", relu)
          .containsExactly(expected);
      assertThat(direct(c, x, scale, zp, weights, bias, scales, relu, false))
          .as("Int8Conv.conv, relu=%s", relu)
          .containsExactly(expected);
      assertThat(direct(c, x, scale, zp, weights, bias, scales, relu, true))
          .as("Int8Conv.conv, relu=%s", relu)
          .containsExactly(expected);
      if (!c.pointwise() && Int8Conv.available()) {
        assertThat(image(c, x, scale, zp, weights, bias, scales, relu, 0))
            .as("Int8Conv.convImage, relu=%s", relu)
            .containsExactly(expected);
        if (c.outH() >= 2 && c.outW() >= 2) {
          assertThat(image(c, x, scale, zp, weights, bias, scales, relu, 2))
              .as("Int8Conv.convImage + pool 2, relu=%s", relu)
              .containsExactly(maxPool(expected, c, 2));
        }
      }
      if (c.stride() == 1 && c.dil() == 1 && c.kh() <= c.h() + 2 * c.pad()) {
        for (boolean ref : new boolean[] {false, true}) {
          if (!ref && !Int8KqConv.available()) {
            continue;
          }
          for (int poolK : new int[] {0, 2, 3}) { // 2: pooled in registers, 3: general pool
            if (poolK == 0 || c.outH() >= poolK && c.outW() >= poolK) {
              assertThat(kqImage(c, x, scale, zp, weights, bias, scales, relu, poolK, ref))
                  .as("Int8KqConv.image ref=%s pool %d, relu=%s", ref, poolK, relu)
                  .containsExactly(poolK == 0 ? expected : maxPool(expected, c, poolK));
            }
          }
        }
        for (boolean ref : new boolean[] {false, true}) {
          if (!ref && !Int8Conv.available()) {
            continue;
          }
          for (int poolK : new int[] {1, 2, 3}) {
            if (c.outH() >= poolK && c.outW() >= poolK) {
              assertThat(lanesImage(c, x, scale, zp, weights, bias, scales, relu, poolK, ref))
                  .as("Int8LanesConv.image ref=%s pool %d, relu=%s", ref, poolK, relu)
                  .containsExactly(poolK == 1 ? expected : maxPool(expected, c, poolK));
            }
          }
        }
        if (Int8Conv.available()) {
          for (int poolK : new int[] {0, 2}) {
            if (poolK == 0 || c.outH() >= 2 && c.outW() >= 2) {
              assertThat(wideImage(c, x, scale, zp, weights, bias, scales, relu, poolK))
                  .as("Int8DirectConv.image pool %d, relu=%s", poolK, relu)
                  .containsExactly(poolK == 0 ? expected : maxPool(expected, c, poolK));
            }
          }
        }
        assertThat(wide(c, x, scale, zp, weights, bias, scales, relu, false, 0))
            .as("Int8DirectConv.conv, relu=%s", relu)
            .containsExactly(expected);
        assertThat(wide(c, x, scale, zp, weights, bias, scales, relu, true, 0))
            .as("Int8DirectConv.conv, relu=%s", relu)
            .containsExactly(expected);
        for (int poolK : new int[] {2, 3}) {
          if (c.outH() >= poolK && c.outW() >= poolK) {
            assertThat(wide(c, x, scale, zp, weights, bias, scales, relu, false, poolK))
                .as("Int8DirectConv.conv + cropPool %d, relu=%s", poolK, relu)
                .containsExactly(maxPool(expected, c, poolK));
          }
        }
      }
    }
  }

  /** All-255 activations × all +127 or −128 weights through the direct kernel, k up to 9225. */
  @ParameterizedTest(name = "weight={0} channels={1}")
  @CsvSource({"127, 1025", "-128, 1025", "-127, 7", "127, 4"})
  void convDirect_adversarialExtremes(int weight, int channels) {
    Case c = new Case(channels, 5, 19, 6, 3, 3, 1, 0, 1);
    float[] x = new float[channels * 5 * 19];
    java.util.Arrays.fill(x, 1e9f); // saturates to 255
    byte[] weights = new byte[c.m() * c.k()];
    java.util.Arrays.fill(weights, (byte) weight);
    int[] bias = new int[c.m()];
    float[] scales = new float[c.m()];
    java.util.Arrays.fill(scales, 1f);
    float expected = (float) (255L * weight * c.k());
    for (boolean ref : new boolean[] {false, true}) {
      for (float v : wide(c, x, 0.5f, 0, weights, bias, scales, false, ref, 0)) {
        assertThat(v).as("ref=%s", ref).isEqualTo(expected);
      }
    }
  }

  /** All-255 activations × all +127 or −128 weights through the kw-quad kernel (C < 4). */
  @ParameterizedTest(name = "weight={0} channels={1}")
  @CsvSource({"127, 1", "-128, 3", "-127, 2"})
  void kqImage_adversarialExtremes(int weight, int channels) {
    Case c = new Case(channels, 6, 23, 19, 5, 7, 1, 0, 1);
    float[] x = new float[channels * 6 * 23];
    java.util.Arrays.fill(x, 1e9f); // saturates to 255
    byte[] weights = new byte[c.m() * c.k()];
    java.util.Arrays.fill(weights, (byte) weight);
    int[] bias = new int[c.m()];
    float[] scales = new float[c.m()];
    java.util.Arrays.fill(scales, 1f);
    float expected = (float) (255L * weight * c.k());
    for (boolean ref : new boolean[] {false, true}) {
      if (!ref && !Int8KqConv.available()) {
        continue;
      }
      for (float v : kqImage(c, x, 0.5f, 0, weights, bias, scales, false, 0, ref)) {
        assertThat(v).as("ref=%s", ref).isEqualTo(expected);
      }
    }
  }

  @Test
  void convDirect_refusesAWrongStrideOrShortBuffers() {
    RequantParams params = new RequantParams(null, floats(new float[4], 0), 0, false);
    int stride = Int8DirectConv.pixelStride(6, 6, 3, 3, 4);
    ByteBuffer wq = zeroBytes(Int8DirectConv.weightBytes(4, 4, 3, 3), 0);
    ByteBuffer x4 = zeroBytes(Int8DirectConv.inputBytes(4, stride), 0);
    int wideLength = Int8DirectConv.wideLength(4, 6);
    FloatBuffer y = floats(new float[4 * wideLength], 0);
    assertThatThrownBy(
            () ->
                Int8DirectConv.conv(
                    wq, 4, 4, 3, 3, x4, stride - 16, 6, 6, params, y, wideLength, ConvBody.BEST))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("pixelStride=");
    assertThatThrownBy(
            () ->
                Int8DirectConv.conv(
                    wq,
                    4,
                    4,
                    3,
                    3,
                    x4.slice(0, 64),
                    stride,
                    6,
                    6,
                    params,
                    y,
                    wideLength,
                    ConvBody.BEST))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("x4");
    assertThatThrownBy(
            () ->
                Int8DirectConv.conv(
                    wq,
                    4,
                    4,
                    3,
                    3,
                    x4,
                    stride,
                    6,
                    6,
                    params,
                    y.slice(0, 10),
                    wideLength,
                    ConvBody.BEST))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("y");
    assertThatThrownBy(
            () ->
                Int8CropPool.cropPool(
                    y, 4, wideLength, 6, 4, 4, 2, 2, 3, 2, floats(new float[99], 0)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("reads past");
  }

  /** Java's max pool (Math.max, no padding) of y [m, outH, outW], k×k windows at stride k. */
  private static float[] maxPool(float[] y, Case c, int k) {
    int outH = c.outH();
    int outW = c.outW();
    int h2 = (outH - k) / k + 1;
    int w2 = (outW - k) / k + 1;
    float[] pooled = new float[c.m() * h2 * w2];
    for (int j = 0; j < c.m(); j++) {
      for (int a = 0; a < h2; a++) {
        for (int b = 0; b < w2; b++) {
          float best = Float.NEGATIVE_INFINITY;
          for (int u = 0; u < k; u++) {
            for (int v = 0; v < k; v++) {
              best = Math.max(best, y[(j * outH + a * k + u) * outW + b * k + v]);
            }
          }
          pooled[(j * h2 + a) * w2 + b] = best;
        }
      }
    }
    return pooled;
  }

  /**
   * {@link Int8DirectConv#quantizePaddedQuads} + {@link Int8DirectConv#conv} (or its twin) into
   * wide planes full of garbage, then {@link Int8CropPool#cropPool} (poolK 0: crop).
   */
  private static float[] wide(
      Case c,
      float[] x,
      float scale,
      int zp,
      byte[] w,
      int[] bias,
      float[] scales,
      boolean relu,
      boolean ref,
      int poolK) {
    Assumptions.assumeTrue(ref || Int8Conv.available(), "no AVX-512 VNNI here");
    IntBufferPair stage = stage(c, w, bias, zp);
    int ph = c.h() + 2 * c.pad();
    int pw = c.w() + 2 * c.pad();
    int stride = Int8DirectConv.pixelStride(ph, pw, c.kh(), c.kw(), c.outH());
    ByteBuffer x4 = zeroBytes(Int8DirectConv.inputBytes(c.channels(), stride), 0);
    for (int i = 0; i < x4.capacity(); i++) {
      x4.put(i, (byte) 0xA5); // every byte is written
    }
    Int8DirectConv.quantizePaddedQuads(
        floats(x, 0),
        c.channels(),
        c.h(),
        c.w(),
        c.pad(),
        c.pad(),
        c.pad(),
        c.pad(),
        scale,
        zp,
        stride,
        zeroBytes((long) c.channels() * ph * pw, 0),
        x4);
    ByteBuffer wq = Int8DirectConv.packWeights(stage.packed(), c.m(), c.channels(), c.kh(), c.kw());
    int wideLength = Int8DirectConv.wideLength(c.outH(), pw);
    float[] garbage = new float[c.m() * wideLength];
    java.util.Arrays.fill(garbage, Float.NaN);
    FloatBuffer planes = floats(garbage, 0);
    RequantParams params = new RequantParams(ints(stage.bias(), 0), floats(scales, 0), 0, relu);
    Int8DirectConv.conv(
        wq,
        c.m(),
        c.channels(),
        c.kh(),
        c.kw(),
        x4,
        stride,
        ph,
        pw,
        params,
        planes,
        wideLength,
        ref ? ConvBody.SCALAR_TWIN : ConvBody.BEST);
    int h2 = poolK == 0 ? 0 : (c.outH() - poolK) / poolK + 1;
    int w2 = poolK == 0 ? 0 : (c.outW() - poolK) / poolK + 1;
    int outputs = c.m() * (poolK == 0 ? c.pixels() : h2 * w2);
    FloatBuffer y = floats(new float[outputs], 0);
    Int8CropPool.cropPool(
        planes, c.m(), wideLength, pw, c.outH(), c.outW(), poolK, poolK, h2, w2, y);
    return IntBuffersForTests.toArray(y, outputs);
  }

  /** All-255 activations × all +127 or −128 weights, k up to 4100: no saturation anywhere. */
  @ParameterizedTest(name = "weight={0} channels={1}")
  @CsvSource({"127, 1025", "-128, 1025", "-127, 4100", "127, 3"})
  void conv_adversarialExtremes(int weight, int channels) {
    Case c = new Case(channels, 2, 17, 17, 1, 1, 1, 0, 1);
    float[] x = new float[channels * 2 * 17];
    java.util.Arrays.fill(x, 1e9f); // saturates to 255
    byte[] weights = new byte[c.m() * c.k()];
    java.util.Arrays.fill(weights, (byte) weight);
    int[] bias = new int[c.m()];
    float[] scales = new float[c.m()];
    java.util.Arrays.fill(scales, 1f);
    float[] out = direct(c, x, 0.5f, 0, weights, bias, scales, false, false);
    float expected = (float) (255L * weight * c.k());
    for (float v : out) {
      assertThat(v).isEqualTo(expected);
    }
    assertThat(direct(c, x, 0.5f, 0, weights, bias, scales, false, true)).containsExactly(out);
  }

  @Test
  void u8c4Bytes_matchesC() {
    for (int k : new int[] {1, 3, 4, 5, 25, 400}) {
      for (int p : new int[] {1, 15, 16, 17, 100, 784}) {
        assertThat(Int8Conv.u8c4Bytes(k, p)).isEqualTo(IntKernelsNative.u8c4Size(k, p));
      }
    }
  }

  @Test
  void refusals_nameTheOperand() {
    ByteBuffer small = zeroBytes(10, 0);
    assertThatThrownBy(
            () -> Int8Conv.im2col(small, 1, 4, 4, new int[] {3, 3, 1, 1, 1, 1, 3, 3}, small))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("reads past the padded image");
    assertThatThrownBy(
            () ->
                Int8Conv.im2col(
                    zeroBytes(16, 0), 1, 4, 4, new int[] {3, 3, 1, 1, 1, 1, 2, 2}, small))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("out");
    assertThatThrownBy(
            () -> Int8Conv.quantizeU8c4(floats(new float[8], 0), 2, 4, 0f, 0, zeroBytes(64, 0)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("scale=");
    RequantParams params = new RequantParams(null, floats(new float[2], 0), 0, false);
    assertThatThrownBy(
            () ->
                Int8Conv.conv(
                    zeroBytes(16, 0),
                    2,
                    5,
                    zeroBytes(64 * 2, 0),
                    3,
                    params,
                    floats(new float[6], 0),
                    ConvBody.BEST))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("packedWeights");
  }

  private static float[] javaConv(
      Case c, float[] x, float scale, int zp, byte[] w, int[] bias, float[] scales, boolean relu) {
    int outH = c.outH();
    int outW = c.outW();
    float[] y = new float[c.m() * c.pixels()];
    for (int j = 0; j < c.m(); j++) {
      for (int oh = 0; oh < outH; oh++) {
        for (int ow = 0; ow < outW; ow++) {
          int acc = 0;
          for (int ch = 0; ch < c.channels(); ch++) {
            for (int a = 0; a < c.kh(); a++) {
              for (int b = 0; b < c.kw(); b++) {
                int ih = oh * c.stride() - c.pad() + a * c.dil();
                int iw = ow * c.stride() - c.pad() + b * c.dil();
                int u =
                    ih >= 0 && ih < c.h() && iw >= 0 && iw < c.w()
                        ? q(x[(ch * c.h() + ih) * c.w() + iw], scale, zp)
                        : zp;
                acc += (u - zp) * w[j * c.k() + (ch * c.kh() + a) * c.kw() + b];
              }
            }
          }
          // the kernels' form: Σ u·w + (bias − zp·Σw), equal as integers
          float v = (float) (acc + bias[j]) * scales[j];
          y[j * c.pixels() + oh * outW + ow] = relu && v < 0f ? 0f : v;
        }
      }
    }
    return y;
  }

  private static IntBufferPair stage(Case c, byte[] w, int[] bias, int zp) {
    int[] folded = new int[c.m()];
    for (int j = 0; j < c.m(); j++) {
      int sum = 0;
      for (int t = 0; t < c.k(); t++) {
        sum += w[j * c.k() + t];
      }
      folded[j] = bias[j] - zp * sum;
    }
    ByteBuffer packed = zeroBytes(Int8Gemm.packedSizeBytes(c.m(), c.k()), 0);
    Int8Gemm.pack(bytes(w, 0), c.m(), c.k(), packed);
    return new IntBufferPair(packed, folded);
  }

  private record IntBufferPair(ByteBuffer packed, int[] bias) {}

  private static float[] im2rowPath(
      Case c, float[] x, float scale, int zp, byte[] w, int[] bias, float[] scales, boolean relu) {
    IntBufferPair stage = stage(c, w, bias, zp);
    ByteBuffer image = zeroBytes(x.length, 0);
    U8Activations.quantize(floats(x, 0), x.length, scale, zp, image);
    ByteBuffer rows = zeroBytes((long) c.pixels() * c.k(), 0);
    U8Activations.im2row(
        image,
        c.channels(),
        c.h(),
        c.w(),
        new int[] {
          c.kh(),
          c.kw(),
          c.stride(),
          c.stride(),
          c.pad(),
          c.pad(),
          c.dil(),
          c.dil(),
          c.outH(),
          c.outW()
        },
        zp,
        rows);
    var acc = ints(c.pixels() * c.m(), 0);
    Int8Gemm.gemm(rows, c.pixels(), c.k(), stage.packed(), c.m(), acc);
    FloatBuffer y = floats(new float[c.m() * c.pixels()], 0);
    U8Activations.toF32Transposed(
        acc,
        c.pixels(),
        c.m(),
        new RequantParams(ints(stage.bias(), 0), floats(scales, 0), 0, relu),
        y);
    return IntBuffersForTests.toArray(y, c.m() * c.pixels());
  }

  private static float[] direct(
      Case c,
      float[] x,
      float scale,
      int zp,
      byte[] w,
      int[] bias,
      float[] scales,
      boolean relu,
      boolean ref) {
    Assumptions.assumeTrue(ref || Int8Conv.available(), "no AVX-512 VNNI here");
    IntBufferPair stage = stage(c, w, bias, zp);
    ByteBuffer patches = zeroBytes(Int8Conv.u8c4Bytes(c.k(), c.pixels()), 0);
    // garbage in the patch buffer must not matter: every byte is written
    for (int i = 0; i < patches.capacity(); i++) {
      patches.put(i, (byte) 0x5A);
    }
    if (c.pointwise()) {
      Int8Conv.quantizeU8c4(floats(x, 0), c.channels(), c.pixels(), scale, zp, patches);
    } else {
      int ph = c.h() + 2 * c.pad();
      int pw = c.w() + 2 * c.pad();
      ByteBuffer padded = zeroBytes((long) c.channels() * ph * pw, 0);
      Int8Conv.quantizePadded(
          floats(x, 0),
          c.channels(),
          c.h(),
          c.w(),
          c.pad(),
          c.pad(),
          c.pad(),
          c.pad(),
          scale,
          zp,
          padded);
      Int8Conv.im2col(
          padded,
          c.channels(),
          ph,
          pw,
          new int[] {c.kh(), c.kw(), c.stride(), c.stride(), c.dil(), c.dil(), c.outH(), c.outW()},
          patches);
    }
    FloatBuffer y = floats(new float[c.m() * c.pixels()], 0);
    RequantParams params = new RequantParams(ints(stage.bias(), 0), floats(scales, 0), 0, relu);
    Int8Conv.conv(
        stage.packed(),
        c.m(),
        c.k(),
        patches,
        c.pixels(),
        params,
        y,
        ref ? ConvBody.SCALAR_TWIN : ConvBody.BEST);
    return IntBuffersForTests.toArray(y, c.m() * c.pixels());
  }

  /** {@link Int8Conv#convImage}: the patch path in one call (poolK 0: no pool). */
  private static float[] image(
      Case c,
      float[] x,
      float scale,
      int zp,
      byte[] w,
      int[] bias,
      float[] scales,
      boolean relu,
      int poolK) {
    IntBufferPair stage = stage(c, w, bias, zp);
    int ph = c.h() + 2 * c.pad();
    int pw = c.w() + 2 * c.pad();
    int h2 = poolK == 0 ? 0 : (c.outH() - poolK) / poolK + 1;
    int w2 = poolK == 0 ? 0 : (c.outW() - poolK) / poolK + 1;
    int outputs = c.m() * (poolK == 0 ? c.pixels() : h2 * w2);
    FloatBuffer y = floats(new float[outputs], 0);
    Int8Conv.convImage(
        new ConvInput(
            floats(x, 0),
            c.channels(),
            c.h(),
            c.w(),
            new int[] {c.pad(), c.pad(), c.pad(), c.pad()},
            scale,
            zp),
        stage.packed(),
        c.m(),
        new int[] {c.kh(), c.kw(), c.stride(), c.stride(), c.dil(), c.dil(), c.outH(), c.outW()},
        new RequantParams(ints(stage.bias(), 0), floats(scales, 0), 0, relu),
        zeroBytes((long) c.channels() * ph * pw, 0),
        zeroBytes(Int8Conv.u8c4Bytes(c.k(), c.pixels()), 0),
        floats(new float[c.m() * c.pixels()], 0),
        poolK == 0 ? null : new int[] {poolK, poolK, h2, w2},
        y);
    return IntBuffersForTests.toArray(y, outputs);
  }

  /** {@link Int8DirectConv#image}: the direct path in one call (poolK 0: crop). */
  private static float[] wideImage(
      Case c,
      float[] x,
      float scale,
      int zp,
      byte[] w,
      int[] bias,
      float[] scales,
      boolean relu,
      int poolK) {
    IntBufferPair stage = stage(c, w, bias, zp);
    int ph = c.h() + 2 * c.pad();
    int pw = c.w() + 2 * c.pad();
    int stride = Int8DirectConv.pixelStride(ph, pw, c.kh(), c.kw(), c.outH());
    int h2 = poolK == 0 ? 0 : (c.outH() - poolK) / poolK + 1;
    int w2 = poolK == 0 ? 0 : (c.outW() - poolK) / poolK + 1;
    int outputs = c.m() * (poolK == 0 ? c.pixels() : h2 * w2);
    FloatBuffer y = floats(new float[outputs], 0);
    Int8DirectConv.image(
        new ConvInput(
            floats(x, 0),
            c.channels(),
            c.h(),
            c.w(),
            new int[] {c.pad(), c.pad(), c.pad(), c.pad()},
            scale,
            zp),
        Int8DirectConv.packWeights(stage.packed(), c.m(), c.channels(), c.kh(), c.kw()),
        c.m(),
        c.kh(),
        c.kw(),
        stride,
        new RequantParams(ints(stage.bias(), 0), floats(scales, 0), 0, relu),
        zeroBytes((long) c.channels() * ph * pw, 0),
        zeroBytes(Int8DirectConv.inputBytes(c.channels(), stride), 0),
        floats(new float[c.m() * Int8DirectConv.wideLength(c.outH(), pw)], 0),
        poolK == 0 ? null : new int[] {poolK, poolK, h2, w2},
        y);
    return IntBuffersForTests.toArray(y, outputs);
  }

  /** {@link Int8KqConv#image} (or its twin): the kw-quad path in one call (poolK 0: crop). */
  private static float[] kqImage(
      Case c,
      float[] x,
      float scale,
      int zp,
      byte[] w,
      int[] bias,
      float[] scales,
      boolean relu,
      int poolK,
      boolean ref) {
    IntBufferPair stage = stage(c, w, bias, zp);
    int ph = c.h() + 2 * c.pad();
    int pw = c.w() + 2 * c.pad();
    int stride = Int8KqConv.pixelStride(ph, pw, c.kh(), c.kw(), c.outH());
    int h2 = poolK == 0 ? 0 : (c.outH() - poolK) / poolK + 1;
    int w2 = poolK == 0 ? 0 : (c.outW() - poolK) / poolK + 1;
    int outputs = c.m() * (poolK == 0 ? c.pixels() : h2 * w2);
    FloatBuffer y = floats(new float[outputs], 0);
    ByteBuffer img = zeroBytes((long) c.channels() * stride, 0);
    for (int i = 0; i < img.capacity(); i++) {
      img.put(i, (byte) 0x3C); // every byte is written
    }
    ByteBuffer wk = Int8KqConv.packWeights(stage.packed(), c.m(), c.channels(), c.kh(), c.kw());
    int[] pads = {c.pad(), c.pad(), c.pad(), c.pad()};
    int[] pool = poolK == 0 ? null : new int[] {poolK, poolK, h2, w2};
    RequantParams params = new RequantParams(ints(stage.bias(), 0), floats(scales, 0), 0, relu);
    FloatBuffer planes = floats(new float[c.m() * Int8DirectConv.wideLength(c.outH(), pw)], 0);
    Int8KqConv.image(
        new ConvInput(floats(x, 0), c.channels(), c.h(), c.w(), pads, scale, zp),
        wk,
        c.m(),
        c.kh(),
        c.kw(),
        stride,
        params,
        img,
        planes,
        pool,
        y,
        ref ? ConvBody.SCALAR_TWIN : ConvBody.BEST);
    return IntBuffersForTests.toArray(y, outputs);
  }

  /** {@link Int8LanesConv#image} (or its twin), poolK×poolK windows at stride poolK (1: copy). */
  private static float[] lanesImage(
      Case c,
      float[] x,
      float scale,
      int zp,
      byte[] w,
      int[] bias,
      float[] scales,
      boolean relu,
      int poolK,
      boolean ref) {
    IntBufferPair stage = stage(c, w, bias, zp);
    int ph = c.h() + 2 * c.pad();
    int pw = c.w() + 2 * c.pad();
    int stride = Int8DirectConv.pixelStride(ph, pw, c.kh(), c.kw(), c.outH());
    int h2 = (c.outH() - poolK) / poolK + 1;
    int w2 = (c.outW() - poolK) / poolK + 1;
    int outputs = c.m() * h2 * w2;
    FloatBuffer y = floats(new float[outputs], 0);
    int[] pads = {c.pad(), c.pad(), c.pad(), c.pad()};
    int[] pool = {poolK, poolK, h2, w2};
    ByteBuffer wt = Int8LanesConv.packWeights(stage.packed(), c.m(), c.channels(), c.kh(), c.kw());
    float[] garbage = new float[(int) Int8LanesConv.productFloats(c.m(), c.outH(), c.outW())];
    java.util.Arrays.fill(garbage, Float.NaN);
    RequantParams params = new RequantParams(ints(stage.bias(), 0), floats(scales, 0), 0, relu);
    ByteBuffer scratch = zeroBytes((long) c.channels() * ph * pw, 0);
    ByteBuffer x4 = zeroBytes(Int8DirectConv.inputBytes(c.channels(), stride), 0);
    Int8LanesConv.image(
        new ConvInput(floats(x, 0), c.channels(), c.h(), c.w(), pads, scale, zp),
        wt,
        c.m(),
        c.kh(),
        c.kw(),
        stride,
        params,
        scratch,
        x4,
        floats(garbage, 0),
        pool,
        y,
        ref ? ConvBody.SCALAR_TWIN : ConvBody.BEST);
    return IntBuffersForTests.toArray(y, outputs);
  }
}
