package io.cacheai.compress.lut;

import io.cacheai.runtime.LookupKernels;
import java.util.Arrays;

/**
 * Fits the depth-L (4 by default) balanced tree encoder of one sub-space (MADDNESS, Blalock &
 * Guttag 2021, §4.2): level by level, one split dimension shared by the 2^l nodes of the level and
 * one threshold per node (heap order; {@code x > threshold} goes right, as {@link LookupKernels}
 * runs it). Each point comes with a target vector — its k-means centroid (the tree then imitates
 * the nearest-centroid assignment) or its partial output x_c·W_cᵀ (the tree then separates what the
 * tables must tell apart) — and for each candidate dimension every node of the level gets the
 * threshold that leaves the least summed squared error of those targets inside its two children;
 * the dimension whose splits leave the least error in total wins. As in MADDNESS the thresholds are
 * found exactly by a scan of the sorted values, not fixed at medians (medians were tried first: on
 * ReLU activations, full of ties at zero, they cut badly).
 */
public final class TreeEncoderFit {
  private TreeEncoderFit() {}

  /**
   * One sub-space's tree: split dimension per level (L = its length), threshold per node (heap
   * order, 2^L − 1).
   */
  public record Tree(int[] splitDims, float[] thresholds) {
    /** The key (0..2^L − 1) of point {@code at} of {@code x}: exactly the runtime's tree walk. */
    public int key(float[] x, int at) {
      int node = 0;
      for (int l = 0; l < splitDims.length; l++) {
        node = 2 * node + 1 + (x[at + splitDims[l]] > thresholds[node] ? 1 : 0);
      }
      return node - thresholds.length;
    }
  }

  /**
   * @param x n·w values of the sub-space
   * @param targets n·w values: what the buckets should keep together (each point's k-means
   *     centroid, or the point itself for plain MADDNESS)
   */
  public static Tree fit(float[] x, float[] targets, int n, int w) {
    return fit(x, targets, n, w, w);
  }

  /** As {@link #fit(float[], float[], int, int)} with targets of {@code tw} values per point. */
  public static Tree fit(float[] x, float[] targets, int n, int w, int tw) {
    return fit(x, targets, n, w, tw, new boolean[w]);
  }

  /**
   * As above, but no level splits on a dimension marked in {@code taken} while any other is left
   * (grouped tables: a group's tree reads other dimensions of the sub-vector than the trees of the
   * groups before it, so the groups see different features of the row).
   */
  public static Tree fit(float[] x, float[] targets, int n, int w, int tw, boolean[] taken) {
    return fit(x, targets, n, w, tw, taken, LookupKernels.DEPTH);
  }

  /** As above with a tree of {@code depth} L levels: 2^L keys, 2^L − 1 thresholds. */
  public static Tree fit(
      float[] x, float[] targets, int n, int w, int tw, boolean[] taken, int depth) {
    if (depth < 1 || depth > LookupKernels.DEPTH) {
      throw new IllegalArgumentException(
          "tree depth " + depth + " (1.." + LookupKernels.DEPTH + ")");
    }
    boolean anyFree = false;
    for (int d = 0; d < w; d++) {
      anyFree |= !taken[d];
    }
    int[] dims = new int[depth];
    float[] thresholds = new float[(1 << depth) - 1];
    int[] bucket = new int[n]; // node index within the level, 0 .. 2^l − 1
    for (int level = 0; level < depth; level++) {
      int nodes = 1 << level;
      int[][] members = members(bucket, n, nodes);
      double bestLoss = Double.POSITIVE_INFINITY;
      int bestDim = -1;
      float[] bestThresholds = null;
      for (int d = 0; d < w; d++) {
        if (anyFree && taken[d]) {
          continue;
        }
        float[] levelThresholds = new float[nodes];
        double loss = 0;
        for (int b = 0; b < nodes; b++) {
          loss += bestSplit(x, targets, members[b], w, tw, d, levelThresholds, b);
        }
        if (loss < bestLoss) {
          bestLoss = loss;
          bestDim = d;
          bestThresholds = levelThresholds;
        }
      }
      if (bestDim < 0) { // every loss NaN: keep the first dimension the search may use
        bestDim = 0;
        while (anyFree && taken[bestDim]) {
          bestDim++;
        }
        bestThresholds = new float[nodes];
        for (int b = 0; b < nodes; b++) {
          bestSplit(x, targets, members[b], w, tw, bestDim, bestThresholds, b);
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

  private static int[][] members(int[] bucket, int n, int nodes) {
    int[] counts = new int[nodes];
    for (int i = 0; i < n; i++) {
      counts[bucket[i]]++;
    }
    int[][] members = new int[nodes][];
    for (int b = 0; b < nodes; b++) {
      members[b] = new int[counts[b]];
    }
    int[] fill = new int[nodes];
    for (int i = 0; i < n; i++) {
      members[bucket[i]][fill[bucket[i]]++] = i;
    }
    return members;
  }

  /**
   * The threshold along {@code d} that splits the node's points into the two halves of least summed
   * squared error of their targets (a scan over the sorted values with prefix sums), stored in
   * {@code out[b]}; returns that error. The threshold is the midpoint between the last value going
   * left and the first going right. A node with fewer than two distinct values keeps all its points
   * on the left.
   */
  private static double bestSplit(
      float[] x, float[] targets, int[] idx, int w, int tw, int d, float[] out, int b) {
    int count = idx.length;
    if (count == 0) {
      out[b] = 0f;
      return 0;
    }
    long[] order = new long[count];
    for (int j = 0; j < count; j++) {
      // sort by value, ties by index: the float's order-preserving int bits, then the index
      int bits = Float.floatToIntBits(x[idx[j] * w + d] + 0.0f);
      int key = bits >= 0 ? bits : bits ^ 0x7fffffff;
      order[j] = ((long) key << 32) | idx[j];
    }
    Arrays.sort(order);
    double[] prefix = new double[tw];
    double[] total = new double[tw];
    double totalSquares = 0;
    for (int j = 0; j < count; j++) {
      int i = (int) order[j];
      for (int k = 0; k < tw; k++) {
        double t = targets[i * tw + k];
        total[k] += t;
        totalSquares += t * t;
      }
    }
    double totalNorm = 0;
    for (int k = 0; k < tw; k++) {
      totalNorm += total[k] * total[k];
    }
    double bestLoss = totalSquares - totalNorm / count; // no split
    float lastValue = x[(int) order[count - 1] * w + d];
    out[b] = lastValue;
    double leftSquares = 0;
    for (int j = 0; j < count - 1; j++) {
      int i = (int) order[j];
      for (int k = 0; k < tw; k++) {
        double t = targets[i * tw + k];
        prefix[k] += t;
        leftSquares += t * t;
      }
      float here = x[i * w + d];
      float next = x[(int) order[j + 1] * w + d];
      if (!(next > here)) {
        continue;
      }
      double leftNorm = 0;
      double rightNorm = 0;
      for (int k = 0; k < tw; k++) {
        leftNorm += prefix[k] * prefix[k];
        double r = total[k] - prefix[k];
        rightNorm += r * r;
      }
      int left = j + 1;
      double loss =
          leftSquares - leftNorm / left + (totalSquares - leftSquares) - rightNorm / (count - left);
      if (loss < bestLoss) {
        bestLoss = loss;
        float mid = here + (next - here) / 2;
        out[b] = mid < next ? mid : here;
      }
    }
    return bestLoss;
  }
}
