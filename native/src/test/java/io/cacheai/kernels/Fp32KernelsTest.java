package io.cacheai.kernels;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.FloatBuffer;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The vector bodies of {@link Fp32Kernels} against their scalar twins and against plain Java, on
 * seeded data with shapes that hit every tail (rows past a 12-row panel, columns past a 32- or
 * 8-wide tile, strides and dilations).
 */
class Fp32KernelsTest {
  /** fp32 sums of up to a few hundred products in a different order. */
  private static final float SUM_TOLERANCE = 1e-4f;

  /** The same exp polynomial in both bodies; sums differ only in order. */
  private static final float SOFTMAX_RELATIVE_TOLERANCE = 1e-5f;

  private final Random random = new Random(42);

  private FloatBuffer randomBuffer(int length, float scale) {
    FloatBuffer buffer = FloatBuffers.allocate(length);
    for (int i = 0; i < length; i++) {
      buffer.put(i, (random.nextFloat() * 2 - 1) * scale);
    }
    return buffer;
  }

  private static float maxAbsDiff(FloatBuffer a, FloatBuffer b, int length) {
    float max = 0;
    for (int i = 0; i < length; i++) {
      max = Math.max(max, Math.abs(a.get(i) - b.get(i)));
    }
    return max;
  }

  @ParameterizedTest
  @CsvSource({"1,1", "3,7", "40,6625", "2,8", "5,17"})
  void softmaxRows_matchesReferenceAndJava(int rows, int n) {
    FloatBuffer x = randomBuffer(rows * n, 30f);
    FloatBuffer y = FloatBuffers.allocate(rows * n);
    FloatBuffer ref = FloatBuffers.allocate(rows * n);
    Fp32Kernels.softmaxRows(x, y, rows, n);
    Fp32Kernels.softmaxRowsRef(x, ref, rows, n);
    for (int r = 0; r < rows; r++) {
      double max = Double.NEGATIVE_INFINITY;
      for (int i = 0; i < n; i++) {
        max = Math.max(max, x.get(r * n + i));
      }
      double sum = 0;
      for (int i = 0; i < n; i++) {
        sum += Math.exp(x.get(r * n + i) - max);
      }
      for (int i = 0; i < n; i++) {
        double expected = Math.exp(x.get(r * n + i) - max) / sum;
        assertThat((double) y.get(r * n + i))
            .isCloseTo(expected, org.assertj.core.data.Offset.offset(1e-6 + 1e-5 * expected));
        float relative =
            Math.abs(y.get(r * n + i) - ref.get(r * n + i)) / Math.max(ref.get(r * n + i), 1e-30f);
        assertThat(relative).isLessThanOrEqualTo(SOFTMAX_RELATIVE_TOLERANCE);
      }
    }
  }

  @Test
  void softmaxRows_inPlace() {
    FloatBuffer x = FloatBuffers.of(1f, 2f, 3f, 4f, 5f, 6f, 7f, 8f, 9f);
    Fp32Kernels.softmaxRows(x, x, 1, 9);
    float sum = 0;
    for (int i = 0; i < 9; i++) {
      sum += x.get(i);
    }
    assertThat(sum).isCloseTo(1f, org.assertj.core.data.Offset.offset(1e-6f));
    assertThat(x.get(8)).isGreaterThan(x.get(7));
  }

  @ParameterizedTest
  @CsvSource({
    // channels, batch, inH, inW, kH, kW, strideH, strideW, dilH, dilW, padT, padB, padL, padR
    "240, 1, 12, 80, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2",
    "240, 2, 12, 80, 5, 5, 2, 1, 1, 1, 2, 2, 2, 2",
    "16, 2, 12, 160, 3, 3, 1, 2, 1, 1, 1, 1, 1, 1",
    "7, 3, 9, 37, 3, 5, 1, 1, 1, 1, 0, 2, 1, 3",
    "5, 1, 11, 45, 3, 3, 2, 3, 2, 2, 2, 2, 2, 2",
    "3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0"
  })
  void depthwiseConv2d_matchesReference(
      int channels,
      int batch,
      int inH,
      int inW,
      int kH,
      int kW,
      int strideH,
      int strideW,
      int dilationH,
      int dilationW,
      int padT,
      int padB,
      int padL,
      int padR) {
    int outH = (inH + padT + padB - dilationH * (kH - 1) - 1) / strideH + 1;
    int outW = (inW + padL + padR - dilationW * (kW - 1) - 1) / strideW + 1;
    Fp32Kernels.Window window =
        new Fp32Kernels.Window(
            inH, inW, outH, outW, kH, kW, strideH, strideW, dilationH, dilationW, padT, padB, padL,
            padR);
    int planes = batch * channels;
    FloatBuffer x = randomBuffer(planes * inH * inW, 1f);
    FloatBuffer w = randomBuffer(channels * kH * kW, 1f);
    FloatBuffer bias = randomBuffer(channels, 1f);
    FloatBuffer y = FloatBuffers.allocate(planes * outH * outW);
    FloatBuffer ref = FloatBuffers.allocate(planes * outH * outW);
    FloatBuffer scratch = FloatBuffers.allocate((int) Fp32Kernels.depthwiseScratchFloats(window));
    Fp32Kernels.depthwiseConv2d(x, w, bias, y, scratch, planes, channels, window);
    Fp32Kernels.depthwiseConv2dRef(
        x, w, bias, ref, planes, channels, window, Fp32Kernels.Epilogue.NONE);
    assertThat(maxAbsDiff(y, ref, planes * outH * outW)).isLessThanOrEqualTo(SUM_TOLERANCE);
    // One output by hand: the last plane, last row, last column.
    int p = planes - 1;
    int c = p % channels;
    double expected = bias.get(c);
    for (int kh = 0; kh < kH; kh++) {
      for (int kw = 0; kw < kW; kw++) {
        int ih = (outH - 1) * strideH - padT + kh * dilationH;
        int iw = (outW - 1) * strideW - padL + kw * dilationW;
        if (ih >= 0 && ih < inH && iw >= 0 && iw < inW) {
          expected += w.get(c * kH * kW + kh * kW + kw) * x.get((p * inH + ih) * inW + iw);
        }
      }
    }
    assertThat((double) y.get(planes * outH * outW - 1))
        .isCloseTo(expected, org.assertj.core.data.Offset.offset(1e-4));
  }

  @Test
  void window_readingPastThePaddedPlane_isRefused() {
    assertThatThrownBy(() -> new Fp32Kernels.Window(4, 4, 5, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("reads past the padded input");
  }

  @ParameterizedTest
  @CsvSource({"240,960,240", "13,37,5", "12,32,1", "60,40,2880", "480,1,120", "25,71,33"})
  void gemm_matchesReferenceAndBlas(int m, int n, int k) {
    FloatBuffer a = randomBuffer(m * k, 1f);
    int ldb = n + 3;
    FloatBuffer b = randomBuffer(k * ldb, 1f);
    FloatBuffer bias = randomBuffer(m, 1f);
    FloatBuffer c = FloatBuffers.allocate(m * n);
    FloatBuffer ref = FloatBuffers.allocate(m * n);
    FloatBuffer blas = FloatBuffers.allocate(m * n);
    Fp32Kernels.PackedWeights packed = Fp32Kernels.pack(a, m, k, k);
    FloatBuffer scratch = FloatBuffers.allocate((int) Fp32Kernels.gemmScratchFloats(k));
    Fp32Kernels.gemm(packed, b, ldb, bias, c, n, n, scratch);
    Fp32Kernels.gemmRef(packed, b, ldb, bias, ref, n, n, Fp32Kernels.Epilogue.NONE);
    for (int i = 0; i < m; i++) {
      for (int j = 0; j < n; j++) {
        blas.put(i * n + j, bias.get(i));
      }
    }
    Fp32Blas.gemm(false, false, m, n, k, 1f, a, k, b, ldb, 1f, blas, n);
    float tolerance = SUM_TOLERANCE * (float) Math.sqrt(k);
    assertThat(maxAbsDiff(c, ref, m * n)).isLessThanOrEqualTo(tolerance);
    assertThat(maxAbsDiff(c, blas, m * n)).isLessThanOrEqualTo(tolerance);
  }

  /** Hard-swish with a scale-and-shift, as PP-OCR's LCNet blocks end, then every other step. */
  private static final Fp32Kernels.Epilogue HARD_SWISH_AFFINE =
      Fp32Kernels.Epilogue.of(
          new int[] {
            Fp32Kernels.STEP_ADD,
            Fp32Kernels.STEP_CLIP,
            Fp32Kernels.STEP_MUL_INPUT,
            Fp32Kernels.STEP_DIV,
            Fp32Kernels.STEP_MUL,
            Fp32Kernels.STEP_ADD
          },
          new float[] {3f, 0f, 0f, 6f, 0f, 0f, 6f, 0f, 0.7f, 0f, -0.2f, 0f});

  private static final Fp32Kernels.Epilogue EVERY_STEP =
      Fp32Kernels.Epilogue.of(
          new int[] {
            Fp32Kernels.STEP_SUB, Fp32Kernels.STEP_REVERSE_SUB, Fp32Kernels.STEP_SIGMOID,
            Fp32Kernels.STEP_ADD_INPUT, Fp32Kernels.STEP_HARD_SIGMOID, Fp32Kernels.STEP_SQUARE,
            Fp32Kernels.STEP_NEG, Fp32Kernels.STEP_ABS, Fp32Kernels.STEP_RELU,
            Fp32Kernels.STEP_ADD, Fp32Kernels.STEP_REVERSE_DIV
          },
          new float[] {
            0.5f, 0, 1f, 0, 0, 0, 0, 0, 0.2f, 0.5f, 0, 0, 0, 0, 0, 0, 0, 0, 1f, 0, 2f, 0
          });

  /** The same chain in plain Java. */
  private static float hardSwishAffine(float x) {
    return Math.min(Math.max(x + 3f, 0f), 6f) * x / 6f * 0.7f - 0.2f;
  }

  private static float everyStep(float x) {
    float v = x - 0.5f;
    v = 1f - v;
    v = (float) (1.0 / (1.0 + Math.exp(-v)));
    v = v + x;
    v = Math.max(0f, Math.min(1f, 0.2f * v + 0.5f));
    v = v * v;
    v = Math.abs(-v);
    return 2f / (Math.max(v, 0f) + 1f);
  }

  @ParameterizedTest
  @CsvSource({"true,24,37,50", "false,13,70,9", "true,7,8,3"})
  void epilogue_matchesJava_inGemmAndDepthwise(boolean hardSwish, int m, int n, int k) {
    Fp32Kernels.Epilogue epilogue = hardSwish ? HARD_SWISH_AFFINE : EVERY_STEP;
    FloatBuffer a = randomBuffer(m * k, 1f);
    FloatBuffer b = randomBuffer(k * n, 1f);
    FloatBuffer plain = FloatBuffers.allocate(m * n);
    FloatBuffer fused = FloatBuffers.allocate(m * n);
    FloatBuffer fusedRef = FloatBuffers.allocate(m * n);
    Fp32Kernels.PackedWeights packed = Fp32Kernels.pack(a, m, k, k);
    FloatBuffer scratch = FloatBuffers.allocate((int) Fp32Kernels.gemmScratchFloats(k));
    Fp32Kernels.gemm(packed, b, n, null, plain, n, n, scratch);
    Fp32Kernels.gemm(packed, b, n, null, fused, n, n, scratch, epilogue);
    Fp32Kernels.gemmRef(packed, b, n, null, fusedRef, n, n, epilogue);
    for (int i = 0; i < m * n; i++) {
      float x = plain.get(i);
      float expected = hardSwish ? hardSwishAffine(x) : everyStep(x);
      float tolerance = 1e-5f * Math.max(1f, Math.abs(expected));
      assertThat(fused.get(i)).isCloseTo(expected, org.assertj.core.data.Offset.offset(tolerance));
      assertThat(fusedRef.get(i))
          .isCloseTo(expected, org.assertj.core.data.Offset.offset(tolerance));
    }
    // Depthwise: a 3x3 window over m planes of [k, n] (stride 1, pad 1 keeps the size).
    Fp32Kernels.Window window = new Fp32Kernels.Window(k, n, k, n, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1);
    FloatBuffer w = randomBuffer(m * 9, 1f);
    FloatBuffer x = randomBuffer(m * k * n, 1f);
    FloatBuffer dwPlain = FloatBuffers.allocate(m * k * n);
    FloatBuffer dwFused = FloatBuffers.allocate(m * k * n);
    FloatBuffer dwRef = FloatBuffers.allocate(m * k * n);
    FloatBuffer dwScratch = FloatBuffers.allocate((int) Fp32Kernels.depthwiseScratchFloats(window));
    Fp32Kernels.depthwiseConv2d(x, w, null, dwPlain, dwScratch, m, m, window);
    Fp32Kernels.depthwiseConv2d(x, w, null, dwFused, dwScratch, m, m, window, epilogue);
    Fp32Kernels.depthwiseConv2dRef(x, w, null, dwRef, m, m, window, epilogue);
    for (int i = 0; i < m * k * n; i++) {
      float v = dwPlain.get(i);
      float expected = hardSwish ? hardSwishAffine(v) : everyStep(v);
      float tolerance = 1e-5f * Math.max(1f, Math.abs(expected));
      assertThat(dwFused.get(i))
          .isCloseTo(expected, org.assertj.core.data.Offset.offset(tolerance));
      assertThat(dwRef.get(i)).isCloseTo(expected, org.assertj.core.data.Offset.offset(tolerance));
    }
  }

  @Test
  void epilogue_unknownStep_isRefused() {
    assertThatThrownBy(() -> Fp32Kernels.Epilogue.of(new int[] {99}, new float[2]))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("kinds[0]=99");
  }

  @Test
  void gemm_withoutBias_andScalarForced() {
    FloatBuffer a = FloatBuffers.of(1f, 2f, 3f, 4f); // [2, 2]
    FloatBuffer b = FloatBuffers.of(5f, 6f, 7f, 8f); // [2, 2]
    FloatBuffer c = FloatBuffers.allocate(4);
    Fp32Kernels.PackedWeights packed = Fp32Kernels.pack(a, 2, 2, 2);
    FloatBuffer scratch = FloatBuffers.allocate((int) Fp32Kernels.gemmScratchFloats(2));
    Fp32Kernels.forceScalar(true);
    try {
      assertThat(Fp32Kernels.packedGemmAvailable()).isFalse();
      Fp32Kernels.gemm(packed, b, 2, null, c, 2, 2, scratch);
    } finally {
      Fp32Kernels.forceScalar(false);
    }
    assertThat(new float[] {c.get(0), c.get(1), c.get(2), c.get(3)})
        .containsExactly(19f, 22f, 43f, 50f);
  }

  @Test
  void gemm_shortOutput_isRefusedBeforeNativeCode() {
    Fp32Kernels.PackedWeights packed = Fp32Kernels.pack(FloatBuffers.allocate(6), 2, 3, 3);
    assertThatThrownBy(
            () ->
                Fp32Kernels.gemm(
                    packed,
                    FloatBuffers.allocate(12),
                    4,
                    null,
                    FloatBuffers.allocate(7),
                    4,
                    4,
                    FloatBuffers.allocate(96)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("c: needs=8");
  }
}
