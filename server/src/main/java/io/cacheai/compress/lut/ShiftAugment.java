package io.cacheai.compress.lut;

import io.cacheai.compress.Dataset;

/**
 * More calibration rows from the same images: every image shifted by each (dx, dy) in [-r, r]²
 * pixels, the pixels shifted in set to the image plane's minimum (the background of MNIST). The
 * tables have C·16·M entries to fit and 1000 calibration images leave them overfitted (calibration
 * NMSE 0.022 vs 0.065 on other images at w = 8); shifted copies are what a digit looks like a pixel
 * off, so k-means, the tree and the ridge refit see (2r+1)² times the rows without any image kept
 * for evaluation. Deterministic: a fixed order, no randomness.
 *
 * <p>Layout: a sample is [..., H, W] floats row-major (the last two axes are the image, the ones
 * before are planes, e.g. channels); the result holds, for sample i, its (2r+1)² copies at rows
 * i·(2r+1)² + (dy + r)·(2r+1) + (dx + r), labels repeated.
 */
final class ShiftAugment {
  private ShiftAugment() {}

  /**
   * {@code data} with each sample shifted by every offset of radius {@code radiusPx}; {@code data}
   * itself when the radius is 0 or the samples are not images (rank below 2, or an image smaller
   * than 2r+1 on a side).
   */
  static Dataset shifted(Dataset data, int radiusPx) {
    long[] shape = data.sampleShape();
    if (radiusPx == 0 || shape.length < 2) {
      return data;
    }
    int h = Math.toIntExact(shape[shape.length - 2]);
    int w = Math.toIntExact(shape[shape.length - 1]);
    int side = 2 * radiusPx + 1;
    if (h < side || w < side) {
      return data;
    }
    int length = data.sampleLength();
    int planes = length / (h * w);
    int copies = side * side;
    int n = data.count();
    float[] src = data.values();
    float[] out = new float[Math.multiplyExact(Math.multiplyExact(n, copies), length)];
    int[] labels = data.labels() == null ? null : new int[n * copies];
    for (int i = 0; i < n; i++) {
      for (int dy = -radiusPx; dy <= radiusPx; dy++) {
        for (int dx = -radiusPx; dx <= radiusPx; dx++) {
          int row = i * copies + (dy + radiusPx) * side + (dx + radiusPx);
          for (int p = 0; p < planes; p++) {
            int from = i * length + p * h * w;
            int to = row * length + p * h * w;
            float background = Float.POSITIVE_INFINITY;
            for (int k = 0; k < h * w; k++) {
              background = Math.min(background, src[from + k]);
            }
            for (int y = 0; y < h; y++) {
              int sy = y - dy;
              for (int x = 0; x < w; x++) {
                int sx = x - dx;
                boolean inside = sy >= 0 && sy < h && sx >= 0 && sx < w;
                out[to + y * w + x] = inside ? src[from + sy * w + sx] : background;
              }
            }
          }
          if (labels != null) {
            labels[row] = data.labels()[i];
          }
        }
      }
    }
    return new Dataset(out, shape, labels, data.description() + " shifted ±" + radiusPx + " px");
  }
}
