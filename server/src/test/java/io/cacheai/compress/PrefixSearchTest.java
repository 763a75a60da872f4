package io.cacheai.compress;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The fallback's bisection: the answer, and how few whole-model evaluations it spends. */
class PrefixSearchTest {
  @Test
  void smallestPassing_monotone_findsTheThresholdInLogTests() {
    for (int n = 1; n <= 64; n++) {
      for (int threshold = 1; threshold <= n; threshold++) {
        int t = threshold;
        int size = n;
        List<Integer> tested = new ArrayList<>();
        int k =
            PrefixSearch.smallestPassing(
                n,
                m -> {
                  tested.add(m);
                  return m >= t;
                });
        assertThat(k).isEqualTo(threshold);
        assertThat(tested).allMatch(m -> m > 0 && m < size);
        assertThat(tested.size())
            .as("n=%d threshold=%d", n, threshold)
            .isLessThanOrEqualTo(32 - Integer.numberOfLeadingZeros(n - 1));
      }
    }
  }

  @Test
  void smallestPassing_notMonotone_returnsAPassingPrefixWhosePredecessorFailed() {
    // passes at 3 and from 7 on, fails elsewhere (a noisy score)
    boolean[] passes = {false, false, false, true, false, false, false, true, true, true};
    int k = PrefixSearch.smallestPassing(9, m -> passes[m]);
    assertThat(passes[k]).isTrue();
    assertThat(passes[k - 1]).isFalse();
  }

  @Test
  void smallestPassing_nothingToSearch_refused() {
    assertThatThrownBy(() -> PrefixSearch.smallestPassing(0, m -> true))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("n=0");
  }
}
