package io.cacheai.kernels;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class LutKernelsTest {
  private static final int K = LutKernels.KEYS;

  @AfterEach
  void restoreDispatch() {
    LutKernels.forceScalar(false);
  }

  @Test
  void avx2_isActiveOnThisMachine() {
    // The build machine has AVX2 (../shared/FACTS.md); if this fails, the fast path never ran.
    assertThat(LutKernels.avx2()).isTrue();
  }

  // ---------------------------------------------------------------------------------------------
  // encodeTree
  // ---------------------------------------------------------------------------------------------

  @Test
  void encodeTree_handWorkedPath_givesKeyFromDecisionsMsbFirst() {
    // width 2, all thresholds 0, levels compare dims 0,1,0,1; x = (1, -1): right, left, right, left
    // node 0 -> 2 -> 5 -> 12 -> 25, key 25 - 15 = 10 = 0b1010.
    FloatBuffer x = floats(1f, -1f);
    IntBuffer split = ints(0, 1, 0, 1);
    FloatBuffer thresholds = floats(new float[15]);
    ByteBuffer keys = ByteBuffer.allocateDirect(1);
    LutKernels.encodeTree(x, 1, 2, 1, 2, split, thresholds, keys);
    assertThat(keys.get(0)).isEqualTo((byte) 10);
    LutKernels.Reference.encodeTree(x, 1, 2, 1, 2, split, thresholds, keys);
    assertThat(keys.get(0)).isEqualTo((byte) 10);
  }

  @Test
  void encodeTree_seededRandomShapes_nativeAndScalarEqualReference() {
    Random random = new Random(20261129);
    for (int trial = 0; trial < 60; trial++) {
      // rows below 8 run the AVX2 body (widths <= 8), 8 and more the scalar walk: cover both
      int rows = trial < 24 ? 1 + trial % 7 : 1 + random.nextInt(64);
      int codebooks = 1 + random.nextInt(300);
      int width = 1 + random.nextInt(8);
      int d = codebooks * width;
      // Values from a small grid so that x == threshold happens often (must go left).
      FloatBuffer x = FloatBuffers.allocate(rows * d);
      for (int i = 0; i < rows * d; i++) {
        x.put(i, (random.nextInt(9) - 4) * 0.25f);
      }
      IntBuffer split = intBuffer(codebooks * 4);
      for (int i = 0; i < codebooks * 4; i++) {
        split.put(i, random.nextInt(width));
      }
      FloatBuffer thresholds = FloatBuffers.allocate(codebooks * 15);
      for (int i = 0; i < codebooks * 15; i++) {
        thresholds.put(i, (random.nextInt(9) - 4) * 0.25f);
      }
      byte[] expected = encodeTree(x, rows, d, codebooks, width, split, thresholds, Mode.REFERENCE);
      String shape = "rows=" + rows + " codebooks=" + codebooks + " width=" + width;
      assertThat(encodeTree(x, rows, d, codebooks, width, split, thresholds, Mode.NATIVE))
          .as("avx2 " + shape)
          .isEqualTo(expected);
      assertThat(encodeTree(x, rows, d, codebooks, width, split, thresholds, Mode.SCALAR))
          .as("scalar " + shape)
          .isEqualTo(expected);
      // Independent of the reference: re-walk one random (row, codebook) by hand.
      int r = random.nextInt(rows);
      int c = random.nextInt(codebooks);
      int node = 0;
      for (int l = 0; l < 4; l++) {
        float value = x.get(r * d + c * width + split.get(c * 4 + l));
        node = value > thresholds.get(c * 15 + node) ? 2 * node + 2 : 2 * node + 1;
      }
      assertThat(expected[r * codebooks + c]).as(shape).isEqualTo((byte) (node - 15));
    }
  }

  @Test
  void encodeTree_xEqualToEveryThreshold_goesLeftToKey0_andJustAboveGoesRightToKey15() {
    int rows = 3;
    int codebooks = 37; // four vector groups of 8 and a scalar tail of 5
    int width = 3;
    int d = codebooks * width;
    FloatBuffer x = FloatBuffers.allocate(rows * d);
    FloatBuffer thresholds = FloatBuffers.allocate(codebooks * 15);
    IntBuffer split = intBuffer(codebooks * 4);
    Random random = new Random(5);
    for (int c = 0; c < codebooks; c++) {
      float t = random.nextFloat() * 10 - 5;
      for (int n = 0; n < 15; n++) {
        thresholds.put(c * 15 + n, t);
      }
      for (int l = 0; l < 4; l++) {
        split.put(c * 4 + l, (c + l) % width);
      }
      for (int i = 0; i < width; i++) {
        x.put(c * width + i, t); // row 0: equal
        x.put(d + c * width + i, Math.nextUp(t)); // row 1: just above
        x.put(2 * d + c * width + i, Float.NaN); // row 2: NaN compares false, left
      }
    }
    byte[] expected = new byte[rows * codebooks];
    Arrays.fill(expected, 0, codebooks, (byte) 0);
    Arrays.fill(expected, codebooks, 2 * codebooks, (byte) 15);
    Arrays.fill(expected, 2 * codebooks, 3 * codebooks, (byte) 0);
    for (Mode mode : Mode.values()) {
      assertThat(encodeTree(x, rows, d, codebooks, width, split, thresholds, mode))
          .as(mode.name())
          .isEqualTo(expected);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // encodeCentroids
  // ---------------------------------------------------------------------------------------------

  @Test
  void encodeCentroids_seededRandomShapes_nativeAndScalarEqualReference() {
    Random random = new Random(77);
    for (int trial = 0; trial < 40; trial++) {
      int rows = 1 + random.nextInt(64);
      int codebooks = 1 + random.nextInt(300);
      // widths 4 and 8 have their own AVX2 bodies: make sure both run often
      int width = trial % 3 == 0 ? 4 : trial % 3 == 1 ? 8 : 1 + random.nextInt(8);
      int d = codebooks * width;
      FloatBuffer x = FloatBuffers.allocate(rows * d);
      for (int i = 0; i < rows * d; i++) {
        x.put(i, (float) random.nextGaussian());
      }
      FloatBuffer centroids = FloatBuffers.allocate(codebooks * K * width);
      for (int i = 0; i < codebooks * K * width; i++) {
        // a coarse grid makes equal distances (ties) frequent at small widths
        centroids.put(i, trial % 2 == 0 ? (float) random.nextGaussian() : random.nextInt(3) - 1);
      }
      if (trial % 2 == 1) {
        for (int i = 0; i < rows * d; i++) {
          x.put(i, random.nextInt(3) - 1);
        }
      }
      byte[] expected = encodeCentroids(x, rows, d, codebooks, width, centroids, Mode.REFERENCE);
      String shape = "rows=" + rows + " codebooks=" + codebooks + " width=" + width;
      assertThat(encodeCentroids(x, rows, d, codebooks, width, centroids, Mode.NATIVE))
          .as("avx2 " + shape)
          .isEqualTo(expected);
      assertThat(encodeCentroids(x, rows, d, codebooks, width, centroids, Mode.SCALAR))
          .as("scalar " + shape)
          .isEqualTo(expected);
      // Independent check in double: the chosen centroid is (within fp32 rounding) the nearest.
      int r = random.nextInt(rows);
      int c = random.nextInt(codebooks);
      int key = expected[r * codebooks + c];
      double chosen = distance(x, r * d + c * width, centroids, (c * K + key) * width, width);
      for (int k = 0; k < K; k++) {
        double other = distance(x, r * d + c * width, centroids, (c * K + k) * width, width);
        assertThat(chosen).as("%s key=%d vs k=%d", shape, key, k).isLessThanOrEqualTo(other + 1e-5);
      }
    }
  }

  @ParameterizedTest
  @ValueSource(ints = {2, 4, 8})
  void encodeCentroids_ties_pickLowestKey(int width) {
    int codebooks = 3;
    FloatBuffer centroids = FloatBuffers.allocate(codebooks * K * width);
    for (int i = 0; i < codebooks * K * width; i++) {
      centroids.put(i, 100f); // far away
    }
    // codebook 0: centroids 3 and 7 both at distance 1 from x=(0,0) -> 3
    centroids.put((0 * K + 3) * width, 1f);
    centroids.put((0 * K + 7) * width + 1, -1f);
    // codebook 1: all 16 identical -> 0
    for (int k = 0; k < K; k++) {
      centroids.put((K + k) * width, 0.5f);
      centroids.put((K + k) * width + 1, 0.5f);
    }
    // codebook 2: 15 and 9 equal and nearest -> 9
    centroids.put((2 * K + 15) * width, 0f);
    centroids.put((2 * K + 15) * width + 1, 0f);
    centroids.put((2 * K + 9) * width, 0f);
    centroids.put((2 * K + 9) * width + 1, 0f);
    FloatBuffer x = FloatBuffers.allocate(codebooks * width);
    for (Mode mode : Mode.values()) {
      assertThat(encodeCentroids(x, 1, codebooks * width, codebooks, width, centroids, mode))
          .as(mode.name())
          .containsExactly(3, 0, 9);
    }
  }

  @ParameterizedTest
  @ValueSource(ints = {3, 4, 8})
  void encodeCentroids_nan_neverWinsAndNanAtCentroid0GivesKey0(int width) {
    int codebooks = 2;
    FloatBuffer centroids = FloatBuffers.allocate(codebooks * K * width);
    for (int k = 0; k < K; k++) {
      for (int i = 0; i < width; i++) {
        centroids.put(k * width + i, k); // codebook 0: centroid k at (k, k, ...)
        centroids.put((K + k) * width + i, k);
      }
    }
    centroids.put(5 * width, Float.NaN); // codebook 0: centroid 5 (the nearest to x=5) is NaN
    centroids.put((K + 0) * width, Float.NaN); // codebook 1: centroid 0 is NaN
    FloatBuffer x = FloatBuffers.allocate(codebooks * width);
    for (int i = 0; i < codebooks * width; i++) {
      x.put(i, 5f);
    }
    for (Mode mode : Mode.values()) {
      assertThat(encodeCentroids(x, 1, codebooks * width, codebooks, width, centroids, mode))
          .as(mode.name())
          .containsExactly(4, 0); // 4 and 6 tie at distance w, the lower wins; NaN at 0 -> key 0
    }
  }

  // ---------------------------------------------------------------------------------------------
  // accumulate
  // ---------------------------------------------------------------------------------------------

  @Test
  void accumulate_seededRandomShapes_nativeAndScalarEqualReferenceAndExactSums() {
    Random random = new Random(4242);
    // the first shapes pin the paths: register blocks (small tables), streaming (tables > L2) with
    // a 2048-output chunk boundary, half vector and scalar tail, one and two s16 groups
    int[][] fixedShapes = {
      {1, 200, 120},
      {1, 300, 1000},
      {16, 256, 1024},
      {2, 270, 2100},
      {3, 261, 2072},
      {64, 3, 1},
      {1, 1, 7}
    };
    for (int trial = 0; trial < 50; trial++) {
      int rows;
      int codebooks;
      int m;
      if (trial < fixedShapes.length) {
        rows = fixedShapes[trial][0];
        codebooks = fixedShapes[trial][1];
        m = fixedShapes[trial][2];
      } else {
        rows = 1 + random.nextInt(64);
        codebooks = 1 + random.nextInt(300);
        m = 1 + random.nextInt(1000);
      }
      ByteBuffer keys = ByteBuffer.allocateDirect(rows * codebooks);
      for (int i = 0; i < rows * codebooks; i++) {
        keys.put(i, (byte) random.nextInt(K));
      }
      ByteBuffer tables = randomBytes(random, codebooks * K * m);
      FloatBuffer scale = FloatBuffers.allocate(m);
      FloatBuffer bias = trial % 3 == 0 ? null : FloatBuffers.allocate(m);
      for (int j = 0; j < m; j++) {
        scale.put(j, random.nextFloat() * 0.01f + 1e-4f);
        if (bias != null) {
          bias.put(j, (float) random.nextGaussian());
        }
      }
      String shape = "rows=" + rows + " codebooks=" + codebooks + " m=" + m;
      int[] expected =
          reference(accumulate(keys, rows, codebooks, m, tables, scale, bias, Mode.REFERENCE));
      assertThat(reference(accumulate(keys, rows, codebooks, m, tables, scale, bias, Mode.NATIVE)))
          .as("avx2 " + shape)
          .isEqualTo(expected);
      assertThat(reference(accumulate(keys, rows, codebooks, m, tables, scale, bias, Mode.SCALAR)))
          .as("scalar " + shape)
          .isEqualTo(expected);
      // Independent of the reference: with scale 1 and no bias the output is the integer sum.
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
          sum += tables.get((c * K + keys.get(r * codebooks + c)) * m + j);
        }
        assertThat(sums[r * m + j]).as("%s r=%d j=%d", shape, r, j).isEqualTo((float) sum);
      }
    }
  }

  @Test
  void accumulate_everyBlockRemainder_m1to140_twoCodebookGroups_equalsReference() {
    // m = 1..140 walks every remainder shape (0..7 vectors of 16, a half vector of 8, 0..7 scalar
    // outputs); 260 codebooks make two s16 groups, so partial s32 sums pass through out.
    Random random = new Random(31);
    int codebooks = 260;
    for (int m = 1; m <= 140; m++) {
      int rows = 1 + m % 3;
      ByteBuffer keys = ByteBuffer.allocateDirect(rows * codebooks);
      for (int i = 0; i < rows * codebooks; i++) {
        keys.put(i, (byte) random.nextInt(K));
      }
      ByteBuffer tables = randomBytes(random, codebooks * K * m);
      FloatBuffer scale = FloatBuffers.allocate(m);
      FloatBuffer bias = FloatBuffers.allocate(m);
      for (int j = 0; j < m; j++) {
        scale.put(j, 0.001f * (j + 1));
        bias.put(j, -j);
      }
      int[] expected =
          reference(accumulate(keys, rows, codebooks, m, tables, scale, bias, Mode.REFERENCE));
      assertThat(reference(accumulate(keys, rows, codebooks, m, tables, scale, bias, Mode.NATIVE)))
          .as("m=%d", m)
          .isEqualTo(expected);
    }
  }

  @ParameterizedTest
  @CsvSource({
    "300, 1000, 127",
    "300, 1000, -128",
    "300, 37, -128",
    "256, 121, -128",
    "257, 121, -128",
    "259, 200, 127",
    "513, 129, -128",
    "300, 1, 127",
    "1, 1000, -128"
  })
  void accumulate_extremeTablesAllKeys15_sumsWithoutWrapping(int codebooks, int m, int value) {
    int rows = 2;
    ByteBuffer keys = ByteBuffer.allocateDirect(rows * codebooks);
    for (int i = 0; i < rows * codebooks; i++) {
      keys.put(i, (byte) 15);
    }
    ByteBuffer tables = ByteBuffer.allocateDirect(codebooks * K * m);
    for (int c = 0; c < codebooks; c++) {
      for (int j = 0; j < m; j++) {
        tables.put((c * K + 15) * m + j, (byte) value); // only key 15's rows: others stay 0
      }
    }
    FloatBuffer scale = FloatBuffers.allocate(m);
    FloatBuffer bias = FloatBuffers.allocate(m);
    for (int j = 0; j < m; j++) {
      scale.put(j, 1f);
      bias.put(j, 0.5f);
    }
    float expected = 0.5f + (float) (codebooks * value);
    for (Mode mode : Mode.values()) {
      float[] out = accumulate(keys, rows, codebooks, m, tables, scale, bias, mode);
      float[] want = new float[rows * m];
      Arrays.fill(want, expected);
      assertThat(out)
          .as("%s codebooks=%d m=%d value=%d", mode, codebooks, m, value)
          .containsExactly(want);
    }
  }

  @Test
  void accumulate_keyBytesAbove15_areMaskedToLowNibble() {
    int codebooks = 20;
    int m = 40;
    Random random = new Random(9);
    ByteBuffer keys = ByteBuffer.allocateDirect(codebooks);
    ByteBuffer masked = ByteBuffer.allocateDirect(codebooks);
    for (int c = 0; c < codebooks; c++) {
      int key = random.nextInt(256);
      keys.put(c, (byte) key);
      masked.put(c, (byte) (key & 15));
    }
    ByteBuffer tables = randomBytes(random, codebooks * K * m);
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
  }

  @Test
  void accumulate_readOnlyTablesAndPositionsIgnored() {
    int codebooks = 10;
    int m = 33;
    Random random = new Random(11);
    ByteBuffer keys = ByteBuffer.allocateDirect(codebooks);
    for (int c = 0; c < codebooks; c++) {
      keys.put(c, (byte) random.nextInt(K));
    }
    ByteBuffer tables = randomBytes(random, codebooks * K * m);
    FloatBuffer scale = FloatBuffers.allocate(m);
    for (int j = 0; j < m; j++) {
      scale.put(j, 0.25f);
    }
    float[] expected = accumulate(keys, 1, codebooks, m, tables, scale, null, Mode.REFERENCE);

    keys.position(3);
    ByteBuffer readOnlyTables = tables.asReadOnlyBuffer().position(17);
    scale.position(5);
    FloatBuffer out = FloatBuffers.allocate(m);
    out.position(7);
    LutKernels.accumulate(keys, 1, codebooks, m, readOnlyTables, scale, null, out);
    assertThat(toArray(out, m)).containsExactly(expected);
    assertThat(out.position()).isEqualTo(7);
  }

  @Test
  void accumulate_zeroCodebooks_givesBias() {
    FloatBuffer out = FloatBuffers.allocate(3);
    LutKernels.accumulate(
        ByteBuffer.allocateDirect(0),
        1,
        0,
        3,
        ByteBuffer.allocateDirect(0),
        floats(1f, 1f, 1f),
        floats(1f, 2f, 3f),
        out);
    assertThat(toArray(out, 3)).containsExactly(1f, 2f, 3f);
  }

  // ---------------------------------------------------------------------------------------------
  // argument errors
  // ---------------------------------------------------------------------------------------------

  @Test
  void arguments_wrongSizesAndBuffers_areRejectedNamingTheArgument() {
    FloatBuffer x = FloatBuffers.allocate(16);
    IntBuffer split = intBuffer(16);
    FloatBuffer thresholds = FloatBuffers.allocate(60);
    ByteBuffer keys = ByteBuffer.allocateDirect(4);

    assertThatThrownBy(
            () ->
                LutKernels.encodeTree(
                    x, 1, 16, 4, 4, split, thresholds, ByteBuffer.allocateDirect(3)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("keys: limit=3 bytes, need rows*codebooks=4");
    assertThatThrownBy(() -> LutKernels.encodeTree(x, 1, 15, 4, 4, split, thresholds, keys))
        .hasMessageContaining("d=15 must equal codebooks*width=16");
    assertThatThrownBy(
            () ->
                LutKernels.encodeTree(
                    x, 2, 16, 4, 4, split, thresholds, ByteBuffer.allocateDirect(8)))
        .hasMessageContaining("x: limit=16 floats, need rows*d=32");
    assertThatThrownBy(() -> LutKernels.encodeTree(x, 1, 16, 4, 4, intBuffer(15), thresholds, keys))
        .hasMessageContaining("splitDims: limit=15 ints, need codebooks*4=16");
    assertThatThrownBy(
            () -> LutKernels.encodeTree(x, 1, 16, 4, 4, split, FloatBuffers.allocate(59), keys))
        .hasMessageContaining("thresholds: limit=59 floats, need codebooks*15=60");
    assertThatThrownBy(() -> LutKernels.encodeTree(x, 1, 0, 0, 0, split, thresholds, keys))
        .hasMessageContaining("width=0 must be >= 1");
    assertThatThrownBy(() -> LutKernels.encodeTree(x, -1, 16, 4, 4, split, thresholds, keys))
        .hasMessageContaining("rows=-1");
    IntBuffer badSplit = intBuffer(16);
    badSplit.put(6, 4);
    assertThatThrownBy(() -> LutKernels.encodeTree(x, 1, 16, 4, 4, badSplit, thresholds, keys))
        .hasMessageContaining("splitDims[6]=4 (codebook=1 level=2) must be in [0, width=4)");
    badSplit.put(6, -1);
    assertThatThrownBy(
            () -> LutKernels.Reference.encodeTree(x, 1, 16, 4, 4, badSplit, thresholds, keys))
        .hasMessageContaining("splitDims[6]=-1");
    assertThatThrownBy(() -> LutKernels.encodeTree(x, 1, 16, 4, 4, badSplit, thresholds, keys))
        .hasMessageContaining("splitDims[6]=-1");
    IntBuffer lastBad = intBuffer(16);
    lastBad.put(15, Integer.MIN_VALUE);
    ByteBuffer untouched = ByteBuffer.allocateDirect(4);
    fillBytes(untouched, (byte) 0x77);
    assertThatThrownBy(() -> LutKernels.encodeTree(x, 1, 16, 4, 4, lastBad, thresholds, untouched))
        .hasMessageContaining("splitDims[15]=-2147483648 (codebook=3 level=3)");
    assertThat(toArray(untouched)).as("no key written").containsOnly(0x77);
    assertThatThrownBy(
            () ->
                LutKernels.encodeTree(
                    FloatBuffer.allocate(16), 1, 16, 4, 4, split, thresholds, keys))
        .hasMessageContaining("x must be a direct buffer");
    FloatBuffer bigEndian =
        ByteBuffer.allocateDirect(60 * 4).order(ByteOrder.BIG_ENDIAN).asFloatBuffer();
    assertThatThrownBy(() -> LutKernels.encodeTree(x, 1, 16, 4, 4, split, bigEndian, keys))
        .hasMessageContaining("thresholds: order=BIG_ENDIAN");
    assertThatThrownBy(
            () -> LutKernels.encodeTree(x, 1, 16, 4, 4, split, thresholds, keys.asReadOnlyBuffer()))
        .hasMessageContaining("keys is read-only");
    assertThatThrownBy(
            () -> LutKernels.encodeCentroids(x, 1, 16, 4, 4, FloatBuffers.allocate(255), keys))
        .hasMessageContaining("centroids: limit=255 floats, need codebooks*16*width=256");
    assertThatThrownBy(() -> LutKernels.encodeCentroids(x, 1, 16, 4, 4, null, keys))
        .hasMessageContaining("centroids is null");

    ByteBuffer tables = ByteBuffer.allocateDirect(4 * 16 * 10);
    FloatBuffer scale = FloatBuffers.allocate(10);
    FloatBuffer out = FloatBuffers.allocate(10);
    assertThatThrownBy(
            () ->
                LutKernels.accumulate(
                    keys, 1, 4, 10, ByteBuffer.allocateDirect(639), scale, null, out))
        .hasMessageContaining("tables: limit=639 bytes, need codebooks*16*m=640");
    assertThatThrownBy(
            () ->
                LutKernels.accumulate(keys, 1, 4, 10, tables, FloatBuffers.allocate(9), null, out))
        .hasMessageContaining("scale: limit=9 floats, need m=10");
    assertThatThrownBy(
            () ->
                LutKernels.accumulate(keys, 1, 4, 10, tables, scale, FloatBuffers.allocate(9), out))
        .hasMessageContaining("bias: limit=9 floats, need m=10");
    assertThatThrownBy(
            () ->
                LutKernels.accumulate(
                    keys, 2, 4, 10, tables, scale, null, FloatBuffers.allocate(20)))
        .hasMessageContaining("keys: limit=4 bytes, need rows*codebooks=8");
    assertThatThrownBy(
            () ->
                LutKernels.accumulate(
                    keys, 1, 4, 10, tables, scale, null, FloatBuffers.allocate(9)))
        .hasMessageContaining("out: limit=9 floats, need rows*m=10");
    assertThatThrownBy(() -> LutKernels.accumulate(keys, 1, 4, -2, tables, scale, null, out))
        .hasMessageContaining("m=-2 must be >= 0");
    assertThatThrownBy(
            () ->
                LutKernels.Reference.accumulate(
                    keys, 1, 4, 10, tables, scale, null, FloatBuffers.allocate(9)))
        .hasMessageContaining("out: limit=9 floats");
  }

  // ---------------------------------------------------------------------------------------------
  // helpers
  // ---------------------------------------------------------------------------------------------

  private enum Mode {
    NATIVE,
    SCALAR,
    REFERENCE
  }

  private static byte[] encodeTree(
      FloatBuffer x,
      int rows,
      int d,
      int codebooks,
      int width,
      IntBuffer split,
      FloatBuffer thresholds,
      Mode mode) {
    ByteBuffer keys = ByteBuffer.allocateDirect(rows * codebooks);
    fillBytes(keys, (byte) 0x5A); // stale bytes must be overwritten
    if (mode == Mode.REFERENCE) {
      LutKernels.Reference.encodeTree(x, rows, d, codebooks, width, split, thresholds, keys);
    } else {
      LutKernels.forceScalar(mode == Mode.SCALAR);
      LutKernels.encodeTree(x, rows, d, codebooks, width, split, thresholds, keys);
      LutKernels.forceScalar(false);
    }
    return toArray(keys);
  }

  private static byte[] encodeCentroids(
      FloatBuffer x, int rows, int d, int codebooks, int width, FloatBuffer centroids, Mode mode) {
    ByteBuffer keys = ByteBuffer.allocateDirect(rows * codebooks);
    fillBytes(keys, (byte) 0x5A);
    if (mode == Mode.REFERENCE) {
      LutKernels.Reference.encodeCentroids(x, rows, d, codebooks, width, centroids, keys);
    } else {
      LutKernels.forceScalar(mode == Mode.SCALAR);
      LutKernels.encodeCentroids(x, rows, d, codebooks, width, centroids, keys);
      LutKernels.forceScalar(false);
    }
    return toArray(keys);
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
      LutKernels.Reference.accumulate(keys, rows, codebooks, m, tables, scale, bias, out);
    } else {
      LutKernels.forceScalar(mode == Mode.SCALAR);
      LutKernels.accumulate(keys, rows, codebooks, m, tables, scale, bias, out);
      LutKernels.forceScalar(false);
    }
    return toArray(out, rows * m);
  }

  /** Raw bits, so that equality is bit for bit. */
  private static int[] reference(float[] values) {
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

  private static ByteBuffer randomBytes(Random random, int length) {
    ByteBuffer buffer = ByteBuffer.allocateDirect(length);
    byte[] bytes = new byte[length];
    random.nextBytes(bytes);
    buffer.put(bytes).clear();
    return buffer;
  }

  private static void fillBytes(ByteBuffer buffer, byte value) {
    for (int i = 0; i < buffer.limit(); i++) {
      buffer.put(i, value);
    }
  }

  private static byte[] toArray(ByteBuffer buffer) {
    byte[] bytes = new byte[buffer.limit()];
    buffer.get(0, bytes);
    return bytes;
  }

  private static float[] toArray(FloatBuffer buffer, int length) {
    float[] values = new float[length];
    buffer.get(0, values);
    return values;
  }

  private static FloatBuffer floats(float... values) {
    return FloatBuffers.of(values);
  }

  private static IntBuffer intBuffer(int length) {
    return ByteBuffer.allocateDirect(length * Integer.BYTES)
        .order(ByteOrder.nativeOrder())
        .asIntBuffer();
  }

  private static IntBuffer ints(int... values) {
    IntBuffer buffer = intBuffer(values.length);
    for (int i = 0; i < values.length; i++) {
      buffer.put(i, values[i]);
    }
    return buffer;
  }
}
