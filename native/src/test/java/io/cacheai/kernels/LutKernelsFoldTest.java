package io.cacheai.kernels;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The folded gather-accumulate ({@link LutKernels#accumulateFolded}, {@link
 * LutKernels#accumulateS4Folded}: key 0's row not stored, tables [C][K−1][m]): the AVX2 body, its
 * scalar C twin (forced) and the Java reference agree bit for bit, and all equal the unfolded
 * kernel over the same rows plus an all-zero key-0 row — with key bytes above K−1, rows whose keys
 * are all 0 or all non-zero, outputs below and above the vector widths, codebooks past the s16
 * chunk. Every size is checked before the call.
 */
class LutKernelsFoldTest {
  private enum Mode {
    NATIVE,
    SCALAR,
    REFERENCE
  }

  @AfterEach
  void restoreDispatch() {
    LutKernels.forceScalar(false);
  }

  @ParameterizedTest(name = "keys={0}")
  @ValueSource(ints = {4, 8, 16})
  void accumulateFolded_avx2AndScalarEqualReferenceAndUnfolded(int keys) {
    // register blocks, the streaming order (tables > 512 KiB, m >= 256), half vectors and a
    // scalar tail, two and three s16 codebook chunks (> 256, > 512 codebooks)
    int[][] fixedShapes = {
      {4, 200, 120},
      {3, 300, 1000},
      {5, 600, 2100},
      {3, 261, 2073},
      {7, 270, 37},
      {64, 3, 1},
      {4, 700, 300},
      {3, 520, 16}
    };
    check(false, keys, fixedShapes, 40, new Random(101L * keys));
  }

  @ParameterizedTest(name = "keys={0}")
  @ValueSource(ints = {4, 8, 16})
  void accumulateS4Folded_avx2AndScalarEqualReferenceAndUnfolded(int keys) {
    // m < 32 runs the scalar twin; odd m has a padding nibble; 2100 and 4500 codebooks pass the
    // body's 2048-codebook s16 chunk
    int[][] fixedShapes = {
      {4, 200, 128},
      {3, 57, 33},
      {3, 2100, 97},
      {5, 300, 1001},
      {4, 31, 31},
      {3, 9, 1},
      {3, 40, 32},
      {3, 4500, 64},
      {4, 100, 30}
    };
    check(true, keys, fixedShapes, 40, new Random(103L * keys));
  }

  @ParameterizedTest(name = "keys={0}")
  @ValueSource(ints = {4, 16})
  void accumulateFolded_everyKeyZero_writesBiasOrZero(int keys) {
    // no row is summed at all: out = bias + scale·0 (= bias), or scale·0 = 0 without a bias
    int codebooks = 600;
    Random random = new Random(7);
    for (boolean s4 : new boolean[] {false, true}) {
      for (int m : new int[] {1, 37, 300}) {
        ByteBuffer zeros = ByteBuffer.allocateDirect(2 * codebooks);
        for (int i = 0; i < 2 * codebooks; i++) {
          zeros.put(i, (byte) (keys * random.nextInt(256 / keys))); // & (K−1) == 0
        }
        ByteBuffer tables = randomBytes(random, (int) (codebooks * (keys - 1) * rowBytes(s4, m)));
        FloatBuffer scale = randomScale(random, m);
        FloatBuffer bias = randomBias(random, m);
        for (Mode mode : Mode.values()) {
          float[] withBias =
              accumulateFolded(s4, zeros, 2, codebooks, keys, m, tables, scale, bias, mode);
          float[] noBias =
              accumulateFolded(s4, zeros, 2, codebooks, keys, m, tables, scale, null, mode);
          for (int i = 0; i < 2 * m; i++) {
            assertThat(withBias[i]).as("s4=%s m=%d %s", s4, m, mode).isEqualTo(bias.get(i % m));
            assertThat(noBias[i]).as("s4=%s m=%d %s", s4, m, mode).isEqualTo(0f);
          }
        }
      }
    }
  }

  @Test
  void arguments_foldedTableSizes_checkedBeforeTheCall() {
    ByteBuffer keys = ByteBuffer.allocateDirect(3 * 5);
    FloatBuffer scale = FloatBuffers.allocate(7);
    FloatBuffer out = FloatBuffers.allocate(3 * 7);
    // C·(K−1)·m bytes for int8, C·(K−1)·ceil(m/2) for 4-bit; one byte short is refused
    assertThatThrownBy(
            () ->
                LutKernels.accumulateFolded(
                    keys, 3, 5, 4, 7, ByteBuffer.allocateDirect(5 * 3 * 7 - 1), scale, null, out))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("tables")
        .hasMessageContaining("codebooks*3*m=105");
    assertThatThrownBy(
            () ->
                LutKernels.accumulateS4Folded(
                    keys, 3, 5, 16, 7, ByteBuffer.allocateDirect(5 * 15 * 4 - 1), scale, null, out))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("codebooks*15*((m+1)/2)=300");
    assertThatThrownBy(
            () ->
                LutKernels.Reference.accumulateS4Folded(
                    keys, 3, 5, 8, 7, ByteBuffer.allocateDirect(5 * 7 * 4 - 1), scale, null, out))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("codebooks*7*((m+1)/2)=140");
    // exactly enough is accepted
    LutKernels.accumulateFolded(
        keys, 3, 5, 4, 7, ByteBuffer.allocateDirect(5 * 3 * 7), scale, null, out);
    LutKernels.accumulateS4Folded(
        keys, 3, 5, 16, 7, ByteBuffer.allocateDirect(5 * 15 * 4), scale, null, out);
    // keys, scale, out short; K not in {4, 8, 16}
    ByteBuffer tables = ByteBuffer.allocateDirect(4096);
    assertThatThrownBy(
            () ->
                LutKernels.accumulateFolded(
                    ByteBuffer.allocateDirect(14), 3, 5, 8, 7, tables, scale, null, out))
        .hasMessageContaining("keys");
    assertThatThrownBy(
            () ->
                LutKernels.accumulateS4Folded(
                    keys, 3, 5, 8, 7, tables, FloatBuffers.allocate(6), null, out))
        .hasMessageContaining("scale");
    assertThatThrownBy(
            () ->
                LutKernels.accumulateFolded(
                    keys, 3, 5, 8, 7, tables, scale, null, FloatBuffers.allocate(20)))
        .hasMessageContaining("out");
    for (int bad : new int[] {0, 1, 2, 3, 5, 15, 32}) {
      assertThatThrownBy(
              () -> LutKernels.accumulateFolded(keys, 3, 5, bad, 7, tables, scale, null, out))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("keys per codebook=" + bad);
      assertThatThrownBy(
              () -> LutKernels.accumulateS4Folded(keys, 3, 5, bad, 7, tables, scale, null, out))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("keys per codebook=" + bad);
    }
  }

  // ---------------------------------------------------------------------------------------------

  private static void check(boolean s4, int keys, int[][] fixedShapes, int trials, Random random) {
    for (int trial = 0; trial < trials; trial++) {
      int[] shape =
          trial < fixedShapes.length
              ? fixedShapes[trial]
              : new int[] {3 + random.nextInt(6), 1 + random.nextInt(400), 1 + random.nextInt(700)};
      int rows = shape[0];
      int codebooks = shape[1];
      int m = shape[2];
      long rb = rowBytes(s4, m);
      // row 0: every key 0; row 1: every key non-zero; row 2: wild bytes (masked to & (K−1));
      // the others: key 0 half the time (so chunks mix summed and skipped codebooks)
      ByteBuffer keyBytes = ByteBuffer.allocateDirect(rows * codebooks);
      for (int c = 0; c < codebooks; c++) {
        keyBytes.put(c, (byte) 0);
        keyBytes.put(codebooks + c, (byte) (1 + random.nextInt(keys - 1)));
        keyBytes.put(2 * codebooks + c, (byte) random.nextInt(256));
        for (int r = 3; r < rows; r++) {
          keyBytes.put(r * codebooks + c, (byte) (random.nextBoolean() ? 0 : random.nextInt(keys)));
        }
      }
      ByteBuffer folded = randomBytes(random, (int) (codebooks * (keys - 1) * rb));
      ByteBuffer unfolded = ByteBuffer.allocateDirect((int) (codebooks * keys * rb));
      for (int c = 0; c < codebooks; c++) {
        for (long b = 0; b < (keys - 1) * rb; b++) {
          unfolded.put(
              (int) ((c * (long) keys + 1) * rb + b),
              folded.get((int) (c * (long) (keys - 1) * rb + b)));
        }
      }
      FloatBuffer scale = randomScale(random, m);
      FloatBuffer bias = trial % 3 == 0 ? null : randomBias(random, m);
      String at = "s4=" + s4 + " rows=" + rows + " codebooks=" + codebooks + " m=" + m;
      int[] expected =
          bits(
              accumulateFolded(
                  s4, keyBytes, rows, codebooks, keys, m, folded, scale, bias, Mode.REFERENCE));
      for (Mode mode : new Mode[] {Mode.NATIVE, Mode.SCALAR}) {
        assertThat(
                bits(
                    accumulateFolded(
                        s4, keyBytes, rows, codebooks, keys, m, folded, scale, bias, mode)))
            .as(mode + " " + at)
            .isEqualTo(expected);
      }
      // the unfolded kernel over the rows plus a zero key-0 row: the same outputs
      FloatBuffer out = FloatBuffers.allocate(rows * m);
      if (s4) {
        LutKernels.accumulateS4(keyBytes, rows, codebooks, keys, m, unfolded, scale, bias, out);
      } else {
        LutKernels.accumulate(keyBytes, rows, codebooks, keys, m, unfolded, scale, bias, out);
      }
      float[] plain = new float[rows * m];
      out.get(0, plain);
      assertThat(bits(plain)).as("unfolded " + at).isEqualTo(expected);
    }
  }

  private static float[] accumulateFolded(
      boolean s4,
      ByteBuffer keys,
      int rows,
      int codebooks,
      int keysPerCodebook,
      int m,
      ByteBuffer tables,
      FloatBuffer scale,
      FloatBuffer bias,
      Mode mode) {
    FloatBuffer out = FloatBuffers.allocate(rows * m);
    for (int i = 0; i < rows * m; i++) {
      out.put(i, Float.NaN); // stale values must be overwritten
    }
    if (mode == Mode.REFERENCE) {
      if (s4) {
        LutKernels.Reference.accumulateS4Folded(
            keys, rows, codebooks, keysPerCodebook, m, tables, scale, bias, out);
      } else {
        LutKernels.Reference.accumulateFolded(
            keys, rows, codebooks, keysPerCodebook, m, tables, scale, bias, out);
      }
    } else {
      LutKernels.forceScalar(mode == Mode.SCALAR);
      try {
        if (s4) {
          LutKernels.accumulateS4Folded(
              keys, rows, codebooks, keysPerCodebook, m, tables, scale, bias, out);
        } else {
          LutKernels.accumulateFolded(
              keys, rows, codebooks, keysPerCodebook, m, tables, scale, bias, out);
        }
      } finally {
        LutKernels.forceScalar(false);
      }
    }
    float[] values = new float[rows * m];
    out.get(0, values);
    return values;
  }

  private static long rowBytes(boolean s4, int m) {
    return s4 ? LutKernels.rowBytesS4(m) : m;
  }

  private static FloatBuffer randomScale(Random random, int m) {
    FloatBuffer scale = FloatBuffers.allocate(m);
    for (int j = 0; j < m; j++) {
      scale.put(j, random.nextFloat() * 0.01f + 1e-4f);
    }
    return scale;
  }

  private static FloatBuffer randomBias(Random random, int m) {
    FloatBuffer bias = FloatBuffers.allocate(m);
    for (int j = 0; j < m; j++) {
      bias.put(j, (float) random.nextGaussian());
    }
    return bias;
  }

  private static int[] bits(float[] values) {
    int[] bits = new int[values.length];
    for (int i = 0; i < values.length; i++) {
      bits[i] = Float.floatToRawIntBits(values[i]);
    }
    return bits;
  }

  private static ByteBuffer randomBytes(Random random, int length) {
    ByteBuffer buffer = ByteBuffer.allocateDirect(length);
    byte[] bytes = new byte[length];
    random.nextBytes(bytes);
    buffer.put(bytes).clear();
    return buffer;
  }
}
