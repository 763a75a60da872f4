package io.cacheai.kernels;

import static io.cacheai.kernels.ConvChecks.checkIntSized;

import java.nio.FloatBuffer;

/**
 * The last step of the convolutions that compute more than their outputs or leave them strided
 * ({@link Int8DirectConv}'s wide rows, {@link Int8KqConv}, the low-bit product): read m planes of
 * row-strided values, keep the real columns, optionally max-pool them, and write NCHW y.
 *
 * <pre>
 *   src plane j (srcPlane floats), row r at j·srcPlane + r·srcRow:
 *   | col 0 .. cols-1 (kept) | cols .. srcRow-1 (scrap, never read) |
 * </pre>
 */
public final class Int8CropPool {
  private Int8CropPool() {}

  /**
   * Compact outputs from row-strided planes: {@code src[j·srcPlane + r·srcRow + col]} for r &lt;
   * rows, col &lt; cols. {@code poolK} 0 copies them into y [m, rows, cols]; otherwise y [m, outH2,
   * outW2] is their max over poolK×poolK windows at stride poolS (no padding, every window inside).
   * The plain max equals Java's {@code Math.max} on convolution outputs (never NaN, never −0).
   */
  public static void cropPool(
      FloatBuffer src,
      int m,
      int srcPlane,
      int srcRow,
      int rows,
      int cols,
      int poolK,
      int poolS,
      int outH2,
      int outW2,
      FloatBuffer y) {
    if (checkCropPool(src, m, srcPlane, srcRow, rows, cols, poolK, poolS, outH2, outW2, y)) {
      IntKernelsNative.convCropPoolF32(
          src, m, srcPlane, srcRow, rows, cols, poolK, poolS, outH2, outW2, y);
    }
  }

  static boolean checkCropPool(
      FloatBuffer src,
      int m,
      int srcPlane,
      int srcRow,
      int rows,
      int cols,
      int poolK,
      int poolS,
      int outH2,
      int outW2,
      FloatBuffer y) {
    Buffers.checkShape(
        "[m,srcPlane,srcRow,rows,cols,poolK,poolS,outH2,outW2]",
        m,
        srcPlane,
        srcRow,
        rows,
        cols,
        poolK,
        poolS,
        outH2,
        outW2);
    if (cols > srcRow || (long) rows * srcRow > srcPlane && m > 1) {
      throw new IllegalArgumentException(
          "cols="
              + cols
              + " rows="
              + rows
              + " do not fit srcRow="
              + srcRow
              + " srcPlane="
              + srcPlane);
    }
    long outputs;
    if (poolK == 0) {
      outputs = (long) m * rows * cols;
    } else {
      if (poolS < 1
          || outH2 < 1
          || outW2 < 1
          || (long) (outH2 - 1) * poolS + poolK > rows
          || (long) (outW2 - 1) * poolS + poolK > cols) {
        throw new IllegalArgumentException(
            "pool poolK="
                + poolK
                + " poolS="
                + poolS
                + " outH2="
                + outH2
                + " outW2="
                + outW2
                + " reads past rows="
                + rows
                + " cols="
                + cols);
      }
      outputs = (long) m * outH2 * outW2;
    }
    long reads =
        m == 0 || rows == 0 ? 0 : (long) (m - 1) * srcPlane + (long) (rows - 1) * srcRow + cols;
    checkIntSized("src", reads);
    checkIntSized("y", outputs);
    Buffers.checkInput("src", src, reads);
    Buffers.checkOutput("y", y, outputs);
    return outputs > 0;
  }
}
