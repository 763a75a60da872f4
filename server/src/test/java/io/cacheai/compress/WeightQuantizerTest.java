package io.cacheai.compress;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.cacheai.graph.Fp16;
import io.cacheai.graph.PackedTensor;
import java.nio.ByteBuffer;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class WeightQuantizerTest {
  @Test
  void int8PerChannel_matchesHandComputedReference() {
    // row 0: max |w| = 2.54 -> scale 0.02; row 1: max |w| = 0.127 -> scale 0.001
    float[] w = {2.54f, -1.27f, 0.011f, 0f, 0.127f, -0.0635f, 0.0004f, -0.127f};
    PackedTensor q = WeightQuantizer.int8PerChannel(w, new long[] {2, 4});
    assertThat(q.scales()[0]).isCloseTo(0.02f, within(1e-7f));
    assertThat(q.scales()[1]).isCloseTo(0.001f, within(1e-8f));
    byte[] bytes = new byte[8];
    q.data().get(bytes);
    // rint(0.011/0.02)=rint(0.55)=1, rint(-0.0635/0.001)=rint(-63.5)=-64 (half to even), 0.4->0
    assertThat(bytes).containsExactly(127, -64, 1, 0, 127, -64, 0, -127);
  }

  @Test
  void int8PerChannel_reconstructionErrorWithinHalfAStep() {
    Random random = new Random(7);
    float[] w = new float[64 * 100];
    for (int i = 0; i < w.length; i++) {
      w[i] = (float) random.nextGaussian() * (1 + i / 100);
    }
    PackedTensor q = WeightQuantizer.int8PerChannel(w, new long[] {64, 100});
    ByteBuffer data = q.data();
    for (int i = 0; i < w.length; i++) {
      float scale = q.scales()[i / 100];
      assertThat(scale * data.get(i)).isCloseTo(w[i], within(scale / 2 * 1.0001f));
    }
  }

  @Test
  void int32Bias_isBiasOverTheProductOfScales() {
    PackedTensor bias =
        WeightQuantizer.int32Bias(new float[] {1f, -0.5f}, 0.01f, new float[] {0.02f, 0.5f});
    ByteBuffer data = bias.data();
    assertThat(data.getInt(0)).isEqualTo(5000); // 1 / (0.01 * 0.02)
    assertThat(data.getInt(4)).isEqualTo(-100); // -0.5 / (0.01 * 0.5)
  }

  @ParameterizedTest
  @EnumSource(
      value = PackedTensor.Format.class,
      names = {"Q4_GROUP", "Q3_GROUP"})
  void lowBitValues_packAndUnpackEveryValueAtEveryBitOffset(PackedTensor.Format format) {
    int levels = 1 << format.bits();
    int count = levels * 8 + 3; // crosses byte boundaries at every offset
    ByteBuffer data = ByteBuffer.allocate((int) PackedTensor.lengthBytes(format, count));
    for (int i = 0; i < count; i++) {
      PackedTensor.putLowBitValue(data, format, i, i % levels - levels / 2);
    }
    for (int i = 0; i < count; i++) {
      assertThat(PackedTensor.lowBitValue(data, format, i))
          .as("element %d", i)
          .isEqualTo(i % levels - levels / 2);
    }
  }

  @ParameterizedTest
  @EnumSource(
      value = PackedTensor.Format.class,
      names = {"Q4_GROUP", "Q3_GROUP"})
  void lowBit_groupScalesAreFp16AndErrorBounded(PackedTensor.Format format) {
    Random random = new Random(11);
    int n = 8;
    int k = 100; // groups of 32: 32, 32, 32, 4
    float[] w = new float[n * k];
    for (int i = 0; i < w.length; i++) {
      w[i] = (float) random.nextGaussian() * 0.1f;
    }
    PackedTensor q = WeightQuantizer.lowBit(w, new long[] {n, k}, format, 32);
    assertThat(q.scales()).hasSize(n * 4);
    int qMax = (1 << (format.bits() - 1)) - 1;
    ByteBuffer data = q.data();
    for (int r = 0; r < n; r++) {
      for (int g = 0; g < 4; g++) {
        float scale = q.scales()[r * 4 + g];
        assertThat(Fp16.round(scale)).isEqualTo(scale);
        for (int c = g * 32; c < Math.min(k, g * 32 + 32); c++) {
          int i = r * k + c;
          float restored = scale * PackedTensor.lowBitValue(data, format, i);
          // clipping is allowed only above the largest level (searched scales shrink by ≤ 40%)
          float bound =
              Math.abs(w[i]) <= scale * qMax
                  ? scale / 2
                  : Math.abs(w[i]) - scale * qMax + scale / 2;
          assertThat(restored).isCloseTo(w[i], within(bound * 1.0001f + 1e-7f));
        }
      }
    }
  }

  @Test
  void lowBit_groupTooSmallForAnFp16Scale_getsAPositiveScaleAndZeros() {
    float[] w = new float[64];
    java.util.Arrays.fill(w, 0, 32, 1e-9f); // max/7 underflows fp16: a scale of 0 before
    w[40] = 0.5f;
    PackedTensor q =
        WeightQuantizer.lowBit(w, new long[] {1, 64}, PackedTensor.Format.Q4_GROUP, 32);
    for (float scale : q.scales()) {
      assertThat(scale).isPositive();
    }
    assertThat(PackedTensor.lowBitValue(q.data(), PackedTensor.Format.Q4_GROUP, 0)).isZero();
  }

  @Test
  void q4g32Blocks_sameValuesAsTheGroupedWeight_andMatchTheNativeKernel() {
    Random random = new Random(13);
    int n = 5;
    int k = 80; // 3 groups: the second block's second group is padding
    float[] w = new float[n * k];
    for (int i = 0; i < w.length; i++) {
      w[i] = (float) random.nextGaussian();
    }
    PackedTensor grouped =
        WeightQuantizer.lowBit(w, new long[] {n, k}, PackedTensor.Format.Q4_GROUP, 32);
    PackedTensor blocks = WeightQuantizer.q4g32Blocks(grouped);
    assertThat(blocks.data().remaining()).isEqualTo(n * 2 * 40);
    // y = W·x through the native q4g32 kernel with a one-hot x reads back column c exactly
    java.nio.FloatBuffer x =
        ByteBuffer.allocateDirect(4 * 96).order(java.nio.ByteOrder.nativeOrder()).asFloatBuffer();
    java.nio.FloatBuffer y =
        ByteBuffer.allocateDirect(4 * n).order(java.nio.ByteOrder.nativeOrder()).asFloatBuffer();
    for (int c : new int[] {0, 15, 16, 31, 32, 63, 64, 79}) {
      for (int i = 0; i < 96; i++) {
        x.put(i, i == c ? 1f : 0f);
      }
      io.cacheai.kernels.Q4Gemm.gemv(blocks.data(), n, 96, x, y);
      for (int r = 0; r < n; r++) {
        float expected =
            grouped.scales()[r * 3 + c / 32]
                * PackedTensor.lowBitValue(grouped.data(), PackedTensor.Format.Q4_GROUP, r * k + c);
        assertThat(y.get(r)).as("row %d column %d", r, c).isCloseTo(expected, within(1e-6f));
      }
    }
  }

  @Test
  void fp16_knownValuesAndRoundTrip() {
    assertThat(Fp16.fromFloat(1f)).isEqualTo((short) 0x3c00);
    assertThat(Fp16.fromFloat(-2f)).isEqualTo((short) 0xc000);
    assertThat(Fp16.fromFloat(65504f)).isEqualTo((short) 0x7bff);
    assertThat(Fp16.fromFloat(0x1p-24f)).isEqualTo((short) 0x0001);
    assertThat(Fp16.fromFloat(0.1f)).isEqualTo((short) 0x2e66);
    assertThat(Fp16.fromFloat(1e6f)).isEqualTo((short) 0x7c00);
    for (int bits = 0; bits < 0x7c00; bits++) {
      assertThat(Fp16.fromFloat(Fp16.toFloat((short) bits))).isEqualTo((short) bits);
    }
  }
}
