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
 * rows*codebooks=16 (rows=4 codebooks=4 m=10)}. A passing check allocates nothing: the messages are
 * built only on failure (the kernels run in microseconds, so this matters).
 */
final class LutArguments {
  private static final String ROWS = "rows";
  private static final String CODEBOOKS = "codebooks";

  private LutArguments() {}

  /** Shapes shared by both encoders, and the x and keys operands. */
  static void checkEncode(
      FloatBuffer x, int rows, int d, int codebooks, int width, ByteBuffer keys) {
    nonNegative(ROWS, rows);
    nonNegative(CODEBOOKS, codebooks);
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
    input("x", x, (long) rows * d, "rows*d", ROWS, rows, CODEBOOKS, codebooks, "width", width);
    output(
        "keys",
        keys,
        (long) rows * codebooks,
        "rows*codebooks",
        ROWS,
        rows,
        CODEBOOKS,
        codebooks,
        null,
        0);
  }

  /**
   * The tree encoder's operand sizes. The values of splitDims are checked by {@link
   * #checkSplitDims} (Java reference) or by the C kernel itself before it reads x (native).
   */
  static void checkTreeSizes(int codebooks, IntBuffer splitDims, FloatBuffer thresholds) {
    checkTreeSizes(codebooks, LutKernels.DEPTH, splitDims, thresholds);
  }

  /** As {@link #checkTreeSizes(int, IntBuffer, FloatBuffer)} for a tree of {@code depth} levels. */
  static void checkTreeSizes(
      int codebooks, int depth, IntBuffer splitDims, FloatBuffer thresholds) {
    int keys = LutKernels.keysOf(depth);
    input(
        "splitDims",
        splitDims,
        (long) codebooks * depth,
        pick(depth - 2, "codebooks*2", "codebooks*3", "codebooks*4"),
        CODEBOOKS,
        codebooks,
        null,
        0,
        null,
        0);
    input(
        "thresholds",
        thresholds,
        (long) codebooks * (keys - 1),
        pick(depth - 2, "codebooks*3", "codebooks*7", "codebooks*15"),
        CODEBOOKS,
        codebooks,
        null,
        0,
        null,
        0);
  }

  /** Every split dimension lies in [0, width). */
  static void checkSplitDims(int codebooks, int width, IntBuffer splitDims) {
    checkSplitDims(codebooks, LutKernels.DEPTH, width, splitDims);
  }

  /** Every split dimension of a tree of {@code depth} levels lies in [0, width). */
  static void checkSplitDims(int codebooks, int depth, int width, IntBuffer splitDims) {
    int count = codebooks * depth;
    int bad = 0;
    for (int i = 0; i < count; i++) {
      int dim = splitDims.get(i);
      bad |= dim | (width - 1 - dim); // negative iff dim < 0 or dim >= width
    }
    if (bad < 0) {
      for (int i = 0; i < count; i++) {
        int dim = splitDims.get(i);
        if (dim < 0 || dim >= width) {
          throw badSplitDim(i, dim, depth, width);
        }
      }
    }
  }

  static IllegalArgumentException badSplitDim(int index, int dim, int width) {
    return badSplitDim(index, dim, LutKernels.DEPTH, width);
  }

  static IllegalArgumentException badSplitDim(int index, int dim, int depth, int width) {
    return new IllegalArgumentException(
        "splitDims["
            + index
            + "]="
            + dim
            + " (codebook="
            + index / depth
            + " level="
            + index % depth
            + ") must be in [0, width="
            + width
            + ")");
  }

  static void checkCentroids(int codebooks, int width, FloatBuffer centroids) {
    checkCentroids(codebooks, width, LutKernels.KEYS, centroids);
  }

  /** {@code centroids} holds [C][keys][w] floats. */
  static void checkCentroids(int codebooks, int width, int keys, FloatBuffer centroids) {
    input(
        "centroids",
        centroids,
        (long) codebooks * keys * width,
        pick(
            LutKernels.depthOf(keys) - 2,
            "codebooks*4*width",
            "codebooks*8*width",
            "codebooks*16*width"),
        CODEBOOKS,
        codebooks,
        "width",
        width,
        null,
        0);
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
    checkAccumulate(keys, rows, codebooks, LutKernels.KEYS, m, tables, scale, bias, out);
  }

  /** As above with {@code keysPerCodebook} (K) table rows per codebook: C·K·m bytes. */
  static void checkAccumulate(
      ByteBuffer keys,
      int rows,
      int codebooks,
      int keysPerCodebook,
      int m,
      ByteBuffer tables,
      FloatBuffer scale,
      FloatBuffer bias,
      FloatBuffer out) {
    checkAccumulate(
        keys,
        rows,
        codebooks,
        m,
        tables,
        (long) codebooks * keysPerCodebook * m,
        pick(
            LutKernels.depthOf(keysPerCodebook) - 2,
            "codebooks*4*m",
            "codebooks*8*m",
            "codebooks*16*m"),
        scale,
        bias,
        out);
  }

  /**
   * As {@link #checkAccumulate}, for 4-bit tables ("lut16x4", two entries per byte, each row padded
   * to a byte): {@code codebooks*16*((m+1)/2)} bytes.
   */
  static void checkAccumulateS4(
      ByteBuffer keys,
      int rows,
      int codebooks,
      int m,
      ByteBuffer tables,
      FloatBuffer scale,
      FloatBuffer bias,
      FloatBuffer out) {
    checkAccumulateS4(keys, rows, codebooks, LutKernels.KEYS, m, tables, scale, bias, out);
  }

  /** As above with {@code keysPerCodebook} (K) table rows per codebook: C·K·((m+1)/2) bytes. */
  static void checkAccumulateS4(
      ByteBuffer keys,
      int rows,
      int codebooks,
      int keysPerCodebook,
      int m,
      ByteBuffer tables,
      FloatBuffer scale,
      FloatBuffer bias,
      FloatBuffer out) {
    checkAccumulate(
        keys,
        rows,
        codebooks,
        m,
        tables,
        (long) codebooks * keysPerCodebook * LutKernels.rowBytesS4(m),
        pick(
            LutKernels.depthOf(keysPerCodebook) - 2,
            "codebooks*4*((m+1)/2)",
            "codebooks*8*((m+1)/2)",
            "codebooks*16*((m+1)/2)"),
        scale,
        bias,
        out);
  }

  /**
   * Folded int8 tables (key 0's row not stored): K−1 rows per codebook, {@code codebooks*(K−1)*m}
   * bytes.
   */
  static void checkAccumulateFolded(
      ByteBuffer keys,
      int rows,
      int codebooks,
      int keysPerCodebook,
      int m,
      ByteBuffer tables,
      FloatBuffer scale,
      FloatBuffer bias,
      FloatBuffer out) {
    checkAccumulate(
        keys,
        rows,
        codebooks,
        m,
        tables,
        (long) codebooks * (keysPerCodebook - 1) * m,
        pick(
            LutKernels.depthOf(keysPerCodebook) - 2,
            "codebooks*3*m",
            "codebooks*7*m",
            "codebooks*15*m"),
        scale,
        bias,
        out);
  }

  /** Folded 4-bit tables: K−1 rows per codebook, {@code codebooks*(K−1)*((m+1)/2)} bytes. */
  static void checkAccumulateS4Folded(
      ByteBuffer keys,
      int rows,
      int codebooks,
      int keysPerCodebook,
      int m,
      ByteBuffer tables,
      FloatBuffer scale,
      FloatBuffer bias,
      FloatBuffer out) {
    checkAccumulate(
        keys,
        rows,
        codebooks,
        m,
        tables,
        (long) codebooks * (keysPerCodebook - 1) * LutKernels.rowBytesS4(m),
        pick(
            LutKernels.depthOf(keysPerCodebook) - 2,
            "codebooks*3*((m+1)/2)",
            "codebooks*7*((m+1)/2)",
            "codebooks*15*((m+1)/2)"),
        scale,
        bias,
        out);
  }

  private static void checkAccumulate(
      ByteBuffer keys,
      int rows,
      int codebooks,
      int m,
      ByteBuffer tables,
      long tableBytes,
      String tableFormula,
      FloatBuffer scale,
      FloatBuffer bias,
      FloatBuffer out) {
    nonNegative(ROWS, rows);
    nonNegative(CODEBOOKS, codebooks);
    nonNegative("m", m);
    input(
        "keys",
        keys,
        (long) rows * codebooks,
        "rows*codebooks",
        ROWS,
        rows,
        CODEBOOKS,
        codebooks,
        "m",
        m);
    input("tables", tables, tableBytes, tableFormula, ROWS, rows, CODEBOOKS, codebooks, "m", m);
    input("scale", scale, m, "m", ROWS, rows, CODEBOOKS, codebooks, "m", m);
    if (bias != null) {
      input("bias", bias, m, "m", ROWS, rows, CODEBOOKS, codebooks, "m", m);
    }
    output("out", out, (long) rows * m, "rows*m", ROWS, rows, CODEBOOKS, codebooks, "m", m);
  }

  /**
   * The formula of depth 2, 3 or 4 (index 0..2): constants, so a passing check allocates nothing.
   */
  private static String pick(int index, String depth2, String depth3, String depth4) {
    return index == 0 ? depth2 : index == 1 ? depth3 : depth4;
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
      String name,
      Buffer buffer,
      long needed,
      String formula,
      String k1,
      int v1,
      String k2,
      int v2,
      String k3,
      int v3) {
    input(name, buffer, needed, formula, k1, v1, k2, v2, k3, v3);
    if (buffer.isReadOnly()) {
      throw new IllegalArgumentException(name + " is read-only but the kernel writes it");
    }
  }

  /**
   * {@code buffer} is direct, native order and holds {@code needed} elements from index 0; the
   * {@code k/v} pairs (names may be null) are the shape context of the message.
   */
  private static void input(
      String name,
      Buffer buffer,
      long needed,
      String formula,
      String k1,
      int v1,
      String k2,
      int v2,
      String k3,
      int v3) {
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
              + context(k1, v1, k2, v2, k3, v3));
    }
  }

  private static String context(String k1, int v1, String k2, int v2, String k3, int v3) {
    StringBuilder out = new StringBuilder(" (").append(k1).append('=').append(v1);
    if (k2 != null) {
      out.append(' ').append(k2).append('=').append(v2);
    }
    if (k3 != null) {
      out.append(' ').append(k3).append('=').append(v3);
    }
    return out.append(')').toString();
  }

  private static String unit(Buffer buffer) {
    return buffer instanceof ByteBuffer ? "bytes" : buffer instanceof IntBuffer ? "ints" : "floats";
  }
}
