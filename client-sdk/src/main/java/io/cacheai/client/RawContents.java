package io.cacheai.client;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * The byte layout of {@code raw_input_contents} / {@code raw_output_contents}: one {@code bytes}
 * entry per tensor, elements row-major, little-endian, no header.
 *
 * <pre>
 *   FP32   | f32 e0 | f32 e1 | ... |              4 bytes per element (IEEE 754, LE)
 *   INT64  | i64 e0 | i64 e1 | ... |              8 bytes per element (two's complement, LE)
 *   BYTES  | u32 len0 | len0 bytes | u32 len1 | len1 bytes | ...   (length prefix LE, per element)
 * </pre>
 *
 * <p>Raw contents skip protobuf's per-element varint/float encoding: one memcpy-like bulk put on
 * each side instead of a repeated field, which is why the float helpers default to it.
 */
final class RawContents {
  static final int FP32_SIZE_BYTES = Float.BYTES;
  static final int INT64_SIZE_BYTES = Long.BYTES;
  static final int BYTES_LENGTH_PREFIX_BYTES = Integer.BYTES;

  private RawContents() {}

  static ByteString encodeFloats(float[] values) {
    ByteBuffer buf = ByteBuffer.allocate(values.length * FP32_SIZE_BYTES);
    buf.order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().put(values);
    // The array is never touched again: wrapping it saves the copy ByteString.copyFrom would make.
    return UnsafeByteOperations.unsafeWrap(buf.array());
  }

  static ByteString encodeLongs(long[] values) {
    ByteBuffer buf = ByteBuffer.allocate(values.length * INT64_SIZE_BYTES);
    buf.order(ByteOrder.LITTLE_ENDIAN).asLongBuffer().put(values);
    return UnsafeByteOperations.unsafeWrap(buf.array());
  }

  static ByteString encodeBytes(List<byte[]> elements) {
    long total = 0;
    for (byte[] e : elements) {
      total += BYTES_LENGTH_PREFIX_BYTES + e.length;
    }
    if (total > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("BYTES tensor of " + total + " bytes exceeds 2 GiB");
    }
    ByteBuffer buf = ByteBuffer.allocate((int) total).order(ByteOrder.LITTLE_ENDIAN);
    for (byte[] e : elements) {
      buf.putInt(e.length).put(e);
    }
    return UnsafeByteOperations.unsafeWrap(buf.array());
  }

  /**
   * Decodes {@code count} FP32 elements; returns null when the byte length is not {@code count × 4}
   * so the caller can report it with its own context.
   */
  static float[] decodeFloats(ByteString raw, int count) {
    if (raw.size() != (long) count * FP32_SIZE_BYTES) {
      return null;
    }
    float[] out = new float[count];
    raw.asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
    return out;
  }

  /** Decodes {@code count} INT64 elements, or null on a length mismatch. */
  static long[] decodeLongs(ByteString raw, int count) {
    if (raw.size() != (long) count * INT64_SIZE_BYTES) {
      return null;
    }
    long[] out = new long[count];
    raw.asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asLongBuffer().get(out);
    return out;
  }

  /** Decodes {@code count} length-prefixed BYTES elements, or null when the layout is broken. */
  static List<byte[]> decodeBytes(ByteString raw, int count) {
    ByteBuffer buf = raw.asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
    List<byte[]> out = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      if (buf.remaining() < BYTES_LENGTH_PREFIX_BYTES) {
        return null;
      }
      int length = buf.getInt();
      if (length < 0 || length > buf.remaining()) {
        return null;
      }
      byte[] e = new byte[length];
      buf.get(e);
      out.add(e);
    }
    return buf.hasRemaining() ? null : out;
  }
}
