package io.cacheai.onnx;

import io.cacheai.graph.ConstTensor;
import io.cacheai.graph.Shapes;
import io.cacheai.onnx.proto.Onnx.TensorProto;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Converts ONNX {@code TensorProto}s into {@link ConstTensor}s: FLOAT and DOUBLE become floats;
 * INT64, INT32, INT8, UINT8 and BOOL become integers. Elements come from the typed fields or from
 * {@code raw_data} (little-endian), whose length is checked against the dims before it is read.
 */
public final class TensorProtos {
  private TensorProtos() {}

  public static ConstTensor toConst(TensorProto tensor) {
    String what = "tensor '" + tensor.getName() + "'";
    if (tensor.getDataLocation() == TensorProto.DataLocation.EXTERNAL) {
      throw new IllegalArgumentException(what + ": external data is not supported");
    }
    long[] shape = new long[tensor.getDimsCount()];
    for (int i = 0; i < shape.length; i++) {
      shape[i] = tensor.getDims(i);
    }
    long count;
    try {
      count = Shapes.elementCount(shape);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(what + ": " + e.getMessage(), e);
    }
    if (count > Integer.MAX_VALUE) {
      throw new IllegalArgumentException(what + ": " + count + " elements is too many");
    }
    int n = (int) count;
    boolean raw = !tensor.getRawData().isEmpty();
    ByteBuffer bytes = tensor.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
    int type = tensor.getDataType();
    return switch (type) {
      case TensorProto.DataType.FLOAT_VALUE -> {
        // Counts are checked before allocating: a few bytes may declare 2^31 elements.
        if (raw) {
          checkRaw(what, bytes, n, 4);
        } else {
          checkTyped(what, tensor.getFloatDataCount(), n);
        }
        float[] values = new float[n];
        if (raw) {
          bytes.asFloatBuffer().get(values);
        } else {
          for (int i = 0; i < n; i++) {
            values[i] = tensor.getFloatData(i);
          }
        }
        yield ConstTensor.ofFloats(shape, values);
      }
      case TensorProto.DataType.DOUBLE_VALUE -> {
        if (raw) {
          checkRaw(what, bytes, n, 8);
        } else {
          checkTyped(what, tensor.getDoubleDataCount(), n);
        }
        float[] values = new float[n];
        if (raw) {
          for (int i = 0; i < n; i++) {
            values[i] = (float) bytes.getDouble(i * 8);
          }
        } else {
          for (int i = 0; i < n; i++) {
            values[i] = (float) tensor.getDoubleData(i);
          }
        }
        yield ConstTensor.ofFloats(shape, values);
      }
      case TensorProto.DataType.INT64_VALUE -> {
        if (raw) {
          checkRaw(what, bytes, n, 8);
        } else {
          checkTyped(what, tensor.getInt64DataCount(), n);
        }
        long[] values = new long[n];
        if (raw) {
          bytes.asLongBuffer().get(values);
        } else {
          for (int i = 0; i < n; i++) {
            values[i] = tensor.getInt64Data(i);
          }
        }
        yield ConstTensor.ofLongs(shape, values);
      }
      case TensorProto.DataType.INT32_VALUE,
          TensorProto.DataType.INT8_VALUE,
          TensorProto.DataType.UINT8_VALUE,
          TensorProto.DataType.BOOL_VALUE -> {
        int size = type == TensorProto.DataType.INT32_VALUE ? 4 : 1;
        if (raw) {
          checkRaw(what, bytes, n, size);
        } else {
          checkTyped(what, tensor.getInt32DataCount(), n);
        }
        long[] values = new long[n];
        if (raw) {
          for (int i = 0; i < n; i++) {
            values[i] =
                switch (type) {
                  case TensorProto.DataType.INT32_VALUE -> bytes.getInt(i * 4);
                  case TensorProto.DataType.INT8_VALUE -> bytes.get(i);
                  default -> bytes.get(i) & 0xFF;
                };
          }
        } else {
          for (int i = 0; i < n; i++) {
            values[i] = tensor.getInt32Data(i);
          }
        }
        yield ConstTensor.ofLongs(shape, values);
      }
      default -> {
        String name =
            TensorProto.DataType.forNumber(type) == null
                ? Integer.toString(type)
                : TensorProto.DataType.forNumber(type).name();
        throw new IllegalArgumentException(
            what
                + ": data type "
                + name
                + " is not supported (supported: FLOAT, DOUBLE, INT64, INT32, INT8, UINT8, BOOL)");
      }
    };
  }

  private static void checkRaw(String what, ByteBuffer bytes, int count, int size) {
    if (bytes.remaining() != (long) count * size) {
      throw new IllegalArgumentException(
          what
              + ": raw_data has "
              + bytes.remaining()
              + " bytes, dims need "
              + (long) count * size);
    }
  }

  private static void checkTyped(String what, int present, int count) {
    if (present != count) {
      throw new IllegalArgumentException(
          what + ": has " + present + " elements, dims need " + count);
    }
  }
}
