package io.cacheai.kernels;

import static io.cacheai.kernels.IntBuffersForTests.bytes;
import static io.cacheai.kernels.IntBuffersForTests.floats;
import static io.cacheai.kernels.IntBuffersForTests.ints;
import static io.cacheai.kernels.IntBuffersForTests.zeroBytes;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@link Int8Sequence} (one native call) against the one-layer calls it replaces — {@link
 * Int8KqConv#image}, {@link Int8LanesConv#image}, {@link Int8GemmChain#run} — on the MNIST CNN's
 * shapes: equal bit for bit, vector bodies and scalar twins, random and adversarial inputs.
 */
class Int8SequenceTest {
  /** The MNIST CNN: 1→16 5×5 pad 2 on 28×28, pool 2; 16→32 5×5 on 14×14, pool 2; 800→120→84→10. */
  private record Net(Int8Sequence.KqConv conv1, Int8Sequence.LanesConv conv2, Int8GemmChain head) {
    Int8Sequence sequence() {
      return new Int8Sequence(List.of(conv1, conv2, new Int8Sequence.GemmChain(head, 1)));
    }
  }

  private static ByteBuffer packed(byte[] w, int m, int k) {
    ByteBuffer packed = zeroBytes(Int8Gemm.packedSizeBytes(m, k), 0);
    Int8Gemm.pack(bytes(w, 0), m, k, packed);
    return packed;
  }

  private static byte[] weights(Random random, int count, Integer fixed) {
    byte[] w = new byte[count];
    for (int i = 0; i < count; i++) {
      w[i] = fixed != null ? (byte) (int) fixed : (byte) (random.nextInt(256) - 128);
    }
    return w;
  }

  private static RequantParams params(Random random, int m, boolean relu, boolean unitScale) {
    int[] bias = new int[m];
    float[] scale = new float[m];
    for (int j = 0; j < m; j++) {
      bias[j] = unitScale ? 0 : random.nextInt(4001) - 2000;
      scale[j] = unitScale ? 1f : 0.0005f * (1 + random.nextInt(9));
    }
    return new RequantParams(ints(bias, 0), floats(scale, 0), 0, relu);
  }

  private static Net net(Random random, Integer fixedWeight, int pad2) {
    return net(random, fixedWeight, pad2, 1, 5, 5, 16);
  }

  /** conv1: c1 → m1 channels, kh1×kw1 (odd) padded to a 28×28 output; conv2: m1 → 32, 5×5. */
  private static Net net(
      Random random, Integer fixedWeight, int pad2, int c1, int kh1, int kw1, int m1) {
    int out2 = 10 + 2 * pad2;
    int pooled2 = out2 / 2;
    int flat = 32 * pooled2 * pooled2;
    boolean unit = fixedWeight != null;
    int k1 = c1 * kh1 * kw1;
    ByteBuffer w1 = packed(weights(random, m1 * k1, fixedWeight), m1, k1);
    Int8Sequence.KqConv conv1 =
        new Int8Sequence.KqConv(
            c1,
            28,
            28,
            new int[] {kh1 / 2, kh1 / 2, kw1 / 2, kw1 / 2},
            unit ? 1e-6f : 0.0078f,
            unit ? 0 : random.nextInt(256),
            Int8KqConv.packWeights(w1, m1, c1, kh1, kw1),
            m1,
            kh1,
            kw1,
            Int8KqConv.pixelStride(28 + kh1 - 1, 28 + kw1 - 1, kh1, kw1, 28),
            params(random, m1, true, unit),
            new int[] {2, 2, 14, 14});
    ByteBuffer w2 = packed(weights(random, 32 * m1 * 25, fixedWeight), 32, m1 * 25);
    Int8Sequence.LanesConv conv2 =
        new Int8Sequence.LanesConv(
            m1,
            14,
            14,
            new int[] {pad2, pad2, pad2, pad2},
            unit ? 1e-6f : 0.05f,
            unit ? 0 : random.nextInt(256),
            Int8LanesConv.packWeights(w2, 32, m1, 5, 5),
            32,
            5,
            5,
            Int8DirectConv.pixelStride(14 + 2 * pad2, 14 + 2 * pad2, 5, 5, out2),
            params(random, 32, true, unit),
            new int[] {2, 2, pooled2, pooled2});
    int[][] dims = {{flat, 120}, {120, 84}, {84, 10}};
    List<Int8GemmChain.Layer> layers = new java.util.ArrayList<>();
    for (int l = 0; l < 3; l++) {
      int k = dims[l][0];
      int n = dims[l][1];
      layers.add(
          new Int8GemmChain.Layer(
              packed(weights(random, n * k, fixedWeight), n, k),
              k,
              n,
              unit ? 1e-6f : 0.05f + random.nextInt(5) * 0.01f,
              unit ? 0 : random.nextInt(256),
              params(random, n, l < 2, unit)));
    }
    return new Net(conv1, conv2, new Int8GemmChain(layers));
  }

  /** The three one-layer calls the sequence replaces. */
  private static float[] oneCallPerLayer(Net net, float[] image, ConvBody body) {
    Int8Sequence.KqConv a = net.conv1();
    int m1 = a.m();
    FloatBuffer pooled1 = floats(new float[m1 * 14 * 14], 0);
    Int8KqConv.image(
        new ConvInput(floats(image, 0), a.channels(), 28, 28, a.pads(), a.scale(), a.zeroPoint()),
        a.wk(),
        m1,
        a.kH(),
        a.kW(),
        a.pixelStride(),
        a.params(),
        zeroBytes((long) a.channels() * a.pixelStride(), 0),
        floats(new float[m1 * Int8DirectConv.wideLength(28, 28 + a.kW() - 1)], 0),
        a.pool(),
        pooled1,
        body);
    Int8Sequence.LanesConv b = net.conv2();
    int flat = net.head().inputWidth();
    int pad2 = b.pads()[0];
    int side = 14 + 2 * pad2;
    FloatBuffer pooled2 = floats(new float[flat], 0);
    Int8LanesConv.image(
        new ConvInput(pooled1, m1, 14, 14, b.pads(), b.scale(), b.zeroPoint()),
        b.wt(),
        32,
        5,
        5,
        b.pixelStride(),
        b.params(),
        zeroBytes((long) m1 * side * side, 0),
        zeroBytes(Int8DirectConv.inputBytes(m1, b.pixelStride()), 0),
        floats(new float[(int) Int8LanesConv.productFloats(32, side - 4, side - 4)], 0),
        b.pool(),
        pooled2,
        body);
    Int8GemmChain head = net.head();
    FloatBuffer y = floats(new float[10], 0);
    head.run(
        pooled2,
        1,
        zeroBytes(head.activationBytes(1), 0),
        ints(new int[(int) head.accumulatorInts(1)], 0),
        floats(new float[(int) head.intermediateFloats(1)], 0),
        y);
    return IntBuffersForTests.toArray(y, 10);
  }

  private static float[] sequence(Int8Sequence sequence, float[] image, ConvBody body) {
    ByteBuffer scratch = zeroBytes(sequence.scratchBytes(), 0);
    for (int i = 0; i < scratch.capacity(); i++) {
      scratch.put(i, (byte) 0x7F); // every byte read is written first
    }
    FloatBuffer y = floats(new float[10], 0);
    sequence.run(floats(image, 0), scratch, y, body);
    return IntBuffersForTests.toArray(y, 10);
  }

  @ParameterizedTest(name = "seed={0} conv2 pad={1}")
  @CsvSource({"1, 0", "2, 0", "3, 1", "4, 2"})
  void run_equalsOneCallPerLayer(int seed, int pad2) {
    Random random = new Random(seed);
    Net net = net(random, null, pad2);
    Int8Sequence sequence = net.sequence();
    assertThat(sequence.inputFloats()).isEqualTo(784);
    assertThat(sequence.outputFloats()).isEqualTo(10);
    for (int round = 0; round < 3; round++) {
      float[] image = new float[784];
      for (int i = 0; i < image.length; i++) {
        image[i] = i % 97 == 0 ? 1e9f : i % 89 == 0 ? -1e9f : random.nextFloat() * 2 - 0.3f;
      }
      float[] expected = oneCallPerLayer(net, image, ConvBody.BEST);
      assertThat(sequence(sequence, image, ConvBody.BEST)).containsExactly(expected);
      assertThat(sequence(sequence, image, ConvBody.SCALAR_TWIN)).containsExactly(expected);
      assertThat(oneCallPerLayer(net, image, ConvBody.SCALAR_TWIN)).containsExactly(expected);
    }
  }

  /**
   * Other first layers: 1–3 input channels, kernels whose width is a multiple of 4 or not (the kqc
   * column quads: 5 → 1 + 1 quads per row, 7 → 1 + 3 columns, 3 → 0 + 3), 16 or 32 channels.
   */
  @ParameterizedTest(name = "c1={0} kernel={1}x{2} m1={3}")
  @CsvSource({"2, 5, 5, 16", "3, 7, 7, 32", "1, 3, 3, 16", "2, 3, 7, 32", "1, 9, 5, 16"})
  void run_otherFirstLayers_equalsOneCallPerLayer(int c1, int kh1, int kw1, int m1) {
    Random random = new Random(31 * c1 + kh1);
    Net net = net(random, null, 0, c1, kh1, kw1, m1);
    Int8Sequence sequence = net.sequence();
    for (int round = 0; round < 2; round++) {
      float[] image = new float[c1 * 784];
      for (int i = 0; i < image.length; i++) {
        image[i] = i % 97 == 0 ? 1e9f : random.nextFloat() * 2 - 0.3f;
      }
      float[] expected = oneCallPerLayer(net, image, ConvBody.SCALAR_TWIN);
      assertThat(sequence(sequence, image, ConvBody.BEST)).containsExactly(expected);
      assertThat(sequence(sequence, image, ConvBody.SCALAR_TWIN)).containsExactly(expected);
      assertThat(oneCallPerLayer(net, image, ConvBody.BEST)).containsExactly(expected);
    }
  }

  /** All-255 activations × all ±127 / −128 weights through every step. */
  @ParameterizedTest(name = "weight={0} conv2 pad={1}")
  @CsvSource({"127, 0", "-127, 0", "-128, 0", "127, 1"})
  void run_adversarialExtremes(int weight, int pad2) {
    Net net = net(new Random(7), weight, pad2);
    float[] image = new float[784];
    Arrays.fill(image, 1e9f); // saturates to 255
    float[] expected = oneCallPerLayer(net, image, ConvBody.SCALAR_TWIN);
    Int8Sequence sequence = net.sequence();
    assertThat(sequence(sequence, image, ConvBody.BEST)).containsExactly(expected);
    assertThat(sequence(sequence, image, ConvBody.SCALAR_TWIN)).containsExactly(expected);
    assertThat(oneCallPerLayer(net, image, ConvBody.BEST)).containsExactly(expected);
    // every layer's input saturates to 255 (w > 0: positive sums, tiny scales), so the last layer
    // is 255·w·84 exactly
    if (weight > 0) {
      assertThat(expected[0]).isEqualTo((float) (255L * weight * 84));
      assertThat(expected).containsOnly(expected[0]);
    }
  }

  @Test
  void refusals_nameTheField() {
    Net net = net(new Random(5), null, 0);
    Int8Sequence.KqConv a = net.conv1();
    assertThatThrownBy(
            () -> new Int8Sequence(List.of(a, new Int8Sequence.GemmChain(net.head(), 1))))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("step 1 reads 800 floats but step 0 writes 3136");
    assertThatThrownBy(
            () ->
                new Int8Sequence.KqConv(
                    1,
                    28,
                    28,
                    a.pads(),
                    a.scale(),
                    a.zeroPoint(),
                    a.wk(),
                    16,
                    5,
                    5,
                    a.pixelStride() + 16,
                    a.params(),
                    a.pool()))
        .hasMessageContaining("pixelStride=");
    assertThatThrownBy(
            () ->
                new Int8Sequence.KqConv(
                    1,
                    28,
                    28,
                    a.pads(),
                    a.scale(),
                    a.zeroPoint(),
                    a.wk().slice(0, 64),
                    16,
                    5,
                    5,
                    a.pixelStride(),
                    a.params(),
                    a.pool()))
        .hasMessageContaining("wk");
    assertThatThrownBy(
            () ->
                new Int8Sequence.LanesConv(
                    16,
                    14,
                    14,
                    net.conv2().pads(),
                    0.05f,
                    3,
                    net.conv2().wt(),
                    32,
                    5,
                    5,
                    net.conv2().pixelStride(),
                    net.conv2().params(),
                    new int[] {2, 2, 6, 5}))
        .hasMessageContaining("pool=");
    Int8Sequence sequence = net.sequence();
    assertThatThrownBy(
            () ->
                sequence.run(
                    floats(new float[784], 0),
                    zeroBytes(sequence.scratchBytes() - 1, 0),
                    floats(new float[10], 0),
                    ConvBody.BEST))
        .hasMessageContaining("scratch");
    assertThatThrownBy(
            () ->
                sequence.run(
                    floats(new float[783], 0),
                    zeroBytes(sequence.scratchBytes(), 0),
                    floats(new float[10], 0),
                    ConvBody.BEST))
        .hasMessageContaining("x");
    assertThatThrownBy(
            () ->
                sequence.run(
                    floats(new float[784], 0),
                    zeroBytes(sequence.scratchBytes(), 0),
                    floats(new float[9], 0),
                    ConvBody.BEST))
        .hasMessageContaining("y");
  }
}
