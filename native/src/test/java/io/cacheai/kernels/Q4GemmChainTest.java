package io.cacheai.kernels;

import static io.cacheai.kernels.IntBuffersForTests.floats;
import static io.cacheai.kernels.IntBuffersForTests.toArray;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@link Q4GemmChain} against one {@link Q4Gemm#gemmBias} per layer (input zero-padded to a
 * multiple of 32, as {@code LowBitGemmKernel} does): equal bit for bit; and both near a Java fp32
 * product with the dequantized weights.
 */
class Q4GemmChainTest {
  @AfterEach
  void restoreDispatch() {
    IntKernels.forceScalar(false);
    IntKernels.forceNoVnni(false);
  }

  private static int padded(int k) {
    return (k + 31) / 32 * 32;
  }

  /** A layer with random weights [n, k] quantized to q4g32 over round_up(k, 32) columns. */
  private static Q4GemmChain.Layer layer(Random random, int k, int n, boolean bias, boolean relu) {
    int kp = padded(k);
    float[] w = new float[n * kp];
    for (int r = 0; r < n; r++) {
      for (int c = 0; c < k; c++) {
        w[r * kp + c] = (float) random.nextGaussian() * 0.2f;
      }
    }
    ByteBuffer blocks =
        ByteBuffer.allocateDirect((int) Q4Gemm.sizeBytes(n, kp)).order(ByteOrder.nativeOrder());
    Q4Gemm.quantize(floats(w, 0), n, kp, blocks);
    FloatBuffer b = null;
    if (bias) {
      float[] values = new float[n];
      for (int j = 0; j < n; j++) {
        values[j] = (float) random.nextGaussian() * 0.5f;
      }
      b = floats(values, 0);
    }
    return new Q4GemmChain.Layer(blocks, k, n, b, relu);
  }

  /** One gemmBias per layer on a zero-padded copy of its input. */
  private static float[] perLayer(List<Q4GemmChain.Layer> layers, float[] x, int m) {
    float[] in = x;
    for (Q4GemmChain.Layer l : layers) {
      int kp = padded(l.k());
      float[] pad = new float[m * kp];
      for (int i = 0; i < m; i++) {
        System.arraycopy(in, i * l.k(), pad, i * kp, l.k());
      }
      FloatBuffer out = FloatBuffers.allocate(m * l.n());
      Q4Gemm.gemmBias(l.blocks(), l.n(), kp, floats(pad, 0), m, l.bias(), l.relu(), out);
      in = toArray(out, m * l.n());
    }
    return in;
  }

  /** The weights of a layer back in fp32 from the blocks (w = d · (q − 8)). */
  private static double weight(Q4GemmChain.Layer l, int r, int c) {
    int bpr = Q4Gemm.blocksPerRow(padded(l.k()));
    ByteBuffer b = l.blocks().duplicate().order(ByteOrder.LITTLE_ENDIAN);
    int block = (r * bpr + c / 64) * Q4Gemm.BLOCK_SIZE_BYTES;
    int h = (c % 64) / 32;
    int i = c % 32;
    int packed = b.get(block + 8 + 16 * h + i % 16) & 0xFF;
    int q = i < 16 ? packed & 0x0F : packed >> 4;
    return b.getFloat(block + 4 * h) * (q - 8);
  }

  /** Java fp32-ish reference (double sums) with the dequantized weights, no activation rounding. */
  private static float[] javaReference(List<Q4GemmChain.Layer> layers, float[] x, int m) {
    float[] in = x;
    for (Q4GemmChain.Layer l : layers) {
      float[] out = new float[m * l.n()];
      for (int i = 0; i < m; i++) {
        for (int j = 0; j < l.n(); j++) {
          double s = l.bias() == null ? 0 : l.bias().get(j);
          for (int c = 0; c < l.k(); c++) {
            s += weight(l, j, c) * in[i * l.k() + c];
          }
          out[i * l.n() + j] = l.relu() && s < 0 ? 0f : (float) s;
        }
      }
      in = out;
    }
    return in;
  }

  private static float[] runChain(Q4GemmChain chain, float[] x, int m) {
    FloatBuffer y = FloatBuffers.allocate(m * chain.outputWidth());
    FloatBuffer tmp = FloatBuffers.allocate((int) chain.scratchFloats(m));
    for (int i = 0; i < tmp.capacity(); i++) {
      tmp.put(i, Float.NaN); // stale scratch must not leak into the padding
    }
    chain.run(floats(x, 0), m, tmp, y);
    return toArray(y, m * chain.outputWidth());
  }

  @ParameterizedTest(name = "m={0} k={1} n1={2} n2={3} n3={4} bias={5} scalar={6}")
  @CsvSource({
    "1, 800, 120, 84, 10, true, false",
    "4, 800, 120, 84, 10, true, false",
    "1, 50, 33, 7, 5, true, false",
    "5, 70, 64, 31, 3, false, false",
    "3, 96, 40, 1, 65, true, false",
    "2, 50, 33, 7, 5, true, true",
    "1, 800, 120, 84, 10, true, true"
  })
  void run_equalsOneCallPerLayerBitForBit(
      int m, int k, int n1, int n2, int n3, boolean bias, boolean scalar) {
    IntKernels.forceScalar(scalar);
    Random random = new Random(m * 7919L + k * 31L + n1 + n2 + n3);
    List<Q4GemmChain.Layer> layers = new ArrayList<>();
    layers.add(layer(random, k, n1, bias, true));
    layers.add(layer(random, n1, n2, bias, false)); // ReLU off in the middle
    layers.add(layer(random, n2, n3, bias, true));
    float[] x = new float[m * k];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) random.nextGaussian();
    }
    Q4GemmChain chain = new Q4GemmChain(layers);

    float[] chained = runChain(chain, x, m);
    float[] separate = perLayer(layers, x, m);
    float[] reference = javaReference(layers, x, m);

    for (int i = 0; i < chained.length; i++) {
      assertThat(Float.floatToRawIntBits(chained[i]))
          .as("element %d: chain=%s per-layer=%s", i, chained[i], separate[i])
          .isEqualTo(Float.floatToRawIntBits(separate[i]));
    }
    double scale = 0;
    for (float v : reference) {
      scale = Math.max(scale, Math.abs(v));
    }
    for (int i = 0; i < chained.length; i++) {
      // activations rounded to s8 per group at each layer: a few percent of the output range
      assertThat((double) Math.abs(chained[i] - reference[i]))
          .as("element %d vs Java reference %s", i, reference[i])
          .isLessThanOrEqualTo(0.05 * scale + 1e-4);
    }
  }

  /**
   * The VNNI body (vpdpbusd) and the AVX2 body (vpmaddubsw + vpmaddwd) compute the same integers
   * and then the same fp32 operations: equal bit for bit, batch 1 (GEMV) and 5 (GEMM).
   */
  @ParameterizedTest(name = "m={0}")
  @CsvSource({"1", "5"})
  void run_vnniEqualsAvx2BitForBit(int m) {
    Random random = new Random(97 + m);
    List<Q4GemmChain.Layer> layers =
        List.of(
            layer(random, 800, 120, true, true),
            layer(random, 120, 84, true, true),
            layer(random, 84, 10, true, false));
    float[] x = new float[m * 800];
    for (int i = 0; i < x.length; i++) {
      x[i] = i % 97 == 0 ? 40f : (float) random.nextGaussian();
    }
    Q4GemmChain chain = new Q4GemmChain(layers);
    float[] detected = runChain(chain, x, m);
    IntKernels.forceNoVnni(true);
    float[] avx2 = runChain(chain, x, m);
    for (int i = 0; i < detected.length; i++) {
      assertThat(Float.floatToRawIntBits(detected[i]))
          .as("element %d (vnni=%s)", i, IntKernels.vnni())
          .isEqualTo(Float.floatToRawIntBits(avx2[i]));
    }
  }

  @Test
  void constructor_rejectsMismatchedWidthsAndShortBuffers() {
    Random random = new Random(3);
    Q4GemmChain.Layer a = layer(random, 64, 40, true, true);
    Q4GemmChain.Layer b = layer(random, 41, 8, true, false);
    assertThatThrownBy(() -> new Q4GemmChain(List.of(a, b)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("k=41 != previous layer's n=40");
    Q4GemmChain.Layer shortBlocks =
        new Q4GemmChain.Layer(a.blocks().slice(0, 100), 64, 40, null, false);
    assertThatThrownBy(() -> new Q4GemmChain(List.of(shortBlocks)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("layer 0 blocks");
    Q4GemmChain.Layer shortBias =
        new Q4GemmChain.Layer(a.blocks(), 64, 40, FloatBuffers.allocate(39), false);
    assertThatThrownBy(() -> new Q4GemmChain(List.of(shortBias)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("layer 0 bias");
    assertThatThrownBy(() -> new Q4GemmChain(List.of()))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void run_rejectsShortScratchAndOutput() {
    Random random = new Random(5);
    Q4GemmChain chain =
        new Q4GemmChain(
            List.of(layer(random, 50, 33, true, true), layer(random, 33, 5, false, false)));
    assertThat(chain.scratchFloats(2)).isEqualTo(2L * 2 * 64);
    FloatBuffer x = FloatBuffers.allocate(2 * 50);
    assertThatThrownBy(
            () ->
                chain.run(
                    x, 2, FloatBuffers.allocate(2 * 2 * 64 - 1), FloatBuffers.allocate(2 * 5)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("tmp");
    assertThatThrownBy(
            () -> chain.run(x, 2, FloatBuffers.allocate(2 * 2 * 64), FloatBuffers.allocate(9)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("y");
    assertThatThrownBy(
            () ->
                chain.run(
                    FloatBuffers.allocate(99),
                    2,
                    FloatBuffers.allocate(2 * 2 * 64),
                    FloatBuffers.allocate(10)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("x");
  }
}
