package io.cacheai.kernels;

import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import org.bytedeco.openblas.global.openblas_nolapack;

/**
 * fp32 matrix products through OpenBLAS (JavaCPP presets), the one door to BLAS in cacheai.
 *
 * <p>All matrices are row-major and live in <em>direct</em>, native-order {@link FloatBuffer}s:
 * JavaCPP hands a direct buffer's address to C without copying, whereas a heap array would be
 * copied on every call. A buffer's {@code position()} is where its matrix starts (JavaCPP adds it
 * to the address), so one arena buffer can hold many tensors. Every extent is checked here, in
 * Java, before an address crosses into native code: a wrong size is an {@link
 * IllegalArgumentException}, never a stray write.
 *
 * <p>Threads: OpenBLAS runs single-threaded unless told otherwise ({@link #setThreads}); on a small
 * shared machine concurrency comes from serving requests in parallel, not from splitting one
 * product.
 *
 * <p>{@link #gemm} with {@code m == 1} is routed to {@code cblas_sgemv}: OpenBLAS's sgemm is about
 * ten times slower than sgemv for a single row (measured, ../shared/FACTS.md).
 */
public final class Fp32Blas {
  /** System property naming the OpenBLAS thread count; default 1. */
  public static final String THREADS_PROPERTY = "cacheai.blas.threads";

  static {
    setThreads(Integer.getInteger(THREADS_PROPERTY, 1));
  }

  private Fp32Blas() {}

  /** Sets the number of threads OpenBLAS may use for one call (≥ 1). */
  public static void setThreads(int threads) {
    if (threads < 1) {
      throw new IllegalArgumentException("threads=" + threads + " must be >= 1");
    }
    openblas_nolapack.blas_set_num_threads(threads);
  }

  /** The number of threads OpenBLAS uses for one call. */
  public static int threads() {
    return openblas_nolapack.blas_get_num_threads();
  }

  /**
   * {@code C = alpha * op(A) * op(B) + beta * C}, row-major, where op(A) is m×k, op(B) is k×n and C
   * is m×n. {@code transA} means A is stored k×m (so op(A) = Aᵀ); likewise {@code transB} means B
   * is stored n×k. {@code lda/ldb/ldc} are the row strides, in elements, of A, B and C as stored.
   */
  public static void gemm(
      boolean transA,
      boolean transB,
      int m,
      int n,
      int k,
      float alpha,
      FloatBuffer a,
      int lda,
      FloatBuffer b,
      int ldb,
      float beta,
      FloatBuffer c,
      int ldc) {
    if (m < 0 || n < 0 || k < 0) {
      throw new IllegalArgumentException("m=" + m + " n=" + n + " k=" + k + " must be >= 0");
    }
    int aRows = transA ? k : m;
    int aCols = transA ? m : k;
    int bRows = transB ? n : k;
    int bCols = transB ? k : n;
    checkMatrix("A", a, aRows, aCols, lda);
    checkMatrix("B", b, bRows, bCols, ldb);
    checkMatrix("C", c, m, n, ldc);
    if (m == 0 || n == 0) {
      return;
    }
    if (m == 1) {
      gemvRow(transB, n, k, alpha, a, transA ? lda : 1, b, ldb, beta, c);
      return;
    }
    openblas_nolapack.cblas_sgemm(
        openblas_nolapack.CblasRowMajor,
        transA ? openblas_nolapack.CblasTrans : openblas_nolapack.CblasNoTrans,
        transB ? openblas_nolapack.CblasTrans : openblas_nolapack.CblasNoTrans,
        m,
        n,
        k,
        alpha,
        a,
        lda,
        b,
        ldb,
        beta,
        c,
        ldc);
  }

  /**
   * {@code y = alpha * op(A) * x + beta * y}, row-major A stored rows×cols with row stride lda;
   * op(A) is A, or Aᵀ when {@code transA}. x and y are contiguous.
   */
  public static void gemv(
      boolean transA,
      int rows,
      int cols,
      float alpha,
      FloatBuffer a,
      int lda,
      FloatBuffer x,
      float beta,
      FloatBuffer y) {
    if (rows < 0 || cols < 0) {
      throw new IllegalArgumentException("rows=" + rows + " cols=" + cols + " must be >= 0");
    }
    checkMatrix("A", a, rows, cols, lda);
    checkVector("x", x, transA ? rows : cols, 1);
    checkVector("y", y, transA ? cols : rows, 1);
    if (rows == 0 || cols == 0) {
      return;
    }
    openblas_nolapack.cblas_sgemv(
        openblas_nolapack.CblasRowMajor,
        transA ? openblas_nolapack.CblasTrans : openblas_nolapack.CblasNoTrans,
        rows,
        cols,
        alpha,
        a,
        lda,
        x,
        1,
        beta,
        y,
        1);
  }

  /**
   * One output row of a gemm: c[1×n] = alpha · a[1×k] · op(B) + beta · c, as a gemv on B. The row
   * of op(A) may be strided ({@code incA}) when A is transposed.
   */
  private static void gemvRow(
      boolean transB,
      int n,
      int k,
      float alpha,
      FloatBuffer a,
      int incA,
      FloatBuffer b,
      int ldb,
      float beta,
      FloatBuffer c) {
    // c = op(B)ᵀ · a. B stored k×n (no transB): Bᵀ·a is a transposed gemv on the k×n matrix.
    // B stored n×k (transB): op(B) = Bᵀ, so op(B)ᵀ · a = B · a, a plain gemv on the n×k matrix.
    openblas_nolapack.cblas_sgemv(
        openblas_nolapack.CblasRowMajor,
        transB ? openblas_nolapack.CblasNoTrans : openblas_nolapack.CblasTrans,
        transB ? n : k,
        transB ? k : n,
        alpha,
        b,
        ldb,
        a,
        incA,
        beta,
        c,
        1);
  }

  private static void checkMatrix(String name, FloatBuffer buffer, int rows, int cols, int ld) {
    checkDirect(name, buffer);
    if (ld < Math.max(1, cols)) {
      throw new IllegalArgumentException(
          name + ": row stride " + ld + " is smaller than its " + cols + " columns");
    }
    long needed = rows == 0 || cols == 0 ? 0 : (long) (rows - 1) * ld + cols;
    checkExtent(name, buffer, needed);
  }

  private static void checkVector(String name, FloatBuffer buffer, int length, int inc) {
    checkDirect(name, buffer);
    long needed = length == 0 ? 0 : (long) (length - 1) * inc + 1;
    checkExtent(name, buffer, needed);
  }

  private static void checkDirect(String name, FloatBuffer buffer) {
    if (buffer == null) {
      throw new IllegalArgumentException(name + " is null");
    }
    if (!buffer.isDirect() || buffer.order() != ByteOrder.nativeOrder()) {
      throw new IllegalArgumentException(
          name + " must be a direct native-order FloatBuffer (heap buffers would be copied)");
    }
  }

  private static void checkExtent(String name, FloatBuffer buffer, long needed) {
    if (needed > buffer.remaining()) {
      throw new IllegalArgumentException(
          name
              + ": needs "
              + needed
              + " floats from position "
              + buffer.position()
              + " but only "
              + buffer.remaining()
              + " remain");
    }
  }
}
