package io.cacheai.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The soak's histogram against exact quantiles of the same samples. */
class LatencyHistogramTest {
  @Test
  void quantiles_withinOneBucketOfTheExactValue() {
    Random random = new Random(7);
    long[] values = new long[100_000];
    LatencyHistogram histogram = new LatencyHistogram();
    for (int i = 0; i < values.length; i++) {
      // Log-uniform from 1 µs to 1 s, as latencies spread.
      values[i] = (long) Math.pow(10, 3 + 6 * random.nextDouble());
      histogram.record(values[i]);
    }
    Arrays.sort(values);
    assertThat(histogram.count()).isEqualTo(values.length);
    for (double q : new double[] {0.5, 0.9, 0.99, 0.999, 1.0}) {
      long exact = values[(int) Math.ceil(q * values.length) - 1];
      long reported = histogram.quantileNanos(q);
      assertThat((double) reported)
          .as("q=%s", q)
          .isGreaterThanOrEqualTo(exact)
          .isCloseTo(exact, within(exact / (double) LatencyHistogram.SUB_BUCKETS + 1));
    }
  }

  @Test
  void buckets_coverEveryLongWithoutGapsOrOverlap() {
    for (long v : new long[] {0, 1, 63, 64, 65, 127, 128, 1_000_003, Long.MAX_VALUE}) {
      int index = LatencyHistogram.indexOf(v);
      assertThat(LatencyHistogram.upperEdge(index))
          .as("upper edge of %s", v)
          .isGreaterThanOrEqualTo(v);
      if (index > 0) {
        assertThat(LatencyHistogram.upperEdge(index - 1)).as("edge below %s", v).isLessThan(v);
      }
    }
    assertThat(new LatencyHistogram().quantileNanos(0.5)).isZero();
  }
}
