package io.cacheai.compress.lut;

import io.cacheai.runtime.LookupKernels;

/**
 * The encoder side of {@link SoftKeyFineTune}: the rows of the Gemm before the tables that the tree
 * reads, that Gemm's bias, and the tree thresholds, trained through a soft tree with a
 * straight-through estimator (LUT-NN, Tang et al. 2023, with MADDNESS's tree in place of the
 * nearest centroid):
 *
 * <pre>
 *   forward (hard, what the runtime computes):
 *     a_u = Relu(b_u + W_u·x)           only the U rows of the Gemm some tree level reads
 *     key_c = tree walk: node → 2·node + 1 + (a[dim_l] > t[node]), L levels → leaf 0..2^L − 1
 *   backward (soft):
 *     σ_n = sigmoid((a[dim_l(n)] − t_n) / τ_cl)            per inner node n of codebook c
 *     P_ℓ = Π over ℓ's path of σ_n (went right) or 1 − σ_n (went left)
 *     h_soft = Σ_ℓ P_ℓ · T[c][ℓ]   ⇒  dL/dP_ℓ = G_ℓ = dh · T[c][ℓ]
 *     dL/dz_n = (1 − σ_n)·Σ_{ℓ right of n} G_ℓ P_ℓ − σ_n·Σ_{ℓ left of n} G_ℓ P_ℓ
 *     dL/da[dim_l(n)] += dL/dz_n / τ,  dL/dt_n −= dL/dz_n / τ,  then through the Relu to W_u, b_u
 * </pre>
 *
 * τ_cl = {@link #TEMPERATURE} × the standard deviation of the level's input over the training rows
 * (fixed at the start), so the soft region is as wide relative to every dimension. The tables and
 * the layers after them get the exact (hard-key) gradient from {@link FineTuneTrainer}; the
 * parameters here are registered with it so one Adam step updates everything.
 */
final class SoftKeyTrainer {
  /**
   * τ relative to a level input's standard deviation. MNIST MLP, 6 epochs: 0.1 → 97.22%, 0.3 →
   * 97.05% (12 epochs: 0.1 → 97.44%, 0.05 → 97.10%).
   */
  static final double TEMPERATURE = 0.1;

  private final int depth; // L levels
  private final int keyCount; // K = 2^L leaves
  private final int nodes; // K − 1 inner nodes

  private final int k; // inputs of the Gemm before the tables
  private final int codebooks;
  private final int m;
  private final int[] rowOf; // [C·L]: index into the trained rows, −1 for a padded dimension
  private final float[] weight; // [U][K]
  private final float[] bias; // [U]
  private final float[] thresholds; // [C·(K−1)]
  private final double[] tau; // [C·L]
  private final boolean trainBias;
  private int weightIndex = -1;
  private int biasIndex = -1;
  private int thresholdIndex = -1;

  /**
   * @param rowOf per (codebook, level), the trained row the level's split dimension reads, or −1
   * @param weight the trained rows' weights [U][K] (trained in place)
   * @param bias their biases [U] (trained in place when {@code trainBias})
   * @param thresholds the tree thresholds [C·(K−1)] (trained in place)
   * @param depth L, the trees' levels (K = 2^L keys; {@link LookupKernels#DEPTH} by default)
   */
  SoftKeyTrainer(
      int k,
      int codebooks,
      int m,
      int[] rowOf,
      float[] weight,
      float[] bias,
      boolean trainBias,
      float[] thresholds,
      double[] tau,
      int depth) {
    if (depth < 1
        || depth > LookupKernels.DEPTH
        || rowOf.length != codebooks * depth
        || thresholds.length != codebooks * ((1 << depth) - 1)) {
      throw new IllegalArgumentException(
          "soft keys: depth "
              + depth
              + ", "
              + rowOf.length
              + " split dims and "
              + thresholds.length
              + " thresholds for "
              + codebooks
              + " codebooks");
    }
    this.depth = depth;
    this.keyCount = 1 << depth;
    this.nodes = keyCount - 1;
    this.k = k;
    this.codebooks = codebooks;
    this.m = m;
    this.rowOf = rowOf;
    this.weight = weight;
    this.bias = bias;
    this.trainBias = trainBias;
    this.thresholds = thresholds;
    this.tau = tau;
  }

  /** Registers the encoder's parameters with {@code trainer}'s Adam. */
  void register(FineTuneTrainer trainer) {
    weightIndex = trainer.addParameter(weight);
    biasIndex = trainBias ? trainer.addParameter(bias) : -1;
    thresholdIndex = trainer.addParameter(thresholds);
  }

  /**
   * Anchors the trained rows and (when trained) their bias at {@code weight0} [U][K] and {@code
   * bias0} [U] for the L2-SP penalty ({@link FineTuneTrainer#anchor}); the thresholds are not
   * anchored. After {@link #register}.
   */
  void anchor(FineTuneTrainer trainer, float[] weight0, float[] bias0, double l2sp) {
    trainer.anchor(weightIndex, weight0, l2sp);
    if (trainBias) {
      trainer.anchor(biasIndex, bias0, l2sp);
    }
  }

  int trainedRows() {
    return bias.length;
  }

  /** Pre-activations z_u = b_u + W_u·x of row {@code at} of {@code x} into {@code pre[to..]}. */
  void preActivations(float[] x, int at, float[] pre, int to) {
    int u = bias.length;
    for (int r = 0; r < u; r++) {
      float acc = 0f;
      int wr = r * k;
      for (int j = 0; j < k; j++) {
        acc += weight[wr + j] * x[at + j];
      }
      pre[to + r] = bias[r] + acc;
    }
  }

  /** The tree's keys of one row from its pre-activations: exactly the runtime's walk. */
  void keys(float[] pre, int at, byte[] keys, int to) {
    for (int c = 0; c < codebooks; c++) {
      int node = 0;
      for (int l = 0; l < depth; l++) {
        float v = input(pre, at, c, l);
        node = 2 * node + 1 + (v > thresholds[c * nodes + node] ? 1 : 0);
      }
      keys[to + c] = (byte) (node - nodes);
    }
  }

  private float input(float[] pre, int at, int c, int l) {
    int u = rowOf[c * depth + l];
    return u < 0 ? 0f : Math.max(0f, pre[at + u]);
  }

  /**
   * Accumulates the soft-tree gradients of one row into the trainer's gradients.
   *
   * @param pre the row's pre-activations (U values at {@code preAt})
   * @param x the row's input (K values at {@code xAt})
   * @param dh dL/dh of the row (M values at {@code dhAt})
   * @param tables the float tables [C·K][M] the forward used
   */
  void backward(
      float[] pre,
      int preAt,
      float[] x,
      int xAt,
      double[] dh,
      int dhAt,
      float[] tables,
      FineTuneTrainer trainer,
      double[] work) {
    int u = bias.length;
    double[] da = work; // [U]
    java.util.Arrays.fill(da, 0, u, 0);
    double[] gThresholds = trainer.gradient(thresholdIndex);
    double[] sigma = new double[nodes];
    double[] reach = new double[2 * nodes + 1];
    double[] gp = new double[2 * nodes + 1];
    for (int c = 0; c < codebooks; c++) {
      for (int n = 0; n < nodes; n++) {
        int l = 31 - Integer.numberOfLeadingZeros(n + 1);
        double t = tau[c * depth + l];
        sigma[n] =
            t > 0
                ? sigmoid((input(pre, preAt, c, l) - thresholds[c * nodes + n]) / t)
                : (input(pre, preAt, c, l) > thresholds[c * nodes + n] ? 1 : 0);
      }
      reach[0] = 1;
      for (int n = 0; n < nodes; n++) {
        reach[2 * n + 1] = reach[n] * (1 - sigma[n]);
        reach[2 * n + 2] = reach[n] * sigma[n];
      }
      for (int leaf = 0; leaf < keyCount; leaf++) {
        int base = (c * keyCount + leaf) * m;
        double g = 0;
        for (int j = 0; j < m; j++) {
          g += dh[dhAt + j] * tables[base + j];
        }
        gp[nodes + leaf] = g * reach[nodes + leaf];
      }
      for (int n = nodes - 1; n >= 0; n--) {
        gp[n] = gp[2 * n + 1] + gp[2 * n + 2];
      }
      for (int n = 0; n < nodes; n++) {
        int l = 31 - Integer.numberOfLeadingZeros(n + 1);
        double t = tau[c * depth + l];
        int row = rowOf[c * depth + l];
        if (!(t > 0) || row < 0) {
          continue;
        }
        double dz = ((1 - sigma[n]) * gp[2 * n + 2] - sigma[n] * gp[2 * n + 1]) / t;
        da[row] += dz;
        gThresholds[c * nodes + n] -= dz;
      }
    }
    double[] gw = trainer.gradient(weightIndex);
    double[] gb = trainBias ? trainer.gradient(biasIndex) : null;
    for (int r = 0; r < u; r++) {
      if (da[r] == 0 || !(pre[preAt + r] > 0)) {
        continue;
      }
      double g = da[r];
      if (gb != null) {
        gb[r] += g;
      }
      int wr = r * k;
      for (int j = 0; j < k; j++) {
        gw[wr + j] += g * x[xAt + j];
      }
    }
  }

  private static double sigmoid(double z) {
    return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
  }
}
