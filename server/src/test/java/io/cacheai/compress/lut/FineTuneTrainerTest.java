package io.cacheai.compress.lut;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.cacheai.graph.OpType;
import io.cacheai.runtime.LookupKernels;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The per-row loss: a row labelled −1 ("no label", a mixup blend) learns from the teacher alone;
 * the L2-SP penalty's gradient.
 */
class FineTuneTrainerTest {
  private static final int CODEBOOKS = 3;
  private static final int M = 5; // table outputs = classes (the chain is one Relu)
  private static final double DISTILL = 0.5;
  private static final double TAU = 2.0;

  private static final byte[] KEYS = {3, 0, 15, 7, 7, 1};
  private static final float[] TEACHER = {1.5f, -0.5f, 2.0f, 0.25f, 0f, 0.5f, 0.5f, 3f, -1f, 1f};

  /** Table-bias gradient after one forward/backward of rows {0, 1} with these labels. */
  private static double[] tableBiasGradient(int[] labels, double distill) {
    return tableBiasGradient(new int[] {0, 1}, labels, distill);
  }

  /** Table-bias gradient after one forward/backward of the rows {@code order} (a minibatch). */
  private static double[] tableBiasGradient(int[] order, int[] labels, double distill) {
    List<float[]> params = new ArrayList<>();
    SplittableRandom random = new SplittableRandom(9);
    float[] tables = new float[CODEBOOKS * LookupKernels.KEYS * M];
    for (int k = 0; k < tables.length; k++) {
      tables[k] = (float) (random.nextDouble() * 0.5);
    }
    params.add(tables);
    params.add(new float[] {0.3f, 0.1f, 0.2f, 0.4f, 0.5f}); // h > 0: the Relu passes everything
    List<LutFineTune.Step> chain = List.of(new LutFineTune.Step(OpType.RELU, null, M, M, false));
    LutFineTune.Options o = LutFineTune.Options.defaults().withTemperature(TAU);
    FineTuneTrainer trainer = new FineTuneTrainer(params, chain, CODEBOOKS, M, o, M);
    trainer.forwardBackward(order, 0, order.length, KEYS, TEACHER, labels, distill);
    return trainer.gradient(1).clone();
  }

  @Test
  void unlabelledRow_getsTheDistillationGradientAlone() {
    double[] unlabelled = tableBiasGradient(new int[] {-1, -1}, DISTILL);
    double[] distillOnly = tableBiasGradient(new int[] {2, 4}, 1.0);
    double[] mixedLoss = tableBiasGradient(new int[] {2, 4}, DISTILL);
    assertThat(unlabelled).containsExactly(distillOnly);
    // with a label the cross-entropy takes half the weight: a different gradient
    assertThat(mixedLoss).isNotEqualTo(distillOnly);
    // and that gradient is τ·(softmax(z/τ) − softmax(t/τ)) averaged over the 2 rows
    double[] expected = new double[M];
    float[] tables = new float[CODEBOOKS * LookupKernels.KEYS * M];
    SplittableRandom random = new SplittableRandom(9);
    for (int k = 0; k < tables.length; k++) {
      tables[k] = (float) (random.nextDouble() * 0.5);
    }
    float[] bias = {0.3f, 0.1f, 0.2f, 0.4f, 0.5f};
    for (int r = 0; r < 2; r++) {
      double[] z = new double[M];
      for (int j = 0; j < M; j++) {
        z[j] = bias[j];
        for (int c = 0; c < CODEBOOKS; c++) {
          z[j] += tables[(c * LookupKernels.KEYS + KEYS[r * CODEBOOKS + c]) * M + j];
        }
      }
      double[] t = new double[M];
      for (int j = 0; j < M; j++) {
        t[j] = TEACHER[r * M + j];
      }
      double[] ps = softmax(z, TAU);
      double[] pt = softmax(t, TAU);
      for (int j = 0; j < M; j++) {
        expected[j] += TAU * (ps[j] - pt[j]) / 2;
      }
    }
    for (int j = 0; j < M; j++) {
      assertThat(unlabelled[j]).isCloseTo(expected[j], within(1e-6));
    }
  }

  @Test
  void oneUnlabelledRowInABatch_onlyThatRowLosesItsLabelTerm() {
    int[] labels = {2, -1};
    double[] batch = tableBiasGradient(labels, DISTILL);
    // the minibatch gradient is the mean of its rows': row 0 with both terms, row 1 distill-only
    double[] row0 = tableBiasGradient(new int[] {0}, labels, DISTILL);
    double[] row1 = tableBiasGradient(new int[] {1}, new int[] {2, 4}, 1.0);
    double[] row1Labelled = tableBiasGradient(new int[] {1}, new int[] {2, 4}, DISTILL);
    assertThat(row1).isNotEqualTo(row1Labelled);
    for (int j = 0; j < M; j++) {
      assertThat(batch[j]).isCloseTo((row0[j] + row1[j]) / 2, within(1e-12));
    }
  }

  /** A trainer on the fixture's tables with one extra parameter of 4 values (as an encoder's). */
  private static FineTuneTrainer trainerWithExtra(float[] extra) {
    List<float[]> params = new ArrayList<>();
    SplittableRandom random = new SplittableRandom(9);
    float[] tables = new float[CODEBOOKS * LookupKernels.KEYS * M];
    for (int k = 0; k < tables.length; k++) {
      tables[k] = (float) (random.nextDouble() * 0.5);
    }
    params.add(tables);
    params.add(new float[] {0.3f, 0.1f, 0.2f, 0.4f, 0.5f});
    List<LutFineTune.Step> chain = List.of(new LutFineTune.Step(OpType.RELU, null, M, M, false));
    LutFineTune.Options o = LutFineTune.Options.defaults().withTemperature(TAU);
    FineTuneTrainer trainer = new FineTuneTrainer(params, chain, CODEBOOKS, M, o, M);
    assertThat(trainer.addParameter(extra)).isEqualTo(2);
    return trainer;
  }

  @Test
  void l2sp_addsTwoLTimesTheDistanceToTheAnchor_zeroAtTheAnchor_nothingElsewhere() {
    double l = 0.0003;
    float[] extra = {0.5f, -1.25f, 2f, 0f};
    float[] anchor = {0.5f, -1f, 1.5f, 0.75f}; // value 0 at its anchor, 1..3 moved
    FineTuneTrainer plain = trainerWithExtra(extra.clone());
    FineTuneTrainer anchored = trainerWithExtra(extra.clone());
    anchored.anchor(1, new float[] {0.3f, 0.1f, 0.2f, 0.4f, 0.5f}, l); // table bias at itself
    anchored.anchor(2, anchor, l);
    int[] order = {0, 1};
    int[] labels = {2, -1};
    for (FineTuneTrainer t : List.of(plain, anchored)) {
      t.forwardBackward(order, 0, 2, KEYS, TEACHER, labels, DISTILL);
      t.gradient(2)[3] = 0.125; // as if an encoder's backward had added to it
      t.addPenaltyGradients();
    }
    // the data gradients are untouched where the parameter sits on its anchor
    assertThat(anchored.gradient(0)).containsExactly(plain.gradient(0));
    assertThat(anchored.gradient(1)).containsExactly(plain.gradient(1));
    assertThat(anchored.gradient(2)[0]).isEqualTo(plain.gradient(2)[0]);
    // and gain exactly 2·L·(p − p0) where it moved
    for (int k = 1; k < 4; k++) {
      assertThat(anchored.gradient(2)[k])
          .isEqualTo(plain.gradient(2)[k] + 2 * l * ((double) extra[k] - anchor[k]));
    }
    assertThat(anchored.gradient(2)[1]).isEqualTo(2 * l * -0.25);
    // the penalty's value: L·Σ (p − p0)² = 0.0003 · (0.0625 + 0.25 + 0.5625)
    assertThat(anchored.penalty()).isCloseTo(l * 0.875, within(1e-15));
    assertThat(plain.penalty()).isZero();
  }

  @Test
  void l2sp_gradientMatchesFiniteDifferencesOfThePenalty() {
    double l = 0.01;
    float[] extra = {0.5f, -1.25f, 2f, 0.3f};
    float[] anchor = {0.1f, -1f, 1.5f, 0.75f};
    FineTuneTrainer trainer = trainerWithExtra(extra);
    trainer.anchor(2, anchor, l);
    trainer.addPenaltyGradients();
    double[] analytic = trainer.gradient(2).clone();
    for (int k = 0; k < extra.length; k++) {
      float p = extra[k];
      extra[k] = p + 1e-2f;
      double up = trainer.penalty();
      float hi = extra[k];
      extra[k] = p - 1e-2f;
      double down = trainer.penalty();
      float lo = extra[k];
      extra[k] = p;
      assertThat(analytic[k]).isCloseTo((up - down) / ((double) hi - lo), within(1e-9));
    }
  }

  @Test
  void l2sp_adamPullsAParameterWithNoDataGradientTowardsItsAnchor_zeroLAnchorsNothing() {
    float[] extra = {1f, -1f};
    float[] anchor = {0f, 0f};
    FineTuneTrainer trainer = trainerWithExtra(extra);
    trainer.anchor(2, anchor, 0); // L = 0: no penalty at all
    trainer.adam(1e-2);
    assertThat(extra).containsExactly(1f, -1f);
    trainer.anchor(2, anchor, 0.0003);
    for (int step = 0; step < 10; step++) {
      trainer.adam(1e-2);
    }
    // through Adam's normalisation each step moves up to lr towards the anchor, whatever L's size
    // (a little less as the gradient 2·L·(p − p0) shrinks: 0.907 after 10 steps of 0.01)
    assertThat(extra[0]).isBetween(0.9f, 0.92f);
    assertThat(extra[1]).isBetween(-0.92f, -0.9f);
  }

  private static double[] softmax(double[] z, double tau) {
    double max = Double.NEGATIVE_INFINITY;
    for (double v : z) {
      max = Math.max(max, v / tau);
    }
    double sum = 0;
    double[] p = new double[z.length];
    for (int j = 0; j < z.length; j++) {
      p[j] = Math.exp(z[j] / tau - max);
      sum += p[j];
    }
    for (int j = 0; j < z.length; j++) {
      p[j] /= sum;
    }
    return p;
  }
}
