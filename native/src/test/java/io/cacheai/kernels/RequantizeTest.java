package io.cacheai.kernels;

import static io.cacheai.kernels.IntBuffersForTests.floats;
import static io.cacheai.kernels.IntBuffersForTests.ints;
import static io.cacheai.kernels.IntBuffersForTests.toArray;
import static io.cacheai.kernels.IntBuffersForTests.zeroBytes;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class RequantizeTest {
  @ParameterizedTest(name = "m={0} n={1} zp={2} relu={3} bias={4}")
  @CsvSource({
    "1, 1, 0, false, true",
    "3, 7, 128, false, true",
    "5, 8, 3, true, true",
    "4, 37, 255, false, false",
    "17, 64, 100, true, false",
  })
  void toU8_bitExactWithJavaRulesAndScalarTwin(
      int m, int n, int zp, boolean relu, boolean withBias) {
    Random random = new Random(m * 1000L + n);
    int[] acc = randomAcc(random, m * n);
    int[] bias = withBias ? randomBias(random, n) : null;
    float[] scale = randomScales(random, n);
    RequantParams params =
        new RequantParams(bias == null ? null : ints(bias, 3), floats(scale, 1), zp, relu);

    ByteBuffer out = zeroBytes(m * n, 2);
    Requantize.toU8(ints(acc, 4), m, n, params, out);
    ByteBuffer outRef = zeroBytes(m * n, 0);
    Requantize.toU8Ref(ints(acc, 0), m, n, params, outRef);

    for (int i = 0; i < m; i++) {
      for (int j = 0; j < n; j++) {
        int expected = javaU8(acc[i * n + j], bias == null ? 0 : bias[j], scale[j], zp, relu);
        assertThat(out.get(2 + i * n + j) & 0xFF).as("avx2 [%d][%d]", i, j).isEqualTo(expected);
        assertThat(outRef.get(i * n + j) & 0xFF).as("ref [%d][%d]", i, j).isEqualTo(expected);
      }
    }
  }

  @Test
  void toU8_tiesRoundToEven() {
    // scale 0.5 on odd accumulators puts every value on a .5 tie: 1→0.5→0, 3→1.5→2, 5→2.5→2.
    int[] acc = {1, 3, 5, 7, -1, -3, -5, -7, 9};
    float[] scale = new float[9];
    java.util.Arrays.fill(scale, 0.5f);
    ByteBuffer out = zeroBytes(9, 0);
    Requantize.toU8(ints(acc, 0), 1, 9, new RequantParams(null, floats(scale, 0), 10, false), out);
    int[] got = new int[9];
    for (int j = 0; j < 9; j++) {
      got[j] = out.get(j) & 0xFF;
    }
    assertThat(got).containsExactly(10, 12, 12, 14, 10, 8, 8, 6, 14);
  }

  @ParameterizedTest(name = "relu={0}")
  @CsvSource({"false", "true"})
  void toF32_bitExactWithJavaRules(boolean relu) {
    Random random = new Random(5);
    int m = 6;
    int n = 29;
    int[] acc = randomAcc(random, m * n);
    int[] bias = randomBias(random, n);
    float[] scale = randomScales(random, n);
    FloatBuffer out = FloatBuffers.allocate(m * n);
    Requantize.toF32(
        ints(acc, 0), m, n, new RequantParams(ints(bias, 0), floats(scale, 0), 0, relu), out);
    float[] got = toArray(out, m * n);
    for (int i = 0; i < m; i++) {
      for (int j = 0; j < n; j++) {
        float y = (float) (acc[i * n + j] + bias[j]) * scale[j];
        float expected = relu && y < 0 ? 0f : y;
        assertThat(got[i * n + j]).as("[%d][%d]", i, j).isEqualTo(expected);
      }
    }
  }

  @Test
  void badParams_rejectedWithContext() {
    assertThatThrownBy(() -> new RequantParams(null, floats(new float[1], 0), 256, false))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("outZeroPoint=256");
    RequantParams shortScale = new RequantParams(null, floats(new float[3], 0), 0, false);
    assertThatThrownBy(() -> Requantize.toU8(ints(8, 0), 2, 4, shortScale, zeroBytes(8, 0)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("scale: needs=4");
    RequantParams shortBias = new RequantParams(ints(3, 0), floats(new float[4], 0), 0, false);
    assertThatThrownBy(() -> Requantize.toU8(ints(8, 0), 2, 4, shortBias, zeroBytes(8, 0)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("bias: needs=4");
    RequantParams ok = new RequantParams(null, floats(new float[4], 0), 0, false);
    assertThatThrownBy(() -> Requantize.toF32(ints(8, 0), 2, 4, ok, FloatBuffers.allocate(7)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("out: needs=8");
  }

  /** The documented rules, in Java. */
  static int javaU8(int acc, int bias, float scale, int zp, boolean relu) {
    float y = (float) (acc + bias) * scale;
    float lo = relu ? 0f : (float) -zp;
    float hi = (float) (255 - zp);
    y = Math.min(Math.max(y, lo), hi);
    return (int) Math.rint(y) + zp;
  }

  private static int[] randomAcc(Random random, int length) {
    int[] acc = new int[length];
    for (int i = 0; i < length; i++) {
      // Mix of small values, large ones (beyond 2^24, where int->float rounds) and extremes.
      acc[i] =
          switch (i % 4) {
            case 0 -> random.nextInt(20001) - 10000;
            case 1 -> random.nextInt(1 << 28) - (1 << 27);
            case 2 -> random.nextInt(401) - 200;
            default -> random.nextBoolean() ? 1_000_000_001 : -1_000_000_001;
          };
    }
    return acc;
  }

  private static int[] randomBias(Random random, int n) {
    int[] bias = new int[n];
    for (int j = 0; j < n; j++) {
      bias[j] = random.nextInt(20001) - 10000;
    }
    return bias;
  }

  private static float[] randomScales(Random random, int n) {
    float[] scale = new float[n];
    for (int j = 0; j < n; j++) {
      scale[j] = (float) Math.scalb(0.5 + random.nextDouble(), -random.nextInt(12));
    }
    return scale;
  }
}
