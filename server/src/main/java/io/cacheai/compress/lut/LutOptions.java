package io.cacheai.compress.lut;

import java.util.List;
import java.util.Locale;

/**
 * How {@code compress --method cacheai} builds its tables.
 *
 * @param width w, the floats of one sub-vector (one key): table bytes are C·16·M = ceil(D/w)·16·M,
 *     so an int8 table is w/4 times smaller than the fp32 weight (w = 40 for 10×)
 * @param encoder how a sub-vector becomes a key at run time
 * @param layers node names to replace; empty: every Gemm/MatMul but the first and last weighted
 *     layer of the graph
 * @param seed k-means seed (the build is deterministic for a seed)
 * @param lambda ridge term of the table refit, relative to the mean count of a key on the data
 * @param kmeansIterations Lloyd steps at most per sub-space
 * @param samples calibration samples used (at most the data's count)
 * @param storeCentroids keep the centroids in the bundle with the tree encoder (to measure the key
 *     hit rate from the bundle alone); always kept with the centroid encoder
 */
public record LutOptions(
    int width,
    Encoder encoder,
    List<String> layers,
    long seed,
    double lambda,
    int kmeansIterations,
    int samples,
    boolean storeCentroids) {
  /** The default sub-vector width: the smallest w whose int8 tables are 10× the fp32 weight. */
  public static final int DEFAULT_WIDTH = 40;

  /** The encoders of {@code --lut-encoder}. */
  public enum Encoder {
    /** Depth-4 threshold tree, no multiplications (MADDNESS). */
    TREE,
    /** Exact nearest of 16 centroids (product quantization). */
    CENTROID;

    public static Encoder parse(String name) {
      for (Encoder e : values()) {
        if (e.name().equalsIgnoreCase(name)) {
          return e;
        }
      }
      throw new IllegalArgumentException("lut-encoder='" + name + "' (accepted: tree, centroid)");
    }

    public String label() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  public LutOptions {
    layers = List.copyOf(layers);
    if (width <= 0 || width > 4096 || !(lambda >= 0) || kmeansIterations <= 0 || samples <= 0) {
      throw new IllegalArgumentException(
          "lut-width="
              + width
              + " lambda="
              + lambda
              + " kmeansIterations="
              + kmeansIterations
              + " samples="
              + samples
              + " (width 1..4096, lambda >= 0, iterations and samples > 0)");
    }
  }

  /** Defaults: w = {@value #DEFAULT_WIDTH}, tree encoder, middle layers, seed 1. */
  public static LutOptions defaults() {
    return new LutOptions(DEFAULT_WIDTH, Encoder.TREE, List.of(), 1, 1.0, 25, 1000, true);
  }

  public LutOptions withWidth(int w) {
    return new LutOptions(
        w, encoder, layers, seed, lambda, kmeansIterations, samples, storeCentroids);
  }

  public LutOptions withEncoder(Encoder e) {
    return new LutOptions(
        width, e, layers, seed, lambda, kmeansIterations, samples, storeCentroids);
  }

  public LutOptions withSeed(long s) {
    return new LutOptions(
        width, encoder, layers, s, lambda, kmeansIterations, samples, storeCentroids);
  }

  public LutOptions withLayers(List<String> names) {
    return new LutOptions(
        width, encoder, names, seed, lambda, kmeansIterations, samples, storeCentroids);
  }

  public LutOptions withLambda(double l) {
    return new LutOptions(
        width, encoder, layers, seed, l, kmeansIterations, samples, storeCentroids);
  }

  public LutOptions withSamples(int n) {
    return new LutOptions(
        width, encoder, layers, seed, lambda, kmeansIterations, n, storeCentroids);
  }

  public LutOptions withStoreCentroids(boolean store) {
    return new LutOptions(width, encoder, layers, seed, lambda, kmeansIterations, samples, store);
  }
}
