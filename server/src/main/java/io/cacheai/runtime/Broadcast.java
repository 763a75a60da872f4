package io.cacheai.runtime;

import io.cacheai.graph.Shapes;

/**
 * Element strides that read an operand of numpy-broadcast shape {@code from} as if it had the
 * output's shape {@code to}: 0 along broadcast axes.
 */
final class Broadcast {
  private Broadcast() {}

  static long[] strides(long[] from, long[] to) {
    int rank = to.length;
    long[] strides = new long[rank];
    long stride = 1;
    for (int i = rank - 1; i >= 0; i--) {
      int j = i - (rank - from.length);
      long dim = j >= 0 ? from[j] : 1;
      strides[i] = dim == 1 && to[i] != 1 ? 0 : stride;
      stride *= dim;
    }
    return strides;
  }

  /** Whether {@code from} read as {@code to} is a plain contiguous copy (same element count). */
  static boolean isIdentity(long[] from, long[] to) {
    return Shapes.elementCount(from) == Shapes.elementCount(to);
  }
}
