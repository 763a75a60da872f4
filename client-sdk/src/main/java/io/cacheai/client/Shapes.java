package io.cacheai.client;

import java.util.Arrays;

/** Shape arithmetic shared by requests and results. */
final class Shapes {
  private Shapes() {}

  /**
   * The number of elements a concrete shape holds; every dimension must be ≥ 0 (a request never
   * carries the {@code -1} wildcard) and the product must fit an {@code int}, since elements live
   * in Java arrays.
   */
  static int elementCount(String what, long[] shape) {
    long count = 1;
    for (long dim : shape) {
      if (dim < 0) {
        throw new IllegalArgumentException(
            what + ": shape " + Arrays.toString(shape) + " has a negative dimension");
      }
      count = Math.multiplyExact(count, dim);
      if (count > Integer.MAX_VALUE) {
        throw new IllegalArgumentException(
            what
                + ": shape "
                + Arrays.toString(shape)
                + " holds more than "
                + Integer.MAX_VALUE
                + " elements");
      }
    }
    return (int) count;
  }

  /** {@code [rows] ++ rowShape}: the shape of a batch of rows. */
  static long[] batchOf(int rows, long[] rowShape) {
    long[] shape = new long[rowShape.length + 1];
    shape[0] = rows;
    System.arraycopy(rowShape, 0, shape, 1, rowShape.length);
    return shape;
  }
}
