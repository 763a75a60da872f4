package io.cacheai.client;

import java.util.Arrays;
import java.util.Objects;

/**
 * One input or output tensor of a model as the server describes it.
 *
 * @param name the tensor's name, as requests must spell it
 * @param datatype the element type, e.g. {@code FP32}, {@code INT64}, {@code BYTES}
 * @param shape the shape; {@code -1} marks a dimension chosen per request (the batch dimension)
 */
public record TensorMetadata(String name, String datatype, long[] shape) {

  public TensorMetadata {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(datatype, "datatype");
    shape = shape.clone();
  }

  /** A copy of the shape (records expose their array otherwise). */
  @Override
  public long[] shape() {
    return shape.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TensorMetadata t
        && name.equals(t.name)
        && datatype.equals(t.datatype)
        && Arrays.equals(shape, t.shape);
  }

  @Override
  public int hashCode() {
    return Objects.hash(name, datatype, Arrays.hashCode(shape));
  }

  @Override
  public String toString() {
    return name + " " + datatype + " " + Arrays.toString(shape);
  }
}
