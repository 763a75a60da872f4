package io.cacheai.runtime;

import io.cacheai.graph.PackedTensor;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;

/**
 * {@link Int8Gemm} in plain Java: each output channel's weights are gathered from the s8p16 panel
 * layout into a reused per-thread row (a streaming window, not a heap copy of the model) and dotted
 * with every activation row in exact int32 arithmetic.
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
      ByteBuffer packedWeights,
      IntBuffer bias,
      FloatBuffer scale,
      FloatBuffer y) {
    if ((long) m * k > a.capacity()
        || PackedTensor.panel16LengthBytes(n, k) > packedWeights.capacity()
        || (long) m * n > y.capacity()
        || n > scale.capacity()
        || n > bias.capacity()) {
      throw new IllegalArgumentException(
          "int8 gemm m=" + m + " n=" + n + " k=" + k + ": an operand buffer is too small");
    }
    Scratch s = SCRATCH.get();
    int[] activations = s.ints(m * k);
    for (int i = 0; i < m * k; i++) {
      activations[i] = a.get(i) & 0xff;
    }
    int[] row = s.row(k);
    for (int j = 0; j < n; j++) {
      for (int t = 0; t < k; t++) {
        row[t] = packedWeights.get(PackedTensor.panel16Offset(j, t, k));
      }
      int b = bias.get(j);
      float sc = scale.get(j);
      for (int i = 0; i < m; i++) {
        int base = i * k;
        int acc = 0;
        for (int t = 0; t < k; t++) {
          acc += activations[base + t] * row[t];
        }
        y.put(i * n + j, (float) (acc + b) * sc);
      }
    }
  }

  /** Per-thread work arrays, grown on demand. */
  private static final class Scratch {
    private int[] ints = new int[0];
    private int[] row = new int[0];

    int[] ints(int length) {
      if (ints.length < length) {
        ints = new int[length];
      }
      return ints;
    }

    int[] row(int length) {
      if (row.length < length) {
        row = new int[length];
      }
      return row;
    }
  }
}
