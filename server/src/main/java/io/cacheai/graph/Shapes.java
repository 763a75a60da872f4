package io.cacheai.graph;

import java.util.stream.Collectors;
import java.util.stream.LongStream;

/** Small helpers over shapes ({@code long[]} dims, row-major). */
public final class Shapes {
  private Shapes() {}

  /**
   * The product of the dims (1 for a scalar). Throws {@link IllegalArgumentException} naming the
   * shape on a negative dim or when the product overflows 64 bits (a corrupt or hostile file's
   * dims: the message must say which shape, not just "long overflow").
   */
  public static long elementCount(long[] shape) {
    for (long dim : shape) {
      if (dim < 0) {
        throw new IllegalArgumentException("negative dimension in " + toString(shape));
      }
    }
    return product(shape, 0, shape.length);
  }

  /** The product of dims {@code [from, to)}; IllegalArgumentException on 64-bit overflow. */
  public static long product(long[] shape, int from, int to) {
    long count = 1;
    for (int i = from; i < to; i++) {
      try {
        count = Math.multiplyExact(count, shape[i]);
      } catch (ArithmeticException e) {
        throw new IllegalArgumentException(
            "shape " + toString(shape) + " has more elements than a 64-bit count holds", e);
      }
    }
    return count;
  }

  /** An ONNX axis (negative counts from the end) as an index into a shape of {@code rank}. */
  public static int normalizeAxis(long axis, int rank, String what) {
    long normalized = axis < 0 ? axis + rank : axis;
    if (normalized < 0 || normalized >= Math.max(rank, 1)) {
      throw new IllegalArgumentException(
          what + ": axis " + axis + " out of range for rank " + rank);
    }
    return (int) normalized;
  }

  /** The numpy broadcast of two shapes. */
  public static long[] broadcast(long[] a, long[] b) {
    int rank = Math.max(a.length, b.length);
    long[] out = new long[rank];
    for (int i = 0; i < rank; i++) {
      long da = i < rank - a.length ? 1 : a[i - (rank - a.length)];
      long db = i < rank - b.length ? 1 : b[i - (rank - b.length)];
      if (da != db && da != 1 && db != 1) {
        throw new IllegalArgumentException(
            "shapes " + toString(a) + " and " + toString(b) + " do not broadcast");
      }
      out[i] = da == 1 ? db : da;
    }
    return out;
  }

  public static String toString(long[] shape) {
    return LongStream.of(shape).mapToObj(Long::toString).collect(Collectors.joining(",", "[", "]"));
  }
}
