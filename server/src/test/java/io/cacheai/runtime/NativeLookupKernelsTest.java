package io.cacheai.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The runtime's choice for served Cache AI layers ({@link LookupKernels#best()}, the native AVX2
 * kernels here) gives the same keys and the same output bits as {@link ReferenceLookupKernels}.
 */
class NativeLookupKernelsTest {

  @ParameterizedTest(name = "rows={0} codebooks={1} width={2} m={3} keys={4}")
  @CsvSource({
    "1, 200, 4, 120, 16",
    "3, 100, 8, 84, 16",
    "16, 37, 5, 33, 16",
    "1, 300, 1, 1000, 16",
    "1, 800, 4, 120, 4",
    "3, 100, 8, 84, 4",
    "16, 37, 5, 33, 4",
    "1, 400, 4, 1001, 8",
    "5, 100, 8, 84, 8",
    "9, 37, 12, 33, 8"
  })
  void best_equalsReference_bitForBit(int rows, int codebooks, int width, int m, int keys) {
    final int K = keys;
    final int depth = LookupKernels.depthOf(keys);
    // K = 16 goes through the interface's default (depth-less) methods, the others name K
    final boolean defaults = keys == LookupKernels.KEYS;
    assertThat(NativeLookupKernels.AVAILABLE).as("native lookup kernels loaded").isTrue();
    LookupKernels best = LookupKernels.best();
    assertThat(best).isSameAs(NativeLookupKernels.INSTANCE);
    LookupKernels reference = LookupKernels.reference();
    SplittableRandom random = new SplittableRandom(rows * 31L + codebooks);
    int d = codebooks * width;
    FloatBuffer x = floats(rows * d);
    for (int i = 0; i < rows * d; i++) {
      // a coarse grid so that some inputs equal a threshold exactly (those go left)
      x.put(i, random.nextInt(-8, 9) / 4f);
    }
    IntBuffer dims =
        ByteBuffer.allocateDirect(codebooks * depth * 4)
            .order(ByteOrder.nativeOrder())
            .asIntBuffer();
    FloatBuffer thresholds = floats(codebooks * (K - 1));
    FloatBuffer centroids = floats(codebooks * K * width);
    for (int i = 0; i < codebooks * depth; i++) {
      dims.put(i, random.nextInt(width));
    }
    for (int i = 0; i < codebooks * (K - 1); i++) {
      thresholds.put(i, random.nextInt(-8, 9) / 4f);
    }
    for (int i = 0; i < codebooks * K * width; i++) {
      centroids.put(i, (float) random.nextDouble(-2, 2));
    }
    ByteBuffer tables = ByteBuffer.allocateDirect(codebooks * K * m);
    for (int i = 0; i < tables.capacity(); i++) {
      tables.put(i, (byte) (i % 5 == 0 ? -128 : random.nextInt(-128, 128)));
    }
    FloatBuffer scale = floats(m);
    FloatBuffer bias = floats(m);
    for (int j = 0; j < m; j++) {
      scale.put(j, (float) random.nextDouble(1e-4, 0.1));
      bias.put(j, (float) random.nextDouble(-1, 1));
    }

    ByteBuffer treeKeys = ByteBuffer.allocateDirect(rows * codebooks);
    ByteBuffer expectedTreeKeys = ByteBuffer.allocateDirect(rows * codebooks);
    if (defaults) {
      best.encodeTree(x, rows, d, codebooks, width, dims, thresholds, treeKeys);
    } else {
      best.encodeTree(x, rows, d, codebooks, width, depth, dims, thresholds, treeKeys);
    }
    reference.encodeTree(x, rows, d, codebooks, width, depth, dims, thresholds, expectedTreeKeys);
    assertThat(treeKeys).isEqualTo(expectedTreeKeys);

    ByteBuffer centroidKeys = ByteBuffer.allocateDirect(rows * codebooks);
    ByteBuffer expectedCentroidKeys = ByteBuffer.allocateDirect(rows * codebooks);
    if (defaults) {
      best.encodeCentroids(x, rows, d, codebooks, width, centroids, centroidKeys);
    } else {
      best.encodeCentroids(x, rows, d, codebooks, width, K, centroids, centroidKeys);
    }
    reference.encodeCentroids(x, rows, d, codebooks, width, K, centroids, expectedCentroidKeys);
    assertThat(centroidKeys).isEqualTo(expectedCentroidKeys);

    for (FloatBuffer b : new FloatBuffer[] {bias, null}) {
      FloatBuffer out = floats(rows * m);
      FloatBuffer expected = floats(rows * m);
      if (defaults) {
        best.accumulate(treeKeys, rows, codebooks, m, tables, scale, b, out);
      } else {
        best.accumulate(treeKeys, rows, codebooks, K, m, tables, scale, b, out);
      }
      reference.accumulate(treeKeys, rows, codebooks, K, m, tables, scale, b, expected);
      for (int i = 0; i < rows * m; i++) {
        assertThat(Float.floatToRawIntBits(out.get(i)))
            .as("out[%d] (bias %s)", i, b == null ? "null" : "given")
            .isEqualTo(Float.floatToRawIntBits(expected.get(i)));
      }
    }
    // the same tables' first C·K·ceil(m/2) bytes read as 4-bit "lut16x4" tables
    ByteBuffer s4Tables = tables.slice(0, codebooks * K * ((m + 1) / 2));
    FloatBuffer out = floats(rows * m);
    FloatBuffer expected = floats(rows * m);
    if (defaults) {
      best.accumulateS4(treeKeys, rows, codebooks, m, s4Tables, scale, bias, out);
    } else {
      best.accumulateS4(treeKeys, rows, codebooks, K, m, s4Tables, scale, bias, out);
    }
    reference.accumulateS4(treeKeys, rows, codebooks, K, m, s4Tables, scale, bias, expected);
    for (int i = 0; i < rows * m; i++) {
      assertThat(Float.floatToRawIntBits(out.get(i)))
          .as("4-bit out[%d]", i)
          .isEqualTo(Float.floatToRawIntBits(expected.get(i)));
    }
    // folded tables (key 0 not stored): the first C·(K−1)·m bytes, int8 and 4-bit
    for (boolean fourBit : new boolean[] {false, true}) {
      ByteBuffer folded = tables.slice(0, codebooks * (K - 1) * (fourBit ? (m + 1) / 2 : m));
      FloatBuffer foldedOut = floats(rows * m);
      FloatBuffer foldedExpected = floats(rows * m);
      if (fourBit) {
        best.accumulateS4Folded(treeKeys, rows, codebooks, K, m, folded, scale, bias, foldedOut);
        reference.accumulateS4Folded(
            treeKeys, rows, codebooks, K, m, folded, scale, bias, foldedExpected);
      } else {
        best.accumulateFolded(treeKeys, rows, codebooks, K, m, folded, scale, null, foldedOut);
        reference.accumulateFolded(
            treeKeys, rows, codebooks, K, m, folded, scale, null, foldedExpected);
      }
      for (int i = 0; i < rows * m; i++) {
        assertThat(Float.floatToRawIntBits(foldedOut.get(i)))
            .as("folded 4-bit=%s out[%d]", fourBit, i)
            .isEqualTo(Float.floatToRawIntBits(foldedExpected.get(i)));
      }
    }
  }

  private static FloatBuffer floats(int n) {
    return ByteBuffer.allocateDirect(n * 4).order(ByteOrder.nativeOrder()).asFloatBuffer();
  }
}
