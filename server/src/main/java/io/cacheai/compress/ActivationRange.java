package io.cacheai.compress;

/**
 * A calibrated real range [lo, hi] of one activation tensor (lo ≤ 0 ≤ hi, so that real 0 — ReLU
 * outputs, padding — is exactly representable) and its per-tensor asymmetric u8 parameters:
 *
 * <pre>
 *   scale = (hi − lo) / 255      zeroPoint = rint(−lo / scale) in [0, 255]
 *   real  = scale · (q − zeroPoint)
 * </pre>
 */
public record ActivationRange(float lo, float hi) {
  public ActivationRange {
    lo = Math.min(lo, 0f);
    hi = Math.max(hi, 0f);
    if (!(hi > lo)) { // an all-zero tensor: any positive scale represents it exactly
      hi = lo + 1e-6f;
    }
  }

  public float scale() {
    return (hi - lo) / 255f;
  }

  public int zeroPoint() {
    int zp = (int) Math.rint(-lo / scale());
    return Math.max(0, Math.min(255, zp));
  }

  /** The mean squared error of quantizing {@code sample} to u8 with this range. */
  double quantizationMse(float[] sample) {
    float scale = scale();
    int zp = zeroPoint();
    double sum = 0;
    for (float x : sample) {
      int q = (int) Math.rint(x / scale) + zp;
      q = Math.max(0, Math.min(255, q));
      double d = x - scale * (q - zp);
      sum += d * d;
    }
    return sample.length == 0 ? 0 : sum / sample.length;
  }
}
