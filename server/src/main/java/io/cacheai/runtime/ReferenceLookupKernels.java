package io.cacheai.runtime;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;

/**
 * {@link LookupKernels} in plain Java, scalar, one thread: the semantics every other implementation
 * must reproduce bit for bit. Every length is checked before the loops, and an error names the
 * argument ({@code keys: 12 bytes, need rows*codebooks=16}).
 */
final class ReferenceLookupKernels implements LookupKernels {
  static final ReferenceLookupKernels INSTANCE = new ReferenceLookupKernels();

  private ReferenceLookupKernels() {}

  @Override
  public void encodeTree(
      FloatBuffer x,
      int rows,
      int d,
      int codebooks,
      int width,
      IntBuffer splitDims,
      FloatBuffer thresholds,
      ByteBuffer keys) {
    checkShape(rows, d, codebooks, width);
    need("x", x.capacity(), (long) rows * d, "floats", "rows*d");
    need("splitDims", splitDims.capacity(), (long) codebooks * DEPTH, "ints", "codebooks*4");
    need(
        "thresholds",
        thresholds.capacity(),
        (long) codebooks * TREE_NODES,
        "floats",
        "codebooks*15");
    need("keys", keys.capacity(), (long) rows * codebooks, "bytes", "rows*codebooks");
    for (int i = 0; i < codebooks * DEPTH; i++) {
      int dim = splitDims.get(i);
      if (dim < 0 || dim >= width) {
        throw new IllegalArgumentException(
            "splitDims[" + i + "]=" + dim + " outside [0, width=" + width + ")");
      }
    }
    for (int r = 0; r < rows; r++) {
      for (int c = 0; c < codebooks; c++) {
        int base = r * d + c * width;
        int node = 0;
        for (int l = 0; l < DEPTH; l++) {
          float value = x.get(base + splitDims.get(c * DEPTH + l));
          node = 2 * node + 1 + (value > thresholds.get(c * TREE_NODES + node) ? 1 : 0);
        }
        keys.put(r * codebooks + c, (byte) (node - TREE_NODES));
      }
    }
  }

  @Override
  public void encodeCentroids(
      FloatBuffer x,
      int rows,
      int d,
      int codebooks,
      int width,
      FloatBuffer centroids,
      ByteBuffer keys) {
    checkShape(rows, d, codebooks, width);
    need("x", x.capacity(), (long) rows * d, "floats", "rows*d");
    need(
        "centroids",
        centroids.capacity(),
        (long) codebooks * KEYS * width,
        "floats",
        "codebooks*16*width");
    need("keys", keys.capacity(), (long) rows * codebooks, "bytes", "rows*codebooks");
    for (int r = 0; r < rows; r++) {
      for (int c = 0; c < codebooks; c++) {
        int base = r * d + c * width;
        int best = 0;
        float bestDistance = Float.POSITIVE_INFINITY;
        for (int k = 0; k < KEYS; k++) {
          int at = (c * KEYS + k) * width;
          float distance = 0f;
          for (int i = 0; i < width; i++) {
            float diff = x.get(base + i) - centroids.get(at + i);
            distance += diff * diff;
          }
          if (distance < bestDistance) {
            bestDistance = distance;
            best = k;
          }
        }
        keys.put(r * codebooks + c, (byte) best);
      }
    }
  }

  @Override
  public void accumulate(
      ByteBuffer keys,
      int rows,
      int codebooks,
      int m,
      ByteBuffer tables,
      FloatBuffer scale,
      FloatBuffer bias,
      FloatBuffer out) {
    if (rows < 0 || codebooks <= 0 || m <= 0) {
      throw new IllegalArgumentException(
          "rows=" + rows + " codebooks=" + codebooks + " m=" + m + " (rows >= 0, others > 0)");
    }
    need("keys", keys.capacity(), (long) rows * codebooks, "bytes", "rows*codebooks");
    need("tables", tables.capacity(), (long) codebooks * KEYS * m, "bytes", "codebooks*16*m");
    need("scale", scale.capacity(), m, "floats", "m");
    if (bias != null) {
      need("bias", bias.capacity(), m, "floats", "m");
    }
    need("out", out.capacity(), (long) rows * m, "floats", "rows*m");
    int[] acc = new int[m];
    for (int r = 0; r < rows; r++) {
      java.util.Arrays.fill(acc, 0);
      for (int c = 0; c < codebooks; c++) {
        int key = keys.get(r * codebooks + c) & 0xff;
        if (key >= KEYS) {
          throw new IllegalArgumentException(
              "keys[" + (r * codebooks + c) + "]=" + key + " (must be < 16)");
        }
        int row = (c * KEYS + key) * m;
        for (int j = 0; j < m; j++) {
          acc[j] += tables.get(row + j);
        }
      }
      for (int j = 0; j < m; j++) {
        float y = scale.get(j) * (float) acc[j];
        out.put(r * m + j, bias == null ? y : bias.get(j) + y);
      }
    }
  }

  private static void checkShape(int rows, int d, int codebooks, int width) {
    if (rows < 0 || codebooks <= 0 || width <= 0 || (long) codebooks * width != d) {
      throw new IllegalArgumentException(
          "rows="
              + rows
              + " d="
              + d
              + " codebooks="
              + codebooks
              + " width="
              + width
              + " (need rows >= 0, codebooks, width > 0 and d == codebooks*width)");
    }
  }

  private static void need(String name, long have, long need, String unit, String formula) {
    if (have < need) {
      throw new IllegalArgumentException(
          name + ": " + have + " " + unit + ", need " + formula + "=" + need);
    }
  }
}
