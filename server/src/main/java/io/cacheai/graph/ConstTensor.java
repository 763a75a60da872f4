package io.cacheai.graph;

import java.util.Arrays;

/**
 * A constant of the graph (an initializer or a Constant node's value): its shape and elements,
 * floating point values as {@code float[]} and integer values (shapes, axes) as {@code long[]}.
 * Exactly one of the two arrays is set.
 */
public final class ConstTensor {
  private final long[] shape;
  private final float[] floats;
  private final long[] longs;

  private ConstTensor(long[] shape, float[] floats, long[] longs) {
    this.shape = shape.clone();
    this.floats = floats;
    this.longs = longs;
    long count = Shapes.elementCount(shape);
    int length = floats != null ? floats.length : longs.length;
    if (count != length) {
      throw new IllegalArgumentException(
          "constant of shape "
              + Shapes.toString(shape)
              + " needs "
              + count
              + " elements, has "
              + length);
    }
  }

  public static ConstTensor ofFloats(long[] shape, float[] values) {
    return new ConstTensor(shape, values, null);
  }

  public static ConstTensor ofLongs(long[] shape, long[] values) {
    return new ConstTensor(shape, null, values);
  }

  public long[] shape() {
    return shape.clone();
  }

  public boolean isFloat() {
    return floats != null;
  }

  /** The floating point elements (not copied: constants are never modified). */
  public float[] floats() {
    if (floats == null) {
      throw new IllegalStateException("integer constant of shape " + Shapes.toString(shape));
    }
    return floats;
  }

  /** The integer elements (not copied). */
  public long[] longs() {
    if (longs == null) {
      throw new IllegalStateException("float constant of shape " + Shapes.toString(shape));
    }
    return longs;
  }

  @Override
  public String toString() {
    return (isFloat() ? "float" : "int")
        + Shapes.toString(shape)
        + (Shapes.elementCount(shape) <= 8
            ? (isFloat() ? Arrays.toString(floats) : Arrays.toString(longs))
            : "");
  }
}
