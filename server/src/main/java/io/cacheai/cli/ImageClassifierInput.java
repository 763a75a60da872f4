package io.cacheai.cli;

import io.cacheai.client.TensorMetadata;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Arrays;
import javax.imageio.ImageIO;

/**
 * Turns an image file into the FP32 input of an image classifier whose metadata declares {@code
 * [N,C,H,W]} with C = 1 (grey) or 3 (RGB) and fixed H, W: decode, draw scaled to W×H on white
 * (bilinear), and scale each value to pixel / 255 — the convention of the embedded MNIST models.
 * Layout of one image: {@code [1][C][H][W]}, channel-major.
 */
record ImageClassifierInput(int channels, int height, int width) {
  /** The input for {@code input} of {@code model}, or an error saying why it is not an image. */
  static ImageClassifierInput forInput(TensorMetadata input, String model) {
    long[] shape = input.shape();
    if (shape.length != 4
        || (shape[1] != 1 && shape[1] != 3)
        || shape[2] < 1
        || shape[3] < 1
        || shape[2] * shape[3] > (1 << 24)) {
      throw new IllegalArgumentException(
          "model "
              + model
              + " input '"
              + input.name()
              + "' "
              + input.datatype()
              + Arrays.toString(shape)
              + " is not an image [N,1|3,H,W]; use --raw-tensor");
    }
    return new ImageClassifierInput((int) shape[1], (int) shape[2], (int) shape[3]);
  }

  /** The request shape of one image. */
  long[] shape() {
    return new long[] {1, channels, height, width};
  }

  /** Decodes {@code encoded} and returns its {@code C×H×W} values, pixel / 255. */
  float[] pixels(byte[] encoded) {
    BufferedImage source;
    try {
      source = ImageIO.read(new ByteArrayInputStream(encoded));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    if (source == null) {
      throw new IllegalArgumentException("not an image ImageIO can read (PNG, JPEG, BMP, GIF)");
    }
    BufferedImage scaled = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = scaled.createGraphics();
    try {
      g.setRenderingHint(
          RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
      g.setColor(Color.WHITE);
      g.fillRect(0, 0, width, height);
      g.drawImage(source, 0, 0, width, height, null);
    } finally {
      g.dispose();
    }
    float[] values = new float[channels * height * width];
    int plane = height * width;
    for (int y = 0; y < height; y++) {
      for (int x = 0; x < width; x++) {
        int rgb = scaled.getRGB(x, y);
        int r = (rgb >> 16) & 0xff;
        int g2 = (rgb >> 8) & 0xff;
        int b = rgb & 0xff;
        int i = y * width + x;
        if (channels == 1) {
          values[i] = Math.round(0.299f * r + 0.587f * g2 + 0.114f * b) / 255f;
        } else {
          values[i] = r / 255f;
          values[plane + i] = g2 / 255f;
          values[2 * plane + i] = b / 255f;
        }
      }
    }
    return values;
  }
}
