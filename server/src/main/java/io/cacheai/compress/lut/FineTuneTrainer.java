package io.cacheai.compress.lut;

import io.cacheai.compress.lut.LutFineTune.Options;
import io.cacheai.compress.lut.LutFineTune.Step;
import java.util.ArrayList;
import java.util.List;

/**
 * Forward, backward and Adam on the float parameters: [0] tables [C·K][M] (K keys per codebook, 16
 * by default), [1] table bias [M], then per Gemm of the chain its weight [out][in] and bias [out].
 *
 * <p>Loss per row i (logits z, fp32 teacher logits t, temperature τ, {@code distill} = a):
 *
 * <pre>
 *   labels[i] >= 0:             a·τ²·KL(softmax(t/τ) ‖ softmax(z/τ)) + (1 − a)·CE(softmax(z), y_i)
 *   labels[i] < 0, or no labels:  τ²·KL(softmax(t/τ) ‖ softmax(z/τ))   (distillation alone, weight 1)
 * </pre>
 *
 * A label below 0 means "no label" ({@link MixupRows} blends two images; only the teacher knows
 * what the blend should give), averaged over the minibatch's rows like any other row.
 *
 * <p>Parameters given an anchor ({@link #anchor}) add the L2-SP penalty L·Σ (p − p0)² to every
 * step's loss: its gradient 2·L·(p − p0) is added to the minibatch-mean gradient before Adam's
 * moments (so it is normalised by Adam like the data gradient, not decoupled decay).
 */
final class FineTuneTrainer {
  private static final double BETA1 = 0.9;
  private static final double BETA2 = 0.999;
  private static final double EPSILON = 1e-8;

  private final List<float[]> params;
  private final List<double[]> grads = new ArrayList<>();
  private final List<double[]> firstMoments = new ArrayList<>();
  private final List<double[]> secondMoments = new ArrayList<>();
  private final List<Step> chain;
  private final int codebooks;
  private final int keyCount; // K keys per codebook: the tables are [C·K][M]
  private final int perGroup; // codebooks of one group: codebook c writes outputs (c/perGroup)·mg..
  private final int mg; // outputs of one group (m when the tables are not grouped)
  private final int m;
  private final Options options;
  private final int classes;
  private final float[][] acts; // per chain position: batch × width, [0] = table output
  private final double[][] deltas;
  private final int chainParams; // params [0, chainParams) are the tables' and the chain's
  private final boolean foldKey0; // key-0 rows are folded (0, not stored): never trained
  private final List<float[]> anchors = new ArrayList<>(); // per parameter, null: no penalty
  private double anchorWeight; // L of the L2-SP penalty
  private int adamSteps;
  private double epochLoss;
  private double lastEpochLoss;
  private int epochRows;

  FineTuneTrainer(
      List<float[]> params, List<Step> chain, int codebooks, int m, Options o, int classes) {
    this(params, chain, codebooks, 1, m, o, classes);
  }

  /**
   * With grouped tables: codebook c adds to and is trained on only the M/G outputs of its group c /
   * (C/G); the other entries of its rows in the float tables [C·16][M] stay 0.
   */
  FineTuneTrainer(
      List<float[]> params,
      List<Step> chain,
      int codebooks,
      int groups,
      int m,
      Options o,
      int classes) {
    this(params, chain, codebooks, groups, m, o, classes, false);
  }

  /**
   * With folded tables ({@code foldKey0}, {@link KeyZeroFold}): the key-0 rows of the tables get no
   * gradient, so Adam leaves them exactly where they are (0); only the K−1 stored rows per codebook
   * and the bias learn.
   */
  FineTuneTrainer(
      List<float[]> params,
      List<Step> chain,
      int codebooks,
      int groups,
      int m,
      Options o,
      int classes,
      boolean foldKey0) {
    this.params = params;
    this.foldKey0 = foldKey0;
    this.chain = chain;
    this.codebooks = codebooks;
    // K from the tables' own size, [C·K][M]: one source for the layout the trainer reads
    this.keyCount = params.get(0).length / Math.max(1, codebooks * m);
    if ((long) keyCount * codebooks * m != params.get(0).length) {
      throw new IllegalArgumentException(
          "tables of "
              + params.get(0).length
              + " floats are not C·K·M for C="
              + codebooks
              + ", M="
              + m);
    }
    this.perGroup = codebooks / groups;
    this.mg = m / groups;
    this.m = m;
    this.options = o;
    this.classes = classes;
    this.chainParams = params.size();
    for (float[] p : params) {
      anchors.add(null);
      grads.add(new double[p.length]);
      firstMoments.add(new double[p.length]);
      secondMoments.add(new double[p.length]);
    }
    acts = new float[chain.size() + 1][];
    deltas = new double[chain.size() + 1][];
    acts[0] = new float[o.batchRows() * m];
    deltas[0] = new double[o.batchRows() * m];
    for (int s = 0; s < chain.size(); s++) {
      acts[s + 1] = new float[o.batchRows() * chain.get(s).out()];
      deltas[s + 1] = new double[o.batchRows() * chain.get(s).out()];
    }
  }

  double lastEpochLoss() {
    return epochRows > 0 ? epochLoss / epochRows : lastEpochLoss;
  }

  void step(
      int[] order,
      int from,
      int rows,
      byte[] keys,
      float[] teacher,
      int[] labels,
      double distill,
      double lr) {
    forwardBackward(order, from, rows, keys, teacher, labels, distill);
    adam(lr);
  }

  /**
   * Adds a parameter trained by the same Adam steps, whose gradient the caller accumulates into
   * {@link #gradient} between {@link #forwardBackward} and {@link #adam}; returns its index.
   */
  int addParameter(float[] p) {
    params.add(p);
    anchors.add(null);
    grads.add(new double[p.length]);
    firstMoments.add(new double[p.length]);
    secondMoments.add(new double[p.length]);
    return params.size() - 1;
  }

  /**
   * Anchors parameter {@code index} at {@code p0} (its fp32 values): every {@link #adam} step then
   * adds the gradient of {@code weight}·Σ (p − p0)² to it ({@link #addPenaltyGradients}). One L for
   * every anchored parameter; 0 anchors nothing.
   */
  void anchor(int index, float[] p0, double weight) {
    if (p0.length != params.get(index).length || !(weight >= 0)) {
      throw new IllegalArgumentException(
          "l2sp anchor of "
              + p0.length
              + " values for a parameter of "
              + params.get(index).length
              + ", L="
              + weight);
    }
    if (weight == 0) {
      return;
    }
    if (anchorWeight != 0 && anchorWeight != weight) {
      throw new IllegalArgumentException("l2sp: L " + weight + " after L " + anchorWeight);
    }
    anchors.set(index, p0.clone());
    anchorWeight = weight;
  }

  /** The L2-SP penalty L·Σ (p − p0)² over the anchored parameters at their current values. */
  double penalty() {
    double sum = 0;
    for (int t = 0; t < params.size(); t++) {
      float[] a = anchors.get(t);
      if (a == null) {
        continue;
      }
      float[] p = params.get(t);
      for (int k = 0; k < p.length; k++) {
        double d = (double) p[k] - a[k];
        sum += d * d;
      }
    }
    return anchorWeight * sum;
  }

  /**
   * Adds the penalty's gradient 2·L·(p − p0) to every anchored parameter's accumulated gradient
   * (what {@link #adam} does first).
   */
  void addPenaltyGradients() {
    for (int t = 0; t < params.size(); t++) {
      float[] a = anchors.get(t);
      if (a == null) {
        continue;
      }
      float[] p = params.get(t);
      double[] g = grads.get(t);
      for (int k = 0; k < p.length; k++) {
        g[k] += 2 * anchorWeight * ((double) p[k] - a[k]);
      }
    }
  }

  /** The gradient being accumulated for parameter {@code index}. */
  double[] gradient(int index) {
    return grads.get(index);
  }

  /** The float tables [C·16][M] being trained (params[0]), read by the soft-key backward. */
  float[] tables() {
    return params.get(0);
  }

  /**
   * The loss gradient at the table layer's output h [rows][M] of the last {@link #forwardBackward},
   * before any Adam step: what {@link SoftKeyTrainer} sends back through the soft keys.
   */
  double[] tableOutputGradient() {
    return deltas[0];
  }

  /**
   * Forward and backward of one minibatch: accumulates the parameters' gradients (applied by the
   * next {@link #adam}) and leaves dLoss/dh in {@link #tableOutputGradient}.
   */
  void forwardBackward(
      int[] order, int from, int rows, byte[] keys, float[] teacher, int[] labels, double distill) {
    if (from == 0) {
      lastEpochLoss = epochRows > 0 ? epochLoss / epochRows : 0;
      epochLoss = 0;
      epochRows = 0;
    }
    float[] tables = params.get(0);
    float[] tableBias = params.get(1);
    // forward
    float[] h = acts[0];
    for (int r = 0; r < rows; r++) {
      int i = order[from + r];
      System.arraycopy(tableBias, 0, h, r * m, m);
      for (int c = 0; c < codebooks; c++) {
        int first = (c / perGroup) * mg;
        int base = (c * keyCount + keys[i * codebooks + c]) * m;
        for (int j = first; j < first + mg; j++) {
          h[r * m + j] += tables[base + j];
        }
      }
    }
    int p = 2;
    for (int s = 0; s < chain.size(); s++) {
      Step st = chain.get(s);
      float[] in = acts[s];
      float[] out = acts[s + 1];
      if (st.gemm() == null) {
        for (int k = 0; k < rows * st.in(); k++) {
          out[k] = Math.max(0f, in[k]);
        }
      } else {
        float[] wt = params.get(p);
        float[] b = params.get(p + 1);
        for (int r = 0; r < rows; r++) {
          for (int o = 0; o < st.out(); o++) {
            float acc = b[o];
            int wo = o * st.in();
            int xr = r * st.in();
            for (int k = 0; k < st.in(); k++) {
              acc += wt[wo + k] * in[xr + k];
            }
            out[r * st.out() + o] = acc;
          }
        }
        p += 2;
      }
    }
    // loss gradient at the logits
    float[] z = acts[chain.size()];
    double[] dz = deltas[chain.size()];
    double tau = options.temperature();
    double[] ps = new double[classes];
    double[] pt = new double[classes];
    double[] pl = new double[classes];
    for (int r = 0; r < rows; r++) {
      int i = order[from + r];
      softmax(z, r * classes, classes, tau, ps);
      softmaxTeacher(teacher, i * classes, classes, tau, pt);
      softmax(z, r * classes, classes, 1.0, pl);
      // a row without a label (label < 0, e.g. a MixupRows blend) learns from the teacher alone
      double a = labels == null || labels[i] < 0 ? 1.0 : distill;
      double loss = 0;
      for (int k = 0; k < classes; k++) {
        double g = a * tau * (ps[k] - pt[k]);
        if (pt[k] > 0) {
          loss += a * tau * tau * pt[k] * Math.log(pt[k] / Math.max(ps[k], 1e-30));
        }
        if (a < 1) {
          double onehot = labels[i] == k ? 1 : 0;
          g += (1 - a) * (pl[k] - onehot);
          if (onehot > 0) {
            loss -= (1 - a) * Math.log(Math.max(pl[k], 1e-30));
          }
        }
        dz[r * classes + k] = g / rows;
      }
      epochLoss += loss;
    }
    epochRows += rows;
    // backward
    p = chainParams - 2;
    for (int s = chain.size() - 1; s >= 0; s--) {
      Step st = chain.get(s);
      double[] dout = deltas[s + 1];
      double[] din = deltas[s];
      float[] in = acts[s];
      if (st.gemm() == null) {
        for (int k = 0; k < rows * st.in(); k++) {
          din[k] = in[k] > 0 ? dout[k] : 0;
        }
      } else {
        float[] wt = params.get(p);
        double[] gw = grads.get(p);
        double[] gb = grads.get(p + 1);
        java.util.Arrays.fill(din, 0, rows * st.in(), 0);
        for (int r = 0; r < rows; r++) {
          for (int o = 0; o < st.out(); o++) {
            double g = dout[r * st.out() + o];
            if (g == 0) {
              continue;
            }
            if (st.hasBias()) {
              gb[o] += g;
            }
            int wo = o * st.in();
            int xr = r * st.in();
            for (int k = 0; k < st.in(); k++) {
              gw[wo + k] += g * in[xr + k];
              din[xr + k] += g * wt[wo + k];
            }
          }
        }
        p -= 2;
      }
    }
    double[] gt = grads.get(0);
    double[] gtb = grads.get(1);
    double[] dh = deltas[0];
    for (int r = 0; r < rows; r++) {
      int i = order[from + r];
      for (int c = 0; c < codebooks; c++) {
        if (foldKey0 && keys[i * codebooks + c] == 0) {
          continue; // a folded key-0 row is 0 by construction: its gradient stays 0
        }
        int first = (c / perGroup) * mg;
        int base = (c * keyCount + keys[i * codebooks + c]) * m;
        for (int j = first; j < first + mg; j++) {
          gt[base + j] += dh[r * m + j];
        }
      }
      for (int j = 0; j < m; j++) {
        gtb[j] += dh[r * m + j];
      }
    }
  }

  /**
   * One Adam step on every parameter with the gradients accumulated (plus the L2-SP penalty's),
   * which it then clears.
   */
  void adam(double lr) {
    addPenaltyGradients();
    adamSteps++;
    double c1 = 1 - Math.pow(BETA1, adamSteps);
    double c2 = 1 - Math.pow(BETA2, adamSteps);
    for (int t = 0; t < params.size(); t++) {
      float[] p = params.get(t);
      double[] g = grads.get(t);
      double[] m1 = firstMoments.get(t);
      double[] m2 = secondMoments.get(t);
      for (int k = 0; k < p.length; k++) {
        m1[k] = BETA1 * m1[k] + (1 - BETA1) * g[k];
        m2[k] = BETA2 * m2[k] + (1 - BETA2) * g[k] * g[k];
        p[k] -= (float) (lr * (m1[k] / c1) / (Math.sqrt(m2[k] / c2) + EPSILON));
        g[k] = 0;
      }
    }
  }

  private static void softmax(float[] z, int at, int k, double tau, double[] out) {
    double max = Double.NEGATIVE_INFINITY;
    for (int j = 0; j < k; j++) {
      max = Math.max(max, z[at + j] / tau);
    }
    double sum = 0;
    for (int j = 0; j < k; j++) {
      out[j] = Math.exp(z[at + j] / tau - max);
      sum += out[j];
    }
    for (int j = 0; j < k; j++) {
      out[j] /= sum;
    }
  }

  private static void softmaxTeacher(float[] z, int at, int k, double tau, double[] out) {
    softmax(z, at, k, tau, out);
  }
}
