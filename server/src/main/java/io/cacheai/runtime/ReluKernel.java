package io.cacheai.runtime;

import java.nio.FloatBuffer;

/** {@code y = max(x, 0)}. */
final class ReluKernel implements Kernel {
  /** Floats per block copied to the heap (16 KiB, L1-resident). */
  private static final int BLOCK = 4096;

  private final int in;
  private final int out;

  ReluKernel(int in, int out) {
    this.in = in;
    this.out = out;
  }

  @Override
  public void run(Frame frame) {
    FloatBuffer x = frame.buffer(in);
    FloatBuffer y = frame.buffer(out);
    float[] block = frame.heapIn(BLOCK);
    for (int from = 0, n = y.capacity(); from < n; from += BLOCK) {
      int length = Math.min(BLOCK, n - from);
      x.get(from, block, 0, length);
      for (int i = 0; i < length; i++) {
        block[i] = Math.max(block[i], 0f);
      }
      y.put(from, block, 0, length);
    }
  }
}
