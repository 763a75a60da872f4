package io.cacheai.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Both {@link Int8Gemm} implementations are exact: compared with a long-arithmetic triple loop over
 * the dense weights, and with each other bit for bit.
 */
class Int8GemmTest {
  private static void check(int m, int n, int k, byte[] a, byte[] w, int[] bias) {
    ByteBuffer dense = ByteBuffer.allocateDirect(n * k).put(w).flip();
    ByteBuffer packed =
        ByteBuffer.allocateDirect((int) io.cacheai.kernels.Int8Gemm.packedSizeBytes(n, k));
    io.cacheai.kernels.Int8Gemm.pack(dense, n, k, packed);
    IntBuffer biasBuffer = direct(4 * n).asIntBuffer().put(bias).flip();
    FloatBuffer scale = direct(4 * n).asFloatBuffer();
    for (int j = 0; j < n; j++) {
      scale.put(j, 1f);
    }
    ByteBuffer activations = ByteBuffer.allocateDirect(m * k).put(a).flip();
    FloatBuffer reference = direct(4 * m * n).asFloatBuffer();
    FloatBuffer nativeY = direct(4 * m * n).asFloatBuffer();
    Int8Gemm.reference().run(m, n, k, activations, packed, biasBuffer, scale, reference);
    Int8Gemm.nativeKernels().run(m, n, k, activations, packed, biasBuffer, scale, nativeY);
    for (int i = 0; i < m; i++) {
      for (int j = 0; j < n; j++) {
        long expected = bias[j];
        for (int t = 0; t < k; t++) {
          expected += (long) (a[i * k + t] & 0xff) * w[j * k + t];
        }
        assertThat((double) reference.get(i * n + j))
            .as("y[%d,%d]", i, j)
            .isEqualTo((double) (float) expected);
        assertThat(nativeY.get(i * n + j))
            .as("native y[%d,%d]", i, j)
            .isEqualTo(reference.get(i * n + j));
      }
    }
  }

  private static ByteBuffer direct(int bytes) {
    return ByteBuffer.allocateDirect(bytes).order(ByteOrder.nativeOrder());
  }

  @Test
  void run_randomInputs_exactAndNativeIdentical() {
    Random random = new Random(3);
    for (int m : new int[] {1, 7}) {
      int n = 21; // not a multiple of the 16-channel panel
      int k = 33; // odd: a padded k pair
      byte[] a = new byte[m * k];
      byte[] w = new byte[n * k];
      random.nextBytes(a);
      random.nextBytes(w);
      for (int i = 0; i < w.length; i++) {
        w[i] = (byte) Math.max(-127, w[i]);
      }
      check(m, n, k, a, w, random.ints(n, -1000, 1000).toArray());
    }
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
    check(2, 2, k, a, w, new int[] {0, 0});
  }
}
