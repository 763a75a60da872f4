package io.cacheai.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The reference int8 product is exact: compared with a long-arithmetic triple loop. */
class Int8GemmTest {
  private static void check(int m, int n, int k, byte[] a, int aZero, byte[] w, int[] bias) {
    ByteBuffer biasBytes = ByteBuffer.allocate(4 * n).order(ByteOrder.LITTLE_ENDIAN);
    for (int j = 0; j < n; j++) {
      biasBytes.putInt(4 * j, bias[j]);
    }
    float[] scale = new float[n];
    java.util.Arrays.fill(scale, 1f);
    FloatBuffer y = FloatBuffer.allocate(m * n);
    Int8Gemm.reference()
        .run(m, n, k, ByteBuffer.wrap(a), aZero, ByteBuffer.wrap(w), biasBytes, scale, y);
    for (int i = 0; i < m; i++) {
      for (int j = 0; j < n; j++) {
        long expected = bias[j];
        for (int t = 0; t < k; t++) {
          expected += (long) ((a[i * k + t] & 0xff) - aZero) * w[j * k + t];
        }
        assertThat((double) y.get(i * n + j)).as("y[%d,%d]", i, j).isEqualTo((double) expected);
      }
    }
  }

  @Test
  void run_randomInputs_exact() {
    Random random = new Random(3);
    int m = 7;
    int n = 5;
    int k = 33;
    byte[] a = new byte[m * k];
    byte[] w = new byte[n * k];
    random.nextBytes(a);
    random.nextBytes(w);
    for (int i = 0; i < w.length; i++) {
      w[i] = (byte) Math.max(-127, w[i]);
    }
    int[] bias = random.ints(n, -1000, 1000).toArray();
    check(m, n, k, a, 131, w, bias);
  }

  @Test
  void run_adversarial255TimesPlusMinus127_noSaturation() {
    // 2·255·127 overflows int16: an exact kernel must not saturate (what maddubs would do)
    int k = 256;
    byte[] a = new byte[2 * k];
    java.util.Arrays.fill(a, (byte) 255);
    byte[] w = new byte[2 * k];
    java.util.Arrays.fill(w, 0, k, (byte) 127);
    java.util.Arrays.fill(w, k, 2 * k, (byte) -127);
    check(2, 2, k, a, 0, w, new int[] {0, 0});
  }
}
