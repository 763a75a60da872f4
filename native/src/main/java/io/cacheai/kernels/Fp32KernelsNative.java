package io.cacheai.kernels;

import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Name;
import org.bytedeco.javacpp.annotation.Platform;

/**
 * The one door to cacheai's own C fp32 kernels ({@code src/main/native/cai_fp32.{h,c}}), compiled
 * by the JavaCPP Maven plugin into {@code libjniFp32KernelsNative.so} during the build.
 *
 * <p>Nothing here checks anything: every method trusts {@link Fp32Kernels} to have validated sizes,
 * capacities and byte order. JavaCPP passes a direct buffer's address <em>plus its position</em>,
 * and a null buffer as NULL. The {@code *Ref} methods run the scalar twins, for tests.
 */
@Platform(include = {"cai_fp32.h", "cai_fp32.c"})
final class Fp32KernelsNative {
  static {
    Loader.load();
  }

  private Fp32KernelsNative() {}

  @Name("cai_fp32_isa_avx2")
  static native int isaAvx2();

  @Name("cai_fp32_isa_avx512")
  static native int isaAvx512();

  @Name("cai_fp32_force_scalar")
  static native void forceScalar(int force);

  @Name("cai_softmax_rows_f32")
  static native void softmaxRows(
      @Cast("const float*") FloatBuffer x, FloatBuffer y, int rows, int n);

  @Name("cai_softmax_rows_f32_ref")
  static native void softmaxRowsRef(
      @Cast("const float*") FloatBuffer x, FloatBuffer y, int rows, int n);

  @Name("cai_dwconv2d_f32")
  static native void depthwiseConv2d(
      @Cast("const float*") FloatBuffer x,
      @Cast("const float*") FloatBuffer w,
      @Cast("const float*") FloatBuffer bias,
      FloatBuffer y,
      FloatBuffer scratch,
      int planes,
      int channels,
      int inH,
      int inW,
      int outH,
      int outW,
      int kH,
      int kW,
      int strideH,
      int strideW,
      int dilationH,
      int dilationW,
      int padTop,
      int padBottom,
      int padLeft,
      int padRight,
      @Cast("const int32_t*") IntBuffer stepKinds,
      @Cast("const float*") FloatBuffer stepParams,
      int steps);

  @Name("cai_dwconv2d_f32_ref")
  static native void depthwiseConv2dRef(
      @Cast("const float*") FloatBuffer x,
      @Cast("const float*") FloatBuffer w,
      @Cast("const float*") FloatBuffer bias,
      FloatBuffer y,
      int planes,
      int channels,
      int inH,
      int inW,
      int outH,
      int outW,
      int kH,
      int kW,
      int strideH,
      int strideW,
      int dilationH,
      int dilationW,
      int padTop,
      int padLeft,
      @Cast("const int32_t*") IntBuffer stepKinds,
      @Cast("const float*") FloatBuffer stepParams,
      int steps);

  @Name("cai_pack_pa12_f32")
  static native void packPa12(
      @Cast("const float*") FloatBuffer a, int m, int k, int lda, FloatBuffer packed);

  @Name("cai_gemm_pa12_f32")
  static native void gemmPa12(
      @Cast("const float*") FloatBuffer aPacked,
      @Cast("const float*") FloatBuffer b,
      int ldb,
      @Cast("const float*") FloatBuffer bias,
      FloatBuffer c,
      int ldc,
      int m,
      int n,
      int k,
      FloatBuffer scratch,
      @Cast("const int32_t*") IntBuffer stepKinds,
      @Cast("const float*") FloatBuffer stepParams,
      int steps);

  @Name("cai_gemm_pa12_f32_ref")
  static native void gemmPa12Ref(
      @Cast("const float*") FloatBuffer aPacked,
      @Cast("const float*") FloatBuffer b,
      int ldb,
      @Cast("const float*") FloatBuffer bias,
      FloatBuffer c,
      int ldc,
      int m,
      int n,
      int k,
      @Cast("const int32_t*") IntBuffer stepKinds,
      @Cast("const float*") FloatBuffer stepParams,
      int steps);

  @Name("cai_epilogue_f32")
  static native void epilogue(
      FloatBuffer y,
      @Cast("size_t") long n,
      @Cast("const int32_t*") java.nio.IntBuffer kinds,
      @Cast("const float*") FloatBuffer params,
      int steps);

  @Name("cai_maxpool2d_f32")
  static native void maxPool2d(
      @Cast("const float*") FloatBuffer x,
      FloatBuffer y,
      int planes,
      int inH,
      int inW,
      int outH,
      int outW,
      int kH,
      int kW,
      int strideH,
      int strideW,
      int padT,
      int padL,
      int dilationH,
      int dilationW);

  @Name("cai_avgpool2d_f32")
  static native void avgPool2d(
      @Cast("const float*") FloatBuffer x,
      FloatBuffer y,
      int planes,
      int inH,
      int inW,
      int outH,
      int outW,
      int kH,
      int kW,
      int strideH,
      int strideW,
      int padT,
      int padL,
      int padB,
      int padR,
      int countIncludePad);
}
