package io.cacheai.runtime;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/**
 * {@link Int8Gemm} in plain Java: for each output channel, its weight row is read once (bulk copy
 * from the mapped bundle into a reused per-thread row — a streaming window, not a heap copy of the
 * model) and dotted with every activation row; all integer math is exact in int32 (|acc| ≤
 * K·255·127 fits for K < 66 000).
 */
final class ReferenceInt8Gemm implements Int8Gemm {
  static final ReferenceInt8Gemm INSTANCE = new ReferenceInt8Gemm();

  private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

  private ReferenceInt8Gemm() {}

  @Override
  public void run(
      int m,
      int n,
      int k,
      ByteBuffer a,
      int aZero,
      ByteBuffer w,
      ByteBuffer bias,
      float[] outScale,
      FloatBuffer y) {
    if ((long) m * k > a.capacity() || (long) n * k > w.capacity() || (long) m * n > y.capacity()) {
      throw new IllegalArgumentException(
          "int8 gemm m=" + m + " n=" + n + " k=" + k + ": a, w or y too small");
    }
    Scratch s = SCRATCH.get();
    int[] centered = s.ints(m * k);
    for (int i = 0; i < m * k; i++) {
      centered[i] = (a.get(i) & 0xff) - aZero;
    }
    byte[] row = s.bytes(k);
    ByteBuffer biasLe = bias == null ? null : bias.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    for (int j = 0; j < n; j++) {
      w.get(j * k, row, 0, k);
      int b = biasLe == null ? 0 : biasLe.getInt(4 * j);
      float scale = outScale[j];
      for (int i = 0; i < m; i++) {
        int base = i * k;
        int acc = b;
        for (int t = 0; t < k; t++) {
          acc += centered[base + t] * row[t];
        }
        y.put(i * n + j, scale * acc);
      }
    }
  }

  /** Per-thread work arrays, grown on demand. */
  private static final class Scratch {
    private int[] ints = new int[0];
    private byte[] bytes = new byte[0];

    int[] ints(int length) {
      if (ints.length < length) {
        ints = new int[length];
      }
      return ints;
    }

    byte[] bytes(int length) {
      if (bytes.length < length) {
        bytes = new byte[length];
      }
      return bytes;
    }
  }
}
