package io.cacheai.compress.lut;

import io.cacheai.graph.Node;
import io.cacheai.graph.PackedTensor;
import io.cacheai.runtime.LookupKernels;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Map;

/**
 * The keys a {@code LookupGemm} node gives the rows of its input, computed by the Java reference
 * kernels exactly as the runtime computes them: each row of d floats zero-padded to C·w, then
 * encoded by the tree (split dims, thresholds) or by the nearest stored centroid, a chunk of rows
 * at a time so the direct buffers stay small.
 */
final class TableKeys {
  private static final int CHUNK_ROWS = 1024;

  private TableKeys() {}

  /** The node's table groups G (attribute {@code groups}, default 1). */
  static int groups(Node node) {
    return Math.toIntExact(node.attributes().getLong("groups", 1));
  }

  /**
   * K, the node's keys per codebook: attribute {@code keys} (4, 8 or 16; 16 when absent, as every
   * bundle before shallower trees); a null node (no table layer) has the default.
   */
  static int keys(Node node) {
    return node == null
        ? LookupKernels.KEYS
        : Math.toIntExact(node.attributes().getLong("keys", LookupKernels.KEYS));
  }

  /**
   * Whether the node's tables are folded (attribute {@code fold_key0} = 1, 0 when absent): key 0's
   * row of each codebook is 0 and not stored ({@link KeyZeroFold}).
   */
  static boolean folded(Node node) {
    return node != null && node.attributes().getLong("fold_key0", 0) == 1;
  }

  /** L, the depth of the node's trees: log2 of {@link #keys}. */
  static int depth(Node node) {
    return Integer.numberOfTrailingZeros(keys(node));
  }

  /** Whether the node's own encoder is the tree (else the centroids). */
  static boolean treeEncoder(Node node) {
    return node.attributes().getString("encoder", "tree").equals("tree");
  }

  /**
   * Keys [rows][C] of {@code x} [rows][d]: by the tree ({@code tree}) or by the nearest centroid
   * (the node must then hold its centroids).
   */
  static byte[] encode(
      Node node, Map<String, PackedTensor> packed, float[] x, int rows, boolean tree) {
    var a = node.attributes();
    int d = Math.toIntExact(a.getLongs("weight_shape")[1]);
    int w = Math.toIntExact(a.getLong("width", 1));
    int groups = groups(node);
    int perGroup = (d + w - 1) / w;
    int codebooks = groups * perGroup;
    int padded = codebooks * w;
    byte[] keys = new byte[rows * codebooks];
    int chunk = Math.min(CHUNK_ROWS, Math.max(rows, 1));
    FloatBuffer in =
        ByteBuffer.allocateDirect(4 * chunk * padded)
            .order(ByteOrder.nativeOrder())
            .asFloatBuffer();
    ByteBuffer out = ByteBuffer.allocateDirect(chunk * codebooks);
    LookupKernels kernels = LookupKernels.reference();
    for (int from = 0; from < rows; from += chunk) {
      int n = Math.min(chunk, rows - from);
      for (int i = 0; i < n; i++) {
        // zero-padded to C_g·w, once per group (as LookupGemmKernel lays it out)
        for (int g = 0; g < groups; g++) {
          int at = i * padded + g * perGroup * w;
          in.put(at, x, (from + i) * d, d);
          for (int k = d; k < perGroup * w; k++) {
            in.put(at + k, 0f);
          }
        }
      }
      if (tree) {
        kernels.encodeTree(
            in,
            n,
            padded,
            codebooks,
            w,
            depth(node),
            packed.get(a.getString("split_dims", "")).data().asIntBuffer(),
            packed.get(a.getString("thresholds", "")).data().asFloatBuffer(),
            out);
      } else {
        kernels.encodeCentroids(
            in,
            n,
            padded,
            codebooks,
            w,
            keys(node),
            packed.get(a.getString("centroids", "")).data().asFloatBuffer(),
            out);
      }
      out.get(0, keys, from * codebooks, n * codebooks);
    }
    return keys;
  }
}
