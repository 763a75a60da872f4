package io.cacheai.kernels;

import static io.cacheai.kernels.IntBuffersForTests.floats;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@link Fp32Kernels#maxPool2d} against the Java loop of the runtime's PoolKernel ({@code
 * Math.max}, padding never wins), bit for bit: the 2×2 / stride-2 fast path with and without planes
 * holding NaN or −0 (which must take the exact path), and padded, strided, dilated windows.
 */
class MaxPoolTest {
  @ParameterizedTest(name = "{0}x{1} k{2} s{3} p{4} d{5} specials={6}")
  @CsvSource({
    "28, 28, 2, 2, 0, 1, false",
    "28, 28, 2, 2, 0, 1, true",
    "7, 9, 2, 2, 0, 1, true",
    "9, 11, 3, 2, 1, 1, true",
    "10, 10, 3, 1, 1, 2, false",
    "5, 6, 2, 1, 0, 1, true"
  })
  void maxPool2d_equalsJavaMathMax(
      int inH, int inW, int k, int stride, int pad, int dil, boolean specials) {
    int planes = 3;
    int outH = (inH + 2 * pad - dil * (k - 1) - 1) / stride + 1;
    int outW = (inW + 2 * pad - dil * (k - 1) - 1) / stride + 1;
    Random random = new Random(inH * 31L + k);
    float[] x = new float[planes * inH * inW];
    for (int i = 0; i < x.length; i++) {
      x[i] = random.nextInt(7) == 0 ? 0f : (float) random.nextGaussian();
      if (specials && i % 17 == 3) {
        x[i] = i % 34 == 3 ? -0.0f : Float.NaN;
      }
    }
    if (specials) {
      java.util.Arrays.fill(x, 0, inH * inW, 1f); // plane 0 without specials: the fast path
    }
    float[] expected = new float[planes * outH * outW];
    for (int p = 0; p < planes; p++) {
      for (int oh = 0; oh < outH; oh++) {
        for (int ow = 0; ow < outW; ow++) {
          float best = Float.NEGATIVE_INFINITY;
          for (int a = 0; a < k; a++) {
            for (int b = 0; b < k; b++) {
              int h = oh * stride - pad + a * dil;
              int w = ow * stride - pad + b * dil;
              if (h >= 0 && h < inH && w >= 0 && w < inW) {
                best = Math.max(best, x[(p * inH + h) * inW + w]);
              }
            }
          }
          expected[(p * outH + oh) * outW + ow] = best;
        }
      }
    }
    var y = floats(new float[expected.length], 0);
    Fp32Kernels.maxPool2d(
        floats(x, 0),
        y,
        planes,
        inH,
        inW,
        outH,
        outW,
        new int[] {k, k, stride, stride, pad, pad, dil, dil});
    float[] got = IntBuffersForTests.toArray(y, expected.length);
    for (int i = 0; i < expected.length; i++) {
      assertThat(
              Float.floatToRawIntBits(got[i]) == Float.floatToRawIntBits(expected[i])
                  || Float.isNaN(got[i]) && Float.isNaN(expected[i]))
          .as("y[%d] = %s, expected %s", i, got[i], expected[i])
          .isTrue();
    }
  }

  @org.junit.jupiter.api.Test
  void maxPool2d_refusesShortOutput() {
    assertThatThrownBy(
            () ->
                Fp32Kernels.maxPool2d(
                    floats(new float[16], 0),
                    floats(new float[3], 0),
                    1,
                    4,
                    4,
                    2,
                    2,
                    new int[] {2, 2, 2, 2, 0, 0, 1, 1}))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("y");
  }

  @ParameterizedTest(name = "{0}x{1} k{2}x{3} s{4} pads {5},{6},{7},{8} include={9}")
  @CsvSource({
    "3, 80, 3, 2, 3, 2, 0, 0, 0, 0, false", // PP-OCR's AveragePool shape, no padding
    "9, 11, 3, 3, 2, 2, 1, 1, 1, 1, false",
    "9, 11, 3, 3, 2, 2, 1, 1, 1, 1, true",
    "7, 7, 2, 3, 2, 2, 0, 1, 1, 0, true"
  })
  void avgPool2d_equalsJavaLoop(
      int inH,
      int inW,
      int kH,
      int kW,
      int stride,
      int strideW,
      int padT,
      int padL,
      int padB,
      int padR,
      boolean include) {
    int planes = 4;
    int outH = (inH + padT + padB - kH) / stride + 1;
    int outW = (inW + padL + padR - kW) / strideW + 1;
    Random random = new Random(inH * 7L + kW);
    float[] x = new float[planes * inH * inW];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) random.nextGaussian() * 3;
    }
    float[] expected = new float[planes * outH * outW];
    for (int p = 0; p < planes; p++) {
      for (int oh = 0; oh < outH; oh++) {
        for (int ow = 0; ow < outW; ow++) {
          int h0 = oh * stride - padT;
          int w0 = ow * strideW - padL;
          int h1 = Math.min(h0 + kH, inH + padB);
          int w1 = Math.min(w0 + kW, inW + padR);
          int hs = Math.max(h0, 0);
          int ws = Math.max(w0, 0);
          int he = Math.min(h1, inH);
          int we = Math.min(w1, inW);
          float sum = 0f;
          for (int h = hs; h < he; h++) {
            for (int w = ws; w < we; w++) {
              sum += x[(p * inH + h) * inW + w];
            }
          }
          int count = include ? (h1 - h0) * (w1 - w0) : (he - hs) * (we - ws);
          expected[(p * outH + oh) * outW + ow] = count > 0 ? sum / count : 0f;
        }
      }
    }
    var y = floats(new float[expected.length], 0);
    Fp32Kernels.avgPool2d(
        floats(x, 0),
        y,
        planes,
        inH,
        inW,
        outH,
        outW,
        new int[] {kH, kW, stride, strideW, padT, padL, padB, padR},
        include);
    float[] got = IntBuffersForTests.toArray(y, expected.length);
    for (int i = 0; i < expected.length; i++) {
      assertThat(Float.floatToRawIntBits(got[i]))
          .as("y[%d] = %s, expected %s", i, got[i], expected[i])
          .isEqualTo(Float.floatToRawIntBits(expected[i]));
    }
  }
}
