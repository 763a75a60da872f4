package io.cacheai.kernels;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/** Allocation of the buffers the kernels accept: direct, native byte order, 64-byte aligned. */
public final class FloatBuffers {
  /** Cache-line (and AVX-512 register) alignment of every buffer this class makes. */
  public static final int ALIGNMENT_BYTES = 64;

  private FloatBuffers() {}

  /** A zeroed direct native-order buffer of {@code length} floats, 64-byte aligned. */
  public static FloatBuffer allocate(int length) {
    if (length < 0) {
      throw new IllegalArgumentException("length=" + length + " must be >= 0");
    }
    int sizeBytes = Math.multiplyExact(length, Float.BYTES);
    // alignedSlice rounds both ends inward to the alignment: over-allocate by a full block at each.
    int paddedBytes = (sizeBytes + ALIGNMENT_BYTES - 1) / ALIGNMENT_BYTES * ALIGNMENT_BYTES;
    ByteBuffer bytes =
        ByteBuffer.allocateDirect(paddedBytes + ALIGNMENT_BYTES)
            .alignedSlice(ALIGNMENT_BYTES)
            .order(ByteOrder.nativeOrder());
    return bytes.limit(sizeBytes).slice().order(ByteOrder.nativeOrder()).asFloatBuffer();
  }

  /** A direct copy of {@code values}. */
  public static FloatBuffer of(float... values) {
    FloatBuffer buffer = allocate(values.length);
    buffer.put(values).flip();
    return buffer;
  }

  /** A view of {@code length} floats of {@code buffer} starting at {@code offset}, position 0. */
  public static FloatBuffer view(FloatBuffer buffer, int offset, int length) {
    return buffer.slice(offset, length);
  }
}
