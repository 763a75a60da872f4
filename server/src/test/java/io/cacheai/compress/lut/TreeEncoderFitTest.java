package io.cacheai.compress.lut;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link TreeEncoderFit} at depths 2, 3 and 4: on points whose 2^L clusters an axis-aligned tree of
 * depth L can separate (cluster b sits at 10·bit_l(b) along dimension l, noise below 1 elsewhere
 * and around it), with each point's cluster centre as its target, the fitted tree gives every
 * cluster its own key and every point of a cluster that key: it reproduces the training assignment
 * exactly, with 2^L keys from L split dims and 2^L − 1 thresholds.
 */
class TreeEncoderFitTest {
  @ParameterizedTest(name = "depth {0}")
  @ValueSource(ints = {2, 3, 4})
  void fit_separableClusters_reproducesTheAssignment(int depth) {
    int keys = 1 << depth;
    int w = depth + 2; // two noise dimensions besides the L that separate
    int perCluster = 40;
    int n = keys * perCluster;
    SplittableRandom random = new SplittableRandom(17 + depth);
    float[] x = new float[n * w];
    float[] centres = new float[keys * w];
    int[] cluster = new int[n];
    for (int b = 0; b < keys; b++) {
      for (int l = 0; l < depth; l++) {
        centres[b * w + l] = 10f * ((b >> l) & 1);
      }
    }
    for (int i = 0; i < n; i++) {
      int b = i % keys; // clusters interleaved: the fit cannot rely on the order
      cluster[i] = b;
      for (int j = 0; j < w; j++) {
        x[i * w + j] = centres[b * w + j] + (float) random.nextDouble();
      }
    }
    float[] targets = new float[n * w];
    for (int i = 0; i < n; i++) {
      System.arraycopy(centres, cluster[i] * w, targets, i * w, w);
    }

    TreeEncoderFit.Tree tree = TreeEncoderFit.fit(x, targets, n, w, w, new boolean[w], depth);

    assertThat(tree.splitDims()).hasSize(depth);
    assertThat(tree.thresholds()).hasSize(keys - 1);
    Map<Integer, Integer> keyOfCluster = new HashMap<>();
    for (int i = 0; i < n; i++) {
      int key = tree.key(x, i * w);
      assertThat(key).isBetween(0, keys - 1);
      Integer seen = keyOfCluster.putIfAbsent(cluster[i], key);
      assertThat(seen == null ? key : seen)
          .as("point %d of cluster %d", i, cluster[i])
          .isEqualTo(key);
    }
    // one key per cluster, all 2^L of them used
    assertThat(keyOfCluster).hasSize(keys);
    assertThat(keyOfCluster.values()).doesNotHaveDuplicates();
  }
}
