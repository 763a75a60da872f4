package io.cacheai.serve;

import com.google.protobuf.ByteString;
import io.cacheai.runtime.DataType;
import io.cacheai.runtime.Tensor;
import io.grpc.StatusException;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * Converts between one entry of {@code raw_input_contents}/{@code raw_output_contents} and a {@link
 * Tensor}.
 *
 * <p>Numeric tensors are their elements' little-endian bytes, row-major, nothing else. BYTES
 * tensors are, per element, a 4-byte little-endian length followed by that many bytes (the layout
 * Triton clients send):
 *
 * <pre>
 * +--------+-----------+--------+-----------+
 * | len0   | bytes0... | len1   | bytes1... |
 * | u32 LE | len0      | u32 LE | len1      |
 * +--------+-----------+--------+-----------+
 * </pre>
 */
final class RawContents {
  private RawContents() {}

  /**
   * Decodes {@code raw} (entry {@code index}) as input {@code input}; {@code elements} is the
   * shape's element count, already checked to fit in memory.
   */
  static Tensor decode(
      String input, int index, DataType type, long[] shape, int elements, ByteString raw)
      throws StatusException {
    String where = "input '" + input + "': raw_input_contents[" + index + "] ";
    if (type == DataType.BYTES) {
      return decodeBytes(where, shape, elements, raw.asReadOnlyByteBuffer());
    }
    long expected = (long) elements * type.sizeBytes();
    if (raw.size() != expected) {
      throw InvalidRequest.invalid(
          where
              + "has "
              + raw.size()
              + " bytes, expected "
              + expected
              + " ("
              + elements
              + " elements x "
              + type.sizeBytes()
              + " bytes of "
              + type.wireName()
              + ", shape "
              + Tensor.shapeString(shape)
              + ")");
    }
    return Tensor.of(type, shape, raw.asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN));
  }

  private static Tensor decodeBytes(String where, long[] shape, int elements, ByteBuffer raw)
      throws StatusException {
    raw.order(ByteOrder.LITTLE_ENDIAN);
    // Sized by what the bytes can hold (4-byte length per element), not by the declared shape:
    // a tiny request may declare 2^30 elements.
    List<byte[]> values = new ArrayList<>(Math.min(elements, raw.remaining() / Integer.BYTES));
    while (raw.hasRemaining()) {
      if (raw.remaining() < Integer.BYTES) {
        throw InvalidRequest.invalid(
            where + "ends inside the 4-byte length of BYTES element " + values.size());
      }
      long length = Integer.toUnsignedLong(raw.getInt());
      if (length > raw.remaining()) {
        throw InvalidRequest.invalid(
            where
                + "BYTES element "
                + values.size()
                + " declares "
                + length
                + " bytes, only "
                + raw.remaining()
                + " remain");
      }
      byte[] value = new byte[(int) length];
      raw.get(value);
      values.add(value);
      if (values.size() > elements) {
        break;
      }
    }
    if (values.size() != elements) {
      throw InvalidRequest.invalid(
          where
              + "holds "
              + (values.size() > elements ? "more than " + elements : values.size())
              + " BYTES elements, shape "
              + Tensor.shapeString(shape)
              + " needs "
              + elements);
    }
    return Tensor.ofBytes(shape, values);
  }

  /** The raw bytes of {@code tensor}. */
  static ByteString encode(Tensor tensor) {
    if (tensor.dataType() != DataType.BYTES) {
      return ByteString.copyFrom(tensor.data());
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteBuffer length = ByteBuffer.allocate(Integer.BYTES).order(ByteOrder.LITTLE_ENDIAN);
    for (byte[] element : tensor.elements()) {
      out.write(length.clear().putInt(element.length).array(), 0, Integer.BYTES);
      out.write(element, 0, element.length);
    }
    return ByteString.copyFrom(out.toByteArray());
  }
}
