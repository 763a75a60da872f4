package io.cacheai.compress.lut;

import io.cacheai.graph.Im2Col;
import io.cacheai.graph.Window2d;
import java.util.SplittableRandom;

/**
 * The calibration rows of one table layer, cut out of the activations {@link Activations} collects
 * (all samples concatenated, each in the layer's tensor layout), the same rows for its input X
 * [n,D] and its target Y [n,M]:
 *
 * <pre>
 *   ROWS      sample s holds R rows of D (x [..., D], leading axes flattened):
 *             row r = s·R + i  ←  act[(s·R + i)·D + j],  j in [0, D)
 *   NCHW_1X1  sample s holds [D, P] (channels × pixels, P = H·W):
 *             row r = s·P + p  ←  act[s·D·P + j·P + p],  j in [0, D)
 *   NCHW_PATCHES  output (target) as NCHW_1X1 with P = oH·oW; input sample s holds [C, H, W] and
 *             row r = s·P + p  ←  the im2col patch of output pixel p of sample s ({@link #patches})
 * </pre>
 *
 * A text line gives tens to thousands of rows (40 per line at 48×320 in PP-OCR's neck), so when
 * there are more than {@code maxRows} in all, a uniform subset of exactly {@code maxRows} is kept
 * (selection sampling, ascending, drawn from the seed alone): the same seed, the same rows.
 */
final class LayerRows {
  /** Rows kept for one layer's fit at most: k-means, tree and ridge cost grow with n·D·M. */
  static final int DEFAULT_MAX_ROWS = 24_576;

  private final LutCandidates.Form form;
  private final int rowsPerSample;
  private final int samples;
  private final int[] picks;

  private LayerRows(LutCandidates.Form form, int rowsPerSample, int samples, int[] picks) {
    this.form = form;
    this.rowsPerSample = rowsPerSample;
    this.samples = samples;
    this.picks = picks;
  }

  /**
   * The rows of {@code samples} samples of a layer of {@code form} giving {@code rowsPerSample}
   * rows each; all of them, or {@code maxRows} drawn by {@code seed}.
   */
  static LayerRows pick(
      LutCandidates.Form form, long rowsPerSample, int samples, int maxRows, long seed) {
    long total = rowsPerSample * samples;
    if (rowsPerSample <= 0 || total > Integer.MAX_VALUE || maxRows <= 0) {
      throw new IllegalArgumentException(
          "layer rows: rowsPerSample="
              + rowsPerSample
              + " samples="
              + samples
              + " maxRows="
              + maxRows
              + " (rows per sample and max rows > 0, at most 2^31-1 rows in all)");
    }
    int n = (int) Math.min(total, maxRows);
    int[] picks = new int[n];
    if (n == total) {
      for (int i = 0; i < n; i++) {
        picks[i] = i;
      }
    } else {
      // Knuth's algorithm S: row r kept with probability (still needed) / (still left)
      SplittableRandom random = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + 0x5EED);
      int kept = 0;
      for (int r = 0; r < total && kept < n; r++) {
        if (random.nextLong(total - r) < n - kept) {
          picks[kept++] = r;
        }
      }
    }
    return new LayerRows(form, Math.toIntExact(rowsPerSample), samples, picks);
  }

  /** n, the rows kept. */
  int count() {
    return picks.length;
  }

  /**
   * The kept rows of a k×k Conv's input {@code activations} (samples of [C, H, W], {@code g}'s
   * input size): each the im2col patch of its output pixel, n·D with D = C·kH·kW ({@link Im2Col}).
   */
  float[] patches(float[] activations, int channels, Window2d g) {
    int image = channels * g.inH() * g.inW();
    int d = Im2Col.patchLength(channels, g);
    if (form != LutCandidates.Form.NCHW_PATCHES
        || Im2Col.pixels(g) != rowsPerSample
        || activations.length != (long) image * samples) {
      throw new IllegalArgumentException(
          "layer rows: patches of "
              + activations.length
              + " activations, expected samples="
              + samples
              + " x "
              + channels
              + "x"
              + g.inH()
              + "x"
              + g.inW()
              + " with "
              + rowsPerSample
              + " output pixels each (form="
              + form
              + ")");
    }
    float[] out = new float[picks.length * d];
    float[] sample = new float[rowsPerSample * d];
    int cached = -1;
    for (int i = 0; i < picks.length; i++) {
      int s = picks[i] / rowsPerSample;
      int p = picks[i] % rowsPerSample;
      if (s != cached) {
        Im2Col.rows(activations, s * image, channels, g, sample, 0, d);
        cached = s;
      }
      System.arraycopy(sample, p * d, out, i * d, d);
    }
    return out;
  }

  /** The kept rows of {@code activations} (a value of {@code width} per row), n·width. */
  float[] rows(float[] activations, int width) {
    if (width <= 0 || activations.length != (long) width * rowsPerSample * samples) {
      throw new IllegalArgumentException(
          "layer rows: "
              + activations.length
              + " activations, expected samples="
              + samples
              + " x rowsPerSample="
              + rowsPerSample
              + " x width="
              + width);
    }
    float[] out = new float[picks.length * width];
    for (int i = 0; i < picks.length; i++) {
      int r = picks[i];
      if (form == LutCandidates.Form.ROWS) {
        System.arraycopy(activations, r * width, out, i * width, width);
      } else {
        int s = r / rowsPerSample;
        int p = r % rowsPerSample;
        int base = s * width * rowsPerSample + p;
        for (int j = 0; j < width; j++) {
          out[i * width + j] = activations[base + j * rowsPerSample];
        }
      }
    }
    return out;
  }
}
