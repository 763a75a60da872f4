package io.cacheai.runtime;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.List;
import java.util.Objects;
import java.util.stream.Collectors;
import java.util.stream.LongStream;

/**
 * A tensor crossing the model boundary: a request input or a response output.
 *
 * <p>Numeric tensors hold their elements as little-endian bytes (the protocol's raw layout) in
 * {@link #data()}; BYTES tensors hold one byte array per element in {@link #elements()}. Inside a
 * model, tensors live in the executor's own planned buffers; this class is only the hand-over. A
 * Tensor is not copied defensively: whoever builds one gives up the buffer it wraps.
 */
public final class Tensor {
  private final DataType dataType;
  private final long[] shape;
  private final ByteBuffer data;
  private final List<byte[]> elements;

  private Tensor(DataType dataType, long[] shape, ByteBuffer data, List<byte[]> elements) {
    this.dataType = Objects.requireNonNull(dataType, "dataType");
    this.shape = shape.clone();
    this.data = data;
    this.elements = elements;
  }

  /** A numeric tensor over little-endian element bytes; the byte count must match the shape. */
  public static Tensor of(DataType dataType, long[] shape, ByteBuffer data) {
    if (dataType == DataType.BYTES) {
      throw new IllegalArgumentException("BYTES tensors are built with ofBytes");
    }
    long expected = elementCount(shape) * dataType.sizeBytes();
    if (data.remaining() != expected) {
      throw new IllegalArgumentException(
          "tensor of "
              + dataType.wireName()
              + shapeString(shape)
              + " needs "
              + expected
              + " bytes, got "
              + data.remaining());
    }
    return new Tensor(dataType, shape, data.slice().order(ByteOrder.LITTLE_ENDIAN), null);
  }

  /** An FP32 tensor holding a copy of {@code values}. */
  public static Tensor ofFloats(long[] shape, float[] values) {
    ByteBuffer bytes =
        ByteBuffer.allocate(values.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
    bytes.asFloatBuffer().put(values);
    return of(DataType.FP32, shape, bytes);
  }

  /** An FP32 tensor holding a copy of the remaining floats of {@code values}. */
  public static Tensor ofFloats(long[] shape, FloatBuffer values) {
    ByteBuffer bytes =
        ByteBuffer.allocate(values.remaining() * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
    bytes.asFloatBuffer().put(values.duplicate());
    return of(DataType.FP32, shape, bytes);
  }

  /** A BYTES tensor with one byte array per element. */
  public static Tensor ofBytes(long[] shape, List<byte[]> elements) {
    if (elements.size() != elementCount(shape)) {
      throw new IllegalArgumentException(
          "BYTES"
              + shapeString(shape)
              + " needs "
              + elementCount(shape)
              + " elements, got "
              + elements.size());
    }
    return new Tensor(DataType.BYTES, shape, null, List.copyOf(elements));
  }

  public DataType dataType() {
    return dataType;
  }

  public long[] shape() {
    return shape.clone();
  }

  /** The shape itself, not a copy: for the executor's per-request checks, which only read it. */
  long[] shapeView() {
    return shape;
  }

  /**
   * The little-endian element bytes of a numeric tensor as they are held (position 0), not a
   * read-only view: for the executor, which only reads them.
   */
  ByteBuffer dataView() {
    if (data == null) {
      throw new IllegalStateException("a BYTES tensor has elements(), not data()");
    }
    return data;
  }

  /**
   * An FP32 tensor holding a copy of {@code count} floats of {@code values} from 0, shaped {@code
   * shape} (copied): the executor's own output, whose count already matches the shape.
   */
  static Tensor ofFloatsOwned(long[] shape, java.nio.FloatBuffer values, int count) {
    ByteBuffer bytes = ByteBuffer.allocate(count * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
    bytes.asFloatBuffer().put(0, values, 0, count);
    return new Tensor(DataType.FP32, shape, bytes, null);
  }

  /** Number of elements: the product of the shape. */
  public long elementCount() {
    return elementCount(shape);
  }

  /** The little-endian element bytes of a numeric tensor (a read-only view, position 0). */
  public ByteBuffer data() {
    if (data == null) {
      throw new IllegalStateException("a BYTES tensor has elements(), not data()");
    }
    return data.asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
  }

  /** The elements of a BYTES tensor. */
  public List<byte[]> elements() {
    if (elements == null) {
      throw new IllegalStateException(dataType.wireName() + " tensor has data(), not elements()");
    }
    return elements;
  }

  /** The elements of an FP32 tensor, copied into a new array. */
  public float[] toFloatArray() {
    if (dataType != DataType.FP32) {
      throw new IllegalStateException("not FP32: " + dataType.wireName());
    }
    float[] values = new float[Math.toIntExact(elementCount())];
    data().asFloatBuffer().get(values);
    return values;
  }

  /** The product of the dimensions; throws on a negative dimension or overflow. */
  public static long elementCount(long[] shape) {
    long count = 1;
    for (long dim : shape) {
      if (dim < 0) {
        throw new IllegalArgumentException("dimension " + dim + " in " + shapeString(shape));
      }
      count = Math.multiplyExact(count, dim);
    }
    return count;
  }

  /** A shape as "[1,28,28]". */
  public static String shapeString(long[] shape) {
    return LongStream.of(shape).mapToObj(Long::toString).collect(Collectors.joining(",", "[", "]"));
  }

  @Override
  public String toString() {
    return "Tensor " + dataType.wireName() + shapeString(shape);
  }
}
