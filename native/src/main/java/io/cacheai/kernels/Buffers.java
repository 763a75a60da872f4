package io.cacheai.kernels;

import java.nio.Buffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;

/**
 * The checks every integer kernel runs, in Java, before an address crosses into native code: the
 * buffer is direct (a heap buffer would be copied, or worse, not addressable), of native byte order
 * when it holds multi-byte elements, writable when written, and holds the elements the kernel will
 * touch from its {@code position()}. Failures are {@link IllegalArgumentException}s naming the
 * operand with {@code key=value} context.
 */
final class Buffers {
  private Buffers() {}

  static void checkShape(String names, int... dims) {
    for (int d : dims) {
      if (d < 0) {
        throw new IllegalArgumentException(
            "dimensions " + names + "=" + java.util.Arrays.toString(dims) + " must be >= 0");
      }
    }
  }

  /** {@code buffer} is direct and has at least {@code needed} elements remaining. */
  static void checkInput(String name, Buffer buffer, long needed) {
    checkDirect(name, buffer);
    checkRemaining(name, buffer, needed);
  }

  /** As {@link #checkInput}, and writable. */
  static void checkOutput(String name, Buffer buffer, long needed) {
    checkInput(name, buffer, needed);
    if (buffer.isReadOnly()) {
      throw new IllegalArgumentException(name + " is read-only but the kernel writes it");
    }
  }

  private static void checkDirect(String name, Buffer buffer) {
    if (buffer == null) {
      throw new IllegalArgumentException(name + " is null");
    }
    if (!buffer.isDirect()) {
      throw new IllegalArgumentException(
          name + " must be a direct buffer (heap buffers would be copied): " + buffer);
    }
    ByteOrder order =
        buffer instanceof IntBuffer
            ? ((IntBuffer) buffer).order()
            : buffer instanceof FloatBuffer ? ((FloatBuffer) buffer).order() : null;
    if (order != null && order != ByteOrder.nativeOrder()) {
      throw new IllegalArgumentException(
          name + " order=" + order + " must be the native order " + ByteOrder.nativeOrder());
    }
  }

  private static void checkRemaining(String name, Buffer buffer, long needed) {
    if (needed > buffer.remaining()) {
      throw new IllegalArgumentException(
          name
              + ": needs="
              + needed
              + " elements from position="
              + buffer.position()
              + " but remaining="
              + buffer.remaining());
    }
  }
}
