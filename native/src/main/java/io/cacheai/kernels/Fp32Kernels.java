package io.cacheai.kernels;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;

/**
 * cacheai's own fp32 kernels ({@code cai_fp32.c}) for the layers of small convolutional networks
 * where one OpenBLAS call is the wrong shape or too slow: row softmax, depthwise 2-D convolution,
 * and a matrix product over weights packed once ({@link PackedWeights}, AVX-512 only; callers ask
 * {@link #packedGemmAvailable()} and use {@link Fp32Blas} otherwise).
 *
 * <p>Every extent is checked here, in Java, before an address crosses into native code: a wrong
 * size is an {@link IllegalArgumentException} naming the operand, never a stray write. Buffers are
 * direct, native order, and read from their {@code position()}. The vector bodies have scalar twins
 * ({@code cai_*_ref}); {@link #forceScalar} runs those instead, for tests.
 */
public final class Fp32Kernels {
  /** Rows of A per packed panel (format pa12, drawn in {@code cai_fp32.h}). */
  public static final int PACK_ROWS = 12;

  /** Columns of B one kernel tile covers (the packed-B scratch holds k · 32 floats). */
  public static final int TILE_COLUMNS = 32;

  private Fp32Kernels() {}

  /** Epilogue step kinds (codes of {@code cai_fp32.h}); v starts as the kernel's output x. */
  public static final int STEP_ADD = 0; // v + a

  public static final int STEP_SUB = 1; // v − a
  public static final int STEP_REVERSE_SUB = 2; // a − v
  public static final int STEP_MUL = 3; // v · a
  public static final int STEP_DIV = 4; // v / a
  public static final int STEP_REVERSE_DIV = 5; // a / v
  public static final int STEP_CLIP = 6; // min(max(v, a), b)
  public static final int STEP_RELU = 7; // max(v, 0)
  public static final int STEP_HARD_SIGMOID = 8; // max(0, min(1, a·v + b))
  public static final int STEP_SIGMOID = 9; // 1 / (1 + exp(−v))
  public static final int STEP_SQUARE = 10; // v · v
  public static final int STEP_NEG = 11; // −v
  public static final int STEP_ABS = 12; // |v|
  public static final int STEP_ADD_INPUT = 13; // v + x
  public static final int STEP_MUL_INPUT = 14; // v · x
  private static final int STEP_COUNT = 15;

  /**
   * An elementwise chain a kernel applies to its outputs before they leave the cache (hard-swish
   * after a convolution: one pass over memory fewer). Immutable; shared by any number of threads.
   */
  public static final class Epilogue {
    /** No steps: the kernel's plain output. */
    public static final Epilogue NONE = new Epilogue(null, null, 0);

    private final IntBuffer kinds;
    private final FloatBuffer params;
    private final int steps;

    private Epilogue(IntBuffer kinds, FloatBuffer params, int steps) {
      this.kinds = kinds;
      this.params = params;
      this.steps = steps;
    }

    /**
     * Steps {@code kinds[i]} (a {@code STEP_*} code) with parameters a = {@code params[2i]}, b =
     * {@code params[2i+1]}.
     */
    public static Epilogue of(int[] kinds, float[] params) {
      if (params.length != 2 * kinds.length) {
        throw new IllegalArgumentException(
            "params.length=" + params.length + " must be 2 * kinds.length=" + kinds.length);
      }
      if (kinds.length == 0) {
        return NONE;
      }
      for (int i = 0; i < kinds.length; i++) {
        if (kinds[i] < 0 || kinds[i] >= STEP_COUNT) {
          throw new IllegalArgumentException("kinds[" + i + "]=" + kinds[i] + " is no step code");
        }
      }
      IntBuffer k =
          ByteBuffer.allocateDirect(kinds.length * Integer.BYTES)
              .order(ByteOrder.nativeOrder())
              .asIntBuffer();
      k.put(0, kinds);
      return new Epilogue(k, FloatBuffers.of(params), kinds.length);
    }

    /** Number of steps. */
    public int steps() {
      return steps;
    }
  }

  /** True when {@link #gemm} runs its AVX-512 body (false on CPUs without AVX-512F). */
  public static boolean packedGemmAvailable() {
    return Fp32KernelsNative.isaAvx512() != 0;
  }

  /** Tests: true runs every kernel's scalar reference twin (and reports no AVX-512). */
  public static void forceScalar(boolean force) {
    Fp32KernelsNative.forceScalar(force ? 1 : 0);
  }

  /**
   * The epilogue's steps applied in place to {@code n} floats of {@code y} (from its position):
   * what a kernel that cannot fuse the chain into its own store (the int8 convolution) calls per
   * image while its output is still in cache. Same arithmetic as the fused stores.
   */
  public static void applyEpilogue(FloatBuffer y, int n, Epilogue epilogue) {
    if (epilogue == null) {
      throw new IllegalArgumentException("epilogue is null");
    }
    Buffers.checkShape("n", n);
    Buffers.checkOutput("y", y, n);
    if (epilogue.steps == 0 || n == 0) {
      return;
    }
    Fp32KernelsNative.epilogue(y, n, epilogue.kinds, epilogue.params, epilogue.steps);
  }

  /**
   * MaxPool over {@code planes} planes [inH, inW] → [outH, outW]: the max of each window's taps
   * inside the plane (padding never wins), Java's {@code Math.max} rule. {@code window} = {kH, kW,
   * strideH, strideW, padTop, padLeft, dilationH, dilationW}.
   */
  public static void maxPool2d(
      FloatBuffer x,
      FloatBuffer y,
      int planes,
      int inH,
      int inW,
      int outH,
      int outW,
      int[] window) {
    if (window == null || window.length != 8) {
      throw new IllegalArgumentException(
          "window must be {kH,kW,strideH,strideW,padTop,padLeft,dilationH,dilationW}");
    }
    Buffers.checkShape("[planes,inH,inW,outH,outW]", planes, inH, inW, outH, outW);
    Buffers.checkShape("window", window);
    for (int at : new int[] {0, 1, 2, 3, 6, 7}) {
      if (window[at] < 1) {
        throw new IllegalArgumentException(
            "window=" + java.util.Arrays.toString(window) + ": kernel, stride, dilation >= 1");
      }
    }
    Buffers.checkInput("x", x, (long) planes * inH * inW);
    Buffers.checkOutput("y", y, (long) planes * outH * outW);
    if ((long) planes * outH * outW == 0) {
      return;
    }
    Fp32KernelsNative.maxPool2d(
        x, y, planes, inH, inW, outH, outW, window[0], window[1], window[2], window[3], window[4],
        window[5], window[6], window[7]);
  }

  /**
   * AveragePool over {@code planes} planes [inH, inW] → [outH, outW], {@code window} = {kH, kW,
   * strideH, strideW, padTop, padLeft, padBottom, padRight}: each window clipped to the padded
   * input, divided by its padded size ({@code countIncludePad}) or its count of real inputs, summed
   * in the order of the runtime's Java loop (bit-identical to it).
   */
  public static void avgPool2d(
      FloatBuffer x,
      FloatBuffer y,
      int planes,
      int inH,
      int inW,
      int outH,
      int outW,
      int[] window,
      boolean countIncludePad) {
    if (window == null || window.length != 8) {
      throw new IllegalArgumentException(
          "window must be {kH,kW,strideH,strideW,padTop,padLeft,padBottom,padRight}");
    }
    Buffers.checkShape("[planes,inH,inW,outH,outW]", planes, inH, inW, outH, outW);
    Buffers.checkShape("window", window);
    for (int at = 0; at < 4; at++) {
      if (window[at] < 1) {
        throw new IllegalArgumentException(
            "window=" + java.util.Arrays.toString(window) + ": kernel and stride >= 1");
      }
    }
    Buffers.checkInput("x", x, (long) planes * inH * inW);
    Buffers.checkOutput("y", y, (long) planes * outH * outW);
    if ((long) planes * outH * outW == 0) {
      return;
    }
    Fp32KernelsNative.avgPool2d(
        x,
        y,
        planes,
        inH,
        inW,
        outH,
        outW,
        window[0],
        window[1],
        window[2],
        window[3],
        window[4],
        window[5],
        window[6],
        window[7],
        countIncludePad ? 1 : 0);
  }

  /**
   * {@code y[r, :] = softmax(x[r, :])} for {@code rows} contiguous rows of {@code n} floats; x and
   * y may be the same buffer.
   */
  public static void softmaxRows(FloatBuffer x, FloatBuffer y, int rows, int n) {
    Buffers.checkShape("rows,n", rows, n);
    long count = (long) rows * n;
    Buffers.checkInput("x", x, count);
    Buffers.checkOutput("y", y, count);
    if (count == 0) {
      return;
    }
    Fp32KernelsNative.softmaxRows(x, y, rows, n);
  }

  /** As {@link #softmaxRows}, always the scalar twin (tests). */
  static void softmaxRowsRef(FloatBuffer x, FloatBuffer y, int rows, int n) {
    Buffers.checkShape("rows,n", rows, n);
    Buffers.checkInput("x", x, (long) rows * n);
    Buffers.checkOutput("y", y, (long) rows * n);
    Fp32KernelsNative.softmaxRowsRef(x, y, rows, n);
  }

  /**
   * The geometry of a 2-D window over one plane. Checked on construction: sizes ≥ 1, pads ≥ 0, and
   * every tap of every output reads inside the padded plane, so the kernel needs no bounds checks.
   */
  public record Window(
      int inH,
      int inW,
      int outH,
      int outW,
      int kernelH,
      int kernelW,
      int strideH,
      int strideW,
      int dilationH,
      int dilationW,
      int padTop,
      int padBottom,
      int padLeft,
      int padRight) {
    public Window {
      Buffers.checkShape(
          "inH,inW,outH,outW,padTop,padBottom,padLeft,padRight",
          inH,
          inW,
          outH,
          outW,
          padTop,
          padBottom,
          padLeft,
          padRight);
      if (kernelH < 1
          || kernelW < 1
          || strideH < 1
          || strideW < 1
          || dilationH < 1
          || dilationW < 1) {
        throw new IllegalArgumentException(
            "kernel="
                + kernelH
                + "x"
                + kernelW
                + " stride="
                + strideH
                + "x"
                + strideW
                + " dilation="
                + dilationH
                + "x"
                + dilationW
                + " must all be >= 1");
      }
      long lastH = (long) (outH - 1) * strideH + (long) (kernelH - 1) * dilationH;
      long lastW = (long) (outW - 1) * strideW + (long) (kernelW - 1) * dilationW;
      long paddedH = (long) padTop + inH + padBottom; // fields are not assigned yet
      long paddedW = (long) padLeft + inW + padRight;
      if (outH > 0 && outW > 0 && (lastH >= paddedH || lastW >= paddedW)) {
        throw new IllegalArgumentException(
            "window out="
                + outH
                + "x"
                + outW
                + " reads past the padded input "
                + paddedH
                + "x"
                + paddedW);
      }
    }

    long paddedH() {
      return (long) padTop + inH + padBottom;
    }

    long paddedW() {
      return (long) padLeft + inW + padRight;
    }

    long inPixels() {
      return (long) inH * inW;
    }

    long outPixels() {
      return (long) outH * outW;
    }
  }

  /** Scratch floats {@link #depthwiseConv2d} needs: one padded plane and one row. */
  public static long depthwiseScratchFloats(Window window) {
    return window.paddedH() * window.paddedW() + window.paddedW();
  }

  /**
   * Depthwise convolution of {@code planes} NCHW planes (planes = batch · channels; plane p uses
   * filter p % channels): {@code y[p] = bias[c] + Σ w[c, kh, kw] · x[p, ...]}, zero padding.
   *
   * @param w [channels, kH, kW]
   * @param bias [channels], or null
   * @param scratch {@link #depthwiseScratchFloats} floats
   */
  public static void depthwiseConv2d(
      FloatBuffer x,
      FloatBuffer w,
      FloatBuffer bias,
      FloatBuffer y,
      FloatBuffer scratch,
      int planes,
      int channels,
      Window window) {
    depthwiseConv2d(x, w, bias, y, scratch, planes, channels, window, Epilogue.NONE);
  }

  /** As {@link #depthwiseConv2d}, then {@code epilogue} on every output. */
  public static void depthwiseConv2d(
      FloatBuffer x,
      FloatBuffer w,
      FloatBuffer bias,
      FloatBuffer y,
      FloatBuffer scratch,
      int planes,
      int channels,
      Window window,
      Epilogue epilogue) {
    checkDepthwise(x, w, bias, y, planes, channels, window);
    Buffers.checkOutput("scratch", scratch, depthwiseScratchFloats(window));
    if (planes == 0 || window.outPixels() == 0) {
      return;
    }
    Fp32KernelsNative.depthwiseConv2d(
        x,
        w,
        bias,
        y,
        scratch,
        planes,
        channels,
        window.inH(),
        window.inW(),
        window.outH(),
        window.outW(),
        window.kernelH(),
        window.kernelW(),
        window.strideH(),
        window.strideW(),
        window.dilationH(),
        window.dilationW(),
        window.padTop(),
        window.padBottom(),
        window.padLeft(),
        window.padRight(),
        epilogue.kinds,
        epilogue.params,
        epilogue.steps);
  }

  /** As {@link #depthwiseConv2d}, always the scalar twin (tests). */
  static void depthwiseConv2dRef(
      FloatBuffer x,
      FloatBuffer w,
      FloatBuffer bias,
      FloatBuffer y,
      int planes,
      int channels,
      Window window,
      Epilogue epilogue) {
    checkDepthwise(x, w, bias, y, planes, channels, window);
    Fp32KernelsNative.depthwiseConv2dRef(
        x,
        w,
        bias,
        y,
        planes,
        channels,
        window.inH(),
        window.inW(),
        window.outH(),
        window.outW(),
        window.kernelH(),
        window.kernelW(),
        window.strideH(),
        window.strideW(),
        window.dilationH(),
        window.dilationW(),
        window.padTop(),
        window.padLeft(),
        epilogue.kinds,
        epilogue.params,
        epilogue.steps);
  }

  private static void checkDepthwise(
      FloatBuffer x,
      FloatBuffer w,
      FloatBuffer bias,
      FloatBuffer y,
      int planes,
      int channels,
      Window window) {
    Buffers.checkShape("planes,channels", planes, channels);
    if (channels == 0 || planes % channels != 0) {
      throw new IllegalArgumentException(
          "planes=" + planes + " must be a multiple of channels=" + channels + " (>= 1)");
    }
    Buffers.checkInput("x", x, planes * window.inPixels());
    Buffers.checkInput("w", w, (long) channels * window.kernelH() * window.kernelW());
    if (bias != null) {
      Buffers.checkInput("bias", bias, channels);
    }
    Buffers.checkOutput("y", y, planes * window.outPixels());
  }

  /**
   * A left operand A[m, k] packed once (format pa12: panels of 12 rows stored column by column,
   * rows past m zero), for {@link #gemm}. Immutable after packing; shared by any number of threads.
   */
  public static final class PackedWeights {
    private final FloatBuffer packed;
    private final int rows;
    private final int depth;

    private PackedWeights(FloatBuffer packed, int rows, int depth) {
      this.packed = packed;
      this.rows = rows;
      this.depth = depth;
    }

    /** m: rows of A (output channels). */
    public int rows() {
      return rows;
    }

    /** k: columns of A (the reduced dimension). */
    public int depth() {
      return depth;
    }
  }

  /** Floats of a packed [m, k] matrix: ceil(m / 12) · 12 · k. */
  public static long packedFloats(int m, int k) {
    Buffers.checkShape("m,k", m, k);
    return (long) ((m + PACK_ROWS - 1) / PACK_ROWS) * PACK_ROWS * k;
  }

  /** Packs row-major A[m, k] (row stride lda, from a's position) into new direct memory. */
  public static PackedWeights pack(FloatBuffer a, int m, int k, int lda) {
    Buffers.checkShape("m,k", m, k);
    if (lda < Math.max(1, k)) {
      throw new IllegalArgumentException("lda=" + lda + " is smaller than k=" + k);
    }
    Buffers.checkInput("a", a, m == 0 || k == 0 ? 0 : (long) (m - 1) * lda + k);
    long floats = packedFloats(m, k);
    if (floats > Integer.MAX_VALUE - 64) {
      throw new IllegalArgumentException("m=" + m + " k=" + k + " packs to too many floats");
    }
    FloatBuffer packed = FloatBuffers.allocate((int) floats);
    if (floats > 0) {
      Fp32KernelsNative.packPa12(a, m, k, lda, packed);
    }
    return new PackedWeights(packed.asReadOnlyBuffer(), m, k);
  }

  /** Scratch floats {@link #gemm} needs for depth k: one k × 32 panel of B. */
  public static long gemmScratchFloats(int k) {
    Buffers.checkShape("k", k);
    return (long) k * TILE_COLUMNS;
  }

  /**
   * {@code C[m, n] = A · B[k, n] (+ bias[i] on row i)}, row-major B and C with row strides ldb and
   * ldc; A packed by {@link #pack}. Requires {@link #packedGemmAvailable()} for speed (otherwise
   * the scalar twin runs).
   *
   * @param bias m floats, or null
   * @param scratch {@link #gemmScratchFloats}(k) floats
   */
  public static void gemm(
      PackedWeights a,
      FloatBuffer b,
      int ldb,
      FloatBuffer bias,
      FloatBuffer c,
      int ldc,
      int n,
      FloatBuffer scratch) {
    gemm(a, b, ldb, bias, c, ldc, n, scratch, Epilogue.NONE);
  }

  /** As {@link #gemm}, then {@code epilogue} on every output. */
  public static void gemm(
      PackedWeights a,
      FloatBuffer b,
      int ldb,
      FloatBuffer bias,
      FloatBuffer c,
      int ldc,
      int n,
      FloatBuffer scratch,
      Epilogue epilogue) {
    checkGemm(a, b, ldb, bias, c, ldc, n);
    Buffers.checkOutput("scratch", scratch, gemmScratchFloats(a.depth));
    if (a.rows == 0 || n == 0) {
      return;
    }
    Fp32KernelsNative.gemmPa12(
        a.packed,
        b,
        ldb,
        bias,
        c,
        ldc,
        a.rows,
        n,
        a.depth,
        scratch,
        epilogue.kinds,
        epilogue.params,
        epilogue.steps);
  }

  /** As {@link #gemm}, always the scalar twin (tests). */
  static void gemmRef(
      PackedWeights a,
      FloatBuffer b,
      int ldb,
      FloatBuffer bias,
      FloatBuffer c,
      int ldc,
      int n,
      Epilogue epilogue) {
    checkGemm(a, b, ldb, bias, c, ldc, n);
    if (a.rows == 0 || n == 0) {
      return;
    }
    Fp32KernelsNative.gemmPa12Ref(
        a.packed,
        b,
        ldb,
        bias,
        c,
        ldc,
        a.rows,
        n,
        a.depth,
        epilogue.kinds,
        epilogue.params,
        epilogue.steps);
  }

  private static void checkGemm(
      PackedWeights a, FloatBuffer b, int ldb, FloatBuffer bias, FloatBuffer c, int ldc, int n) {
    if (a == null) {
      throw new IllegalArgumentException("packed weights are null");
    }
    Buffers.checkShape("n", n);
    if (ldb < Math.max(1, n) || ldc < Math.max(1, n)) {
      throw new IllegalArgumentException(
          "ldb=" + ldb + " ldc=" + ldc + " must be >= n=" + n + " (and >= 1)");
    }
    int m = a.rows;
    int k = a.depth;
    Buffers.checkInput("b", b, k == 0 || n == 0 ? 0 : (long) (k - 1) * ldb + n);
    if (bias != null) {
      Buffers.checkInput("bias", bias, m);
    }
    Buffers.checkOutput("c", c, m == 0 || n == 0 ? 0 : (long) (m - 1) * ldc + n);
  }
}
