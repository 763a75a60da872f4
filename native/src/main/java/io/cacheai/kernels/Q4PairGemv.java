package io.cacheai.kernels;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/**
 * The batch-1 q4g32 product on weights repacked once per plan into row pairs ({@code q4g32p2}), so
 * that each 512-bit instruction serves two output rows: the {@link Q4Gemm} GEMV's integers and fp32
 * operations lane by lane, hence its results bit for bit, in about half the instructions. Used by
 * {@link Q4GemmChain} (the low-bit MLP head at batch 1); the repacked form lives only in memory,
 * the bundle keeps q4g32.
 *
 * <p>Layout (drawn also in {@code cai_q4_pairs.h}): two planes of blocks (pair p, column block b),
 * 80 bytes per 128 weights as q4g32. The pairs are cut into panels of {@link #PANEL_PAIRS} (the
 * last one shorter: np pairs) that the product computes in one pass over the activations; a panel
 * starting at pair p0 is stored block by block with its pairs side by side, so that the pass reads
 * its weights front to back: block index {@code at = p0·bpr + b·np + (p − p0)}, bpr = ceil(k/64).
 *
 * <pre>
 *   nibbles (64 B per block, at·64):   | qs of row 2p (32 B) | qs of row 2p+1 (32 B) |
 *   scales (16 B per block, pairs·bpr·64 + at·16):   | d0 2p | d1 2p | d0 2p+1 | d1 2p+1 |  fp32
 *   qs and d as in the q4g32 block of each row ({@link Q4Gemm}); an odd n gets a padding row of
 *   weight 0 (q = 8, d = 0) whose output is never written
 * </pre>
 *
 * <p>{@link #pack} aligns the buffer to 64 bytes, so every load of nibbles is one cache line.
 */
public final class Q4PairGemv {
  /** Bytes per block: two rows × (32 nibble bytes + two fp32 scales). */
  public static final int BLOCK_SIZE_BYTES = 80;

  /** Pairs per panel ({@code CAI_Q4P2_PANEL}): 12 rows computed in one pass. */
  public static final int PANEL_PAIRS = 6;

  private Q4PairGemv() {}

  /** Whether the 512-bit body runs here (AVX-512 BW + VNNI, not forced off). */
  public static boolean available() {
    return IntKernelsNative.q4g32p2Available() != 0;
  }

  /** Bytes of the q4g32p2 form of an [n, k] q4g32 matrix: ceil(n/2) · ceil(k/64) · 80. */
  public static long sizeBytes(int n, int k) {
    checkShape(n, k);
    return (long) ((n + 1) / 2) * Q4Gemm.blocksPerRow(k) * BLOCK_SIZE_BYTES;
  }

  /**
   * The q4g32p2 form of q4g32 weights [n, k] ({@code blocks} from its position), in a new direct
   * buffer aligned to 64 bytes (once per plan).
   */
  public static ByteBuffer pack(ByteBuffer blocks, int n, int k) {
    long bytes = sizeBytes(n, k);
    Buffers.checkInput("blocks", blocks, Q4Gemm.sizeBytes(n, k));
    if (bytes > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("q4g32p2 of n=" + n + " k=" + k + ": " + bytes + " bytes");
    }
    ByteBuffer out =
        ByteBuffer.allocateDirect(Math.toIntExact((bytes + 63) / 64 * 64 + 64))
            .alignedSlice(64) // also rounds the limit down to a multiple of 64
            .slice(0, (int) bytes)
            .order(ByteOrder.LITTLE_ENDIAN);
    if (bytes > 0) {
      IntKernelsNative.packQ4g32p2(blocks, n, k, out);
    }
    return out;
  }

  /**
   * {@code y[n] = W · x[k]} on the pairs ({@link #pack}); {@code body} picks the 512-bit body (when
   * {@link #available()}) or the scalar twin, which gives the same bits.
   */
  public static void gemv(
      ByteBuffer pairs, int n, int k, FloatBuffer x, FloatBuffer y, ConvBody body) {
    Buffers.checkInput("pairs", pairs, sizeBytes(n, k));
    Buffers.checkInput("x", x, k);
    Buffers.checkOutput("y", y, n);
    if (n == 0) {
      return;
    }
    if (k == 0) {
      for (int i = 0; i < n; i++) {
        y.put(y.position() + i, 0f);
      }
      return;
    }
    IntKernelsNative.gemvQ4g32p2F32(pairs, x, y, n, k, body.useRef());
  }

  private static void checkShape(int n, int k) {
    Buffers.checkShape("[n,k]", n, k);
    if (k % Q4Gemm.GROUP_SIZE != 0) {
      throw new IllegalArgumentException("k=" + k + " must be a multiple of " + Q4Gemm.GROUP_SIZE);
    }
  }
}
