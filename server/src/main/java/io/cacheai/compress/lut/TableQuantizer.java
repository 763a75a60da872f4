package io.cacheai.compress.lut;

import io.cacheai.graph.PackedTensor;
import io.cacheai.runtime.LookupKernels;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Quantizes refitted LookupGemm tables T [C·16][M] (doubles) to the stored integers, one scale per
 * output column, and packs them in the bundle's layouts ({@code lut16} int8, {@code lut16x4} 4-bit,
 * drawn in {@link PackedTensor}). The caller then sets the bias from the integers it gets back, by
 * the mean error left on the calibration rows, which also absorbs any constant per column taken out
 * here.
 *
 * <p>int8: symmetric, scale = max |T[·][j]| / 127, entries −127..127 (the int8 path as it always
 * was).
 *
 * <p>4-bit: only 16 levels, so none is wasted. Every row of data selects exactly one key per
 * codebook, so adding a constant to the 16 entries of one codebook's column changes every output by
 * that constant: the bias can carry it. Each codebook's column is therefore centred on its midrange
 * first, (max + min)/2 over its 16 keys; then scale = max |centred| / 7.5 per column, and the
 * entries are the 16 levels (q + ½)·scale, q = −8..7 (the full two's-complement range), q =
 * floor(centred / scale) clamped — the nearest level. The half step, ½·C·scale, is a constant per
 * column too. Measured on the MNIST CNN's 800→120 layer the centring alone lowers the NMSE of the
 * 4-bit tables markedly (README, Cache AI section).
 *
 * <p>Folded tables ({@link KeyZeroFold}: key 0's row is 0 and not stored) must keep key 0 at
 * exactly 0, so no per-codebook centring at 4 bits: symmetric per column, scale = max |T[·][j]| / 7
 * over the stored rows, entries round(T / scale) clamped to −8..7 (0 stays 0; error ≤ scale/2).
 * int8 is symmetric already ({@link #quantize8}) and keeps 0 as 0.
 */
final class TableQuantizer {
  private TableQuantizer() {}

  /** int8 entries [C·16·M] (row-major as {@code tables}); fills {@code scale} [M]. */
  static byte[] quantize8(double[][] tables, int m, float[] scale) {
    for (int j = 0; j < m; j++) {
      double max = 0;
      for (double[] row : tables) {
        max = Math.max(max, Math.abs(row[j]));
      }
      scale[j] = max > 0 ? (float) (max / 127) : 1f;
    }
    byte[] q = new byte[tables.length * m];
    for (int p = 0; p < tables.length; p++) {
      for (int j = 0; j < m; j++) {
        long v = Math.round(tables[p][j] / scale[j]);
        q[p * m + j] = (byte) Math.max(-127, Math.min(127, v));
      }
    }
    return q;
  }

  /** Signed 4-bit entries −8..7 [C·16·M], one per byte; fills {@code scale} [M]. */
  static byte[] quantize4(double[][] tables, int codebooks, int m, float[] scale) {
    return quantize4(tables, codebooks, m, scale, LookupKernels.KEYS);
  }

  /**
   * As above with {@code keys} K rows per codebook ([C·K·M]): each codebook's column centred over
   * its K keys.
   */
  static byte[] quantize4(double[][] tables, int codebooks, int m, float[] scale, int keys) {
    double[] mid = new double[codebooks * m];
    double[] halfRange = new double[m];
    for (int c = 0; c < codebooks; c++) {
      for (int j = 0; j < m; j++) {
        double lo = Double.POSITIVE_INFINITY;
        double hi = Double.NEGATIVE_INFINITY;
        for (int k = 0; k < keys; k++) {
          double v = tables[c * keys + k][j];
          lo = Math.min(lo, v);
          hi = Math.max(hi, v);
        }
        mid[c * m + j] = (hi + lo) / 2;
        halfRange[j] = Math.max(halfRange[j], (hi - lo) / 2);
      }
    }
    for (int j = 0; j < m; j++) {
      scale[j] = halfRange[j] > 0 ? (float) (halfRange[j] / 7.5) : 1f;
    }
    byte[] q = new byte[codebooks * keys * m];
    for (int c = 0; c < codebooks; c++) {
      for (int k = 0; k < keys; k++) {
        double[] row = tables[c * keys + k];
        for (int j = 0; j < m; j++) {
          double level = Math.floor((row[j] - mid[c * m + j]) / scale[j]);
          q[(c * keys + k) * m + j] = (byte) Math.max(-8, Math.min(7, level));
        }
      }
    }
    return q;
  }

  /**
   * Signed 4-bit entries of folded tables [C·K·M] (key-0 rows 0): symmetric per column, scale = max
   * |T[·][j]| / 7, entries round(T / scale) in −7..7 (clamped to −8..7); fills {@code scale} [M]. A
   * zero entry stays exactly 0.
   */
  static byte[] quantize4Folded(double[][] tables, int m, float[] scale) {
    for (int j = 0; j < m; j++) {
      double max = 0;
      for (double[] row : tables) {
        max = Math.max(max, Math.abs(row[j]));
      }
      scale[j] = max > 0 ? (float) (max / 7) : 1f;
    }
    byte[] q = new byte[tables.length * m];
    for (int p = 0; p < tables.length; p++) {
      for (int j = 0; j < m; j++) {
        long v = Math.round(tables[p][j] / scale[j]);
        q[p * m + j] = (byte) Math.max(-8, Math.min(7, v));
      }
    }
    return q;
  }

  /** {@code lut16}: the int8 entries as they are, C·16·M bytes. */
  static PackedTensor packS8(byte[] entries, int codebooks, int m) {
    return packS8(entries, codebooks, m, LookupKernels.KEYS);
  }

  /** As above with {@code keys} K rows per codebook: [C,K,M], C·K·M bytes. */
  static PackedTensor packS8(byte[] entries, int codebooks, int m, int keys) {
    ByteBuffer data = ByteBuffer.allocateDirect(entries.length).order(ByteOrder.LITTLE_ENDIAN);
    data.put(entries).clear();
    return new PackedTensor(
        PackedTensor.Format.S8_LUT16, new long[] {codebooks, keys, m}, data, new float[0], 0);
  }

  /**
   * As {@link #packS8(byte[], int, int, int)} for folded tables: {@code entries} in the full layout
   * [C·K·M] with key-0 rows 0, stored without those rows as [C,K−1,M] ({@link KeyZeroFold}).
   */
  static PackedTensor packS8Folded(byte[] entries, int codebooks, int m, int keys) {
    return packS8(KeyZeroFold.storedRows(entries, codebooks, keys, m), codebooks, m, keys - 1);
  }

  /** As {@link #packS8Folded} for 4-bit entries: [C,K−1,M], C·(K−1)·ceil(M/2) bytes. */
  static PackedTensor packS4Folded(byte[] entries, int codebooks, int m, int keys) {
    return packS4(KeyZeroFold.storedRows(entries, codebooks, keys, m), codebooks, m, keys - 1);
  }

  /**
   * {@code lut16x4}: per (c, key) row of M entries, ceil(M/2) bytes, byte b = entry 2b (low nibble)
   * | entry 2b+1 (high nibble), two's complement; an odd M's last high nibble is 0.
   */
  static PackedTensor packS4(byte[] entries, int codebooks, int m) {
    return packS4(entries, codebooks, m, LookupKernels.KEYS);
  }

  /** As above with {@code keys} K rows per codebook: [C,K,M], C·K·ceil(M/2) bytes. */
  static PackedTensor packS4(byte[] entries, int codebooks, int m, int keys) {
    int rows = codebooks * keys;
    int rowBytes = (m + 1) / 2;
    ByteBuffer data = ByteBuffer.allocateDirect(rows * rowBytes).order(ByteOrder.LITTLE_ENDIAN);
    for (int p = 0; p < rows; p++) {
      for (int b = 0; b < rowBytes; b++) {
        int lo = entries[p * m + 2 * b] & 15;
        int hi = 2 * b + 1 < m ? entries[p * m + 2 * b + 1] & 15 : 0;
        data.put(p * rowBytes + b, (byte) (lo | hi << 4));
      }
    }
    return new PackedTensor(
        PackedTensor.Format.S4_LUT16, new long[] {codebooks, keys, m}, data, new float[0], 0);
  }
}
