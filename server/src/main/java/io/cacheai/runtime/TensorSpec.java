package io.cacheai.runtime;

import java.util.Arrays;

/**
 * The declared name, element type and shape of a model input or output. A dimension of -1 is chosen
 * per request (the batch dimension, or a width that varies).
 */
public record TensorSpec(String name, DataType dataType, long[] shape) {
  /** Marks a dimension whose size each request chooses. */
  public static final long DYNAMIC = -1;

  public TensorSpec {
    shape = shape.clone();
  }

  @Override
  public long[] shape() {
    return shape.clone();
  }

  /** Whether a concrete request shape fits this declared shape (same rank, equal fixed dims). */
  public boolean accepts(long[] requestShape) {
    if (requestShape.length != shape.length) {
      return false;
    }
    for (int i = 0; i < shape.length; i++) {
      if (requestShape[i] < 0 || (shape[i] != DYNAMIC && shape[i] != requestShape[i])) {
        return false;
      }
    }
    return true;
  }

  /** The shape as the protocol's error messages show it, e.g. "[-1,1,28,28]". */
  public String shapeString() {
    return Tensor.shapeString(shape);
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof TensorSpec that
        && name.equals(that.name)
        && dataType == that.dataType
        && Arrays.equals(shape, that.shape);
  }

  @Override
  public int hashCode() {
    return 31 * (31 * name.hashCode() + dataType.hashCode()) + Arrays.hashCode(shape);
  }

  @Override
  public String toString() {
    return name + ":" + dataType.wireName() + shapeString();
  }
}
