package io.cacheai.kernels;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@link LutKernels#accumulateS4} (4-bit tables, layout "lut16x4"): the AVX2 body, the scalar C
 * twin and {@link LutKernels.Reference#accumulateS4} agree bit for bit, and the integer sums equal
 * a nibble decoder written here from the layout drawn in {@link LutKernels}.
 */
class LutKernelsS4Test {
  private static final int K = LutKernels.KEYS;

  private enum Mode {
    REFERENCE,
    NATIVE,
    SCALAR
  }

  @AfterEach
  void restoreDispatch() {
    LutKernels.forceScalar(false);
  }

  @Test
  void accumulateS4_handWorkedLayout_lowNibbleIsEvenOutput() {
    // m = 3, one codebook, key 2: row bytes (m+1)/2 = 2 at (0·16 + 2)·2 = 4.
    // byte 4 = T0 | T1 << 4 with T0 = -3 (0xD), T1 = 5; byte 5 = T2 = -8 (0x8), high nibble padding
    int m = 3;
    ByteBuffer tables = ByteBuffer.allocateDirect(K * 2);
    tables.put(4, (byte) 0x5D);
    tables.put(5, (byte) 0xF8); // padding nibble 0xF must be ignored
    ByteBuffer keys = ByteBuffer.allocateDirect(1).put(0, (byte) 2);
    FloatBuffer scale = FloatBuffers.of(1f, 1f, 2f);
    FloatBuffer bias = FloatBuffers.of(0.5f, 0f, 0f);
    for (Mode mode : Mode.values()) {
      assertThat(accumulate(keys, 1, 1, m, tables, scale, bias, mode))
          .as(mode.name())
          .containsExactly(-2.5f, 5f, -16f);
    }
  }

  @Test
  void accumulateS4_seededRandomShapes_nativeAndScalarEqualReferenceAndExactSums() {
    Random random = new Random(4343);
    // the first shapes pin the paths: 800→120 at w=20 (64 + 32 block + window), odd m, m < 32
    // (scalar twin), exactly 32, one and three s16 groups of 2048 codebooks
    int[][] fixedShapes = {
      {1, 40, 120},
      {16, 40, 120},
      {1, 3, 85},
      {2, 5, 31},
      {2, 5, 32},
      {3, 7, 33},
      {1, 2049, 97},
      {2, 4100, 64},
      {1, 200, 1024},
      {64, 3, 1}
    };
    for (int trial = 0; trial < 60; trial++) {
      int rows;
      int codebooks;
      int m;
      if (trial < fixedShapes.length) {
        rows = fixedShapes[trial][0];
        codebooks = fixedShapes[trial][1];
        m = fixedShapes[trial][2];
      } else {
        rows = 1 + random.nextInt(32);
        codebooks = 1 + random.nextInt(300);
        m = 1 + random.nextInt(700);
      }
      checkAgainstReference(random, rows, codebooks, m, trial % 3 == 0);
    }
  }

  @Test
  void accumulateS4_everyRemainder_m1to200_equalsReference() {
    // m = 1..200 walks the 64-output blocks, the 32-output block, the 16-byte window with 1..31
    // outputs left and odd m (the padding nibble); 2050 codebooks make two s16 groups for some,
    // so partial s32 sums pass through out.
    Random random = new Random(32);
    for (int m = 1; m <= 200; m++) {
      int codebooks = m % 10 == 0 ? 2050 : 1 + m % 37;
      checkAgainstReference(random, 1 + m % 3, codebooks, m, false);
    }
  }

  @ParameterizedTest
  @CsvSource({
    "2048, 120, -8",
    "2048, 120, 7",
    "2049, 121, -8",
    "4097, 33, 7",
    "10000, 67, -8",
    "10000, 64, 7",
    "17, 31, -8",
    "1, 1001, 7",
    "300, 1, -8"
  })
  void accumulateS4_extremeTablesAllKeys15_sumsWithoutWrapping(int codebooks, int m, int value) {
    int rows = 2;
    ByteBuffer keys = ByteBuffer.allocateDirect(rows * codebooks);
    for (int i = 0; i < rows * codebooks; i++) {
      keys.put(i, (byte) 15);
    }
    int rowBytes = (int) LutKernels.rowBytesS4(m);
    ByteBuffer tables = ByteBuffer.allocateDirect(codebooks * K * rowBytes);
    byte both = (byte) ((value & 15) | (value & 15) << 4);
    byte other = (byte) (value == 7 ? 0x88 : 0x77); // the opposite extreme in the unused keys
    for (int c = 0; c < codebooks; c++) {
      for (int key = 0; key < K; key++) {
        for (int b = 0; b < rowBytes; b++) {
          tables.put((c * K + key) * rowBytes + b, key == 15 ? both : other);
        }
      }
    }
    FloatBuffer scale = FloatBuffers.allocate(m);
    FloatBuffer bias = FloatBuffers.allocate(m);
    for (int j = 0; j < m; j++) {
      scale.put(j, 1f);
      bias.put(j, 0.5f);
    }
    float[] want = new float[rows * m];
    Arrays.fill(want, 0.5f + (float) (codebooks * value));
    for (Mode mode : Mode.values()) {
      assertThat(accumulate(keys, rows, codebooks, m, tables, scale, bias, mode))
          .as("%s codebooks=%d m=%d value=%d", mode, codebooks, m, value)
          .containsExactly(want);
    }
  }

  @Test
  void accumulateS4_keyBytesAbove15_maskedAndReadOnlyTablesAndPositionsIgnored() {
    int codebooks = 20;
    int m = 77;
    Random random = new Random(9);
    ByteBuffer keys = ByteBuffer.allocateDirect(codebooks);
    ByteBuffer masked = ByteBuffer.allocateDirect(codebooks);
    for (int c = 0; c < codebooks; c++) {
      int key = random.nextInt(256);
      keys.put(c, (byte) key);
      masked.put(c, (byte) (key & 15));
    }
    ByteBuffer tables = randomBytes(random, codebooks * K * (int) LutKernels.rowBytesS4(m));
    FloatBuffer scale = FloatBuffers.allocate(m);
    for (int j = 0; j < m; j++) {
      scale.put(j, 0.5f);
    }
    float[] expected = accumulate(masked, 1, codebooks, m, tables, scale, null, Mode.REFERENCE);
    for (Mode mode : Mode.values()) {
      assertThat(accumulate(keys, 1, codebooks, m, tables, scale, null, mode))
          .as(mode.name())
          .containsExactly(expected);
    }
    keys.position(3);
    ByteBuffer readOnlyTables = tables.asReadOnlyBuffer().position(17);
    scale.position(5);
    FloatBuffer out = FloatBuffers.allocate(m);
    out.position(7);
    LutKernels.accumulateS4(keys, 1, codebooks, m, readOnlyTables, scale, null, out);
    float[] got = new float[m];
    out.get(0, got);
    assertThat(got).containsExactly(expected);
    assertThat(out.position()).isEqualTo(7);
  }

  @Test
  void accumulateS4_zeroCodebooks_givesBias() {
    FloatBuffer out = FloatBuffers.allocate(40);
    FloatBuffer ones = FloatBuffers.allocate(40);
    FloatBuffer bias = FloatBuffers.allocate(40);
    for (int j = 0; j < 40; j++) {
      ones.put(j, 1f);
      bias.put(j, j);
    }
    LutKernels.accumulateS4(
        ByteBuffer.allocateDirect(0), 1, 0, 40, ByteBuffer.allocateDirect(0), ones, bias, out);
    for (int j = 0; j < 40; j++) {
      assertThat(out.get(j)).isEqualTo((float) j);
    }
  }

  @Test
  void accumulateS4_int8SizedOrShortTables_rejectedNamingTables() {
    int codebooks = 4;
    int m = 33; // 17 bytes per row
    ByteBuffer keys = ByteBuffer.allocateDirect(codebooks);
    FloatBuffer scale = FloatBuffers.allocate(m);
    FloatBuffer out = FloatBuffers.allocate(m);
    ByteBuffer shortTables = ByteBuffer.allocateDirect(codebooks * K * 17 - 1);
    assertThatThrownBy(
            () -> LutKernels.accumulateS4(keys, 1, codebooks, m, shortTables, scale, null, out))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("tables: limit=1087 bytes, need codebooks*16*((m+1)/2)=1088");
    assertThatThrownBy(
            () ->
                LutKernels.Reference.accumulateS4(
                    keys, 1, codebooks, m, shortTables, scale, null, out))
        .hasMessageContaining("tables: limit=1087 bytes");
    ByteBuffer heap = ByteBuffer.allocate(codebooks * K * 17);
    assertThatThrownBy(() -> LutKernels.accumulateS4(keys, 1, codebooks, m, heap, scale, null, out))
        .hasMessageContaining("tables must be a direct buffer");
    assertThatThrownBy(
            () -> LutKernels.accumulateS4(keys, 1, codebooks, -1, shortTables, scale, null, out))
        .hasMessageContaining("m=-1 must be >= 0");
    assertThatThrownBy(
            () ->
                LutKernels.accumulateS4(
                    keys,
                    1,
                    codebooks,
                    m,
                    ByteBuffer.allocateDirect(codebooks * K * 17),
                    scale,
                    null,
                    FloatBuffers.allocate(m).asReadOnlyBuffer()))
        .hasMessageContaining("out is read-only");
  }

  private static void checkAgainstReference(
      Random random, int rows, int codebooks, int m, boolean noBias) {
    ByteBuffer keys = ByteBuffer.allocateDirect(rows * codebooks);
    for (int i = 0; i < rows * codebooks; i++) {
      keys.put(i, (byte) random.nextInt(K));
    }
    int rowBytes = (int) LutKernels.rowBytesS4(m);
    ByteBuffer tables = randomBytes(random, codebooks * K * rowBytes);
    FloatBuffer scale = FloatBuffers.allocate(m);
    FloatBuffer bias = noBias ? null : FloatBuffers.allocate(m);
    for (int j = 0; j < m; j++) {
      scale.put(j, random.nextFloat() * 0.01f + 1e-4f);
      if (bias != null) {
        bias.put(j, (float) random.nextGaussian());
      }
    }
    String shape = "rows=" + rows + " codebooks=" + codebooks + " m=" + m;
    int[] expected =
        bits(accumulate(keys, rows, codebooks, m, tables, scale, bias, Mode.REFERENCE));
    assertThat(bits(accumulate(keys, rows, codebooks, m, tables, scale, bias, Mode.NATIVE)))
        .as("avx2 " + shape)
        .isEqualTo(expected);
    assertThat(bits(accumulate(keys, rows, codebooks, m, tables, scale, bias, Mode.SCALAR)))
        .as("scalar " + shape)
        .isEqualTo(expected);
    // Independent of the reference: with scale 1 and no bias the output is the integer sum of
    // the nibbles, decoded here from the drawn layout.
    FloatBuffer ones = FloatBuffers.allocate(m);
    for (int j = 0; j < m; j++) {
      ones.put(j, 1f);
    }
    float[] sums = accumulate(keys, rows, codebooks, m, tables, ones, null, Mode.NATIVE);
    for (int probe = 0; probe < 20; probe++) {
      int r = random.nextInt(rows);
      int j = random.nextInt(m);
      long sum = 0;
      for (int c = 0; c < codebooks; c++) {
        int b = tables.get((c * K + keys.get(r * codebooks + c)) * rowBytes + j / 2) & 0xff;
        int nibble = j % 2 == 0 ? b & 0x0f : b >> 4;
        sum += nibble >= 8 ? nibble - 16 : nibble;
      }
      assertThat(sums[r * m + j]).as("%s r=%d j=%d", shape, r, j).isEqualTo((float) sum);
    }
  }

  private static float[] accumulate(
      ByteBuffer keys,
      int rows,
      int codebooks,
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
      LutKernels.Reference.accumulateS4(keys, rows, codebooks, m, tables, scale, bias, out);
    } else {
      LutKernels.forceScalar(mode == Mode.SCALAR);
      LutKernels.accumulateS4(keys, rows, codebooks, m, tables, scale, bias, out);
      LutKernels.forceScalar(false);
    }
    float[] values = new float[rows * m];
    out.get(0, values);
    return values;
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
