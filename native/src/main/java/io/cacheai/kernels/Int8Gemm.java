package io.cacheai.kernels;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;

/**
 * Exact u8 × s8 → s32 matrix products on cacheai's own C kernels: the compute step of an int8
 * layer, between {@link #pack} (once, at compression time) and {@link Requantize} (per request).
 *
 * <p>Operands, all read from their buffer's {@code position()} and all row-major:
 *
 * <pre>
 *   A  u8  [m, k]   activations (quantized with a zero point; see below)
 *   W  s8  [n, k]   weights, row j = output channel j, as stored by y = W·x
 *   P  s8p16        W packed by {@link #pack} into the kernel's layout, {@link #packedSizeBytes} bytes
 *   C  s32 [m, n]   C[i][j] = Σ_t A[i][t] · W[j][t]
 * </pre>
 *
 * <p>The packed layout {@code s8p16} groups 16 output channels into a panel and interleaves pairs
 * of k (drawn in {@code cai_int8.h}):
 *
 * <pre>
 *   panel p (channels 16p..16p+15), k-pair q, 32 bytes:
 *   | W[16p][2q] W[16p][2q+1] | W[16p+1][2q] W[16p+1][2q+1] | ... | W[16p+15][2q] W[16p+15][2q+1] |
 *   panel p starts at byte p · round_up(k, 2) · 16; missing channels and k are zero.
 * </pre>
 *
 * <p><b>Exact.</b> The AVX2 body widens both operands to s16 and multiplies with {@code vpmaddwd}:
 * no pair sum can saturate (unlike {@code vpmaddubsw}, where 255·127 + 255·127 overflows s16), and
 * k ≤ {@link #MAX_K} keeps every s32 sum in range. Results equal the scalar twin and a plain Java
 * loop bit for bit, for every input.
 *
 * <p><b>Zero points.</b> The kernel multiplies raw codes. With activations {@code a = s_a · (A −
 * z_a)}, subtract {@code z_a · Σ_t W[j][t]} ({@link #weightRowSums}) from channel j's s32 bias
 * before {@link Requantize}: an exact integer identity that keeps the zero point out of the inner
 * loop.
 *
 * <p>Weights may be any direct {@link ByteBuffer}, including a read-only slice of a {@link
 * java.nio.MappedByteBuffer}: the kernels read them in place, with no copy. The CPU is detected
 * once per call in C: AVX2 when present, else the portable scalar twin.
 */
public final class Int8Gemm {
  /** Output channels per packed panel. */
  public static final int PANEL_CHANNELS = 16;

  /** k is padded to a multiple of this in the packed layout. */
  public static final int K_STEP = 2;

  /** Largest k accepted: k · 255 · 128 stays below 2³¹, so no s32 sum can wrap. */
  public static final int MAX_K = 65536;

  private Int8Gemm() {}

  /** Bytes of the packed form of an [n, k] weight matrix: round_up(n, 16) · round_up(k, 2). */
  public static long packedSizeBytes(int n, int k) {
    Buffers.checkShape("[n,k]", n, k);
    return (long) roundUp(n, PANEL_CHANNELS) * roundUp(k, K_STEP);
  }

  /**
   * Packs s8 weights {@code weights} [n, k] (row-major, from its position) into {@code packed}
   * ({@link #packedSizeBytes} bytes from its position).
   */
  public static void pack(ByteBuffer weights, int n, int k, ByteBuffer packed) {
    checkK(n, k);
    Buffers.checkInput("weights", weights, (long) n * k);
    Buffers.checkOutput("packed", packed, packedSizeBytes(n, k));
    IntKernelsNative.packS8(weights, n, k, Math.max(k, 1), packed);
  }

  /**
   * {@code c[m, n] = a[m, k] · Wᵀ} with W packed by {@link #pack}; m = 1 takes the GEMV path.
   *
   * @param a u8 activations, m·k bytes from its position
   * @param packedWeights {@link #packedSizeBytes}(n, k) bytes from its position
   * @param c s32 output, m·n ints from its position, native order
   */
  public static void gemm(
      ByteBuffer a, int m, int k, ByteBuffer packedWeights, int n, IntBuffer c) {
    checkOperands(a, m, k, packedWeights, n, c);
    if (m == 0 || n == 0) {
      return;
    }
    if (k == 0) {
      zero(c, (long) m * n);
      return;
    }
    IntKernelsNative.gemmU8s8S32(a, k, packedWeights, c, n, m, n, k);
  }

  /** {@code y[n] = W · a[k]}: one activation row, the memory-bound case. */
  public static void gemv(ByteBuffer a, int k, ByteBuffer packedWeights, int n, IntBuffer y) {
    checkOperands(a, 1, k, packedWeights, n, y);
    if (n == 0) {
      return;
    }
    if (k == 0) {
      zero(y, n);
      return;
    }
    IntKernelsNative.gemvU8s8S32(a, packedWeights, y, n, k);
  }

  /**
   * A whole int8 layer in one native call ({@code cai_qgemm_f32}): {@code a = q(x)} ({@link
   * U8Activations#quantize}), {@code acc = a · Wᵀ} ({@link #gemv} for m = 1, else {@link #gemm}),
   * {@code y = }{@link Requantize#toF32}{@code (acc)} — the same steps and results as those three
   * calls, at the cost of one crossing instead of three (which dominates a small layer).
   *
   * @param x fp32 activations [m, k]; a (m·k bytes) and acc (m·n s32) are scratch
   */
  public static void quantizedLayer(
      FloatBuffer x,
      int m,
      int k,
      float xScale,
      int xZeroPoint,
      ByteBuffer packedWeights,
      int n,
      RequantParams params,
      ByteBuffer a,
      IntBuffer acc,
      FloatBuffer y) {
    Buffers.checkShape("[m,n,k]", m, n, k);
    checkK(n, k);
    long mk = (long) m * k;
    long mn = (long) m * n;
    if (mk > Integer.MAX_VALUE || mn > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("m=" + m + " k=" + k + " n=" + n + " exceed 2^31-1");
    }
    if (!(xScale > 0) || Float.isInfinite(xScale)) {
      throw new IllegalArgumentException("xScale=" + xScale + " must be finite and > 0");
    }
    if (xZeroPoint < 0 || xZeroPoint > 255) {
      throw new IllegalArgumentException("xZeroPoint=" + xZeroPoint + " must be in 0..255");
    }
    if (params == null) {
      throw new IllegalArgumentException("params is null");
    }
    Buffers.checkInput("x", x, mk);
    Buffers.checkOutput("a", a, mk);
    Buffers.checkInput("packedWeights", packedWeights, packedSizeBytes(n, k));
    Buffers.checkOutput("acc", acc, mn);
    Buffers.checkInput("scale", params.scale(), n);
    if (params.bias() != null) {
      Buffers.checkInput("bias", params.bias(), n);
    }
    Buffers.checkOutput("y", y, mn);
    if (m == 0 || n == 0) {
      return;
    }
    if (k == 0) {
      zero(acc, mn);
      Requantize.toF32(acc, m, n, params, y);
      return;
    }
    IntKernelsNative.qgemmF32(
        x,
        m,
        k,
        xScale,
        xZeroPoint,
        packedWeights,
        n,
        params.bias(),
        params.scale(),
        params.relu() ? 1 : 0,
        a,
        acc,
        y);
  }

  /** Σ_t W[j][t] for each channel j of s8 weights [n, k]: the zero-point correction's factor. */
  public static int[] weightRowSums(ByteBuffer weights, int n, int k) {
    checkK(n, k);
    if (weights == null || (long) n * k > weights.remaining()) {
      throw new IllegalArgumentException(
          "weights: needs=" + (long) n * k + " bytes but remaining=" + remaining(weights));
    }
    int[] sums = new int[n];
    int base = weights.position();
    for (int j = 0; j < n; j++) {
      int sum = 0;
      for (int t = 0; t < k; t++) {
        sum += weights.get(base + j * k + t);
      }
      sums[j] = sum;
    }
    return sums;
  }

  /** The scalar C twin of {@link #gemm}, for tests and benchmarks. */
  static void gemmRef(ByteBuffer a, int m, int k, ByteBuffer packedWeights, int n, IntBuffer c) {
    checkOperands(a, m, k, packedWeights, n, c);
    if (m == 0 || n == 0) {
      return;
    }
    if (k == 0) {
      zero(c, (long) m * n);
      return;
    }
    IntKernelsNative.gemmU8s8S32Ref(a, k, packedWeights, c, n, m, n, k);
  }

  private static void checkOperands(
      ByteBuffer a, int m, int k, ByteBuffer packedWeights, int n, IntBuffer c) {
    Buffers.checkShape("[m,n,k]", m, n, k);
    checkK(n, k);
    Buffers.checkInput("a", a, (long) m * k);
    Buffers.checkInput("packedWeights", packedWeights, packedSizeBytes(n, k));
    Buffers.checkOutput("c", c, (long) m * n);
  }

  private static void checkK(int n, int k) {
    Buffers.checkShape("[n,k]", n, k);
    if (k > MAX_K) {
      throw new IllegalArgumentException("k=" + k + " exceeds MAX_K=" + MAX_K);
    }
  }

  private static void zero(IntBuffer c, long count) {
    int base = c.position();
    for (int i = 0; i < count; i++) {
      c.put(base + i, 0);
    }
  }

  private static String remaining(ByteBuffer buffer) {
    return buffer == null ? "null" : Integer.toString(buffer.remaining());
  }

  static int roundUp(int value, int step) {
    return (value + step - 1) / step * step;
  }
}
