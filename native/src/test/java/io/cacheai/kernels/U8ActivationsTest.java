package io.cacheai.kernels;

import static io.cacheai.kernels.IntBuffersForTests.floats;
import static io.cacheai.kernels.IntBuffersForTests.ints;
import static io.cacheai.kernels.IntBuffersForTests.zeroBytes;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class U8ActivationsTest {
  /** The Java definition the runtime uses (io.cacheai.runtime.U8Activations). */
  private static int q(float x, float scale, int zeroPoint) {
    double r = Math.rint(x / scale);
    int q = r <= -1024 ? 0 : r >= 1024 ? 255 : (int) r + zeroPoint;
    return q < 0 ? 0 : Math.min(q, 255);
  }

  /** Random values plus the edges: exact halves (ties to even), saturation, ±inf, NaN, −0. */
  private static float[] values(Random random, int count, float scale) {
    float[] x = new float[count];
    float[] edges = {
      0.5f * scale,
      1.5f * scale,
      2.5f * scale,
      -0.5f * scale,
      -1.5f * scale,
      -2.5f * scale,
      1e30f,
      -1e30f,
      Float.POSITIVE_INFINITY,
      Float.NEGATIVE_INFINITY,
      Float.NaN,
      -0.0f,
      Float.MAX_VALUE,
      -Float.MAX_VALUE,
      127.5f * scale,
      128.5f * scale,
      -128.5f * scale
    };
    for (int i = 0; i < count; i++) {
      x[i] =
          i % 5 == 0
              ? edges[(i / 5) % edges.length]
              : i % 3 == 0
                  ? (random.nextInt(800) - 400) * 0.5f * scale // halves
                  : (float) (random.nextGaussian() * 200 * scale);
    }
    return x;
  }

  @ParameterizedTest(name = "count={0} zp={1}")
  @CsvSource({
    "1, 0",
    "15, 9",
    "16, 200",
    "17, 1",
    "28, 40",
    "31, 128",
    "32, 3",
    "100, 255",
    "1000, 77",
    "4099, 128"
  })
  void quantize_bitExactWithJavaRule(int count, int zp) {
    float scale = 0.0371f;
    float[] x = values(new Random(count), count, scale);
    ByteBuffer out = zeroBytes(count, 3);
    U8Activations.quantize(floats(x, 2), count, scale, zp, out);
    ByteBuffer outRef = zeroBytes(count, 0);
    U8Activations.quantizeRef(floats(x, 0), count, scale, zp, outRef);
    for (int i = 0; i < count; i++) {
      int expected = q(x[i], scale, zp);
      assertThat(out.get(3 + i) & 0xff).as("x[%d]=%s", i, x[i]).isEqualTo(expected);
      assertThat(outRef.get(i) & 0xff).as("ref x[%d]=%s", i, x[i]).isEqualTo(expected);
    }
  }

  @Test
  void quantizeTransposed_bitExactWithJavaRule() {
    int channels = 70;
    int pixels = 131;
    float scale = 0.02f;
    float[] x = values(new Random(7), channels * pixels, scale);
    ByteBuffer rows = zeroBytes(channels * pixels, 0);
    U8Activations.quantizeTransposed(floats(x, 0), channels, pixels, scale, 9, rows);
    for (int c = 0; c < channels; c++) {
      for (int p = 0; p < pixels; p++) {
        assertThat(rows.get(p * channels + c) & 0xff)
            .as("c=%d p=%d", c, p)
            .isEqualTo(q(x[c * pixels + p], scale, 9));
      }
    }
  }

  @Test
  void im2row_matchesJavaLoop_withPaddingStrideDilation() {
    int channels = 3;
    int inH = 7;
    int inW = 9;
    // kH, kW, strideH, strideW, padTop, padLeft, dilationH, dilationW, outH, outW
    int[] w = {3, 2, 2, 1, 1, 2, 1, 2, 4, 9};
    byte[] image = new byte[channels * inH * inW];
    new Random(3).nextBytes(image);
    int r = channels * w[0] * w[1];
    ByteBuffer rows = zeroBytes((long) w[8] * w[9] * r, 0);
    U8Activations.im2row(IntBuffersForTests.bytes(image, 0), channels, inH, inW, w, 200, rows);
    int at = 0;
    for (int oh = 0; oh < w[8]; oh++) {
      for (int ow = 0; ow < w[9]; ow++) {
        for (int c = 0; c < channels; c++) {
          for (int kh = 0; kh < w[0]; kh++) {
            for (int kw = 0; kw < w[1]; kw++) {
              int ih = oh * w[2] - w[4] + kh * w[6];
              int iw = ow * w[3] - w[5] + kw * w[7];
              byte expected =
                  ih >= 0 && ih < inH && iw >= 0 && iw < inW
                      ? image[(c * inH + ih) * inW + iw]
                      : (byte) 200;
              assertThat(rows.get(at)).as("row byte %d", at).isEqualTo(expected);
              at++;
            }
          }
        }
      }
    }
  }

  @Test
  void toF32Transposed_equalsToF32Transposed() {
    int m = 37;
    int n = 21;
    Random random = new Random(5);
    int[] acc = new int[m * n];
    for (int i = 0; i < acc.length; i++) {
      acc[i] = random.nextInt();
    }
    int[] bias = new int[n];
    float[] scale = new float[n];
    for (int j = 0; j < n; j++) {
      bias[j] = random.nextInt();
      scale[j] = (float) (random.nextDouble() * 1e-6);
    }
    for (boolean relu : new boolean[] {false, true}) {
      RequantParams params = new RequantParams(ints(bias, 0), floats(scale, 0), 0, relu);
      FloatBuffer plain = floats(new float[m * n], 0);
      Requantize.toF32(ints(acc, 0), m, n, params, plain);
      FloatBuffer transposed = floats(new float[m * n], 1);
      U8Activations.toF32Transposed(ints(acc, 0), m, n, params, transposed);
      for (int i = 0; i < m; i++) {
        for (int j = 0; j < n; j++) {
          assertThat(Float.floatToRawIntBits(transposed.get(1 + j * m + i)))
              .as("i=%d j=%d relu=%s", i, j, relu)
              .isEqualTo(Float.floatToRawIntBits(plain.get(i * n + j)));
        }
      }
    }
  }

  @Test
  void quantize_badArguments_clearErrors() {
    FloatBuffer x = floats(new float[8], 0);
    assertThatThrownBy(() -> U8Activations.quantize(x, 9, 1f, 0, zeroBytes(9, 0)))
        .hasMessageContaining("x: needs=9");
    assertThatThrownBy(() -> U8Activations.quantize(x, 8, 1f, 0, zeroBytes(7, 0)))
        .hasMessageContaining("out: needs=8");
    assertThatThrownBy(() -> U8Activations.quantize(x, 8, 0f, 0, zeroBytes(8, 0)))
        .hasMessageContaining("scale=0.0");
    assertThatThrownBy(() -> U8Activations.quantize(x, 8, 1f, 256, zeroBytes(8, 0)))
        .hasMessageContaining("zeroPoint=256");
    assertThatThrownBy(
            () ->
                U8Activations.quantize(
                    FloatBuffer.allocate(8), 8, 1f, 0, ByteBuffer.allocateDirect(8)))
        .hasMessageContaining("direct");
    assertThatThrownBy(
            () ->
                U8Activations.im2row(
                    ByteBuffer.allocateDirect(10).order(ByteOrder.nativeOrder()),
                    1,
                    3,
                    4,
                    new int[] {3, 3, 1, 1, 1, 1, 1, 1, 3, 4},
                    0,
                    ByteBuffer.allocateDirect(108)))
        .hasMessageContaining("image: needs=12");
  }
}
