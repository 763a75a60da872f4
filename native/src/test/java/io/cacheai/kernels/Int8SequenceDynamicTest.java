package io.cacheai.kernels;

import static io.cacheai.kernels.IntBuffersForTests.bytes;
import static io.cacheai.kernels.IntBuffersForTests.floats;
import static io.cacheai.kernels.IntBuffersForTests.zeroBytes;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The low-bit CNN's steps of an {@link Int8Sequence} — {@link Int8Sequence.Dynamic} convolutions
 * (per-image quantization in C) and the {@link Int8Sequence.Q4Chain} head — against the one-layer
 * calls they replace ({@link LowBitConv#dynamicStage}, then {@link Int8KqConv#image} / {@link
 * Int8LanesConv#image} with the stage's scale, zero point and output stage; {@link
 * Q4GemmChain#run}) on the MNIST CNN's shapes: bit for bit, vector bodies and scalar twins; a
 * refused stage returns its code.
 */
class Int8SequenceDynamicTest {
  private record Net(
      Int8Sequence.KqConv conv1,
      LowBitConv.TwinStage stage1,
      Int8Sequence.LanesConv conv2,
      LowBitConv.TwinStage stage2,
      Q4GemmChain head) {
    Int8Sequence sequence() {
      return new Int8Sequence(
          List.of(
              new Int8Sequence.Dynamic(conv1, stage1, true),
              new Int8Sequence.Dynamic(conv2, stage2, true),
              new Int8Sequence.Q4Chain(head, 1)));
    }
  }

  private static ByteBuffer packed(byte[] w, int m, int k) {
    ByteBuffer packed = zeroBytes(Int8Gemm.packedSizeBytes(m, k), 0);
    Int8Gemm.pack(bytes(w, 0), m, k, packed);
    return packed;
  }

  /** Weights q in ±limit, their per-row sums, scales d and (bias: random) bias as the stage. */
  private static LowBitConv.TwinStage stage(
      Random random, byte[] w, int m, int k, boolean bias, float[] scalesOut) {
    int[] sums = new int[m];
    for (int r = 0; r < m; r++) {
      for (int c = 0; c < k; c++) {
        sums[r] += w[r * k + c];
      }
      scalesOut[r] = 0.001f * (1 + random.nextInt(20));
    }
    FloatBuffer b = null;
    if (bias) {
      float[] values = new float[m];
      for (int r = 0; r < m; r++) {
        values[r] = (float) random.nextGaussian() * 0.3f;
      }
      b = floats(values, 0);
    }
    return LowBitConv.TwinStage.of(scalesOut, sums, b);
  }

  private static byte[] weights(Random random, int count, int limit) {
    byte[] w = new byte[count];
    for (int i = 0; i < count; i++) {
      w[i] = (byte) (random.nextInt(2 * limit + 1) - limit);
    }
    return w;
  }

  /** A placeholder output stage (the dynamic step replaces it per image). */
  private static RequantParams unit(int m) {
    float[] ones = new float[m];
    java.util.Arrays.fill(ones, 1f);
    return new RequantParams(null, floats(ones, 0), 0, false);
  }

  private static Q4GemmChain head(Random random, int[][] dims) {
    List<Q4GemmChain.Layer> layers = new java.util.ArrayList<>();
    for (int l = 0; l < dims.length; l++) {
      int k = dims[l][0];
      int n = dims[l][1];
      int kp = (k + 31) / 32 * 32;
      float[] w = new float[n * kp];
      for (int r = 0; r < n; r++) {
        for (int c = 0; c < k; c++) {
          w[r * kp + c] = (float) random.nextGaussian() * 0.2f;
        }
      }
      ByteBuffer blocks =
          ByteBuffer.allocateDirect((int) Q4Gemm.sizeBytes(n, kp)).order(ByteOrder.nativeOrder());
      Q4Gemm.quantize(floats(w, 0), n, kp, blocks);
      float[] bias = new float[n];
      for (int j = 0; j < n; j++) {
        bias[j] = (float) random.nextGaussian() * 0.5f;
      }
      layers.add(new Q4GemmChain.Layer(blocks, k, n, floats(bias, 0), l < dims.length - 1));
    }
    return new Q4GemmChain(layers);
  }

  /** MNIST CNN int4: 1→8 5×5 pad 2, pool 2; 8→16 5×5 pad 2, pool 3; 256→...→10 q4g32. */
  private static Net net(Random random, boolean bias) {
    int m1 = 16;
    int m2 = 16;
    byte[] w1 = weights(random, m1 * 25, 120);
    float[] d1 = new float[m1];
    LowBitConv.TwinStage s1 = stage(random, w1, m1, 25, bias, d1);
    Int8Sequence.KqConv conv1 =
        new Int8Sequence.KqConv(
            1,
            28,
            28,
            new int[] {2, 2, 2, 2},
            1f,
            0,
            Int8KqConv.packWeights(packed(w1, m1, 25), m1, 1, 5, 5),
            m1,
            5,
            5,
            Int8KqConv.pixelStride(32, 32, 5, 5, 28),
            unit(m1),
            new int[] {2, 2, 14, 14});
    byte[] w2 = weights(random, m2 * m1 * 25, 127);
    float[] d2 = new float[m2];
    LowBitConv.TwinStage s2 = stage(random, w2, m2, m1 * 25, bias, d2);
    Int8Sequence.LanesConv conv2 =
        new Int8Sequence.LanesConv(
            m1,
            14,
            14,
            new int[] {2, 2, 2, 2},
            1f,
            0,
            Int8LanesConv.packWeights(packed(w2, m2, m1 * 25), m2, m1, 5, 5),
            m2,
            5,
            5,
            Int8DirectConv.pixelStride(18, 18, 5, 5, 14),
            unit(m2),
            new int[] {3, 3, 4, 4});
    return new Net(conv1, s1, conv2, s2, head(random, new int[][] {{256, 50}, {50, 10}}));
  }

  /** The one-layer calls the sequence replaces; null when a stage refuses. */
  private static float[] oneCallPerLayer(Net net, float[] image, ConvBody body) {
    Int8Sequence.KqConv a = net.conv1();
    int m1 = a.m();
    IntBuffer bias1 =
        java.nio.ByteBuffer.allocateDirect(4 * m1).order(ByteOrder.nativeOrder()).asIntBuffer();
    FloatBuffer scale1 = FloatBuffers.allocate(m1 + 2);
    if (LowBitConv.dynamicStage(floats(image, 0), 784, net.stage1(), bias1, scale1)
        != LowBitConv.STAGE_OK) {
      return null;
    }
    FloatBuffer pooled1 = floats(new float[m1 * 14 * 14], 0);
    Int8KqConv.image(
        new ConvInput(
            floats(image, 0), 1, 28, 28, a.pads(), scale1.get(m1), (int) scale1.get(m1 + 1)),
        a.wk(),
        m1,
        5,
        5,
        a.pixelStride(),
        new RequantParams(bias1, scale1, 0, true),
        zeroBytes(a.pixelStride(), 0),
        floats(new float[m1 * Int8DirectConv.wideLength(28, 32)], 0),
        a.pool(),
        pooled1,
        body);
    Int8Sequence.LanesConv b = net.conv2();
    int m2 = b.m();
    IntBuffer bias2 =
        java.nio.ByteBuffer.allocateDirect(4 * m2).order(ByteOrder.nativeOrder()).asIntBuffer();
    FloatBuffer scale2 = FloatBuffers.allocate(m2 + 2);
    if (LowBitConv.dynamicStage(pooled1, m1 * 196, net.stage2(), bias2, scale2)
        != LowBitConv.STAGE_OK) {
      return null;
    }
    FloatBuffer pooled2 = floats(new float[m2 * 16], 0);
    Int8LanesConv.image(
        new ConvInput(pooled1, m1, 14, 14, b.pads(), scale2.get(m2), (int) scale2.get(m2 + 1)),
        b.wt(),
        m2,
        5,
        5,
        b.pixelStride(),
        new RequantParams(bias2, scale2, 0, true),
        zeroBytes((long) m1 * 18 * 18, 0),
        zeroBytes(Int8DirectConv.inputBytes(m1, b.pixelStride()), 0),
        floats(new float[(int) Int8LanesConv.productFloats(m2, 14, 14)], 0),
        b.pool(),
        pooled2,
        body);
    Q4GemmChain head = net.head();
    FloatBuffer y = floats(new float[10], 0);
    head.run(pooled2, 1, FloatBuffers.allocate((int) head.scratchFloats(1)), y);
    return IntBuffersForTests.toArray(y, 10);
  }

  private static int run(Int8Sequence sequence, float[] image, ConvBody body, float[] out) {
    ByteBuffer scratch = zeroBytes(sequence.scratchBytes(), 0);
    for (int i = 0; i < scratch.capacity(); i++) {
      scratch.put(i, (byte) 0x7F); // every byte read is written first
    }
    FloatBuffer y = floats(new float[10], 0);
    int code = sequence.run(floats(image, 0), scratch, y, body);
    System.arraycopy(IntBuffersForTests.toArray(y, 10), 0, out, 0, 10);
    return code;
  }

  @ParameterizedTest(name = "seed={0} bias={1}")
  @CsvSource({"1, true", "2, false", "3, true"})
  void run_equalsOneCallPerLayer(int seed, boolean bias) {
    Assumptions.assumeTrue(Int8KqConv.available(), "the kw-quad kernel (AVX-512 VBMI) runs here");
    Random random = new Random(seed);
    Net net = net(random, bias);
    Int8Sequence sequence = net.sequence();
    assertThat(sequence.inputFloats()).isEqualTo(784);
    assertThat(sequence.outputFloats()).isEqualTo(10);
    for (int round = 0; round < 4; round++) {
      float[] image = new float[784];
      for (int i = 0; i < image.length; i++) {
        image[i] =
            round == 3 ? 0f : i % 97 == 0 ? 40f : random.nextFloat() * 2 - (round == 1 ? 1 : 0.3f);
      }
      float[] expected = oneCallPerLayer(net, image, ConvBody.BEST);
      float[] y = new float[10];
      if (round == 3 && bias) { // all zeros: scale FLT_MIN, bias / scale out of s32's range
        assertThat(expected).isNull();
        assertThat(run(sequence, image, ConvBody.BEST, y)).isEqualTo(LowBitConv.STAGE_OUT_OF_RANGE);
        continue;
      }
      assertThat(expected).isNotNull();
      assertThat(run(sequence, image, ConvBody.BEST, y)).isEqualTo(LowBitConv.STAGE_OK);
      assertThat(y).as("round %d", round).containsExactly(expected);
      assertThat(run(sequence, image, ConvBody.SCALAR_TWIN, y)).isEqualTo(LowBitConv.STAGE_OK);
      assertThat(y).as("round %d scalar twin", round).containsExactly(expected);
      assertThat(oneCallPerLayer(net, image, ConvBody.SCALAR_TWIN)).containsExactly(expected);
    }
    float[] nan = new float[784];
    nan[300] = Float.NaN;
    assertThat(run(sequence, nan, ConvBody.BEST, new float[10]))
        .isEqualTo(LowBitConv.STAGE_NOT_FINITE);
    assertThat(oneCallPerLayer(net, nan, ConvBody.BEST)).isNull();
  }

  @org.junit.jupiter.api.Test
  void dynamic_refusesMismatchedStage() {
    Net net = net(new Random(5), true);
    LowBitConv.TwinStage eight = LowBitConv.TwinStage.of(new float[8], new int[8], null);
    assertThatThrownBy(() -> new Int8Sequence.Dynamic(net.conv1(), eight, true))
        .hasMessageContaining("stage m=8");
    assertThatThrownBy(
            () -> new Int8Sequence.Dynamic(new Int8Sequence.Q4Chain(net.head(), 1), null, true))
        .hasMessageContaining("KqConv or LanesConv");
  }
}
