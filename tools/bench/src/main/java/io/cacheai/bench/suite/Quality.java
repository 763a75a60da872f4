package io.cacheai.bench.suite;

/**
 * What a form computes, independent of speed.
 *
 * @param accuracyPct MNIST: top-1 accuracy; OCR: share of lines read exactly — in percent
 * @param cerPct OCR: character error rate in percent; NaN for classifiers
 * @param predictions the arg-max class of every prediction (per image, or per CTC frame of every
 *     line), compared position by position with the reference form's for the agreement
 */
public record Quality(double accuracyPct, double cerPct, int[] predictions) {
  /** Percent of positions where this and {@code reference} predict the same class. */
  public double agreementPct(Quality reference) {
    if (reference.predictions.length != predictions.length) {
      throw new IllegalArgumentException(
          "predictions="
              + predictions.length
              + " reference="
              + reference.predictions.length
              + " (the same inputs must give as many predictions)");
    }
    int same = 0;
    for (int i = 0; i < predictions.length; i++) {
      same += predictions[i] == reference.predictions[i] ? 1 : 0;
    }
    return 100.0 * same / Math.max(1, predictions.length);
  }
}
