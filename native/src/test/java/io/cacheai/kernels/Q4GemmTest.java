package io.cacheai.kernels;

import static io.cacheai.kernels.IntBuffersForTests.floats;
import static io.cacheai.kernels.IntBuffersForTests.toArray;
import static io.cacheai.kernels.IntBuffersForTests.zeroBytes;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class Q4GemmTest {
  /**
   * Beyond the bound from rounding the activations (Σ|w|·dx/2 per group, computed per output),
   * allowed fp32 rounding, relative to Σ|w·x|: the kernels sum k/32 fp32 group terms.
   */
  private static final double FP32_SLACK = 1e-5;

  /** AVX2 body vs its scalar twin: same integers, different fp32 summation order. */
  private static final double TWIN_TOLERANCE = 1e-5;

  @AfterEach
  void restoreDispatch() {
    IntKernels.forceScalar(false);
  }

  /**
   * gemmBias = gemm, then y + bias and Java's ReLU ({@code t < 0 ? 0 : t}) per element, bit for
   * bit, with and without a bias, on shapes of the MNIST head (800→120→84→10) and odd ones.
   */
  @ParameterizedTest(name = "m={0} n={1} k={2} bias={3} relu={4}")
  @CsvSource({
    "1, 120, 800, true, true",
    "1, 84, 128, true, true",
    "1, 10, 96, true, false",
    "3, 7, 64, false, true",
    "5, 33, 32, true, true",
    "2, 1, 32, false, false"
  })
  void gemmBias_equalsGemmThenJavaBiasRelu(int m, int n, int k, boolean withBias, boolean relu) {
    Random random = new Random(m * 131L + n * 17L + k);
    float[] w = randomFloats(random, n * k);
    float[] x = randomFloats(random, m * k);
    float[] b = randomFloats(random, n);
    ByteBuffer q = quantize(w, n, k);
    FloatBuffer plain = FloatBuffers.allocate(m * n);
    Q4Gemm.gemm(q, n, k, floats(x, 0), m, plain);
    float[] expected = toArray(plain, m * n);
    for (int i = 0; i < m; i++) {
      for (int j = 0; j < n; j++) {
        float t = withBias ? expected[i * n + j] + b[j] : expected[i * n + j];
        expected[i * n + j] = relu && t < 0f ? 0f : t;
      }
    }
    FloatBuffer y = FloatBuffers.allocate(m * n);
    Q4Gemm.gemmBias(q, n, k, floats(x, 0), m, withBias ? floats(b, 0) : null, relu, y);
    assertThat(toArray(y, m * n)).containsExactly(expected);
    if (n > 1) { // sizes are checked in Java before the crossing
      assertThatThrownBy(
              () -> Q4Gemm.gemmBias(q, n, k, floats(x, 0), m, floats(new float[n - 1], 0), relu, y))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("bias");
    }
  }

  @ParameterizedTest(name = "m={0} n={1} k={2}")
  @CsvSource({
    "1, 1, 32",
    "1, 7, 64",
    "1, 33, 4096",
    "1, 6, 800",
    "2, 5, 96",
    "5, 9, 160",
    "65, 13, 256",
    "7, 3, 32"
  })
  void gemm_withinActivationRoundingBoundOfDequantizedReference(int m, int n, int k) {
    Random random = new Random(m * 7919L + n * 31L + k);
    float[] w = randomFloats(random, n * k);
    float[] x = randomFloats(random, m * k);
    ByteBuffer q = quantize(w, n, k);
    float[] dequantized = dequantize(q, n, k);

    FloatBuffer y = FloatBuffers.allocate(m * n);
    if (m == 1) {
      Q4Gemm.gemv(q, n, k, floats(x, 0), y);
    } else {
      Q4Gemm.gemm(q, n, k, floats(x, 0), m, y);
    }
    FloatBuffer yRef = FloatBuffers.allocate(m * n);
    Q4Gemm.gemmRef(q, n, k, floats(x, 0), m, yRef);
    float[] got = toArray(y, m * n);
    float[] gotRef = toArray(yRef, m * n);

    for (int i = 0; i < m; i++) {
      for (int j = 0; j < n; j++) {
        double exact = 0;
        double bound = 0;
        double magnitude = 0;
        for (int g = 0; g < k / 32; g++) {
          double amax = 0;
          double wAbs = 0;
          for (int t = g * 32; t < g * 32 + 32; t++) {
            double wv = dequantized[j * k + t];
            exact += wv * x[i * k + t];
            magnitude += Math.abs(wv * x[i * k + t]);
            amax = Math.max(amax, Math.abs(x[i * k + t]));
            wAbs += Math.abs(wv);
          }
          bound += wAbs * amax / 127 / 2;
        }
        double tolerance = bound * 1.0001 + FP32_SLACK * magnitude + 1e-30;
        assertThat((double) got[i * n + j])
            .as("[%d][%d]", i, j)
            .isCloseTo(exact, within(tolerance));
        assertThat((double) got[i * n + j])
            .as("twin [%d][%d]", i, j)
            .isCloseTo(gotRef[i * n + j], within(TWIN_TOLERANCE * (magnitude + 1e-6)));
      }
    }
  }

  @Test
  void gemv_scalarPath_matchesAvx2() {
    Random random = new Random(8);
    int n = 19;
    int k = 320;
    ByteBuffer q = quantize(randomFloats(random, n * k), n, k);
    float[] x = randomFloats(random, k);
    FloatBuffer y = FloatBuffers.allocate(n);
    Q4Gemm.gemv(q, n, k, floats(x, 0), y);
    IntKernels.forceScalar(true);
    FloatBuffer yScalar = FloatBuffers.allocate(n);
    Q4Gemm.gemv(q, n, k, floats(x, 0), yScalar);
    float[] a = toArray(y, n);
    float[] b = toArray(yScalar, n);
    for (int j = 0; j < n; j++) {
      assertThat(a[j]).isCloseTo(b[j], within(1e-4f));
    }
  }

  @Test
  void quantize_extremeMapsToMinus8_andRoundTripsWithinHalfStep() {
    float[] w = new float[32];
    for (int i = 0; i < 32; i++) {
      w[i] = (i - 12) * 0.25f; // extreme is +4.75 at i = 31
    }
    ByteBuffer q = quantize(w, 1, 32);
    float d = q.duplicate().order(ByteOrder.LITTLE_ENDIAN).getFloat(0);
    assertThat(d).isEqualTo(4.75f / -8f);
    float[] back = dequantize(q, 1, 32);
    assertThat(back[31]).isEqualTo(4.75f);
    for (int i = 0; i < 32; i++) {
      assertThat(back[i]).isCloseTo(w[i], within(Math.abs(d) / 2 + 1e-6f));
    }
  }

  @Test
  void gemv_zeroAndTinyActivations_giveZeroNotNaN() {
    Random random = new Random(2);
    int n = 8;
    int k = 96;
    ByteBuffer q = quantize(randomFloats(random, n * k), n, k);
    float[] x = new float[k];
    for (int i = 32; i < 64; i++) {
      x[i] = Float.MIN_VALUE * i; // a group of denormals: its scale would overflow 1/dx
    }
    FloatBuffer y = FloatBuffers.allocate(n);
    Q4Gemm.gemv(q, n, k, floats(x, 0), y);
    assertThat(toArray(y, n)).containsOnly(0f);
  }

  @Test
  void badShapes_rejectedWithContext() {
    assertThatThrownBy(() -> Q4Gemm.sizeBytes(4, 33))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("k=33 must be a multiple of 32");
    ByteBuffer shortWeights = zeroBytes(Q4Gemm.sizeBytes(4, 64) - 1, 0);
    assertThatThrownBy(
            () ->
                Q4Gemm.gemv(
                    shortWeights, 4, 64, FloatBuffers.allocate(64), FloatBuffers.allocate(4)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("weights: needs=160");
    assertThat(Q4Gemm.sizeBytes(3, 96)).isEqualTo(3 * 2 * 40);
    ByteBuffer weights = zeroBytes(Q4Gemm.sizeBytes(4, 64), 0);
    assertThatThrownBy(
            () ->
                Q4Gemm.gemm(
                    weights, 4, 64, FloatBuffers.allocate(127), 2, FloatBuffers.allocate(8)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("x: needs=128");
  }

  static ByteBuffer quantize(float[] w, int n, int k) {
    ByteBuffer q = zeroBytes(Q4Gemm.sizeBytes(n, k), 0);
    Q4Gemm.quantize(floats(w, 0), n, k, q);
    return q;
  }

  /** The format as documented: two groups per 40-byte block, w = d[h] · (q − 8). */
  static float[] dequantize(ByteBuffer q, int n, int k) {
    ByteBuffer le = q.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    int base = q.position();
    int blocksPerRow = Q4Gemm.blocksPerRow(k);
    float[] w = new float[n * k];
    for (int r = 0; r < n; r++) {
      for (int g = 0; g < k / 32; g++) {
        int at = base + (r * blocksPerRow + g / 2) * Q4Gemm.BLOCK_SIZE_BYTES;
        int h = g % 2;
        float d = le.getFloat(at + 4 * h);
        for (int i = 0; i < 16; i++) {
          int packed = le.get(at + 8 + 16 * h + i) & 0xFF;
          w[r * k + g * 32 + i] = d * ((packed & 0x0F) - 8);
          w[r * k + g * 32 + i + 16] = d * ((packed >> 4) - 8);
        }
      }
    }
    return w;
  }

  private static float[] randomFloats(Random random, int length) {
    float[] out = new float[length];
    for (int i = 0; i < length; i++) {
      out[i] = (float) random.nextGaussian();
    }
    return out;
  }
}
