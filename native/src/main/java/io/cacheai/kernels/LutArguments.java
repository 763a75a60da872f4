package io.cacheai.kernels;

import java.nio.Buffer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;

/**
 * The argument checks of {@link LutKernels} and {@link LutKernels.Reference}, run in Java before
 * any address crosses into native code. The lookup kernels' operands start at index 0 of their
 * buffer whatever its position, so an operand must fit below the buffer's {@code limit()} (which a
 * plain absolute {@code get(i)} also respects). Failures are {@link IllegalArgumentException}s that
 * name the argument and the formula of what was needed, e.g. {@code keys: limit=12 bytes, need
 * rows*codebooks=16 (rows=4 codebooks=4)}.
 */
final class LutArguments {
  private LutArguments() {}

  /** Shapes shared by both encoders, and the x and keys operands. */
  static void checkEncode(
      FloatBuffer x, int rows, int d, int codebooks, int width, ByteBuffer keys) {
    nonNegative("rows", rows);
    nonNegative("codebooks", codebooks);
    if (width < 1) {
      throw new IllegalArgumentException("width=" + width + " must be >= 1");
    }
    long cw = (long) codebooks * width;
    if (d != cw) {
      throw new IllegalArgumentException(
          "d="
              + d
              + " must equal codebooks*width="
              + cw
              + " (codebooks="
              + codebooks
              + " width="
              + width
              + "; the caller pads the input row)");
    }
    String shape = " (rows=" + rows + " codebooks=" + codebooks + " width=" + width + ")";
    input("x", x, (long) rows * d, "rows*d", shape);
    output("keys", keys, (long) rows * codebooks, "rows*codebooks", shape);
  }

  /** The tree encoder's own operands; every split dimension must lie in [0, width). */
  static void checkTree(int codebooks, int width, IntBuffer splitDims, FloatBuffer thresholds) {
    String shape = " (codebooks=" + codebooks + ")";
    input("splitDims", splitDims, (long) codebooks * LutKernels.DEPTH, "codebooks*4", shape);
    input(
        "thresholds", thresholds, (long) codebooks * (LutKernels.KEYS - 1), "codebooks*15", shape);
    int count = codebooks * LutKernels.DEPTH;
    for (int i = 0; i < count; i++) {
      int dim = splitDims.get(i);
      if (dim < 0 || dim >= width) {
        throw new IllegalArgumentException(
            "splitDims["
                + i
                + "]="
                + dim
                + " (codebook="
                + i / LutKernels.DEPTH
                + " level="
                + i % LutKernels.DEPTH
                + ") must be in [0, width="
                + width
                + ")");
      }
    }
  }

  static void checkCentroids(int codebooks, int width, FloatBuffer centroids) {
    input(
        "centroids",
        centroids,
        (long) codebooks * LutKernels.KEYS * width,
        "codebooks*16*width",
        " (codebooks=" + codebooks + " width=" + width + ")");
  }

  static void checkAccumulate(
      ByteBuffer keys,
      int rows,
      int codebooks,
      int m,
      ByteBuffer tables,
      FloatBuffer scale,
      FloatBuffer bias,
      FloatBuffer out) {
    nonNegative("rows", rows);
    nonNegative("codebooks", codebooks);
    nonNegative("m", m);
    String shape = " (rows=" + rows + " codebooks=" + codebooks + " m=" + m + ")";
    input("keys", keys, (long) rows * codebooks, "rows*codebooks", shape);
    input("tables", tables, (long) codebooks * LutKernels.KEYS * m, "codebooks*16*m", shape);
    input("scale", scale, m, "m", shape);
    if (bias != null) {
      input("bias", bias, m, "m", shape);
    }
    output("out", out, (long) rows * m, "rows*m", shape);
  }

  /** A position-0 view of {@code buffer}: JavaCPP adds the position to the address it passes. */
  static FloatBuffer at0(FloatBuffer buffer) {
    return buffer == null || buffer.position() == 0 ? buffer : buffer.duplicate().position(0);
  }

  static IntBuffer at0(IntBuffer buffer) {
    return buffer.position() == 0 ? buffer : buffer.duplicate().position(0);
  }

  static ByteBuffer at0(ByteBuffer buffer) {
    return buffer.position() == 0 ? buffer : buffer.duplicate().position(0);
  }

  private static void nonNegative(String name, int value) {
    if (value < 0) {
      throw new IllegalArgumentException(name + "=" + value + " must be >= 0");
    }
  }

  private static void output(
      String name, Buffer buffer, long needed, String formula, String shape) {
    input(name, buffer, needed, formula, shape);
    if (buffer.isReadOnly()) {
      throw new IllegalArgumentException(name + " is read-only but the kernel writes it");
    }
  }

  private static void input(String name, Buffer buffer, long needed, String formula, String shape) {
    if (buffer == null) {
      throw new IllegalArgumentException(name + " is null");
    }
    if (!buffer.isDirect()) {
      throw new IllegalArgumentException(
          name + " must be a direct buffer (heap buffers have no stable address): " + buffer);
    }
    ByteOrder order =
        buffer instanceof IntBuffer
            ? ((IntBuffer) buffer).order()
            : buffer instanceof FloatBuffer ? ((FloatBuffer) buffer).order() : null;
    if (order != null && order != ByteOrder.nativeOrder()) {
      throw new IllegalArgumentException(
          name
              + ": order="
              + order
              + " but the kernels need the native order "
              + ByteOrder.nativeOrder());
    }
    if (needed > buffer.limit()) {
      throw new IllegalArgumentException(
          name
              + ": limit="
              + buffer.limit()
              + " "
              + unit(buffer)
              + ", need "
              + formula
              + "="
              + needed
              + shape);
    }
  }

  private static String unit(Buffer buffer) {
    return buffer instanceof ByteBuffer ? "bytes" : buffer instanceof IntBuffer ? "ints" : "floats";
  }
}
