package io.cacheai.graph;

import java.nio.FloatBuffer;
import java.util.Arrays;

/**
 * A constant of the graph (an initializer or a Constant node's value): its shape and elements,
 * floating point values as {@code float[]} and integer values (shapes, axes) as {@code long[]}.
 * Exactly one of the two arrays is set.
 *
 * <p>A float constant may instead be backed by a buffer ({@link #ofFloatBuffer}): a read-only view
 * of memory someone else owns, typically a memory-mapped model bundle, so that weights are used in
 * place and never copied onto the heap. {@link #floatBuffer()} gives the elements without copying
 * for both kinds; {@link #floats()} copies a buffer-backed constant (fine for the few small
 * per-channel parameters kernels read as arrays, wasteful for weights).
 */
public final class ConstTensor {
  private final long[] shape;
  private final float[] floats;
  private final FloatBuffer floatBuffer;
  private final long[] longs;

  private ConstTensor(long[] shape, float[] floats, FloatBuffer floatBuffer, long[] longs) {
    this.shape = shape.clone();
    this.floats = floats;
    this.floatBuffer = floatBuffer;
    this.longs = longs;
    long count = Shapes.elementCount(shape);
    int length =
        floats != null
            ? floats.length
            : floatBuffer != null ? floatBuffer.remaining() : longs.length;
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
    return new ConstTensor(shape, values, null, null);
  }

  /**
   * A float constant whose elements are {@code values} from its position to its limit, not copied.
   * The owner of the memory behind {@code values} must keep it valid as long as the constant (and
   * any model built from it) is used.
   */
  public static ConstTensor ofFloatBuffer(long[] shape, FloatBuffer values) {
    return new ConstTensor(shape, null, values.slice().asReadOnlyBuffer(), null);
  }

  public static ConstTensor ofLongs(long[] shape, long[] values) {
    return new ConstTensor(shape, null, null, values);
  }

  public long[] shape() {
    return shape.clone();
  }

  public boolean isFloat() {
    return floats != null || floatBuffer != null;
  }

  /** Whether the elements live in a buffer (see {@link #ofFloatBuffer}) rather than an array. */
  public boolean isBufferBacked() {
    return floatBuffer != null;
  }

  /**
   * The floating point elements: the array itself for an array-backed constant (not copied:
   * constants are never modified), a heap copy for a buffer-backed one.
   */
  public float[] floats() {
    if (floatBuffer != null) {
      float[] copy = new float[floatBuffer.remaining()];
      floatBuffer.get(0, copy);
      return copy;
    }
    if (floats == null) {
      throw new IllegalStateException("integer constant of shape " + Shapes.toString(shape));
    }
    return floats;
  }

  /**
   * The floating point elements as a read-only buffer, position 0, without copying: the backing
   * buffer's view (direct when it is mapped memory) or a heap wrap of the array.
   */
  public FloatBuffer floatBuffer() {
    if (floatBuffer != null) {
      return floatBuffer.duplicate();
    }
    if (floats == null) {
      throw new IllegalStateException("integer constant of shape " + Shapes.toString(shape));
    }
    return FloatBuffer.wrap(floats).asReadOnlyBuffer();
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
            ? (isFloat() ? Arrays.toString(floats()) : Arrays.toString(longs))
            : "");
  }
}
