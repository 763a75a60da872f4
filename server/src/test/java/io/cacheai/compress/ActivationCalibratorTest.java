package io.cacheai.compress;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.cacheai.graph.Attributes;
import io.cacheai.graph.Graph;
import io.cacheai.graph.Node;
import io.cacheai.graph.OpType;
import io.cacheai.graph.ValueInfo;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ActivationCalibratorTest {
  @Test
  void range_scaleAndZeroPoint_representZeroExactly() {
    ActivationRange range = new ActivationRange(-1f, 3f);
    assertThat(range.scale()).isCloseTo(4f / 255, within(1e-7f));
    assertThat(range.zeroPoint()).isEqualTo(64); // rint(1 / (4/255)) = rint(63.75)
    ActivationRange relu = new ActivationRange(0.5f, 6f); // lo is widened to 0
    assertThat(relu.lo()).isZero();
    assertThat(relu.zeroPoint()).isZero();
  }

  /** 100 000 standard normal values and one outlier at 1000. */
  private static final float[] VALUES = values();

  private static float[] values() {
    Random random = new Random(5);
    float[] values = new float[100_000];
    for (int i = 0; i < values.length; i++) {
      values[i] = (float) random.nextGaussian();
    }
    values[12_345] = 1000f;
    return values;
  }

  /** The values through an Identity node, calibrated by {@code method}. */
  private static Map<String, ActivationRange> calibrate(CalibrationMethod method) {
    float[] values = VALUES;
    Graph graph =
        new Graph(
            "id",
            13,
            List.of(new ValueInfo("x", new long[] {-1, 1000})),
            List.of(new ValueInfo("y", new long[] {-1, 1000})),
            Map.of(),
            List.of(
                new Node(
                    OpType.IDENTITY, "id", List.of("x"), List.of("y"), new Attributes(Map.of()))));
    Dataset data = new Dataset(values, new long[] {1000}, null, "normal");
    return ActivationCalibrator.calibrate(graph, Set.of("x"), data, 100, method, d -> {});
  }

  @Test
  void calibrate_minmaxKeepsTheOutlier_percentileClipsIt_mseMinimizesTheError() {
    ActivationRange minmax = calibrate(CalibrationMethod.MINMAX).get("x");
    ActivationRange percentile = calibrate(CalibrationMethod.PERCENTILE).get("x");
    ActivationRange mse = calibrate(CalibrationMethod.MSE).get("x");
    assertThat(minmax.hi()).isEqualTo(1000f);
    // the 99.99th percentile of a standard normal is 3.72; the 0.01th is −3.72
    assertThat(percentile.hi()).isBetween(3f, 5f);
    assertThat(percentile.lo()).isBetween(-5f, -3f);
    // MSE weighs the one clipped outlier against 100 000 finer steps: never worse than min-max
    // (a candidate) nor than the percentile range (whose clipping error is huge here)
    assertThat(mse.quantizationMse(VALUES)).isLessThanOrEqualTo(minmax.quantizationMse(VALUES));
    assertThat(mse.quantizationMse(VALUES)).isLessThan(percentile.quantizationMse(VALUES));
  }
}
