package io.cacheai.compress.lut;

import io.cacheai.runtime.LookupKernels;
import org.apache.commons.math3.linear.Array2DRowRealMatrix;
import org.apache.commons.math3.linear.CholeskyDecomposition;
import org.apache.commons.math3.linear.RealMatrix;

/**
 * The ridge least-squares fit of a layer's tables given the keys (MADDNESS §4.3): with A the n ×
 * (C·16) one-hot design matrix (row i has a 1 in column c·16 + key[i][c] for each codebook c) and Y
 * the n × M target outputs, T = (AᵀA + λI)⁻¹ AᵀY, solved by Cholesky (Apache Commons Math) — AᵀA is
 * built from key co-occurrence counts, never as a dense A. The ridge term keeps keys seen rarely
 * (or never) on the calibration data near zero instead of fitting noise.
 */
public final class TableRefit {
  private TableRefit() {}

  /**
   * @param keys n·C keys (0..15), row i at [i·C, i·C + C)
   * @param y n·M targets
   * @return the tables [C·16][M]
   */
  public static double[][] solve(
      byte[] keys, int n, int codebooks, float[] y, int m, double lambda) {
    return solve(keys, n, codebooks, y, m, lambda, LookupKernels.KEYS);
  }

  /**
   * As above with K = {@code keyCount} keys per codebook (0..K−1): C·K one-hot columns, tables
   * [C·K][M].
   */
  public static double[][] solve(
      byte[] keys, int n, int codebooks, float[] y, int m, double lambda, int keyCount) {
    int p = codebooks * keyCount;
    double[][] gram = new double[p][p];
    double[][] rhs = new double[p][m];
    int[] columns = new int[codebooks];
    for (int i = 0; i < n; i++) {
      for (int c = 0; c < codebooks; c++) {
        columns[c] = c * keyCount + keys[i * codebooks + c];
      }
      for (int a = 0; a < codebooks; a++) {
        double[] row = gram[columns[a]];
        for (int b = 0; b < codebooks; b++) {
          row[columns[b]] += 1;
        }
        double[] target = rhs[columns[a]];
        for (int j = 0; j < m; j++) {
          target[j] += y[i * m + j];
        }
      }
    }
    for (int i = 0; i < p; i++) {
      gram[i][i] += lambda;
    }
    RealMatrix solution =
        new CholeskyDecomposition(new Array2DRowRealMatrix(gram, false), 1e-12, 1e-12)
            .getSolver()
            .solve(new Array2DRowRealMatrix(rhs, false));
    return solution.getData();
  }
}
