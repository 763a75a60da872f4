package io.cacheai.compress;

import java.util.function.IntPredicate;

/**
 * Bisection over the prefixes of a ranking: the smallest {@code k} such that acting on the first
 * {@code k} items passes, given that {@code k = 0} fails and {@code k = n} passes.
 *
 * <p>The accuracy fallback ranks the layers most harmful first ({@link SensitivityProbe}) and asks
 * how many of the top ones must be promoted for the whole model to meet the budget. Each test is a
 * whole-model evaluation, so the search spends at most {@code ceil(log2 n)} of them, where the
 * greedy search it replaces spent {@code n} per promotion. The predicate need not be exactly
 * monotone (a score on a few samples is noisy): the answer is then a {@code k} that passes while
 * {@code k - 1} failed, which is all the fallback needs.
 */
final class PrefixSearch {
  private PrefixSearch() {}

  /**
   * @param n the ranking's length, at least 1; {@code passes(n)} is known to hold
   * @param passes tested only for {@code 0 < k < n}
   * @return the smallest passing prefix found, in {@code 1..n}
   */
  static int smallestPassing(int n, IntPredicate passes) {
    if (n < 1) {
      throw new IllegalArgumentException("prefix search over n=" + n + " items (need >= 1)");
    }
    int failing = 0;
    int passing = n;
    while (passing - failing > 1) {
      int mid = (failing + passing) >>> 1;
      if (passes.test(mid)) {
        passing = mid;
      } else {
        failing = mid;
      }
    }
    return passing;
  }
}
