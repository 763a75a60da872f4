package io.cacheai.compress.lut;

/**
 * Key-0 folding of float tables (node attribute {@code fold_key0} = 1). Every row of data picks
 * exactly one key per codebook, so shifting all K rows of one codebook by the same vector shifts
 * every output by that vector: subtracting each codebook's key-0 row from its K rows and adding the
 * sum of those rows to the bias leaves every output as it was, and key 0's row is then zero — the
 * runtime adds nothing for it, so it is not stored (tables [C, K−1, M/G]).
 *
 * <pre>
 *   before: out = b + Σ_c T[c][key_c]
 *   after:  out = (b + Σ_c T[c][0]) + Σ_c (T[c][key_c] − T[c][0]),   T'[c][0] = 0
 * </pre>
 */
final class KeyZeroFold {
  private KeyZeroFold() {}

  /**
   * Folds {@code tables} [C·K][mg] in place ({@code codebooks} C of {@code keyCount} K rows) and
   * adds the key-0 rows to {@code bias} [biasFrom, biasFrom + mg).
   */
  static void fold(double[][] tables, int codebooks, int keyCount, double[] bias, int biasFrom) {
    if (tables.length != codebooks * keyCount) {
      throw new IllegalArgumentException(
          tables.length + " table rows are not C·K for C=" + codebooks + ", K=" + keyCount);
    }
    for (int c = 0; c < codebooks; c++) {
      double[] zero = tables[c * keyCount].clone();
      for (int j = 0; j < zero.length; j++) {
        bias[biasFrom + j] += zero[j];
      }
      for (int k = 0; k < keyCount; k++) {
        double[] row = tables[c * keyCount + k];
        for (int j = 0; j < row.length; j++) {
          row[j] = k == 0 ? 0.0 : row[j] - zero[j];
        }
      }
    }
  }

  /**
   * The stored rows of full-layout entries [C·K·m] (key-0 rows all 0): [C·(K−1)·m], key k of
   * codebook c at row c·(K−1) + k − 1. A non-zero key-0 entry is a bug upstream and is refused.
   */
  static byte[] storedRows(byte[] entries, int codebooks, int keyCount, int m) {
    if (entries.length != codebooks * keyCount * m) {
      throw new IllegalArgumentException(
          entries.length + " entries are not C·K·M for C=" + codebooks + ", K=" + keyCount);
    }
    byte[] stored = new byte[codebooks * (keyCount - 1) * m];
    for (int c = 0; c < codebooks; c++) {
      for (int j = 0; j < m; j++) {
        if (entries[c * keyCount * m + j] != 0) {
          throw new IllegalStateException(
              "folded tables: codebook " + c + " key 0 entry " + j + " is not 0");
        }
      }
      System.arraycopy(
          entries, (c * keyCount + 1) * m, stored, c * (keyCount - 1) * m, (keyCount - 1) * m);
    }
    return stored;
  }

  /** The row of stored folded tables that key {@code key} of codebook {@code c} reads, or −1. */
  static int storedRow(int c, int key, int keyCount) {
    return key == 0 ? -1 : c * (keyCount - 1) + key - 1;
  }
}
