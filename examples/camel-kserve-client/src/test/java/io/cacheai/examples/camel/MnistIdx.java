package io.cacheai.examples.camel;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;

/**
 * Reads the first digits of gzip IDX files (the MNIST distribution format).
 *
 * <pre>
 *   images: u32 magic 0x00000803 | u32 count | u32 rows | u32 cols | count×rows×cols u8 pixels
 *   labels: u32 magic 0x00000801 | u32 count | count u8 labels
 * </pre>
 *
 * All integers big-endian. Pixels become {@code pixel / 255f}, the scaling the models were trained
 * with.
 */
final class MnistIdx {
  static final int IMAGES_MAGIC = 0x00000803;
  static final int LABELS_MAGIC = 0x00000801;

  private MnistIdx() {}

  /** The first {@code n} images as {@code n × rows × cols} floats in [0, 1], row-major. */
  static float[] readImages(Path gz, int n, int expectedRows, int expectedCols) throws IOException {
    try (DataInputStream in = open(gz)) {
      int magic = in.readInt();
      int count = in.readInt();
      int rows = in.readInt();
      int cols = in.readInt();
      if (magic != IMAGES_MAGIC || rows != expectedRows || cols != expectedCols || count < n) {
        throw new IOException(
            String.format(
                "%s: magic=0x%08x count=%d rows=%d cols=%d, wanted magic=0x%08x count>=%d %dx%d",
                gz, magic, count, rows, cols, IMAGES_MAGIC, n, expectedRows, expectedCols));
      }
      byte[] pixels = new byte[n * rows * cols];
      in.readFully(pixels);
      float[] out = new float[pixels.length];
      for (int i = 0; i < pixels.length; i++) {
        out[i] = (pixels[i] & 0xFF) / 255f;
      }
      return out;
    }
  }

  /** The first {@code n} labels. */
  static int[] readLabels(Path gz, int n) throws IOException {
    try (DataInputStream in = open(gz)) {
      int magic = in.readInt();
      int count = in.readInt();
      if (magic != LABELS_MAGIC || count < n) {
        throw new IOException(
            String.format(
                "%s: magic=0x%08x count=%d, wanted magic=0x%08x count>=%d",
                gz, magic, count, LABELS_MAGIC, n));
      }
      byte[] bytes = new byte[n];
      in.readFully(bytes);
      int[] labels = new int[n];
      for (int i = 0; i < n; i++) {
        labels[i] = bytes[i] & 0xFF;
      }
      return labels;
    }
  }

  private static DataInputStream open(Path gz) throws IOException {
    InputStream raw = Files.newInputStream(gz);
    return new DataInputStream(new GZIPInputStream(raw, 1 << 16));
  }
}
