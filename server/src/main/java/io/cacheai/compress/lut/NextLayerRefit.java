package io.cacheai.compress.lut;

import io.cacheai.compress.GraphQuantizer;
import io.cacheai.graph.ConstTensor;
import io.cacheai.graph.Graph;
import io.cacheai.graph.Node;
import io.cacheai.graph.OpType;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.commons.math3.linear.Array2DRowRealMatrix;
import org.apache.commons.math3.linear.CholeskyDecomposition;
import org.apache.commons.math3.linear.RealMatrix;

/**
 * Refits the first exact (fp32) Gemm/MatMul after the last table layer so that, fed what the tables
 * produce, it gives back what the fp32 model's layer gives: ridge least squares toward its own
 * weights, W' = argmin ‖X·W'ᵀ + b' − Y‖² + λ‖W' − W‖² (X: its inputs from the compressed prefix on
 * the calibration rows, Y: the fp32 model's output of the same layer), solved by Cholesky (Commons
 * Math) on the (D+1)² normal equations. The result is folded into the layer's own fp32 weight and
 * bias constants, written back in the layout the node reads (Gemm transB, alpha, beta respected),
 * so the graph keeps the same nodes and size. A MatMul (no bias input) is fitted without an
 * intercept.
 */
final class NextLayerRefit {
  private NextLayerRefit() {}

  /** The Gemm/MatMul to refit: the first non-Conv weighted layer after {@code afterIndex}. */
  static GraphQuantizer.Layer target(Graph graph, int afterIndex) {
    for (GraphQuantizer.Layer layer : GraphQuantizer.weightedLayers(graph).values()) {
      if (layer.index() > afterIndex && !layer.isConv()) {
        return layer;
      }
    }
    return null;
  }

  /**
   * {@code graph} with {@code layer}'s weight (and bias) constants replaced by the refit.
   *
   * @param x n·D the layer's inputs as the compressed graph computes them
   * @param y n·M the fp32 model's output of the layer on the same rows
   * @param lambda ridge term relative to the mean diagonal of XᵀX
   */
  static Graph refit(
      Graph graph, GraphQuantizer.Layer layer, float[] x, float[] y, int n, double lambda) {
    int m = layer.rows();
    int d = layer.rowLength();
    Node node = layer.node();
    boolean intercept = node.op() == OpType.GEMM && node.hasInput(2);
    int p = intercept ? d + 1 : d;
    if (x.length != (long) n * d || y.length != (long) n * m) {
      throw new IllegalArgumentException(
          node.describe() + ": " + x.length + " inputs / " + y.length + " targets for n=" + n);
    }
    double[][] gram = new double[p][p];
    double[][] rhs = new double[p][m];
    double[] row = new double[p];
    for (int i = 0; i < n; i++) {
      for (int k = 0; k < d; k++) {
        row[k] = x[i * d + k];
      }
      if (intercept) {
        row[d] = 1;
      }
      for (int a = 0; a < p; a++) {
        double va = row[a];
        if (va == 0) {
          continue;
        }
        double[] g = gram[a];
        for (int b = a; b < p; b++) {
          g[b] += va * row[b];
        }
        double[] r = rhs[a];
        for (int j = 0; j < m; j++) {
          r[j] += va * y[i * m + j];
        }
      }
    }
    double trace = 0;
    for (int a = 0; a < p; a++) {
      for (int b = 0; b < a; b++) {
        gram[a][b] = gram[b][a];
      }
      trace += gram[a][a];
    }
    double ridge = lambda * Math.max(trace / p, 1e-12);
    float[] w = layer.weight(); // [M][D], alpha folded in
    float[] bias = layer.bias();
    for (int k = 0; k < p; k++) {
      gram[k][k] += ridge;
      for (int j = 0; j < m; j++) {
        double prior = k < d ? w[j * d + k] : (bias == null ? 0 : bias[j]);
        rhs[k][j] += ridge * prior;
      }
    }
    RealMatrix solution =
        new CholeskyDecomposition(new Array2DRowRealMatrix(gram, false), 1e-12, 1e-12)
            .getSolver()
            .solve(new Array2DRowRealMatrix(rhs, false));
    double[][] s = solution.getData(); // [p][M]

    Map<String, ConstTensor> constants = new LinkedHashMap<>(graph.constants());
    String weightName = node.inputs().get(1);
    ConstTensor old = constants.get(weightName);
    long[] shape = old.shape();
    float[] stored = new float[m * d];
    float alpha = node.op() == OpType.GEMM ? node.attributes().getFloat("alpha", 1f) : 1f;
    boolean transB = node.op() == OpType.GEMM && node.attributes().getLong("transB", 0) != 0;
    for (int j = 0; j < m; j++) {
      for (int k = 0; k < d; k++) {
        float v = (float) (s[k][j] / alpha);
        // transB: stored [M][D]; else [D][M]
        stored[transB ? j * d + k : k * m + j] = v;
      }
    }
    constants.put(weightName, ConstTensor.ofFloats(shape, stored));
    if (intercept) {
      String biasName = node.inputs().get(2);
      float beta = node.attributes().getFloat("beta", 1f);
      float[] b = new float[m];
      for (int j = 0; j < m; j++) {
        b[j] = (float) (s[d][j] / beta);
      }
      constants.put(biasName, ConstTensor.ofFloats(constants.get(biasName).shape(), b));
    }
    for (Node other : graph.nodes()) {
      if (other != node && other.inputs().contains(weightName)) {
        throw new IllegalArgumentException(
            node.describe() + ": weight '" + weightName + "' is shared, not refitted in place");
      }
    }
    return graph.withNodes(graph.nodes(), constants);
  }
}
