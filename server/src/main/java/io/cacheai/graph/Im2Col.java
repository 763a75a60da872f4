package io.cacheai.graph;

/**
 * The patch rows of a 2-D convolution (im2col, one row per output pixel): what a {@code LookupConv}
 * encodes, what its tables are fitted on, and what its diagnostics compare — one function so the
 * three agree on the order of a row's values.
 *
 * <pre>
 *   image  x [C, H, W] (one sample, row-major, at xOffset)
 *   rows   [oH·oW, rowStride]: row p = oy·oW + ox, at rowsOffset + p·rowStride
 *     rows[p][(c·kH + ky)·kW + kx] = x[c][oy·sH − padTop + ky·dH][ox·sW − padLeft + kx·dW]
 *                                    or 0 where that falls outside the image (the conv's padding)
 *     rows[p][D .. rowStride) = 0   (D = C·kH·kW; the table layer's zero padding to C·w)
 * </pre>
 *
 * The order (c, ky, kx) is the flattening of an ONNX Conv weight [M, C, kH, kW] to [M, D], so a
 * patch row times the flattened weight is the conv's output pixel.
 */
public final class Im2Col {
  private Im2Col() {}

  /** D, the values of one patch row: channels · kH · kW. */
  public static int patchLength(int channels, Window2d g) {
    return Math.multiplyExact(channels, Math.multiplyExact(g.kernelH(), g.kernelW()));
  }

  /** The output pixels of one image, oH · oW: its number of patch rows. */
  public static int pixels(Window2d g) {
    return Math.multiplyExact(g.outH(), g.outW());
  }

  /**
   * Writes the {@link #pixels} patch rows of the image at {@code xOffset} of {@code x} into {@code
   * rows} (see the class drawing).
   *
   * @throws IllegalArgumentException when the image or the rows do not fit their arrays
   */
  public static void rows(
      float[] x, int xOffset, int channels, Window2d g, float[] rows, int rowsOffset, int stride) {
    int inH = g.inH();
    int inW = g.inW();
    int d = patchLength(channels, g);
    int pixels = pixels(g);
    if (xOffset < 0
        || (long) xOffset + (long) channels * inH * inW > x.length
        || stride < d
        || rowsOffset < 0
        || (long) rowsOffset + (long) pixels * stride > rows.length) {
      throw new IllegalArgumentException(
          "im2col: image offset="
              + xOffset
              + " channels="
              + channels
              + " "
              + inH
              + "x"
              + inW
              + " in "
              + x.length
              + " floats, rows offset="
              + rowsOffset
              + " stride="
              + stride
              + " (D="
              + d
              + ") x "
              + pixels
              + " in "
              + rows.length
              + " floats");
    }
    for (int p = 0; p < pixels; p++) {
      patch(x, xOffset, channels, g, p, rows, rowsOffset + p * stride, stride);
    }
  }

  /**
   * The patch row of output pixel {@code pixel} (oy·oW + ox) alone, written at {@code rowOffset}
   * (then zeros up to {@code stride}): what a sampled check needs without the whole matrix. The
   * caller has checked the sizes as {@link #rows} does.
   */
  public static void patch(
      float[] x,
      int xOffset,
      int channels,
      Window2d g,
      int pixel,
      float[] rows,
      int rowOffset,
      int stride) {
    int inH = g.inH();
    int inW = g.inW();
    int kh = g.kernelH();
    int kw = g.kernelW();
    int y0 = pixel / g.outW() * g.strideH() - g.padTop();
    int x0 = pixel % g.outW() * g.strideW() - g.padLeft();
    int j = rowOffset;
    for (int c = 0; c < channels; c++) {
      int plane = xOffset + c * inH * inW;
      for (int ky = 0; ky < kh; ky++) {
        int y = y0 + ky * g.dilationH();
        boolean rowInside = y >= 0 && y < inH;
        int line = plane + y * inW;
        for (int kx = 0; kx < kw; kx++) {
          int xx = x0 + kx * g.dilationW();
          rows[j++] = rowInside && xx >= 0 && xx < inW ? x[line + xx] : 0f;
        }
      }
    }
    java.util.Arrays.fill(rows, j, rowOffset + stride, 0f);
  }
}
