package io.cacheai.ocr;

/**
 * The bounds of an OCR recognizer model: what a request may cost it.
 *
 * @param maxWidth the widest recognizer input, in pixels at height {@value #HEIGHT}; a line whose
 *     resized width exceeds it is refused (not squeezed: squeezing a long line garbles its text,
 *     while the client can split it). Also bounds the width of a prepared {@code x} tensor.
 * @param minWidth every batch is padded to at least this width; PaddleOCR's {@code rec_image_shape}
 *     3,48,320 pads to 320, and the recognizer reads short lines best that way
 * @param maxImageBytes the largest encoded image accepted, in bytes
 * @param maxImagePixels the largest decoded image accepted, width × height, checked from the image
 *     header before any pixel is decoded
 */
public record OcrOptions(int maxWidth, int minWidth, int maxImageBytes, long maxImagePixels) {
  /** The recognizer's input height: PP-OCR rec models read lines 48 pixels high. */
  public static final int HEIGHT = 48;

  public static final int DEFAULT_MAX_WIDTH = 1280;
  public static final int DEFAULT_MIN_WIDTH = 320;
  public static final int DEFAULT_MAX_IMAGE_BYTES = 16 << 20;
  public static final long DEFAULT_MAX_IMAGE_PIXELS = 16L << 20;

  public static final OcrOptions DEFAULT =
      new OcrOptions(
          DEFAULT_MAX_WIDTH, DEFAULT_MIN_WIDTH, DEFAULT_MAX_IMAGE_BYTES, DEFAULT_MAX_IMAGE_PIXELS);

  /** Largest max_width accepted: 16384 pixels is 2048 CTC steps, a very long line already. */
  public static final int LIMIT_MAX_WIDTH = 16384;

  public OcrOptions {
    if (maxWidth < 8 || maxWidth > LIMIT_MAX_WIDTH) {
      throw new IllegalArgumentException(
          "max_width=" + maxWidth + " must be in [8," + LIMIT_MAX_WIDTH + "]");
    }
    if (minWidth < 1 || minWidth > maxWidth) {
      throw new IllegalArgumentException(
          "min_width=" + minWidth + " must be in [1,max_width=" + maxWidth + "]");
    }
    if (maxImageBytes < 1) {
      throw new IllegalArgumentException("max_image_bytes=" + maxImageBytes + " must be >= 1");
    }
    if (maxImagePixels < 1) {
      throw new IllegalArgumentException("max_image_pixels=" + maxImagePixels + " must be >= 1");
    }
  }

  /** These options with another {@link #maxWidth}. */
  public OcrOptions withMaxWidth(int width) {
    return new OcrOptions(width, Math.min(minWidth, width), maxImageBytes, maxImagePixels);
  }
}
