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
    // no accuracy: scored by token agreement, 1 - edits / reference tokens = 1 - 1/4
    assertThat(a.scorePct(b)).isEqualTo(75.0);
  }

  @Test
  void tokenAgreement_countsEditsAgainstTheReferenceTokens() {
    assertThat(Evaluation.editDistance(new int[] {1, 2, 3}, new int[] {1, 3})).isEqualTo(1);
    assertThat(Evaluation.editDistance(new int[] {}, new int[] {4, 5})).isEqualTo(2);
    assertThat(Evaluation.editDistance(new int[] {1, 2}, new int[] {2, 1})).isEqualTo(2);
    Evaluation reference = new Evaluation(new int[][] {{1, 2, 3, 4}, {5, 6, 7, 8}}, Double.NaN);
    Evaluation slip = new Evaluation(new int[][] {{1, 2, 3, 4}, {5, 9, 7, 8}}, Double.NaN);
    assertThat(slip.agreementPct(reference)).isEqualTo(50.0);
    assertThat(slip.tokenAgreementPct(reference)).isEqualTo(87.5); // one slip in 8 tokens
    Evaluation classes = new Evaluation(new int[][] {{1}, {2}, {3}, {3}}, Double.NaN);
    Evaluation other = new Evaluation(new int[][] {{1}, {2}, {3}, {4}}, Double.NaN);
    assertThat(classes.tokenAgreementPct(other)).isEqualTo(classes.agreementPct(other));
  }
}
