package io.cacheai.compress;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Sequence predictions: greedy CTC over [T, classes] scores. */
class EvaluationTest {
  @Test
  void ctcGreedy_mergesRepeatsAndDropsBlanks() {
    // steps: 2 2 0 2 1 1 0  ->  2 2 1
    int[] argMax = {2, 2, 0, 2, 1, 1, 0};
    int classes = 3;
    float[] scores = new float[argMax.length * classes];
    for (int t = 0; t < argMax.length; t++) {
      scores[t * classes + argMax[t]] = 1f;
    }
    assertThat(Evaluation.ctcGreedy(scores, 0, argMax.length, classes)).containsExactly(2, 2, 1);
  }

  @Test
  void agreement_comparesWholeSequences() {
    Evaluation a = new Evaluation(new int[][] {{1, 2}, {3}, {}}, Double.NaN);
    Evaluation b = new Evaluation(new int[][] {{1, 2}, {3, 3}, {}}, Double.NaN);
    assertThat(a.agreementPct(b)).isEqualTo(200.0 / 3);
    assertThat(a.scorePct(b)).isEqualTo(200.0 / 3); // no accuracy: scored by agreement
  }
}
