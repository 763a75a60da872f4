package io.cacheai.kernels;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;

/**
 * Lookup kernels: a fully connected layer {@code y = W·x} computed as table lookups (product
 * quantization, MADDNESS / LUT-NN style), on cacheai's own C ({@code cai_lut.{h,c}}).
 *
 * <p>Why: at batch 1 a layer is bound by the bytes of W it streams (4 per weight in fp32, 1 in
 * int8). A lookup layer encodes each sub-vector of the input to one of 16 keys and then reads only
 * one precomputed table row per sub-vector: {@code C·m} bytes for C codebooks, i.e. {@code
 * d·m/width} — a quarter (width 4) or an eighth (width 8) of the int8 weights, with no multiplies.
 *
 * <p>Shapes. An input row has {@code d} floats, split into {@code codebooks} (C) sub-vectors of
 * {@code width} (w) floats, {@code d == codebooks·width} (the caller pads); K keys per codebook, 4,
 * 8 or 16 (the overloads without a depth or K are K = {@link #KEYS}), a tree of depth L = log2 K
 * ({@link #depthOf}); {@code m} outputs:
 *
 * <pre>
 *   x          f32 [rows][d]          row r, codebook c: x[r·d + c·w ... r·d + c·w + w−1]
 *   splitDims  s32 [C][L]             tree: the dimension (0..w−1) compared at each level
 *   thresholds f32 [C][K−1]           tree: heap order, root 0, children of n are 2n+1 (≤) and 2n+2 (&gt;)
 *   centroids  f32 [C][K][w]          exact encoder
 *   keys       u8  [rows][C]          0..K−1
 *   tables     s8  [C][K][m]          m contiguous; the row for (c, key) starts at byte (c·K + key)·m
 *   scale      f32 [m]    bias f32 [m] or null
 *   out        f32 [rows][m]          out[r·m + j] = bias[j] + scale[j] · Σ_c tables[(c·K + key_rc)·m + j]
 * </pre>
 *
 * <p>4-bit tables ({@link #accumulateS4}, bundle layout {@code lut16x4}): the same sum over signed
 * 4-bit entries, two per byte along m, each (c, key) row padded to a whole byte, {@code RB =
 * (m+1)/2} bytes per row ({@link #rowBytesS4}), {@code C·K·RB} bytes in all:
 *
 * <pre>
 *   tables     s4  [C][K][RB bytes]   byte (c·K + key)·RB + b holds T[c][key][2b] and T[c][key][2b+1]:
 *
 *                  bit   7   6   5   4   3   2   1   0
 *                      [ T[..][2b+1]   | T[..][2b]      ]    two's complement nibbles, −8..7
 *
 *                  m odd: the high nibble of a row's last byte is padding (written 0, never read)
 * </pre>
 *
 * The range is the full two's-complement −8..7, not a symmetric −7..7: every nibble is a valid
 * entry, so no byte of a table can hold something the kernel must reject, and the compressor uses
 * all 16 levels (it stores (q + ½)·scale steps with the half step folded into the bias).
 *
 * <p>Buffers: all direct, native byte order, <b>positions ignored</b> — every operand starts at
 * index 0 and must fit below the buffer's {@code limit()}. Read-only buffers (a slice of a mapped
 * bundle) are fine for inputs: tables are read in place, never copied. Every length and argument is
 * checked here before an address reaches C; a violation is an {@link IllegalArgumentException}
 * naming the argument.
 *
 * <p>Exact: the native kernels equal {@link Reference} bit for bit. Integer sums are exact (s16
 * lanes widened to s32 every 256 codebooks, before 256·|−128| could wrap); the float work is the
 * same IEEE operations in the same order (no fused multiply-add). Keys read by {@link #accumulate}
 * are masked to their low log2 K bits, so a corrupt key byte cannot index outside its codebook.
 *
 * <p>Dispatch: the AVX2 bodies when the CPU has AVX2 ({@link #avx2()}), the scalar C twins
 * otherwise. Threads: every method may run concurrently; none keeps state.
 */
public final class LutKernels {
  /** K: keys per codebook. */
  public static final int KEYS = 16;

  /** Tree depth, log2 K. */
  public static final int DEPTH = 4;

  private LutKernels() {}

  /**
   * The tree depth L = log2 K of {@code keys} keys per codebook: 4 → 2, 8 → 3, 16 → 4; any other K
   * is an {@link IllegalArgumentException} (a key is one byte and a 4-key codebook is the smallest
   * that pays for its table row).
   */
  public static int depthOf(int keys) {
    return switch (keys) {
      case 4 -> 2;
      case 8 -> 3;
      case 16 -> 4;
      default ->
          throw new IllegalArgumentException("keys per codebook=" + keys + " (accepted: 4, 8, 16)");
    };
  }

  /** K = 2^depth for a tree of {@code depth} 2, 3 or 4; any other depth is refused. */
  public static int keysOf(int depth) {
    if (depth < 2 || depth > 4) {
      throw new IllegalArgumentException("tree depth=" + depth + " (accepted: 2, 3, 4)");
    }
    return 1 << depth;
  }

  /**
   * MADDNESS-style balanced binary tree encoder, no multiplications. For codebook c: {@code node =
   * 0; for l in 0..3: node = 2·node + 1 + (x[r·d + c·w + splitDims[c·4+l]] > thresholds[c·15 +
   * node] ? 1 : 0); keys[r·C + c] = node − 15}. Equal goes left, and so does NaN.
   */
  public static void encodeTree(
      FloatBuffer x,
      int rows,
      int d,
      int codebooks,
      int width,
      IntBuffer splitDims,
      FloatBuffer thresholds,
      ByteBuffer keys) {
    LutArguments.checkEncode(x, rows, d, codebooks, width, keys);
    LutArguments.checkTreeSizes(codebooks, splitDims, thresholds);
    if (rows == 0 || codebooks == 0) {
      return;
    }
    // The C side checks every split dimension against width before it reads x (a Java loop over
    // the IntBuffer cost a third of a 200-codebook encode) and returns the first bad index.
    int bad =
        LutKernelsNative.encodeTree(
            LutArguments.at0(x),
            rows,
            d,
            codebooks,
            width,
            LutArguments.at0(splitDims),
            LutArguments.at0(thresholds),
            LutArguments.at0(keys));
    if (bad >= 0) {
      throw LutArguments.badSplitDim(bad, splitDims.get(bad), width);
    }
  }

  /**
   * Exact nearest-centroid encoder: squared L2 distance, summed over dimensions 0..w−1 in order in
   * fp32; ties → lowest key; NaN distances never win (key 0 if centroid 0's distance is NaN).
   */
  public static void encodeCentroids(
      FloatBuffer x,
      int rows,
      int d,
      int codebooks,
      int width,
      FloatBuffer centroids,
      ByteBuffer keys) {
    LutArguments.checkEncode(x, rows, d, codebooks, width, keys);
    LutArguments.checkCentroids(codebooks, width, centroids);
    if (rows == 0 || codebooks == 0) {
      return;
    }
    LutKernelsNative.encodeCentroids(
        LutArguments.at0(x),
        rows,
        d,
        codebooks,
        width,
        LutArguments.at0(centroids),
        LutArguments.at0(keys));
  }

  /**
   * Gather-accumulate: {@code out[r·m + j] = bias[j] + scale[j] · (float) Σ_c tables[(c·16 +
   * (keys[r·C + c] & 15))·m + j]}; the sum is exact, then one fp32 multiply and one add ({@code
   * bias == null}: the multiply only).
   */
  public static void accumulate(
      ByteBuffer keys,
      int rows,
      int codebooks,
      int m,
      ByteBuffer tables,
      FloatBuffer scale,
      FloatBuffer bias,
      FloatBuffer out) {
    LutArguments.checkAccumulate(keys, rows, codebooks, m, tables, scale, bias, out);
    if (rows == 0 || m == 0) {
      return;
    }
    LutKernelsNative.accumulate(
        LutArguments.at0(keys),
        rows,
        codebooks,
        m,
        LutArguments.at0(tables),
        LutArguments.at0(scale),
        LutArguments.at0(bias),
        LutArguments.at0(out));
  }

  /**
   * Gather-accumulate over 4-bit tables (layout drawn above): {@code out[r·m + j] = bias[j] +
   * scale[j] · (float) Σ_c T[c][keys[r·C + c] & 15][j]}, T the sign-extended nibbles; the sum is
   * exact, then one fp32 multiply and one add — bit for bit {@link Reference#accumulateS4}.
   */
  public static void accumulateS4(
      ByteBuffer keys,
      int rows,
      int codebooks,
      int m,
      ByteBuffer tables,
      FloatBuffer scale,
      FloatBuffer bias,
      FloatBuffer out) {
    LutArguments.checkAccumulateS4(keys, rows, codebooks, m, tables, scale, bias, out);
    if (rows == 0 || m == 0) {
      return;
    }
    LutKernelsNative.accumulateS4(
        LutArguments.at0(keys),
        rows,
        codebooks,
        m,
        LutArguments.at0(tables),
        LutArguments.at0(scale),
        LutArguments.at0(bias),
        LutArguments.at0(out));
  }

  /**
   * The tree encoder of {@code depth} L levels (2, 3 or 4; K = 2^L keys): {@code splitDims} s32
   * [C][L], {@code thresholds} f32 [C][K−1] in heap order; {@code node = 0; for l in 0..L−1: node =
   * 2·node + 1 + (x[r·d + c·w + splitDims[c·L+l]] > thresholds[c·(K−1) + node] ? 1 : 0); keys[r·C +
   * c] = node − (K−1)}, 0..K−1. Depth 4 is {@link #encodeTree(FloatBuffer, int, int, int, int,
   * IntBuffer, FloatBuffer, ByteBuffer)}.
   */
  public static void encodeTree(
      FloatBuffer x,
      int rows,
      int d,
      int codebooks,
      int width,
      int depth,
      IntBuffer splitDims,
      FloatBuffer thresholds,
      ByteBuffer keys) {
    LutArguments.checkEncode(x, rows, d, codebooks, width, keys);
    LutArguments.checkTreeSizes(codebooks, depth, splitDims, thresholds);
    if (rows == 0 || codebooks == 0) {
      return;
    }
    int bad =
        LutKernelsNative.encodeTreeDepth(
            LutArguments.at0(x),
            rows,
            d,
            codebooks,
            width,
            depth,
            LutArguments.at0(splitDims),
            LutArguments.at0(thresholds),
            LutArguments.at0(keys));
    if (bad >= 0) {
      throw LutArguments.badSplitDim(bad, splitDims.get(bad), depth, width);
    }
  }

  /**
   * The nearest of K = {@code keysPerCodebook} (4, 8, 16) centroids f32 [C][K][w], rules as above.
   */
  public static void encodeCentroids(
      FloatBuffer x,
      int rows,
      int d,
      int codebooks,
      int width,
      int keysPerCodebook,
      FloatBuffer centroids,
      ByteBuffer keys) {
    LutArguments.checkEncode(x, rows, d, codebooks, width, keys);
    LutArguments.checkCentroids(codebooks, width, keysPerCodebook, centroids);
    if (rows == 0 || codebooks == 0) {
      return;
    }
    LutKernelsNative.encodeCentroidsK(
        LutArguments.at0(x),
        rows,
        d,
        codebooks,
        width,
        keysPerCodebook,
        LutArguments.at0(centroids),
        LutArguments.at0(keys));
  }

  /**
   * Gather-accumulate over K = {@code keysPerCodebook} (4, 8, 16) rows per codebook, {@code tables}
   * s8 [C][K][m] ({@code codebooks·K·m} bytes): {@code out[r·m + j] = bias[j] + scale[j] · (float)
   * Σ_c tables[(c·K + (keys[r·C + c] & (K−1)))·m + j]}.
   */
  public static void accumulate(
      ByteBuffer keys,
      int rows,
      int codebooks,
      int keysPerCodebook,
      int m,
      ByteBuffer tables,
      FloatBuffer scale,
      FloatBuffer bias,
      FloatBuffer out) {
    LutArguments.checkAccumulate(
        keys, rows, codebooks, keysPerCodebook, m, tables, scale, bias, out);
    if (rows == 0 || m == 0) {
      return;
    }
    LutKernelsNative.accumulateK(
        LutArguments.at0(keys),
        rows,
        codebooks,
        keysPerCodebook,
        m,
        LutArguments.at0(tables),
        LutArguments.at0(scale),
        LutArguments.at0(bias),
        LutArguments.at0(out));
  }

  /**
   * As {@link #accumulateS4(ByteBuffer, int, int, int, ByteBuffer, FloatBuffer, FloatBuffer,
   * FloatBuffer)} over K = {@code keysPerCodebook} rows per codebook: {@code tables} s4 [C][K][RB
   * bytes], {@code codebooks·K·((m+1)/2)} bytes, keys read {@code & (K−1)}.
   */
  public static void accumulateS4(
      ByteBuffer keys,
      int rows,
      int codebooks,
      int keysPerCodebook,
      int m,
      ByteBuffer tables,
      FloatBuffer scale,
      FloatBuffer bias,
      FloatBuffer out) {
    LutArguments.checkAccumulateS4(
        keys, rows, codebooks, keysPerCodebook, m, tables, scale, bias, out);
    if (rows == 0 || m == 0) {
      return;
    }
    LutKernelsNative.accumulateS4K(
        LutArguments.at0(keys),
        rows,
        codebooks,
        keysPerCodebook,
        m,
        LutArguments.at0(tables),
        LutArguments.at0(scale),
        LutArguments.at0(bias),
        LutArguments.at0(out));
  }

  /**
   * Gather-accumulate over folded int8 tables (LookupGemm {@code fold_key0} = 1): key 0's row of
   * every codebook is zero and not stored, so {@code tables} is s8 [C][K−1][m], {@code
   * codebooks·(K−1)·m} bytes, K = {@code keysPerCodebook} (4, 8, 16):
   *
   * <pre>
   *   k_rc = keys[r·C + c] &amp; (K−1)
   *   out[r·m + j] = bias[j] + scale[j] · (float) Σ_{c: k_rc ≠ 0} tables[(c·(K−1) + k_rc − 1)·m + j]
   * </pre>
   *
   * Exact sum, then one fp32 multiply and one add, bit for bit {@link Reference#accumulateFolded}.
   */
  public static void accumulateFolded(
      ByteBuffer keys,
      int rows,
      int codebooks,
      int keysPerCodebook,
      int m,
      ByteBuffer tables,
      FloatBuffer scale,
      FloatBuffer bias,
      FloatBuffer out) {
    LutArguments.checkAccumulateFolded(
        keys, rows, codebooks, keysPerCodebook, m, tables, scale, bias, out);
    if (rows == 0 || m == 0) {
      return;
    }
    LutKernelsNative.accumulateFolded(
        LutArguments.at0(keys),
        rows,
        codebooks,
        keysPerCodebook,
        m,
        LutArguments.at0(tables),
        LutArguments.at0(scale),
        LutArguments.at0(bias),
        LutArguments.at0(out));
  }

  /**
   * As {@link #accumulateFolded} over folded 4-bit tables s4 [C][K−1][RB bytes] (layout drawn
   * above, {@code codebooks·(K−1)·((m+1)/2)} bytes): key k ≥ 1 reads the row starting at byte
   * (c·(K−1) + k − 1)·RB, key 0 adds nothing; bit for bit {@link Reference#accumulateS4Folded}.
   */
  public static void accumulateS4Folded(
      ByteBuffer keys,
      int rows,
      int codebooks,
      int keysPerCodebook,
      int m,
      ByteBuffer tables,
      FloatBuffer scale,
      FloatBuffer bias,
      FloatBuffer out) {
    LutArguments.checkAccumulateS4Folded(
        keys, rows, codebooks, keysPerCodebook, m, tables, scale, bias, out);
    if (rows == 0 || m == 0) {
      return;
    }
    LutKernelsNative.accumulateS4Folded(
        LutArguments.at0(keys),
        rows,
        codebooks,
        keysPerCodebook,
        m,
        LutArguments.at0(tables),
        LutArguments.at0(scale),
        LutArguments.at0(bias),
        LutArguments.at0(out));
  }

  /** Bytes of one (c, key) row of a 4-bit table of {@code m} outputs: {@code (m + 1) / 2}. */
  public static long rowBytesS4(int m) {
    return ((long) m + 1) / 2;
  }

  /** Entry {@code j} of the 4-bit table row starting at byte {@code rowStart}: −8..7. */
  public static int entryS4(ByteBuffer tables, long rowStart, int j) {
    int b = tables.get(Math.toIntExact(rowStart + (j >>> 1))) & 0xff;
    int nibble = (j & 1) == 0 ? b & 15 : b >>> 4;
    return (nibble ^ 8) - 8;
  }

  /** Whether the AVX2 path is in use on this CPU. */
  public static boolean avx2() {
    return LutKernelsNative.isaAvx2() != 0;
  }

  /** Forces the scalar C twins process-wide ({@code true}) or restores CPU detection. */
  static void forceScalar(boolean force) {
    LutKernelsNative.forceScalar(force ? 1 : 0);
  }

  /**
   * Plain Java versions of the kernels, with the same checks and the same results bit for bit: the
   * yardstick of the native tests, and a fallback that needs no native library.
   */
  public static final class Reference {
    private Reference() {}

    /** As {@link LutKernels#encodeTree}: depth 4, K = 16. */
    public static void encodeTree(
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
     * The tree encoder of {@code depth} L (2..4, K = 2^L): {@code splitDims} s32 [C][L], {@code
     * thresholds} f32 [C][K−1] in heap order; {@code node = 0; for l in 0..L−1: node = 2·node + 1 +
     * (x[r·d + c·w + splitDims[c·L + l]] > thresholds[c·(K−1) + node]); key = node − (K−1)}.
     */
    public static void encodeTree(
        FloatBuffer x,
        int rows,
        int d,
        int codebooks,
        int width,
        int depth,
        IntBuffer splitDims,
        FloatBuffer thresholds,
        ByteBuffer keys) {
      LutArguments.checkEncode(x, rows, d, codebooks, width, keys);
      LutArguments.checkTreeSizes(codebooks, depth, splitDims, thresholds);
      LutArguments.checkSplitDims(codebooks, depth, width, splitDims);
      int nodes = keysOf(depth) - 1;
      for (int r = 0; r < rows; r++) {
        for (int c = 0; c < codebooks; c++) {
          int base = r * d + c * width;
          int node = 0;
          for (int l = 0; l < depth; l++) {
            float value = x.get(base + splitDims.get(c * depth + l));
            node = 2 * node + 1 + (value > thresholds.get(c * nodes + node) ? 1 : 0);
          }
          keys.put(r * codebooks + c, (byte) (node - nodes));
        }
      }
    }

    /** As {@link LutKernels#encodeCentroids}: K = 16. */
    public static void encodeCentroids(
        FloatBuffer x,
        int rows,
        int d,
        int codebooks,
        int width,
        FloatBuffer centroids,
        ByteBuffer keys) {
      encodeCentroids(x, rows, d, codebooks, width, KEYS, centroids, keys);
    }

    /** The nearest of {@code keysPerCodebook} (K: 4, 8, 16) centroids f32 [C][K][w]. */
    public static void encodeCentroids(
        FloatBuffer x,
        int rows,
        int d,
        int codebooks,
        int width,
        int keysPerCodebook,
        FloatBuffer centroids,
        ByteBuffer keys) {
      LutArguments.checkEncode(x, rows, d, codebooks, width, keys);
      LutArguments.checkCentroids(codebooks, width, keysPerCodebook, centroids);
      for (int r = 0; r < rows; r++) {
        for (int c = 0; c < codebooks; c++) {
          int xBase = r * d + c * width;
          int best = 0;
          float bestDistance = 0f;
          for (int k = 0; k < keysPerCodebook; k++) {
            int centroidBase = (c * keysPerCodebook + k) * width;
            float distance = 0f;
            for (int i = 0; i < width; i++) {
              float diff = x.get(xBase + i) - centroids.get(centroidBase + i);
              distance = distance + diff * diff;
            }
            if (k == 0 || distance < bestDistance) {
              best = k;
              bestDistance = distance;
            }
          }
          keys.put(r * codebooks + c, (byte) best);
        }
      }
    }

    /** As {@link LutKernels#accumulate}: K = 16. */
    public static void accumulate(
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
     * Gather-accumulate over {@code keysPerCodebook} (K: 4, 8, 16) rows per codebook, tables s8
     * [C][K][m]; a key byte is read as {@code key & (K−1)}, so no byte can index outside its
     * codebook.
     */
    public static void accumulate(
        ByteBuffer keys,
        int rows,
        int codebooks,
        int keysPerCodebook,
        int m,
        ByteBuffer tables,
        FloatBuffer scale,
        FloatBuffer bias,
        FloatBuffer out) {
      LutArguments.checkAccumulate(
          keys, rows, codebooks, keysPerCodebook, m, tables, scale, bias, out);
      int mask = keysPerCodebook - 1;
      int[] sums = new int[m];
      for (int r = 0; r < rows; r++) {
        java.util.Arrays.fill(sums, 0);
        for (int c = 0; c < codebooks; c++) {
          int key = keys.get(r * codebooks + c) & mask;
          int rowBase = (c * keysPerCodebook + key) * m;
          for (int j = 0; j < m; j++) {
            sums[j] += tables.get(rowBase + j);
          }
        }
        for (int j = 0; j < m; j++) {
          float y = scale.get(j) * (float) sums[j];
          out.put(r * m + j, bias == null ? y : bias.get(j) + y);
        }
      }
    }

    /** As {@link LutKernels#accumulateS4}: K = 16. */
    public static void accumulateS4(
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
     * 4-bit tables s4 [C][K][(m+1)/2 bytes], K = {@code keysPerCodebook}; keys read {@code &
     * (K−1)}.
     */
    public static void accumulateS4(
        ByteBuffer keys,
        int rows,
        int codebooks,
        int keysPerCodebook,
        int m,
        ByteBuffer tables,
        FloatBuffer scale,
        FloatBuffer bias,
        FloatBuffer out) {
      LutArguments.checkAccumulateS4(
          keys, rows, codebooks, keysPerCodebook, m, tables, scale, bias, out);
      int mask = keysPerCodebook - 1;
      long rowBytes = rowBytesS4(m);
      int[] sums = new int[m];
      for (int r = 0; r < rows; r++) {
        java.util.Arrays.fill(sums, 0);
        for (int c = 0; c < codebooks; c++) {
          int key = keys.get(r * codebooks + c) & mask;
          long rowStart = ((long) c * keysPerCodebook + key) * rowBytes;
          for (int j = 0; j < m; j++) {
            sums[j] += entryS4(tables, rowStart, j);
          }
        }
        for (int j = 0; j < m; j++) {
          float y = scale.get(j) * (float) sums[j];
          out.put(r * m + j, bias == null ? y : bias.get(j) + y);
        }
      }
    }

    /**
     * Folded int8 tables s8 [C][K−1][m] (key 0's row is not stored, it is zero): {@code out[r·m +
     * j] = bias[j] + scale[j] · (float) Σ_{c: k≠0} tables[(c·(K−1) + k − 1)·m + j]}, {@code k =
     * keys[r·C + c] & (K−1)}.
     */
    public static void accumulateFolded(
        ByteBuffer keys,
        int rows,
        int codebooks,
        int keysPerCodebook,
        int m,
        ByteBuffer tables,
        FloatBuffer scale,
        FloatBuffer bias,
        FloatBuffer out) {
      LutArguments.checkAccumulateFolded(
          keys, rows, codebooks, keysPerCodebook, m, tables, scale, bias, out);
      int mask = keysPerCodebook - 1;
      int[] sums = new int[m];
      for (int r = 0; r < rows; r++) {
        java.util.Arrays.fill(sums, 0);
        for (int c = 0; c < codebooks; c++) {
          int key = keys.get(r * codebooks + c) & mask;
          if (key == 0) {
            continue;
          }
          int rowBase = (c * mask + key - 1) * m;
          for (int j = 0; j < m; j++) {
            sums[j] += tables.get(rowBase + j);
          }
        }
        for (int j = 0; j < m; j++) {
          float y = scale.get(j) * (float) sums[j];
          out.put(r * m + j, bias == null ? y : bias.get(j) + y);
        }
      }
    }

    /**
     * Folded 4-bit tables s4 [C][K−1][(m+1)/2 bytes]: as {@link #accumulateFolded} over the
     * nibbles, stored row {@code c·(K−1) + k − 1} for key k ≠ 0.
     */
    public static void accumulateS4Folded(
        ByteBuffer keys,
        int rows,
        int codebooks,
        int keysPerCodebook,
        int m,
        ByteBuffer tables,
        FloatBuffer scale,
        FloatBuffer bias,
        FloatBuffer out) {
      LutArguments.checkAccumulateS4Folded(
          keys, rows, codebooks, keysPerCodebook, m, tables, scale, bias, out);
      int mask = keysPerCodebook - 1;
      long rowBytes = rowBytesS4(m);
      int[] sums = new int[m];
      for (int r = 0; r < rows; r++) {
        java.util.Arrays.fill(sums, 0);
        for (int c = 0; c < codebooks; c++) {
          int key = keys.get(r * codebooks + c) & mask;
          if (key == 0) {
            continue;
          }
          long rowStart = ((long) c * mask + key - 1) * rowBytes;
          for (int j = 0; j < m; j++) {
            sums[j] += entryS4(tables, rowStart, j);
          }
        }
        for (int j = 0; j < m; j++) {
          float y = scale.get(j) * (float) sums[j];
          out.put(r * m + j, bias == null ? y : bias.get(j) + y);
        }
      }
    }
  }
}
