package io.cacheai.ocr;

import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.ComponentColorModel;
import java.awt.image.Raster;
import java.util.List;

/**
 * Turns text-line images into the recognizer's input, the way PaddleOCR's {@code
 * predict_rec.resize_norm_img} does:
 *
 * <ol>
 *   <li>pixels in <b>BGR</b> channel order (PaddleOCR reads images with OpenCV, which gives BGR,
 *       and its recognizers are trained on that); a transparent pixel is composited onto white;
 *   <li>resize to height {@value OcrOptions#HEIGHT} keeping the aspect ratio: width {@code ceil(48
 *       × w / h)}, bilinear with OpenCV's {@code INTER_LINEAR} sampling (pixel centres at +0.5,
 *       edges clamped), rounded to whole grey levels as OpenCV's 8-bit resize does;
 *   <li>normalize each value to {@code (v / 255 − 0.5) / 0.5}, i.e. [−1, 1];
 *   <li>batch: pad every line on the right with 0 (mid-grey after normalization) to the batch's
 *       width, {@code max(minWidth, widest line)}.
 * </ol>
 *
 * <p>Tensor layout of a batch of {@code N} lines, {@code W} wide ({@code x}, FP32):
 *
 * <pre>
 * [N][3][48][W]   channel 0 = B, 1 = G, 2 = R; line n occupies columns [0, width_n), 0 after
 * </pre>
 */
final class LinePreprocessor {
  private LinePreprocessor() {}

  /** One line resized and normalized: {@code 3 × 48 × width} values, channel-major. */
  record PreparedLine(float[] chw, int width) {}

  /** The width a {@code width × height} image has once resized to height 48. */
  static long resizedWidth(long width, long height) {
    return Math.max(1, (OcrOptions.HEIGHT * width + height - 1) / height);
  }

  /**
   * Resizes and normalizes {@code image}.
   *
   * @throws IllegalArgumentException (starting with {@code where}) when the resized line is wider
   *     than {@code maxWidth}
   */
  static PreparedLine prepare(BufferedImage image, String where, int maxWidth) {
    int srcW = image.getWidth();
    int srcH = image.getHeight();
    long dstWLong = resizedWidth(srcW, srcH);
    if (dstWLong > maxWidth) {
      throw new IllegalArgumentException(
          where
              + ": a "
              + srcW
              + "x"
              + srcH
              + " line is "
              + dstWLong
              + " pixels wide at height "
              + OcrOptions.HEIGHT
              + ", more than max_width="
              + maxWidth
              + "; split the line");
    }
    int dstW = (int) dstWLong;
    int dstH = OcrOptions.HEIGHT;
    int[] x0 = new int[dstW];
    int[] x1 = new int[dstW];
    float[] wx = new float[dstW];
    sampling(srcW, dstW, x0, x1, wx);
    int[] y0 = new int[dstH];
    int[] y1 = new int[dstH];
    float[] wy = new float[dstH];
    sampling(srcH, dstH, y0, y1, wy);

    // Only the (at most 2 × 48) source rows the samples touch are converted, not the whole image.
    float[] chw = new float[3 * dstH * dstW];
    int[] argb = new int[srcW];
    float[][] rowA = new float[3][srcW];
    float[][] rowB = new float[3][srcW];
    int loadedA = -1;
    int loadedB = -1;
    for (int y = 0; y < dstH; y++) {
      if (y0[y] != loadedA) {
        loadedA = y0[y];
        bgrRow(image, loadedA, argb, rowA);
      }
      if (y1[y] != loadedB) {
        loadedB = y1[y];
        bgrRow(image, loadedB, argb, rowB);
      }
      float fy = wy[y];
      for (int c = 0; c < 3; c++) {
        float[] a = rowA[c];
        float[] b = rowB[c];
        int out = (c * dstH + y) * dstW;
        for (int x = 0; x < dstW; x++) {
          float fx = wx[x];
          float top = a[x0[x]] * (1 - fx) + a[x1[x]] * fx;
          float bottom = b[x0[x]] * (1 - fx) + b[x1[x]] * fx;
          float value = Math.round(top * (1 - fy) + bottom * fy);
          chw[out + x] = (value / 255f - 0.5f) / 0.5f;
        }
      }
    }
    return new PreparedLine(chw, dstW);
  }

  /**
   * Row {@code y} of {@code image} as B, G, R planes of 0..255, alpha composited onto white. Grey
   * images are read from their raster: {@code getRGB} would convert their linear grey colour space
   * to sRGB and lighten them, where OpenCV copies the grey value into B, G and R.
   */
  private static void bgrRow(BufferedImage image, int y, int[] argb, float[][] bgr) {
    ColorModel model = image.getColorModel();
    Raster raster = image.getRaster();
    boolean grey =
        model instanceof ComponentColorModel
            && model.getColorSpace().getType() == ColorSpace.TYPE_GRAY
            && raster.getNumBands() == (model.hasAlpha() ? 2 : 1);
    if (grey) {
      int width = argb.length;
      int greyMax = (1 << model.getComponentSize(0)) - 1;
      int[] values = raster.getSamples(0, y, width, 1, 0, (int[]) null);
      int[] alphas = model.hasAlpha() ? raster.getSamples(0, y, width, 1, 1, (int[]) null) : null;
      int alphaMax = model.hasAlpha() ? (1 << model.getComponentSize(1)) - 1 : 1;
      for (int i = 0; i < width; i++) {
        int v = (int) ((values[i] * 255L + greyMax / 2) / greyMax);
        int alpha = alphas == null ? 255 : (int) ((alphas[i] * 255L + alphaMax / 2) / alphaMax);
        argb[i] = (alpha << 24) | (v << 16) | (v << 8) | v;
      }
    } else {
      image.getRGB(0, y, argb.length, 1, argb, 0, argb.length);
    }
    for (int i = 0; i < argb.length; i++) {
      int p = argb[i];
      int alpha = p >>> 24;
      int r = (p >> 16) & 0xff;
      int g = (p >> 8) & 0xff;
      int b = p & 0xff;
      if (alpha != 255) {
        r = (r * alpha + 255 * (255 - alpha) + 127) / 255;
        g = (g * alpha + 255 * (255 - alpha) + 127) / 255;
        b = (b * alpha + 255 * (255 - alpha) + 127) / 255;
      }
      bgr[0][i] = b;
      bgr[1][i] = g;
      bgr[2][i] = r;
    }
  }

  /** OpenCV INTER_LINEAR source positions: {@code (d + 0.5) · src / dst − 0.5}, clamped. */
  private static void sampling(int srcSize, int dstSize, int[] lo, int[] hi, float[] weight) {
    double scale = (double) srcSize / dstSize;
    for (int d = 0; d < dstSize; d++) {
      double position = (d + 0.5) * scale - 0.5;
      int left = (int) Math.floor(position);
      double fraction = position - left;
      if (left < 0) {
        left = 0;
        fraction = 0;
      }
      if (left >= srcSize - 1) {
        left = srcSize - 1;
        fraction = 0;
      }
      lo[d] = left;
      hi[d] = Math.min(left + 1, srcSize - 1);
      weight[d] = (float) fraction;
    }
  }

  /** The batch width: {@code max(minWidth, widest line)}. */
  static int batchWidth(List<PreparedLine> lines, int minWidth) {
    int width = minWidth;
    for (PreparedLine line : lines) {
      width = Math.max(width, line.width());
    }
    return width;
  }

  /** Lays {@code lines} out as {@code [N][3][48][width]}, padding each on the right with 0. */
  static float[] batch(List<PreparedLine> lines, int width) {
    int h = OcrOptions.HEIGHT;
    float[] x = new float[Math.multiplyExact(lines.size(), 3 * h * width)];
    for (int n = 0; n < lines.size(); n++) {
      PreparedLine line = lines.get(n);
      for (int row = 0; row < 3 * h; row++) {
        System.arraycopy(
            line.chw(), row * line.width(), x, (n * 3 * h + row) * width, line.width());
      }
    }
    return x;
  }
}
