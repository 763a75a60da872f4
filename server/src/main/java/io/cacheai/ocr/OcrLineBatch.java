package io.cacheai.ocr;

import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.List;

/**
 * Prepares text-line images exactly as the served OCR wrapper does ({@link LinePreprocessor}: BGR,
 * height 48 keeping the aspect ratio, {@code (v/255 − 0.5)/0.5}, padded on the right with 0) for
 * tools outside the serving path — calibration and evaluation data for {@code cacheai compress} /
 * {@code eval}, which need every line at one common width.
 *
 * <p>Layout of the result: {@code [N][3][48][width]}, channel 0 = B.
 */
public final class OcrLineBatch {
  private OcrLineBatch() {}

  /** The width {@code image} has once resized to height 48. */
  public static int resizedWidth(BufferedImage image) {
    return Math.toIntExact(
        Math.min(
            Integer.MAX_VALUE, LinePreprocessor.resizedWidth(image.getWidth(), image.getHeight())));
  }

  /**
   * The lines, resized and normalized, padded to {@code width}.
   *
   * @param names one label per image for errors (e.g. its file name)
   * @throws IllegalArgumentException naming the image when a line is wider than {@code width}
   */
  public static float[] prepare(List<BufferedImage> images, List<String> names, int width) {
    if (images.size() != names.size()) {
      throw new IllegalArgumentException(
          "images=" + images.size() + " names=" + names.size() + " (one name per image)");
    }
    List<LinePreprocessor.PreparedLine> lines = new ArrayList<>(images.size());
    for (int i = 0; i < images.size(); i++) {
      lines.add(LinePreprocessor.prepare(images.get(i), names.get(i), width));
    }
    return LinePreprocessor.batch(lines, width);
  }
}
