package io.cacheai.compress.lut;

import java.util.SplittableRandom;

/**
 * Lloyd's k-means with k-means++ seeding (Arthur & Vassilvitskii 2007) on n points of width w,
 * deterministic for a seed: the prototypes of one sub-space of a layer's input. Bounded: at most
 * {@code maxIterations} Lloyd steps, stopping early once no assignment changes. A cluster left
 * empty is re-seeded at the point farthest from its centroid, so all k prototypes stay in use when
 * there are at least k distinct points.
 */
public final class KMeans {
  private KMeans() {}

  /**
   * The k centroids, [k][w] flattened.
   *
   * @param x n·w values, point i at [i·w, i·w + w)
   */
  public static float[] fit(float[] x, int n, int w, int k, long seed, int maxIterations) {
    if (n <= 0 || w <= 0 || k <= 0 || x.length < (long) n * w) {
      throw new IllegalArgumentException(
          "k-means: n=" + n + " w=" + w + " k=" + k + " values=" + x.length);
    }
    SplittableRandom random = new SplittableRandom(seed);
    float[] centroids = new float[k * w];
    double[] nearest = new double[n];
    int first = random.nextInt(n);
    System.arraycopy(x, first * w, centroids, 0, w);
    for (int i = 0; i < n; i++) {
      nearest[i] = distance(x, i * w, centroids, 0, w);
    }
    for (int c = 1; c < k; c++) {
      double total = 0;
      for (double d : nearest) {
        total += d;
      }
      int pick;
      if (total <= 0) {
        pick = random.nextInt(n); // fewer distinct points than k: duplicates are harmless
      } else {
        double target = random.nextDouble() * total;
        pick = n - 1;
        for (int i = 0; i < n; i++) {
          target -= nearest[i];
          if (target < 0) {
            pick = i;
            break;
          }
        }
      }
      System.arraycopy(x, pick * w, centroids, c * w, w);
      for (int i = 0; i < n; i++) {
        nearest[i] = Math.min(nearest[i], distance(x, i * w, centroids, c * w, w));
      }
    }
    int[] assignment = new int[n];
    java.util.Arrays.fill(assignment, -1);
    double[] sums = new double[k * w];
    int[] counts = new int[k];
    for (int iteration = 0; iteration < maxIterations; iteration++) {
      boolean changed = false;
      for (int i = 0; i < n; i++) {
        int best = nearestCentroid(x, i * w, centroids, k, w);
        if (best != assignment[i]) {
          assignment[i] = best;
          changed = true;
        }
      }
      if (!changed) {
        break;
      }
      java.util.Arrays.fill(sums, 0);
      java.util.Arrays.fill(counts, 0);
      for (int i = 0; i < n; i++) {
        int c = assignment[i];
        counts[c]++;
        for (int j = 0; j < w; j++) {
          sums[c * w + j] += x[i * w + j];
        }
      }
      for (int c = 0; c < k; c++) {
        if (counts[c] == 0) {
          int far = farthest(x, n, w, centroids, assignment);
          System.arraycopy(x, far * w, centroids, c * w, w);
          assignment[far] = c;
          continue;
        }
        for (int j = 0; j < w; j++) {
          centroids[c * w + j] = (float) (sums[c * w + j] / counts[c]);
        }
      }
    }
    return centroids;
  }

  /** The index of the centroid nearest to point {@code at} (ties: lowest index). */
  public static int nearestCentroid(float[] x, int at, float[] centroids, int k, int w) {
    int best = 0;
    double bestDistance = Double.POSITIVE_INFINITY;
    for (int c = 0; c < k; c++) {
      double d = distance(x, at, centroids, c * w, w);
      if (d < bestDistance) {
        bestDistance = d;
        best = c;
      }
    }
    return best;
  }

  private static int farthest(float[] x, int n, int w, float[] centroids, int[] assignment) {
    int far = 0;
    double farDistance = -1;
    for (int i = 0; i < n; i++) {
      double d = distance(x, i * w, centroids, assignment[i] * w, w);
      if (d > farDistance) {
        farDistance = d;
        far = i;
      }
    }
    return far;
  }

  static double distance(float[] x, int at, float[] centroids, int cAt, int w) {
    double sum = 0;
    for (int j = 0; j < w; j++) {
      double diff = x[at + j] - centroids[cAt + j];
      sum += diff * diff;
    }
    return sum;
  }
}
