package io.cacheai.kernels;

import static io.cacheai.kernels.IntBuffersForTests.floats;
import static io.cacheai.kernels.IntBuffersForTests.toArray;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@link Q4PairGemv}: the 512-bit body, its scalar twin and {@link Q4Gemm#gemv} (the 256-bit body
 * on the unpacked q4g32 blocks) agree bit for bit, on random weights, odd row counts, every pass
 * remainder, and adversarial values (all nibbles 0 or 15, all-zero and outlier activation groups).
 */
class Q4PairGemvTest {
  @AfterEach
  void restoreDispatch() {
    IntKernels.forceScalar(false);
    IntKernels.forceNoVnni(false);
  }

  private static ByteBuffer quantized(Random random, int n, int k) {
    float[] w = new float[n * k];
    for (int i = 0; i < w.length; i++) {
      w[i] = (float) random.nextGaussian() * 0.2f;
    }
    ByteBuffer blocks =
        ByteBuffer.allocateDirect((int) Q4Gemm.sizeBytes(n, k)).order(ByteOrder.nativeOrder());
    Q4Gemm.quantize(floats(w, 0), n, k, blocks);
    return blocks;
  }

  private static float[] activations(Random random, int k) {
    float[] x = new float[k];
    for (int i = 0; i < k; i++) {
      x[i] = i % 53 == 0 ? 60f : (float) random.nextGaussian();
    }
    return x;
  }

  private static float[] pairs(ByteBuffer blocks, int n, int k, float[] x, ConvBody body) {
    ByteBuffer packed = Q4PairGemv.pack(blocks, n, k);
    FloatBuffer y = FloatBuffers.allocate(n);
    Q4PairGemv.gemv(packed, n, k, floats(x, 0), y, body);
    return toArray(y, n);
  }

  private static float[] unpaired(ByteBuffer blocks, int n, int k, float[] x) {
    FloatBuffer y = FloatBuffers.allocate(n);
    Q4Gemm.gemv(blocks, n, k, floats(x, 0), y);
    return toArray(y, n);
  }

  private static void assertBits(float[] actual, float[] expected, String what) {
    assertThat(actual).hasSameSizeAs(expected);
    for (int i = 0; i < actual.length; i++) {
      assertThat(Float.floatToRawIntBits(actual[i]))
          .as("%s row %d: %s vs %s", what, i, actual[i], expected[i])
          .isEqualTo(Float.floatToRawIntBits(expected[i]));
    }
  }

  @ParameterizedTest(name = "n={0} k={1}")
  @CsvSource({
    "1, 32",
    "2, 64",
    "3, 96",
    "5, 800",
    "9, 128",
    "11, 160",
    "12, 64",
    "13, 800",
    "24, 96",
    "25, 800",
    "120, 800",
    "84, 128",
    "10, 96",
    "7, 64",
    "20, 160",
    "23, 32",
    "9, 512",
    "3, 288"
  })
  void gemv_vectorTwinAndUnpairedAgreeBitForBit(int n, int k) {
    Random random = new Random(n * 1009L + k);
    ByteBuffer blocks = quantized(random, n, k);
    float[] x = activations(random, k);
    float[] twin = pairs(blocks, n, k, x, ConvBody.SCALAR_TWIN);
    float[] vector = pairs(blocks, n, k, x, ConvBody.BEST);
    assertBits(
        vector, twin, "512-bit body vs scalar twin (available=" + Q4PairGemv.available() + ")");
    Assumptions.assumeTrue(Q4PairGemv.available(), "no AVX-512 VNNI: Q4Gemm runs another body");
    assertBits(vector, unpaired(blocks, n, k, x), "pairs vs Q4Gemm.gemv");
  }

  /** All nibbles 15 (w = 7d) or 0 (w = −8d) against all-zero groups and ±outliers. */
  @Test
  void gemv_extremes_agreeBitForBit() {
    int n = 7;
    int k = 96;
    for (int nibble : new int[] {0x00, 0xFF, 0x0F}) {
      ByteBuffer blocks =
          ByteBuffer.allocateDirect((int) Q4Gemm.sizeBytes(n, k)).order(ByteOrder.LITTLE_ENDIAN);
      for (int b = 0; b < blocks.capacity(); b += Q4Gemm.BLOCK_SIZE_BYTES) {
        blocks.putFloat(b, 0.5f + b % 7);
        blocks.putFloat(b + 4, 1e-3f);
        for (int i = 8; i < Q4Gemm.BLOCK_SIZE_BYTES; i++) {
          blocks.put(b + i, (byte) nibble);
        }
      }
      float[] x = new float[k];
      for (int i = 32; i < 64; i++) {
        x[i] = i % 2 == 0 ? 1e30f : -1e30f; // group 1: huge; group 0: all zero
      }
      for (int i = 64; i < 96; i++) {
        x[i] = i == 70 ? -255f : 1f;
      }
      float[] twin = pairs(blocks, n, k, x, ConvBody.SCALAR_TWIN);
      assertBits(pairs(blocks, n, k, x, ConvBody.BEST), twin, "nibble " + nibble);
      if (Q4PairGemv.available()) {
        assertBits(twin, unpaired(blocks, n, k, x), "twin vs Q4Gemm.gemv, nibble " + nibble);
      }
    }
  }

  /**
   * A NaN or an infinity among the activations (the eight-group quantization hands a row with a NaN
   * to the AVX2 body, whose max order decides its fate): still Q4Gemm's bits.
   */
  @Test
  void gemv_nonFiniteActivations_matchUnpaired() {
    Assumptions.assumeTrue(Q4PairGemv.available(), "no AVX-512 VNNI: Q4Gemm runs another body");
    int n = 5;
    int k = 288;
    ByteBuffer blocks = quantized(new Random(9), n, k);
    for (int at : new int[] {0, 31, 100, 255, 287}) {
      for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
        float[] x = activations(new Random(at), k);
        x[at] = bad;
        assertBits(
            pairs(blocks, n, k, x, ConvBody.BEST), unpaired(blocks, n, k, x), bad + " at " + at);
      }
    }
  }

  /** Without the 512-bit body (forced off), BEST is the scalar twin: still the same bits. */
  @Test
  void gemv_forcedOff_runsTwin() {
    Random random = new Random(5);
    ByteBuffer blocks = quantized(random, 9, 160);
    float[] x = activations(random, 160);
    float[] best = pairs(blocks, 9, 160, x, ConvBody.BEST);
    IntKernels.forceNoVnni(true);
    assertThat(Q4PairGemv.available()).isFalse();
    assertBits(pairs(blocks, 9, 160, x, ConvBody.BEST), best, "forced off");
  }

  @Test
  void pack_sizesAlignmentAndErrors() {
    assertThat(Q4PairGemv.sizeBytes(3, 96)).isEqualTo(2L * 2 * 80);
    for (int n : new int[] {1, 5, 120}) {
      ByteBuffer packed = Q4PairGemv.pack(quantized(new Random(n), n, 64), n, 64);
      assertThat(new org.bytedeco.javacpp.BytePointer(packed).address() % 64).isZero();
      assertThat(packed.capacity()).isEqualTo((int) Q4PairGemv.sizeBytes(n, 64));
    }
    assertThat(Q4PairGemv.sizeBytes(120, 800)).isEqualTo(60L * 13 * 80);
    ByteBuffer blocks = quantized(new Random(1), 3, 96);
    assertThatThrownBy(() -> Q4PairGemv.sizeBytes(3, 50))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("k=50");
    assertThatThrownBy(() -> Q4PairGemv.pack(blocks.slice(0, 40), 3, 96))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("blocks");
    ByteBuffer packed = Q4PairGemv.pack(blocks, 3, 96);
    assertThatThrownBy(
            () ->
                Q4PairGemv.gemv(
                    packed,
                    3,
                    96,
                    FloatBuffers.allocate(95),
                    FloatBuffers.allocate(3),
                    ConvBody.BEST))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("x");
    assertThatThrownBy(
            () ->
                Q4PairGemv.gemv(
                    packed.slice(0, 100),
                    3,
                    96,
                    FloatBuffers.allocate(96),
                    FloatBuffers.allocate(3),
                    ConvBody.BEST))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("pairs");
    assertThatThrownBy(
            () ->
                Q4PairGemv.gemv(
                    packed,
                    3,
                    96,
                    FloatBuffers.allocate(96),
                    FloatBuffers.allocate(2),
                    ConvBody.BEST))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("y");
  }
}
