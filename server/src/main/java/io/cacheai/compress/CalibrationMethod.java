package io.cacheai.compress;

import java.util.Arrays;

/**
 * How an activation's clipping range [lo, hi] is chosen from the values seen on the calibration set
 * (the range then maps onto u8 0..255).
 */
public enum CalibrationMethod {
  /** The observed minimum and maximum: no clipping, coarsest steps when there are outliers. */
  MINMAX,
  /** The 0.01th and 99.99th percentiles: clips rare outliers to get finer steps. */
  PERCENTILE,
  /** The range, among 100 shrinkings of the min-max range, whose u8 quantization has least MSE. */
  MSE;

  /** Percentile (in percent) used by {@link #PERCENTILE}. */
  public static final double PERCENTILE_PCT = 99.99;

  /** The method called {@code name} (case-insensitive), naming the accepted values if none is. */
  public static CalibrationMethod parse(String name) {
    return Arrays.stream(values())
        .filter(m -> m.name().equalsIgnoreCase(name))
        .findFirst()
        .orElseThrow(
            () ->
                new IllegalArgumentException(
                    "calibration method '" + name + "' (accepted: minmax, percentile, mse)"));
  }
}
