package io.cacheai.kernels;

/**
 * Which body the integer kernels ({@link Int8Gemm}, {@link Requantize}, {@link Q4Gemm}) run on this
 * CPU, and a switch to force the portable scalar twins (tests and benchmarks compare the two).
 */
public final class IntKernels {
  private IntKernels() {}

  /** True when the AVX2 (+FMA) bodies run; false on CPUs without them or when forced scalar. */
  public static boolean avx2() {
    return IntKernelsNative.isaAvx2() != 0;
  }

  /** Forces the scalar twins process-wide ({@code true}) or restores CPU detection. */
  public static void forceScalar(boolean force) {
    IntKernelsNative.forceScalar(force ? 1 : 0);
  }
}
