package io.cacheai.runtime;

import java.nio.FloatBuffer;

/** {@code y = max(x, 0)}. */
final class ReluKernel implements Kernel {
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
    for (int i = 0, n = y.capacity(); i < n; i++) {
      float v = x.get(i);
      y.put(i, v > 0 ? v : 0f);
    }
  }
}
