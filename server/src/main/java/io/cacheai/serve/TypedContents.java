package io.cacheai.serve;

import com.google.protobuf.ByteString;
import inference.GrpcService.InferTensorContents;
import io.cacheai.runtime.DataType;
import io.cacheai.runtime.Tensor;
import io.grpc.StatusException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Converts between the protocol's typed {@code InferTensorContents} fields and {@link Tensor}'s
 * little-endian bytes.
 *
 * <p>The protocol has eight typed fields for thirteen datatypes; narrower integers travel widened:
 *
 * <pre>
 * BOOL                 bool_contents
 * INT8  INT16  INT32   int_contents      (range-checked on the way in)
 * INT64                int64_contents
 * UINT8 UINT16 UINT32  uint_contents     (range-checked on the way in)
 * UINT64               uint64_contents
 * FP32                 fp32_contents
 * FP64                 fp64_contents
 * BYTES                bytes_contents
 * FP16                 none: raw contents only
 * </pre>
 */
final class TypedContents {
  private TypedContents() {}

  /** The contents field {@code type} travels in, e.g. "fp32_contents"; null for FP16. */
  static String fieldFor(DataType type) {
    return switch (type) {
      case BOOL -> "bool_contents";
      case INT8, INT16, INT32 -> "int_contents";
      case INT64 -> "int64_contents";
      case UINT8, UINT16, UINT32 -> "uint_contents";
      case UINT64 -> "uint64_contents";
      case FP32 -> "fp32_contents";
      case FP64 -> "fp64_contents";
      case BYTES -> "bytes_contents";
      case FP16 -> null;
    };
  }

  /** The non-empty fields of {@code contents} with their value counts, in field order. */
  static Map<String, Integer> nonEmptyFields(InferTensorContents contents) {
    Map<String, Integer> fields = new LinkedHashMap<>();
    putIfPositive(fields, "bool_contents", contents.getBoolContentsCount());
    putIfPositive(fields, "int_contents", contents.getIntContentsCount());
    putIfPositive(fields, "int64_contents", contents.getInt64ContentsCount());
    putIfPositive(fields, "uint_contents", contents.getUintContentsCount());
    putIfPositive(fields, "uint64_contents", contents.getUint64ContentsCount());
    putIfPositive(fields, "fp32_contents", contents.getFp32ContentsCount());
    putIfPositive(fields, "fp64_contents", contents.getFp64ContentsCount());
    putIfPositive(fields, "bytes_contents", contents.getBytesContentsCount());
    return fields;
  }

  private static void putIfPositive(Map<String, Integer> fields, String name, int count) {
    if (count > 0) {
      fields.put(name, count);
    }
  }

  /**
   * Decodes the typed contents of input {@code input}. {@code elements} is the shape's element
   * count, already checked to fit in memory.
   */
  static Tensor decode(
      String input, DataType type, long[] shape, int elements, InferTensorContents contents)
      throws StatusException {
    String field = fieldFor(type);
    String where = "input '" + input + "': ";
    if (field == null) {
      throw InvalidRequest.invalid(
          where
              + "datatype "
              + type.wireName()
              + " has no typed contents field; "
              + "send it in raw_input_contents");
    }
    Map<String, Integer> given = nonEmptyFields(contents);
    Integer count = given.remove(field);
    if (!given.isEmpty()) {
      throw InvalidRequest.invalid(
          where
              + "datatype "
              + type.wireName()
              + " takes contents."
              + field
              + ", but contents."
              + String.join(", contents.", given.keySet())
              + " was given");
    }
    int actual = count == null ? 0 : count;
    if (actual != elements) {
      throw InvalidRequest.invalid(
          where
              + "contents."
              + field
              + " has "
              + actual
              + " values, shape "
              + Tensor.shapeString(shape)
              + " needs "
              + elements);
    }
    if (type == DataType.BYTES) {
      List<byte[]> values = new ArrayList<>(elements);
      contents.getBytesContentsList().forEach(b -> values.add(b.toByteArray()));
      return Tensor.ofBytes(shape, values);
    }
    ByteBuffer bytes =
        ByteBuffer.allocate(elements * type.sizeBytes()).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < elements; i++) {
      switch (type) {
        case BOOL -> bytes.put((byte) (contents.getBoolContents(i) ? 1 : 0));
        case INT8 -> bytes.put((byte) signed(where, field, i, contents.getIntContents(i), 8));
        case INT16 ->
            bytes.putShort((short) signed(where, field, i, contents.getIntContents(i), 16));
        case INT32 -> bytes.putInt(contents.getIntContents(i));
        case INT64 -> bytes.putLong(contents.getInt64Contents(i));
        case UINT8 -> bytes.put((byte) unsigned(where, field, i, contents.getUintContents(i), 8));
        case UINT16 ->
            bytes.putShort((short) unsigned(where, field, i, contents.getUintContents(i), 16));
        case UINT32 -> bytes.putInt(contents.getUintContents(i));
        case UINT64 -> bytes.putLong(contents.getUint64Contents(i));
        case FP32 -> bytes.putFloat(contents.getFp32Contents(i));
        case FP64 -> bytes.putDouble(contents.getFp64Contents(i));
        default -> throw new IllegalStateException("no typed decoding for " + type);
      }
    }
    bytes.flip();
    return Tensor.of(type, shape, bytes);
  }

  private static int signed(String where, String field, int index, int value, int bits)
      throws StatusException {
    int min = -(1 << (bits - 1));
    int max = (1 << (bits - 1)) - 1;
    if (value < min || value > max) {
      throw InvalidRequest.invalid(
          where
              + "contents."
              + field
              + "["
              + index
              + "]="
              + value
              + " is out of range for INT"
              + bits
              + " ["
              + min
              + ","
              + max
              + "]");
    }
    return value;
  }

  private static int unsigned(String where, String field, int index, int value, int bits)
      throws StatusException {
    long unsignedValue = Integer.toUnsignedLong(value);
    long max = (1L << bits) - 1;
    if (unsignedValue > max) {
      throw InvalidRequest.invalid(
          where
              + "contents."
              + field
              + "["
              + index
              + "]="
              + unsignedValue
              + " is out of range for UINT"
              + bits
              + " [0,"
              + max
              + "]");
    }
    return value;
  }

  /** The typed contents of a tensor whose type has a typed field ({@link #fieldFor} not null). */
  static InferTensorContents encode(Tensor tensor) {
    InferTensorContents.Builder out = InferTensorContents.newBuilder();
    DataType type = tensor.dataType();
    if (type == DataType.BYTES) {
      tensor.elements().forEach(e -> out.addBytesContents(ByteString.copyFrom(e)));
      return out.build();
    }
    ByteBuffer data = tensor.data();
    int elements = Math.toIntExact(tensor.elementCount());
    for (int i = 0; i < elements; i++) {
      switch (type) {
        case BOOL -> out.addBoolContents(data.get() != 0);
        case INT8 -> out.addIntContents(data.get());
        case INT16 -> out.addIntContents(data.getShort());
        case INT32 -> out.addIntContents(data.getInt());
        case INT64 -> out.addInt64Contents(data.getLong());
        case UINT8 -> out.addUintContents(data.get() & 0xff);
        case UINT16 -> out.addUintContents(data.getShort() & 0xffff);
        case UINT32 -> out.addUintContents(data.getInt());
        case UINT64 -> out.addUint64Contents(data.getLong());
        case FP32 -> out.addFp32Contents(data.getFloat());
        case FP64 -> out.addFp64Contents(data.getDouble());
        default -> throw new IllegalStateException("no typed encoding for " + type);
      }
    }
    return out.build();
  }
}
