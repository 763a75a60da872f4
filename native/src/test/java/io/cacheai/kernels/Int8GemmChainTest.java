package io.cacheai.kernels;

import static io.cacheai.kernels.IntBuffersForTests.bytes;
import static io.cacheai.kernels.IntBuffersForTests.floats;
import static io.cacheai.kernels.IntBuffersForTests.ints;
import static io.cacheai.kernels.IntBuffersForTests.zeroBytes;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link Int8GemmChain} against one {@link Int8Gemm#quantizedLayer} per layer: equal bit for bit.
 */
class Int8GemmChainTest {
  private static Int8GemmChain.Layer layer(Random random, int k, int n, boolean relu) {
    byte[] w = new byte[n * k];
    for (int i = 0; i < w.length; i++) {
      w[i] = (byte) (random.nextInt(256) - 128);
    }
    ByteBuffer packed = zeroBytes(Int8Gemm.packedSizeBytes(n, k), 0);
    Int8Gemm.pack(bytes(w, 0), n, k, packed);
    int[] bias = new int[n];
    float[] scale = new float[n];
    for (int j = 0; j < n; j++) {
      bias[j] = random.nextInt(40001) - 20000;
      scale[j] = 0.0005f * (1 + random.nextInt(9));
    }
    return new Int8GemmChain.Layer(
        packed,
        k,
        n,
        0.02f + random.nextInt(5) * 0.01f,
        random.nextInt(256),
        new RequantParams(ints(bias, 0), floats(scale, 0), 0, relu));
  }

  @ParameterizedTest(name = "m={0}")
  @ValueSource(ints = {1, 3})
  void run_equalsOneCallPerLayer(int m) {
    Random random = new Random(11 + m);
    List<Int8GemmChain.Layer> layers = new ArrayList<>();
    layers.add(layer(random, 800, 120, true));
    layers.add(layer(random, 120, 84, true));
    layers.add(layer(random, 84, 10, false));
    float[] x = new float[m * 800];
    for (int i = 0; i < x.length; i++) {
      x[i] = i % 13 == 0 ? 1e9f : (float) (random.nextGaussian() * 2);
    }
    FloatBuffer in = floats(x, 0);
    for (Int8GemmChain.Layer l : layers) {
      FloatBuffer out = floats(new float[m * l.n()], 0);
      Int8Gemm.quantizedLayer(
          in,
          m,
          l.k(),
          l.xScale(),
          l.xZeroPoint(),
          l.packedWeights(),
          l.n(),
          l.params(),
          zeroBytes((long) m * l.k(), 0),
          ints(m * l.n(), 0),
          out);
      in = out;
    }
    Int8GemmChain chain = new Int8GemmChain(layers);
    FloatBuffer y = floats(new float[m * 10], 0);
    chain.run(
        floats(x, 0),
        m,
        zeroBytes(chain.activationBytes(m), 0),
        ints((int) chain.accumulatorInts(m), 0),
        floats(new float[(int) chain.intermediateFloats(m)], 0),
        y);
    assertThat(IntBuffersForTests.toArray(y, m * 10))
        .containsExactly(IntBuffersForTests.toArray(in, m * 10));
    assertThatThrownBy(
            () ->
                chain.run(
                    floats(x, 0),
                    m,
                    zeroBytes(chain.activationBytes(m), 0),
                    ints((int) chain.accumulatorInts(m), 0),
                    floats(new float[(int) chain.intermediateFloats(m) - 1], 0),
                    y))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("tmp");
  }

  @ParameterizedTest(name = "k={0}")
  @ValueSource(ints = {119, 121})
  void constructor_refusesMismatchedWidths(int k) {
    Random random = new Random(3);
    List<Int8GemmChain.Layer> layers =
        List.of(layer(random, 50, 120, true), layer(random, k, 7, false));
    assertThatThrownBy(() -> new Int8GemmChain(layers))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("layer 1: k=" + k);
  }
}
