package io.cacheai.runtime;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;

/**
 * The three steps of a {@code LookupGemm} ("Cache AI" layer, MADDNESS / LUT-NN style): encode each
 * sub-vector of an input row to a key, then gather-accumulate the table rows the keys select. The
 * same contract as the native {@code io.cacheai.kernels.LutKernels} (see that class and
 * notes/LUT_API.md), as instance methods, so the runtime can pick the Java {@link #reference()} or
 * a native implementation like {@link Int8Gemm}.
 *
 * <p>Shapes: an input row has {@code d} floats, cut into {@code codebooks} (C) sub-vectors of
 * {@code width} (w) floats, {@code d == codebooks · width} (the caller pads with zeros); K keys per
 * codebook, K = 4, 8 or 16 (default {@value #KEYS}), a tree of depth L = log2 K; {@code m} outputs.
 * All buffers are direct, native byte order, read and written from index 0 (positions ignored).
 *
 * <pre>
 *   tree encoder (depth L, heap order, no multiplication):
 *     node = 0
 *     for l in 0..L−1: node = 2·node + 1 + (x[r·d + c·w + splitDims[c·L + l]] > thresholds[c·(K−1) + node])
 *     keys[r·C + c] = node − (K−1)                   (x == threshold goes LEFT)
 *   centroid encoder: keys[r·C + c] = argmin_k Σ_i (x[r·d + c·w + i] − centroids[(c·K + k)·w + i])²
 *                     (ties → lowest k)
 *   accumulate: out[r·m + j] = bias[j] + scale[j] · Σ_c tables[(c·K + keys[r·C + c])·m + j]
 *               (exact int32 sum of the int8 entries, then one fused fp32 multiply-add:
 *               bias[j] + scale[j]·(float) acc, product then sum, no FMA — the native
 *               kernel is compiled without FMA so both round identically)
 * </pre>
 */
public interface LookupKernels {
  /** Keys per codebook (K) of the default tree, the one every bundle without a {@code keys} has. */
  int KEYS = 16;

  /** Depth of the default tree encoder, log2 {@link #KEYS}. */
  int DEPTH = 4;

  /** Nodes of one codebook's default tree (2^DEPTH − 1), in heap order. */
  int TREE_NODES = 15;

  /**
   * The tree depth L = log2 K of {@code keys} keys per codebook: 4 → 2, 8 → 3, 16 → 4, else
   * refused.
   */
  static int depthOf(int keys) {
    return io.cacheai.kernels.LutKernels.depthOf(keys);
  }

  /**
   * The default tree (depth 4): {@code splitDims} int32 [C,4] in [0,w), {@code thresholds} fp32
   * [C,15].
   */
  default void encodeTree(
      FloatBuffer x,
      int rows,
      int d,
      int codebooks,
      int width,
      IntBuffer splitDims,
      FloatBuffer thresholds,
      ByteBuffer keys) {
    encodeTree(x, rows, d, codebooks, width, DEPTH, splitDims, thresholds, keys);
  }

  /**
   * The tree encoder of {@code depth} L (2, 3 or 4; K = 2^L keys): {@code splitDims} int32 [C,L] in
   * [0,w), {@code thresholds} fp32 [C,K−1] in heap order; keys 0..K−1.
   */
  void encodeTree(
      FloatBuffer x,
      int rows,
      int d,
      int codebooks,
      int width,
      int depth,
      IntBuffer splitDims,
      FloatBuffer thresholds,
      ByteBuffer keys);

  /** The exact nearest-centroid encoder over 16 keys; {@code centroids} fp32 [C,16,w]. */
  default void encodeCentroids(
      FloatBuffer x,
      int rows,
      int d,
      int codebooks,
      int width,
      FloatBuffer centroids,
      ByteBuffer keys) {
    encodeCentroids(x, rows, d, codebooks, width, KEYS, centroids, keys);
  }

  /**
   * The exact nearest-centroid encoder; {@code centroids} fp32 [C,K,w], K = {@code
   * keysPerCodebook}.
   */
  void encodeCentroids(
      FloatBuffer x,
      int rows,
      int d,
      int codebooks,
      int width,
      int keysPerCodebook,
      FloatBuffer centroids,
      ByteBuffer keys);

  /**
   * Gather-accumulate over 16 keys; {@code tables} int8 [C,16,m], {@code scale} fp32 [m], {@code
   * bias} fp32 [m] or null.
   */
  default void accumulate(
      ByteBuffer keys,
      int rows,
      int codebooks,
      int m,
      ByteBuffer tables,
      FloatBuffer scale,
      FloatBuffer bias,
      FloatBuffer out) {
    accumulate(keys, rows, codebooks, KEYS, m, tables, scale, bias, out);
  }

  /**
   * Gather-accumulate; {@code tables} int8 [C,K,m] with K = {@code keysPerCodebook} (4, 8, 16),
   * {@code scale} fp32 [m], {@code bias} fp32 [m] or null. A key byte is read modulo K (its low
   * log2 K bits), so no byte can index outside its codebook's K rows.
   */
  void accumulate(
      ByteBuffer keys,
      int rows,
      int codebooks,
      int keysPerCodebook,
      int m,
      ByteBuffer tables,
      FloatBuffer scale,
      FloatBuffer bias,
      FloatBuffer out);

  /**
   * Gather-accumulate over 4-bit tables of 16 keys, layout {@code lut16x4}: {@code tables} s4
   * [C,16,m], two entries per byte along m (low nibble first, each row padded to ceil(m/2) bytes,
   * drawn in {@code io.cacheai.kernels.LutKernels}); otherwise as {@link #accumulate}.
   */
  default void accumulateS4(
      ByteBuffer keys,
      int rows,
      int codebooks,
      int m,
      ByteBuffer tables,
      FloatBuffer scale,
      FloatBuffer bias,
      FloatBuffer out) {
    accumulateS4(keys, rows, codebooks, KEYS, m, tables, scale, bias, out);
  }

  /**
   * As {@link #accumulateS4(ByteBuffer, int, int, int, ByteBuffer, FloatBuffer, FloatBuffer,
   * FloatBuffer)} with K = {@code keysPerCodebook} rows per codebook: s4 [C,K,m].
   */
  void accumulateS4(
      ByteBuffer keys,
      int rows,
      int codebooks,
      int keysPerCodebook,
      int m,
      ByteBuffer tables,
      FloatBuffer scale,
      FloatBuffer bias,
      FloatBuffer out);

  /**
   * Gather-accumulate over int8 tables with key 0 folded (node attribute {@code fold_key0} = 1):
   * key 0's row of every codebook is zero and not stored, so {@code tables} is int8 [C,K−1,m] and
   * key k ≥ 1 reads stored row c·(K−1) + k − 1:
   *
   * <pre>
   *   k_rc = keys[r·C + c] &amp; (K−1)
   *   out[r·m + j] = bias[j] + scale[j] · Σ_{c: k_rc ≠ 0} tables[(c·(K−1) + k_rc − 1)·m + j]
   * </pre>
   *
   * (the same exact int32 sum and fp32 multiply-add as {@link #accumulate}); {@code bias} may be
   * null.
   */
  void accumulateFolded(
      ByteBuffer keys,
      int rows,
      int codebooks,
      int keysPerCodebook,
      int m,
      ByteBuffer tables,
      FloatBuffer scale,
      FloatBuffer bias,
      FloatBuffer out);

  /**
   * As {@link #accumulateFolded} over 4-bit tables s4 [C,K−1,m] (layout {@code lut16x4}, each
   * stored row ceil(m/2) bytes): key k ≥ 1 reads the row starting at byte (c·(K−1) + k − 1)·
   * ceil(m/2), key 0 adds nothing.
   */
  void accumulateS4Folded(
      ByteBuffer keys,
      int rows,
      int codebooks,
      int keysPerCodebook,
      int m,
      ByteBuffer tables,
      FloatBuffer scale,
      FloatBuffer bias,
      FloatBuffer out);

  /** The plain Java implementation, what the tests trust. */
  static LookupKernels reference() {
    return ReferenceLookupKernels.INSTANCE;
  }

  /** What served models use: the native kernels when their library loaded, else the reference. */
  static LookupKernels best() {
    return NativeLookupKernels.AVAILABLE
        ? NativeLookupKernels.INSTANCE
        : ReferenceLookupKernels.INSTANCE;
  }
}
