package io.cacheai.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.cacheai.compress.WeightQuantizer;
import io.cacheai.graph.PackedTensor;
import io.cacheai.kernels.FloatBuffers;
import java.nio.FloatBuffer;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@link LowBitWeights#toQ4g32Blocks}: the 4/3/2-bit group formats re-encoded as q4g32 blocks hold
 * exactly the same weights (both expanded to fp32 and compared bit for bit), and formats whose
 * scales change inside a run of 32 are refused (null).
 */
class LowBitWeightsTest {
  @ParameterizedTest(name = "{0} n={1} k={2} g={3}")
  @CsvSource({
    "Q3_GROUP, 7, 784, 784", // int3, one scale per output channel (mixed's choice)
    "Q2_GROUP, 5, 800, 32",
    "Q4_GROUP, 3, 120, 64",
    "Q3_GROUP, 4, 84, 84",
    "Q2_GROUP, 2, 96, 16" // scales change every 16: not representable
  })
  void toQ4g32Blocks_sameWeights(String formatName, int n, int k, int groupSize) {
    PackedTensor.Format format = PackedTensor.Format.valueOf(formatName);
    Random random = new Random(n * 31L + k);
    float[] w = new float[n * k];
    for (int i = 0; i < w.length; i++) {
      w[i] = (float) random.nextGaussian();
    }
    PackedTensor packed = WeightQuantizer.lowBit(w, new long[] {n, k}, format, groupSize);
    var blocks = LowBitWeights.toQ4g32Blocks(packed);
    if (groupSize % 32 != 0 && groupSize < k) {
      assertThat(blocks).isNull();
      return;
    }
    FloatBuffer expected = FloatBuffers.allocate(n * k);
    LowBitWeights.dequantize(packed, expected);
    FloatBuffer actual = FloatBuffers.allocate(n * k);
    LowBitWeights.dequantize(
        new PackedTensor(
            PackedTensor.Format.Q4G32_BLOCKS, new long[] {n, k}, blocks, new float[0], 32),
        actual);
    for (int i = 0; i < n * k; i++) {
      assertThat(Float.floatToIntBits(actual.get(i)))
          .as("w[%d]", i)
          .isEqualTo(Float.floatToIntBits(expected.get(i)));
    }
  }
}
