package io.cacheai.compress.lut;

import java.util.Locale;

/**
 * What one replaced layer costs and how faithful it is, on the data it was measured on.
 *
 * @param layer the node name
 * @param inputDim D
 * @param outputDim M
 * @param width w
 * @param codebooks C = ceil(D/w)
 * @param keys K keys per codebook (2^depth of the trees; 16 by default)
 * @param fold key-0 rows folded into the bias and not stored ({@link KeyZeroFold})
 * @param fp32Bytes the exact layer's weight and bias in fp32: 4·(M·D + M)
 * @param lookupBytes what the layer needs to run: tables C·K·M/G (4-bit: C·K·ceil(M/G/2); K − 1
 *     rows a codebook when folded) + scale and bias 8·M + the tree 4·C·(L + K − 1) or, for the
 *     centroid encoder, the centroids 4·C·K·w ({@link LutLayerBuilder#lookupBytes})
 * @param centroidBytes centroids stored beside a tree (for the hit rate), 0 when not stored
 * @param keyHitRatePct keys where the encoder's key equals the exact nearest-centroid key (100 for
 *     the centroid encoder)
 * @param nmse Σ(ŷ − y)² / Σ y² against the exact layer on the same input
 */
public record LutLayerReport(
    String layer,
    int inputDim,
    int outputDim,
    int width,
    int codebooks,
    int keys,
    boolean fold,
    long fp32Bytes,
    long lookupBytes,
    long centroidBytes,
    double keyHitRatePct,
    double nmse) {
  /** fp32 bytes / lookup bytes. */
  public double ratio() {
    return (double) fp32Bytes / lookupBytes;
  }

  /** This report with figures measured on other data. */
  public LutLayerReport measured(double hitRatePct, double newNmse) {
    return new LutLayerReport(
        layer,
        inputDim,
        outputDim,
        width,
        codebooks,
        keys,
        fold,
        fp32Bytes,
        lookupBytes,
        centroidBytes,
        hitRatePct,
        newNmse);
  }

  /** One line for the CLI. */
  public String line() {
    return String.format(
        Locale.ROOT,
        "%-16s %4d->%-4d w=%-3d C=%-4d%s%s fp32 %8d B  lookup %7d B (%5.2fx)%s  key hit %6.2f%%"
            + "  NMSE %.4f",
        layer,
        inputDim,
        outputDim,
        width,
        codebooks,
        keys == 16 ? "" : String.format(Locale.ROOT, " K=%-2d", keys),
        fold ? " fold" : "",
        fp32Bytes,
        lookupBytes,
        ratio(),
        centroidBytes > 0 ? String.format(Locale.ROOT, " +centroids %d B", centroidBytes) : "",
        keyHitRatePct,
        nmse);
  }
}
