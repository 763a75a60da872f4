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
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The lookup kernels at K = 4, 8 and 16 keys per codebook (trees of depth 2, 3, 4): the AVX2 body,
 * its scalar C twin (forced) and the Java reference agree bit for bit; a key byte is masked to its
 * codebook's K rows; every size that depends on K is checked before the call.
 */
class LutKernelsKeysTest {
  private enum Mode {
    NATIVE,
    SCALAR,
    REFERENCE
  }

  @AfterEach
  void restoreDispatch() {
    LutKernels.forceScalar(false);
  }

  @ParameterizedTest(name = "depth={0}")
  @ValueSource(ints = {2, 3, 4})
  void encodeTree_depth_avx2AndScalarEqualReferenceAndHandWalk(int depth) {
    int keys = 1 << depth;
    Random random = new Random(91L * depth);
    for (int trial = 0; trial < 50; trial++) {
      // rows below 8 with widths <= 8 run the AVX2 body; 8+ rows or wider the scalar walk
      int rows = trial < 30 ? 1 + trial % 7 : 1 + random.nextInt(20);
      int codebooks = 1 + random.nextInt(300); // vector groups of 8 and a scalar tail
      int width = trial % 10 == 9 ? 9 + random.nextInt(8) : 1 + random.nextInt(8);
      int d = codebooks * width;
      FloatBuffer x = FloatBuffers.allocate(rows * d);
      for (int i = 0; i < rows * d; i++) {
        x.put(i, (random.nextInt(9) - 4) * 0.25f); // a grid: x == threshold happens
      }
      IntBuffer split = intBuffer(codebooks * depth);
      for (int i = 0; i < codebooks * depth; i++) {
        split.put(i, random.nextInt(width));
      }
      FloatBuffer thresholds = FloatBuffers.allocate(codebooks * (keys - 1));
      for (int i = 0; i < codebooks * (keys - 1); i++) {
        thresholds.put(i, (random.nextInt(9) - 4) * 0.25f);
      }
      byte[] expected =
          encodeTree(x, rows, d, codebooks, width, depth, split, thresholds, Mode.REFERENCE);
      String shape = "rows=" + rows + " codebooks=" + codebooks + " width=" + width;
      assertThat(encodeTree(x, rows, d, codebooks, width, depth, split, thresholds, Mode.NATIVE))
          .as("native " + shape)
          .isEqualTo(expected);
      assertThat(encodeTree(x, rows, d, codebooks, width, depth, split, thresholds, Mode.SCALAR))
          .as("scalar " + shape)
          .isEqualTo(expected);
      for (int probe = 0; probe < 10; probe++) {
        int r = random.nextInt(rows);
        int c = random.nextInt(codebooks);
        int node = 0;
        for (int l = 0; l < depth; l++) {
          float value = x.get(r * d + c * width + split.get(c * depth + l));
          node = value > thresholds.get(c * (keys - 1) + node) ? 2 * node + 2 : 2 * node + 1;
        }
        assertThat(expected[r * codebooks + c]).as(shape).isEqualTo((byte) (node - (keys - 1)));
      }
      for (byte key : expected) {
        assertThat(key & 0xff).as(shape).isLessThan(keys);
      }
    }
  }

  @ParameterizedTest(name = "keys={0}")
  @ValueSource(ints = {4, 8, 16})
  void encodeCentroids_keys_nativeAndScalarEqualReferenceAndNearest(int keys) {
    Random random = new Random(7L * keys);
    for (int trial = 0; trial < 30; trial++) {
      int rows = 1 + random.nextInt(9);
      int codebooks = 1 + random.nextInt(100);
      int width = trial % 3 == 0 ? 4 : trial % 3 == 1 ? 8 : 1 + random.nextInt(12);
      int d = codebooks * width;
      FloatBuffer x = FloatBuffers.allocate(rows * d);
      for (int i = 0; i < rows * d; i++) {
        x.put(i, (float) random.nextGaussian());
      }
      FloatBuffer centroids = FloatBuffers.allocate(codebooks * keys * width);
      for (int i = 0; i < codebooks * keys * width; i++) {
        centroids.put(i, (float) random.nextGaussian());
      }
      byte[] expected =
          encodeCentroids(x, rows, d, codebooks, width, keys, centroids, Mode.REFERENCE);
      String shape = "rows=" + rows + " codebooks=" + codebooks + " width=" + width;
      assertThat(encodeCentroids(x, rows, d, codebooks, width, keys, centroids, Mode.NATIVE))
          .as("native " + shape)
          .isEqualTo(expected);
      assertThat(encodeCentroids(x, rows, d, codebooks, width, keys, centroids, Mode.SCALAR))
          .as("scalar " + shape)
          .isEqualTo(expected);
      int r = random.nextInt(rows);
      int c = random.nextInt(codebooks);
      int key = expected[r * codebooks + c];
      double best = distance(x, r * d + c * width, centroids, (c * keys + key) * width, width);
      for (int k = 0; k < keys; k++) {
        assertThat(distance(x, r * d + c * width, centroids, (c * keys + k) * width, width))
            .as("%s k=%d", shape, k)
            .isGreaterThanOrEqualTo(best - 1e-5);
      }
    }
  }

  @ParameterizedTest(name = "keys={0}")
  @ValueSource(ints = {4, 8, 16})
  void accumulate_keys_avx2AndScalarEqualReferenceAndExactSums(int keys) {
    Random random = new Random(13L * keys);
    // register blocks, the streaming order (tables > 512 KiB, m >= 256), half vectors and a
    // scalar tail (odd m, m not a multiple of 16), two s16 codebook groups (> 256 codebooks)
    int[][] fixedShapes = {
      {1, 200, 120}, {1, 300, 1000}, {5, 600, 2100}, {3, 261, 2073}, {7, 270, 37}, {64, 3, 1}
    };
    for (int trial = 0; trial < 30; trial++) {
      int[] shape =
          trial < fixedShapes.length
              ? fixedShapes[trial]
              : new int[] {1 + random.nextInt(9), 1 + random.nextInt(400), 1 + random.nextInt(700)};
      int rows = shape[0];
      int codebooks = shape[1];
      int m = shape[2];
      ByteBuffer keyBytes = randomKeys(random, rows * codebooks, keys);
      ByteBuffer tables = randomBytes(random, codebooks * keys * m);
      FloatBuffer scale = FloatBuffers.allocate(m);
      FloatBuffer bias = trial % 3 == 0 ? null : FloatBuffers.allocate(m);
      for (int j = 0; j < m; j++) {
        scale.put(j, random.nextFloat() * 0.01f + 1e-4f);
        if (bias != null) {
          bias.put(j, (float) random.nextGaussian());
        }
      }
      String at = "rows=" + rows + " codebooks=" + codebooks + " m=" + m;
      int[] expected =
          bits(
              accumulate(
                  false, keyBytes, rows, codebooks, keys, m, tables, scale, bias, Mode.REFERENCE));
      assertThat(
              bits(
                  accumulate(
                      false, keyBytes, rows, codebooks, keys, m, tables, scale, bias, Mode.NATIVE)))
          .as("avx2 " + at)
          .isEqualTo(expected);
      assertThat(
              bits(
                  accumulate(
                      false, keyBytes, rows, codebooks, keys, m, tables, scale, bias, Mode.SCALAR)))
          .as("scalar " + at)
          .isEqualTo(expected);
      // independent of the reference: scale 1, no bias gives the integer sum of the rows
      float[] sums =
          accumulate(false, keyBytes, rows, codebooks, keys, m, tables, ones(m), null, Mode.NATIVE);
      for (int probe = 0; probe < 10; probe++) {
        int r = random.nextInt(rows);
        int j = random.nextInt(m);
        long sum = 0;
        for (int c = 0; c < codebooks; c++) {
          sum += tables.get((c * keys + keyBytes.get(r * codebooks + c)) * m + j);
        }
        assertThat(sums[r * m + j]).as("%s r=%d j=%d", at, r, j).isEqualTo((float) sum);
      }
    }
  }

  @ParameterizedTest(name = "keys={0}")
  @ValueSource(ints = {4, 8, 16})
  void accumulateS4_keys_avx2AndScalarEqualReferenceAndExactSums(int keys) {
    Random random = new Random(17L * keys);
    // m < 32 runs the scalar twin; odd m has a padding nibble; 2100 codebooks pass the body's
    // 2048-codebook s16 group
    int[][] fixedShapes = {
      {1, 200, 128}, {3, 57, 33}, {2, 2100, 97}, {5, 300, 1001}, {4, 31, 31}, {1, 9, 1}
    };
    for (int trial = 0; trial < 30; trial++) {
      int[] shape =
          trial < fixedShapes.length
              ? fixedShapes[trial]
              : new int[] {1 + random.nextInt(9), 1 + random.nextInt(400), 1 + random.nextInt(700)};
      int rows = shape[0];
      int codebooks = shape[1];
      int m = shape[2];
      long rowBytes = LutKernels.rowBytesS4(m);
      ByteBuffer keyBytes = randomKeys(random, rows * codebooks, keys);
      ByteBuffer tables = randomBytes(random, (int) (codebooks * keys * rowBytes));
      FloatBuffer scale = FloatBuffers.allocate(m);
      FloatBuffer bias = trial % 2 == 0 ? null : FloatBuffers.allocate(m);
      for (int j = 0; j < m; j++) {
        scale.put(j, random.nextFloat() * 0.01f + 1e-4f);
        if (bias != null) {
          bias.put(j, (float) random.nextGaussian());
        }
      }
      String at = "rows=" + rows + " codebooks=" + codebooks + " m=" + m;
      int[] expected =
          bits(
              accumulate(
                  true, keyBytes, rows, codebooks, keys, m, tables, scale, bias, Mode.REFERENCE));
      assertThat(
              bits(
                  accumulate(
                      true, keyBytes, rows, codebooks, keys, m, tables, scale, bias, Mode.NATIVE)))
          .as("avx2 " + at)
          .isEqualTo(expected);
      assertThat(
              bits(
                  accumulate(
                      true, keyBytes, rows, codebooks, keys, m, tables, scale, bias, Mode.SCALAR)))
          .as("scalar " + at)
          .isEqualTo(expected);
      float[] sums =
          accumulate(true, keyBytes, rows, codebooks, keys, m, tables, ones(m), null, Mode.NATIVE);
      for (int probe = 0; probe < 10; probe++) {
        int r = random.nextInt(rows);
        int j = random.nextInt(m);
        long sum = 0;
        for (int c = 0; c < codebooks; c++) {
          long rowStart = (c * (long) keys + keyBytes.get(r * codebooks + c)) * rowBytes;
          int b = tables.get((int) (rowStart + j / 2)) & 0xff;
          int nibble = j % 2 == 0 ? b & 15 : b >>> 4;
          sum += (nibble ^ 8) - 8;
        }
        assertThat(sums[r * m + j]).as("%s r=%d j=%d", at, r, j).isEqualTo((float) sum);
      }
    }
  }

  @ParameterizedTest(name = "keys={0}")
  @ValueSource(ints = {4, 8})
  void accumulate_keyBytesOfK_orMore_areMaskedIntoTheCodebook(int keys) {
    // tables exactly C·K·m bytes: an unmasked key byte 0xFF would read far past them
    int codebooks = 300;
    int m = 300;
    Random random = new Random(5);
    ByteBuffer wild = ByteBuffer.allocateDirect(2 * codebooks);
    ByteBuffer masked = ByteBuffer.allocateDirect(2 * codebooks);
    for (int i = 0; i < 2 * codebooks; i++) {
      int key = random.nextInt(256);
      wild.put(i, (byte) key);
      masked.put(i, (byte) (key & (keys - 1)));
    }
    for (boolean s4 : new boolean[] {false, true}) {
      ByteBuffer tables =
          randomBytes(random, (int) (codebooks * keys * (s4 ? LutKernels.rowBytesS4(m) : m)));
      FloatBuffer scale = ones(m);
      for (Mode mode : Mode.values()) {
        assertThat(bits(accumulate(s4, wild, 2, codebooks, keys, m, tables, scale, null, mode)))
            .as("s4=%s %s", s4, mode)
            .isEqualTo(
                bits(accumulate(s4, masked, 2, codebooks, keys, m, tables, scale, null, mode)));
      }
    }
  }

  @Test
  void arguments_sizesOfK_checkedBeforeTheCall() {
    FloatBuffer x = FloatBuffers.allocate(3 * 10);
    ByteBuffer keys = ByteBuffer.allocateDirect(3 * 5);
    FloatBuffer scale = FloatBuffers.allocate(7);
    FloatBuffer out = FloatBuffers.allocate(3 * 7);
    // tables: C·K·m bytes for int8, C·K·ceil(m/2) for 4-bit; one byte short is refused
    assertThatThrownBy(
            () ->
                LutKernels.accumulate(
                    keys, 3, 5, 4, 7, ByteBuffer.allocateDirect(5 * 4 * 7 - 1), scale, null, out))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("tables")
        .hasMessageContaining("codebooks*4*m=140");
    assertThatThrownBy(
            () ->
                LutKernels.accumulateS4(
                    keys, 3, 5, 8, 7, ByteBuffer.allocateDirect(5 * 8 * 4 - 1), scale, null, out))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("codebooks*8*((m+1)/2)=160");
    // exactly enough is accepted
    LutKernels.accumulate(keys, 3, 5, 4, 7, ByteBuffer.allocateDirect(5 * 4 * 7), scale, null, out);
    LutKernels.accumulateS4(
        keys, 3, 5, 8, 7, ByteBuffer.allocateDirect(5 * 8 * 4), scale, null, out);
    // K not in {4, 8, 16}, depth not in {2, 3, 4}
    for (int bad : new int[] {0, 2, 5, 12, 32, -4}) {
      assertThatThrownBy(
              () ->
                  LutKernels.accumulate(
                      keys, 3, 5, bad, 7, ByteBuffer.allocateDirect(4096), scale, null, out))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("keys per codebook=" + bad);
      assertThatThrownBy(
              () ->
                  LutKernels.accumulateS4(
                      keys, 3, 5, bad, 7, ByteBuffer.allocateDirect(4096), scale, null, out))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("keys per codebook=" + bad);
      assertThatThrownBy(
              () ->
                  LutKernels.encodeCentroids(
                      x, 3, 10, 5, 2, bad, FloatBuffers.allocate(4096), keys))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("keys per codebook=" + bad);
    }
    for (int bad : new int[] {0, 1, 5, -2}) {
      assertThatThrownBy(
              () ->
                  LutKernels.encodeTree(
                      x, 3, 10, 5, 2, bad, intBuffer(64), FloatBuffers.allocate(512), keys))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("tree depth=" + bad);
    }
    // splitDims [C][L] and thresholds [C][K−1] of the depth given
    assertThatThrownBy(
            () ->
                LutKernels.encodeTree(
                    x, 3, 10, 5, 2, 2, intBuffer(5 * 2 - 1), FloatBuffers.allocate(15), keys))
        .hasMessageContaining("splitDims")
        .hasMessageContaining("codebooks*2=10");
    assertThatThrownBy(
            () ->
                LutKernels.encodeTree(
                    x, 3, 10, 5, 2, 3, intBuffer(5 * 3), FloatBuffers.allocate(5 * 7 - 1), keys))
        .hasMessageContaining("thresholds")
        .hasMessageContaining("codebooks*7=35");
    assertThatThrownBy(
            () ->
                LutKernels.encodeCentroids(
                    x, 3, 10, 5, 2, 8, FloatBuffers.allocate(5 * 8 * 2 - 1), keys))
        .hasMessageContaining("centroids")
        .hasMessageContaining("codebooks*8*width=80");
    // a split dimension outside [0, w) at depth 2: refused by the native check, nothing written
    IntBuffer split = intBuffer(5 * 2);
    split.put(7, 2);
    for (Mode mode : new Mode[] {Mode.NATIVE, Mode.REFERENCE}) {
      assertThatThrownBy(
              () -> encodeTree(x, 3, 10, 5, 2, 2, split, FloatBuffers.allocate(15), mode))
          .as(mode.name())
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("splitDims[7]=2 (codebook=3 level=1) must be in [0, width=2)");
    }
  }

  // ---------------------------------------------------------------------------------------------

  private static byte[] encodeTree(
      FloatBuffer x,
      int rows,
      int d,
      int codebooks,
      int width,
      int depth,
      IntBuffer split,
      FloatBuffer thresholds,
      Mode mode) {
    ByteBuffer keys = ByteBuffer.allocateDirect(rows * codebooks);
    fill(keys, (byte) 0x5A); // stale bytes must be overwritten
    if (mode == Mode.REFERENCE) {
      LutKernels.Reference.encodeTree(x, rows, d, codebooks, width, depth, split, thresholds, keys);
    } else {
      LutKernels.forceScalar(mode == Mode.SCALAR);
      try {
        LutKernels.encodeTree(x, rows, d, codebooks, width, depth, split, thresholds, keys);
      } finally {
        LutKernels.forceScalar(false);
      }
    }
    return toArray(keys);
  }

  private static byte[] encodeCentroids(
      FloatBuffer x,
      int rows,
      int d,
      int codebooks,
      int width,
      int keysPerCodebook,
      FloatBuffer centroids,
      Mode mode) {
    ByteBuffer keys = ByteBuffer.allocateDirect(rows * codebooks);
    fill(keys, (byte) 0x5A);
    if (mode == Mode.REFERENCE) {
      LutKernels.Reference.encodeCentroids(
          x, rows, d, codebooks, width, keysPerCodebook, centroids, keys);
    } else {
      LutKernels.forceScalar(mode == Mode.SCALAR);
      try {
        LutKernels.encodeCentroids(x, rows, d, codebooks, width, keysPerCodebook, centroids, keys);
      } finally {
        LutKernels.forceScalar(false);
      }
    }
    return toArray(keys);
  }

  private static float[] accumulate(
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
        LutKernels.Reference.accumulateS4(
            keys, rows, codebooks, keysPerCodebook, m, tables, scale, bias, out);
      } else {
        LutKernels.Reference.accumulate(
            keys, rows, codebooks, keysPerCodebook, m, tables, scale, bias, out);
      }
    } else {
      LutKernels.forceScalar(mode == Mode.SCALAR);
      try {
        if (s4) {
          LutKernels.accumulateS4(
              keys, rows, codebooks, keysPerCodebook, m, tables, scale, bias, out);
        } else {
          LutKernels.accumulate(
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

  private static int[] bits(float[] values) {
    int[] bits = new int[values.length];
    for (int i = 0; i < values.length; i++) {
      bits[i] = Float.floatToRawIntBits(values[i]);
    }
    return bits;
  }

  private static double distance(
      FloatBuffer x, int xBase, FloatBuffer centroids, int cBase, int width) {
    double sum = 0;
    for (int i = 0; i < width; i++) {
      double diff = (double) x.get(xBase + i) - centroids.get(cBase + i);
      sum += diff * diff;
    }
    return sum;
  }

  private static FloatBuffer ones(int m) {
    FloatBuffer ones = FloatBuffers.allocate(m);
    for (int j = 0; j < m; j++) {
      ones.put(j, 1f);
    }
    return ones;
  }

  private static ByteBuffer randomKeys(Random random, int count, int keys) {
    ByteBuffer buffer = ByteBuffer.allocateDirect(count);
    for (int i = 0; i < count; i++) {
      buffer.put(i, (byte) random.nextInt(keys));
    }
    return buffer;
  }

  private static ByteBuffer randomBytes(Random random, int length) {
    ByteBuffer buffer = ByteBuffer.allocateDirect(length);
    byte[] bytes = new byte[length];
    random.nextBytes(bytes);
    buffer.put(bytes).clear();
    return buffer;
  }

  private static void fill(ByteBuffer buffer, byte value) {
    for (int i = 0; i < buffer.limit(); i++) {
      buffer.put(i, value);
    }
  }

  private static byte[] toArray(ByteBuffer buffer) {
    byte[] bytes = new byte[buffer.limit()];
    buffer.get(0, bytes);
    return bytes;
  }

  private static IntBuffer intBuffer(int length) {
    return ByteBuffer.allocateDirect(length * Integer.BYTES)
        .order(ByteOrder.nativeOrder())
        .asIntBuffer();
  }
}
