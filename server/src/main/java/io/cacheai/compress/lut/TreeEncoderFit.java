package io.cacheai.compress.lut;

import io.cacheai.runtime.LookupKernels;
import java.util.Arrays;

/**
 * Fits the depth-4 balanced tree encoder of one sub-space (MADDNESS, Blalock & Guttag 2021, §4.2):
 * level by level, one split dimension shared by the 2^l nodes of the level and one threshold per
 * node (heap order; {@code x > threshold} goes right, as {@link LookupKernels} runs it). The tree
 * imitates the nearest-centroid assignment: each point is represented by its k-means centroid, and
 * the split dimension chosen at a level is the one whose median splits leave the least summed
 * squared error of those centroids inside the child buckets (the variance of the assignment the
 * comparison separates). Thresholds are the node's median along that dimension, so buckets stay
 * balanced on the calibration data; when ties (e.g. ReLU zeros) make the median the maximum, the
 * threshold moves down to the largest smaller value so that both children are used.
 */
public final class TreeEncoderFit {
  private TreeEncoderFit() {}

  /** One sub-space's tree: split dimension per level, threshold per node (heap order). */
  public record Tree(int[] splitDims, float[] thresholds) {
    /** The key (0..15) of point {@code at} of {@code x}: exactly the runtime's tree walk. */
    public int key(float[] x, int at) {
      int node = 0;
      for (int l = 0; l < LookupKernels.DEPTH; l++) {
        node = 2 * node + 1 + (x[at + splitDims[l]] > thresholds[node] ? 1 : 0);
      }
      return node - LookupKernels.TREE_NODES;
    }
  }

  /**
   * @param x n·w values of the sub-space
   * @param targets n·w values: each point's k-means centroid (what the tree should separate)
   */
  public static Tree fit(float[] x, float[] targets, int n, int w) {
    int[] dims = new int[LookupKernels.DEPTH];
    float[] thresholds = new float[LookupKernels.TREE_NODES];
    int[] bucket = new int[n]; // node index within the level, 0 .. 2^l − 1
    for (int level = 0; level < LookupKernels.DEPTH; level++) {
      int nodes = 1 << level;
      double bestLoss = Double.POSITIVE_INFINITY;
      int bestDim = 0;
      float[] bestThresholds = null;
      for (int d = 0; d < w; d++) {
        float[] levelThresholds = new float[nodes];
        for (int b = 0; b < nodes; b++) {
          levelThresholds[b] = medianSplit(x, bucket, b, n, w, d);
        }
        double loss = splitLoss(x, targets, bucket, n, w, d, nodes, levelThresholds);
        if (loss < bestLoss) {
          bestLoss = loss;
          bestDim = d;
          bestThresholds = levelThresholds;
        }
      }
      dims[level] = bestDim;
      System.arraycopy(bestThresholds, 0, thresholds, nodes - 1, nodes);
      for (int i = 0; i < n; i++) {
        bucket[i] = 2 * bucket[i] + (x[i * w + bestDim] > bestThresholds[bucket[i]] ? 1 : 0);
      }
    }
    return new Tree(dims, thresholds);
  }

  /** The median of bucket {@code b}'s values along {@code d}, moved below the max on ties. */
  private static float medianSplit(float[] x, int[] bucket, int b, int n, int w, int d) {
    int count = 0;
    for (int i = 0; i < n; i++) {
      count += bucket[i] == b ? 1 : 0;
    }
    if (count == 0) {
      return 0f;
    }
    float[] values = new float[count];
    for (int i = 0, j = 0; i < n; i++) {
      if (bucket[i] == b) {
        values[j++] = x[i * w + d];
      }
    }
    Arrays.sort(values);
    float median = values[(count - 1) / 2];
    if (median >= values[count - 1]) {
      // the median is the maximum: split just below it if any smaller value exists
      for (int j = count - 1; j >= 0; j--) {
        if (values[j] < median) {
          return values[j];
        }
      }
    }
    return median;
  }

  /** Σ over child buckets of the squared error of the targets around the child's mean. */
  private static double splitLoss(
      float[] x, float[] targets, int[] bucket, int n, int w, int d, int nodes, float[] th) {
    int children = 2 * nodes;
    double[] sums = new double[children * w];
    double[] squares = new double[children];
    int[] counts = new int[children];
    for (int i = 0; i < n; i++) {
      int child = 2 * bucket[i] + (x[i * w + d] > th[bucket[i]] ? 1 : 0);
      counts[child]++;
      for (int j = 0; j < w; j++) {
        double t = targets[i * w + j];
        sums[child * w + j] += t;
        squares[child] += t * t;
      }
    }
    double loss = 0;
    for (int c = 0; c < children; c++) {
      if (counts[c] == 0) {
        continue;
      }
      double norm = 0;
      for (int j = 0; j < w; j++) {
        norm += sums[c * w + j] * sums[c * w + j];
      }
      loss += squares[c] - norm / counts[c];
    }
    return loss;
  }
}
