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
 * {@code width} (w) floats, {@code d == codebooks · width} (the caller pads with zeros); {@value
 * #KEYS} keys per codebook; {@code m} outputs. All buffers are direct, native byte order, read and
 * written from index 0 (positions ignored).
 *
 * <pre>
 *   tree encoder (depth 4, heap order, no multiplication):
 *     node = 0
 *     for l in 0..3: node = 2·node + 1 + (x[r·d + c·w + splitDims[c·4 + l]] > thresholds[c·15 + node])
 *     keys[r·C + c] = node − 15                      (x == threshold goes LEFT)
 *   centroid encoder: keys[r·C + c] = argmin_k Σ_i (x[r·d + c·w + i] − centroids[(c·16 + k)·w + i])²
 *                     (ties → lowest k)
 *   accumulate: out[r·m + j] = bias[j] + scale[j] · Σ_c tables[(c·16 + keys[r·C + c])·m + j]
 *               (exact int32 sum of the int8 entries, then one fused fp32 multiply-add:
 *               bias[j] + scale[j]·(float) acc, product then sum, no FMA — the native
 *               kernel is compiled without FMA so both round identically)
 * </pre>
 */
public interface LookupKernels {
  /** Keys per codebook (K). */
  int KEYS = 16;

  /** Depth of the tree encoder, log2 K. */
  int DEPTH = 4;

  /** Nodes of one codebook's tree (2^DEPTH − 1), in heap order. */
  int TREE_NODES = 15;

  /** The tree encoder; {@code splitDims} int32 [C,4] in [0,w), {@code thresholds} fp32 [C,15]. */
  void encodeTree(
      FloatBuffer x,
      int rows,
      int d,
      int codebooks,
      int width,
      IntBuffer splitDims,
      FloatBuffer thresholds,
      ByteBuffer keys);

  /** The exact nearest-centroid encoder; {@code centroids} fp32 [C,16,w]. */
  void encodeCentroids(
      FloatBuffer x,
      int rows,
      int d,
      int codebooks,
      int width,
      FloatBuffer centroids,
      ByteBuffer keys);

  /**
   * Gather-accumulate; {@code tables} int8 [C,16,m], {@code scale} fp32 [m], {@code bias} fp32 [m]
   * or null.
   */
  void accumulate(
      ByteBuffer keys,
      int rows,
      int codebooks,
      int m,
      ByteBuffer tables,
      FloatBuffer scale,
      FloatBuffer bias,
      FloatBuffer out);

  /**
   * Gather-accumulate over 4-bit tables, layout {@code lut16x4}: {@code tables} s4 [C,16,m], two
   * entries per byte along m (low nibble first, each row padded to ceil(m/2) bytes, drawn in {@code
   * io.cacheai.kernels.LutKernels}); otherwise as {@link #accumulate}.
   */
  void accumulateS4(
      ByteBuffer keys,
      int rows,
      int codebooks,
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
