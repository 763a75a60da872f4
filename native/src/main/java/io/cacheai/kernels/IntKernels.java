package io.cacheai.kernels;

/**
 * Which body the integer kernels ({@link Int8Gemm}, {@link Requantize}, {@link Q4Gemm}) run on this
 * CPU, and switches to force the portable scalar twins or to turn off the AVX-512 VNNI body of the
 * int8 GEMM/GEMV (tests and benchmarks compare the bodies).
 *
 * <p>Order of preference for {@link Int8Gemm}: VNNI ({@code vpdpbusd}, AVX-512F/BW/VNNI CPUs), then
 * AVX2, then scalar. The other kernels have AVX2 and scalar bodies only.
 */
public final class IntKernels {
  private IntKernels() {}

  /** True when the AVX2 (+FMA) bodies run; false on CPUs without them or when forced scalar. */
  public static boolean avx2() {
    return IntKernelsNative.isaAvx2() != 0;
  }

  /**
   * True when {@link Int8Gemm} runs its AVX-512 VNNI body: the CPU reports avx512f, avx512bw and
   * avx512vnni and neither {@link #forceScalar} nor {@link #forceNoVnni} is set.
   */
  public static boolean vnni() {
    return IntKernelsNative.isaVnni() != 0;
  }

  /**
   * Turns the VNNI body off process-wide ({@code true}; the AVX2 body then runs where available) or
   * restores CPU detection.
   */
  public static void forceNoVnni(boolean force) {
    IntKernelsNative.forceNoVnni(force ? 1 : 0);
  }

  /** Forces the scalar twins process-wide ({@code true}) or restores CPU detection. */
  public static void forceScalar(boolean force) {
    IntKernelsNative.forceScalar(force ? 1 : 0);
  }
}
