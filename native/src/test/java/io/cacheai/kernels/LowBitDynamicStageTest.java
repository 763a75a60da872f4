package io.cacheai.kernels;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@link LowBitConv#dynamicStage} (C) against the Java formulas it replaced in {@code
 * LowBitConvKernel} — min/max, dynamic u8 scale and zero point, the twin's stage — bit for bit on
 * random, all-zero, tiny, one-signed and outlier images, with the status codes for NaN, infinities,
 * an overflowing range and a stage out of s32's comfort; and {@link LowBitConv#minMax}'s AVX-512,
 * AVX2 and scalar bodies agreeing on every length around their vector widths.
 */
class LowBitDynamicStageTest {
  @AfterEach
  void restoreDispatch() {
    IntKernels.forceScalar(false);
    IntKernels.forceNoVnni(false);
  }

  /** The Java code the C stage replaced: status and, when OK, stage bias, scale, scale, zp. */
  private static int javaStage(
      float[] x,
      float[] rowScales,
      double[] biasOverScale,
      int[] rowSums,
      int[] bias,
      float[] out) {
    float min = Float.POSITIVE_INFINITY;
    float max = Float.NEGATIVE_INFINITY;
    boolean nan = false;
    for (float v : x) {
      nan |= Float.isNaN(v);
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    if (nan) {
      return LowBitConv.STAGE_NOT_FINITE;
    }
    float lo = Math.min(min, 0f);
    float hi = Math.max(max, 0f);
    if (!Float.isFinite(lo) || !Float.isFinite(hi) || !Float.isFinite(hi - lo)) {
      return LowBitConv.STAGE_NOT_FINITE;
    }
    float scale = (hi - lo) / 255f;
    scale = scale >= Float.MIN_NORMAL ? scale : Float.MIN_NORMAL;
    int zeroPoint = (int) Math.min(255, Math.max(0, Math.rint(-lo / scale)));
    double inverse = 1.0 / scale;
    int m = rowScales.length;
    for (int j = 0; j < m; j++) {
      float s = scale * rowScales[j];
      double q = biasOverScale == null ? 0 : Math.rint(biasOverScale[j] * inverse);
      double total = q - (double) zeroPoint * rowSums[j];
      if (!(s > 0f) || !Float.isFinite(s) || !(Math.abs(total) <= 1 << 28)) {
        return LowBitConv.STAGE_OUT_OF_RANGE;
      }
      out[j] = s;
      bias[j] = (int) total;
    }
    out[m] = scale;
    out[m + 1] = zeroPoint;
    return LowBitConv.STAGE_OK;
  }

  private static LowBitConv.TwinStage twin(float[] scales, double[] biasOverScale, int[] sums) {
    FloatBuffer bias = null;
    if (biasOverScale != null) { // bias_j / d_j is formed in double from the fp32 bias
      bias = FloatBuffers.allocate(scales.length);
      for (int j = 0; j < scales.length; j++) {
        bias.put(j, (float) (biasOverScale[j] * scales[j]));
        biasOverScale[j] = bias.get(j) / (double) scales[j];
      }
    }
    return LowBitConv.TwinStage.of(scales, sums, bias);
  }

  private static void assertSameAsJava(
      float[] x, float[] scales, double[] biasOverScale, int[] sums, String what) {
    int m = scales.length;
    LowBitConv.TwinStage stage = twin(scales, biasOverScale, sums); // bias/d as the fp32 bias gives
    int[] javaBias = new int[m];
    float[] javaScale = new float[m + 2];
    int expected = javaStage(x, scales, biasOverScale, sums, javaBias, javaScale);
    IntBuffer stageBias =
        ByteBuffer.allocateDirect(4 * m).order(ByteOrder.nativeOrder()).asIntBuffer();
    FloatBuffer stageScale = FloatBuffers.allocate(m + 2);
    int code = LowBitConv.dynamicStage(FloatBuffers.of(x), x.length, stage, stageBias, stageScale);
    assertThat(code).as("%s: status", what).isEqualTo(expected);
    if (code != LowBitConv.STAGE_OK) {
      return;
    }
    for (int j = 0; j < m; j++) {
      assertThat(stageBias.get(j)).as("%s: bias %d", what, j).isEqualTo(javaBias[j]);
    }
    for (int j = 0; j < m + 2; j++) {
      assertThat(Float.floatToRawIntBits(stageScale.get(j)))
          .as("%s: scale %d (%s vs %s)", what, j, stageScale.get(j), javaScale[j])
          .isEqualTo(Float.floatToRawIntBits(javaScale[j]));
    }
  }

  @ParameterizedTest(name = "count={0} m={1} kind={2} bias={3}")
  @CsvSource({
    "784, 16, 0, true", "3136, 32, 1, true", "1, 3, 2, true", "100, 7, 3, false",
    "17, 5, 4, true", "3136, 32, 5, true", "64, 4, 6, true", "333, 9, 7, true"
  })
  void dynamicStage_equalsJavaFormulas(int count, int m, int kind, boolean bias) {
    Random random = new Random(count * 131L + m * 7L + kind);
    for (int round = 0; round < 20; round++) {
      float[] x = new float[count];
      for (int i = 0; i < count; i++) {
        float g = (float) random.nextGaussian();
        x[i] =
            switch (kind) {
              case 0 -> Math.max(0f, g); // ReLU'd (lo = 0)
              case 1 -> g * 3f; // both signs
              case 2 -> 0f; // all zero: scale = MIN_NORMAL
              case 3 -> -Math.abs(g) - 1f; // all negative: zp = 255
              case 4 -> g * 1e-39f; // subnormal range
              case 5 -> i == count / 2 ? 1e30f : g; // an outlier
              case 6 -> g * 1e5f;
              default -> i % 2 == 0 ? -0f : g; // negative zeros
            };
      }
      float[] scales = new float[m];
      double[] over = bias ? new double[m] : null;
      int[] sums = new int[m];
      for (int j = 0; j < m; j++) {
        scales[j] = (float) (random.nextDouble() * 0.02 + 1e-4);
        sums[j] = random.nextInt(4001) - 2000;
        if (over != null) {
          over[j] = random.nextGaussian() * 0.3 / scales[j];
        }
      }
      assertSameAsJava(x, scales, over, sums, "kind " + kind + " round " + round);
    }
  }

  @Test
  void dynamicStage_statusCodes() {
    float[] scales = {0.01f, 0.02f};
    int[] sums = {10, -10};
    double[] over = {1.0, -1.0};
    IntBuffer bias = ByteBuffer.allocateDirect(8).order(ByteOrder.nativeOrder()).asIntBuffer();
    FloatBuffer scale = FloatBuffers.allocate(4);
    LowBitConv.TwinStage stage = twin(scales, over, sums);
    float[][] notFinite = {
      {1f, Float.NaN, 2f}, {Float.POSITIVE_INFINITY, 0f}, {-Float.MAX_VALUE, Float.MAX_VALUE}
    };
    for (float[] x : notFinite) {
      assertThat(LowBitConv.dynamicStage(FloatBuffers.of(x), x.length, stage, bias, scale))
          .isEqualTo(LowBitConv.STAGE_NOT_FINITE);
      assertSameAsJava(x, scales, over, sums, "not finite");
    }
    // all zero: scale MIN_NORMAL, bias / d / scale far beyond 2^28
    float[] zeros = new float[40];
    assertThat(LowBitConv.dynamicStage(FloatBuffers.of(zeros), 40, stage, bias, scale))
        .isEqualTo(LowBitConv.STAGE_OUT_OF_RANGE);
    assertSameAsJava(zeros, scales, over, sums, "tiny scale");
    float[] image = {-1f, 3f, 0.5f};
    assertThat(LowBitConv.dynamicStage(FloatBuffers.of(image), 3, stage, bias, scale))
        .isEqualTo(LowBitConv.STAGE_OK);
    assertThat(scale.get(2)).isEqualTo(4f / 255f);
    assertThat(scale.get(3)).isEqualTo((float) Math.rint(1f / (4f / 255f)));
  }

  /** Scale exactly 1 (image 0..255): the bias is rounded half to even, as Math.rint does. */
  @Test
  void dynamicStage_roundsHalfToEven() {
    float[] x = {0f, 255f, 17f};
    double[] over = {0.5, 1.5, 2.5, -0.5, -2.5, 7.5000001, -1e-300, 1e8 + 0.5, -3.5, 4.4999999};
    float[] scales = new float[over.length];
    java.util.Arrays.fill(scales, 1f);
    int[] sums = new int[over.length];
    sums[2] = 5; // zp = 0 here: no effect, but exercised
    assertSameAsJava(x, scales, over, sums, "half-even");
    IntBuffer bias =
        ByteBuffer.allocateDirect(4 * over.length).order(ByteOrder.nativeOrder()).asIntBuffer();
    FloatBuffer scale = FloatBuffers.allocate(over.length + 2);
    LowBitConv.dynamicStage(FloatBuffers.of(x), 3, twin(scales, over, sums), bias, scale);
    int[] rounded = new int[over.length];
    bias.get(0, rounded);
    assertThat(rounded).containsExactly(0, 2, 2, 0, -2, 8, 0, 100_000_000, -4, 4);
  }

  @Test
  void dynamicStage_shortBuffers_refused() {
    LowBitConv.TwinStage stage = twin(new float[] {1f, 1f}, null, new int[2]);
    IntBuffer bias = ByteBuffer.allocateDirect(8).order(ByteOrder.nativeOrder()).asIntBuffer();
    assertThatThrownBy(
            () ->
                LowBitConv.dynamicStage(
                    FloatBuffers.allocate(4), 4, stage, bias, FloatBuffers.allocate(3)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("stageScale");
    assertThatThrownBy(
            () ->
                LowBitConv.dynamicStage(
                    FloatBuffers.allocate(3), 4, stage, bias, FloatBuffers.allocate(4)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("x");
    assertThatThrownBy(() -> LowBitConv.TwinStage.of(new float[3], new int[2], null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("sums=2");
    assertThatThrownBy(() -> new LowBitConv.TwinStage(3, true, ByteBuffer.allocateDirect(40)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("constants");
  }

  /** The AVX-512 (four chains), AVX2 and scalar bodies: the same min and max on every length. */
  @Test
  void minMax_bodiesAgree() {
    Random random = new Random(11);
    float[] out = new float[2];
    for (int count = 1; count <= 200; count++) {
      float[] x = new float[count];
      for (int i = 0; i < count; i++) {
        x[i] = (float) random.nextGaussian() * 10f;
      }
      int extreme = random.nextInt(count);
      x[extreme] = count % 2 == 0 ? 1e20f : -1e20f;
      float[][] results = new float[3][];
      for (int body = 0; body < 3; body++) {
        IntKernels.forceNoVnni(body >= 1);
        IntKernels.forceScalar(body == 2);
        LowBitConv.minMax(FloatBuffers.of(x), count, out);
        results[body] = out.clone();
      }
      IntKernels.forceNoVnni(false);
      IntKernels.forceScalar(false);
      for (int body = 1; body < 3; body++) {
        assertThat(results[0]).as("count %d body %d", count, body).containsExactly(results[body]);
      }
      if (count > 70) {
        float[] withNaN = x.clone();
        withNaN[count - 1 - random.nextInt(70)] = Float.NaN;
        LowBitConv.minMax(FloatBuffers.of(withNaN), count, out);
        assertThat(Float.isNaN(out[0]) && Float.isNaN(out[1])).as("NaN, count %d", count).isTrue();
      }
    }
  }
}
