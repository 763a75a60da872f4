package io.cacheai.kernels;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;

/** Direct native-order buffers for the integer kernel tests, optionally starting at an offset. */
final class IntBuffersForTests {
  private IntBuffersForTests() {}

  static ByteBuffer bytes(byte[] values, int offset) {
    ByteBuffer buffer = ByteBuffer.allocateDirect(offset + values.length);
    buffer.position(offset);
    buffer.put(values);
    buffer.position(offset);
    return buffer;
  }

  static ByteBuffer zeroBytes(long length, int offset) {
    ByteBuffer buffer = ByteBuffer.allocateDirect(Math.toIntExact(offset + length));
    buffer.position(offset);
    return buffer;
  }

  static IntBuffer ints(int length, int offset) {
    IntBuffer buffer =
        ByteBuffer.allocateDirect((offset + length) * Integer.BYTES)
            .order(ByteOrder.nativeOrder())
            .asIntBuffer();
    buffer.position(offset);
    return buffer;
  }

  static IntBuffer ints(int[] values, int offset) {
    IntBuffer buffer = ints(values.length, offset);
    for (int i = 0; i < values.length; i++) {
      buffer.put(offset + i, values[i]);
    }
    return buffer;
  }

  static FloatBuffer floats(float[] values, int offset) {
    FloatBuffer buffer = FloatBuffers.allocate(offset + values.length);
    for (int i = 0; i < values.length; i++) {
      buffer.put(offset + i, values[i]);
    }
    buffer.position(offset);
    return buffer;
  }

  static int[] toArray(IntBuffer buffer, int length) {
    int[] out = new int[length];
    for (int i = 0; i < length; i++) {
      out[i] = buffer.get(buffer.position() + i);
    }
    return out;
  }

  static float[] toArray(FloatBuffer buffer, int length) {
    float[] out = new float[length];
    for (int i = 0; i < length; i++) {
      out[i] = buffer.get(buffer.position() + i);
    }
    return out;
  }
}
