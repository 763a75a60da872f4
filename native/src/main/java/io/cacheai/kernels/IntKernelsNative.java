package io.cacheai.kernels;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Name;
import org.bytedeco.javacpp.annotation.Platform;

/**
 * The one door to cacheai's own C integer kernels ({@code src/main/native/cai_int8.{h,c}}),
 * compiled by the JavaCPP Maven plugin into {@code libjniIntKernelsNative.so} during the build.
 *
 * <p>Nothing here checks anything: every method trusts its caller ({@link Int8Gemm}, {@link
 * Requantize}, {@link Q4Gemm}) to have validated sizes, capacities and byte order. JavaCPP passes a
 * direct buffer's address <em>plus its position</em>, so callers pass buffers positioned where
 * their operand starts. The {@code *Ref} methods run the scalar twins, for tests and benchmarks.
 */
@Platform(
    include = {
      "cai_int8.h",
      "cai_int8.c",
      "cai_lowbit_conv.h",
      "cai_lowbit_conv.c",
      "cai_q4_pairs.h",
      "cai_q4_pairs.c",
      "cai_int8_seq.h",
      "cai_int8_seq.c"
    })
final class IntKernelsNative {
  static {
    Loader.load();
  }

  private IntKernelsNative() {}

  @Name("cai_isa_avx2")
  static native int isaAvx2();

  @Name("cai_isa_vnni")
  static native int isaVnni();

  @Name("cai_force_no_vnni")
  static native void forceNoVnni(int force);

  @Name("cai_block_size_bytes")
  static native int blockSizeBytes(int format);

  @Name("cai_force_scalar")
  static native void forceScalar(int force);

  @Name("cai_pack_s8")
  static native void packS8(
      @Cast("const int8_t*") ByteBuffer b,
      int n,
      int k,
      int ldb,
      @Cast("int8_t*") ByteBuffer packed);

  @Name("cai_gemm_u8s8_s32")
  static native void gemmU8s8S32(
      @Cast("const uint8_t*") ByteBuffer a,
      int lda,
      @Cast("const int8_t*") ByteBuffer bPacked,
      @Cast("int32_t*") IntBuffer c,
      int ldc,
      int m,
      int n,
      int k);

  @Name("cai_gemm_u8s8_s32_ref")
  static native void gemmU8s8S32Ref(
      @Cast("const uint8_t*") ByteBuffer a,
      int lda,
      @Cast("const int8_t*") ByteBuffer bPacked,
      @Cast("int32_t*") IntBuffer c,
      int ldc,
      int m,
      int n,
      int k);

  @Name("cai_gemv_u8s8_s32")
  static native void gemvU8s8S32(
      @Cast("const uint8_t*") ByteBuffer a,
      @Cast("const int8_t*") ByteBuffer bPacked,
      @Cast("int32_t*") IntBuffer y,
      int n,
      int k);

  @Name("cai_requant_s32_u8_args")
  static native void requantS32U8(
      @Cast("const int32_t*") IntBuffer c,
      int ldc,
      int m,
      int n,
      @Cast("const int32_t*") IntBuffer bias,
      @Cast("const float*") FloatBuffer scale,
      int outZeroPoint,
      int relu,
      @Cast("uint8_t*") ByteBuffer out,
      int ldo,
      int useRef);

  @Name("cai_requant_s32_f32_args")
  static native void requantS32F32(
      @Cast("const int32_t*") IntBuffer c,
      int ldc,
      int m,
      int n,
      @Cast("const int32_t*") IntBuffer bias,
      @Cast("const float*") FloatBuffer scale,
      int relu,
      FloatBuffer out,
      int ldo,
      int useRef);

  @Name("cai_quantize_q4g32")
  static native void quantizeQ4g32(
      @Cast("const float*") FloatBuffer w,
      int n,
      int k,
      @Cast("cai_block_q4g32x2*") ByteBuffer out);

  @Name("cai_gemm_q4g32_f32")
  static native void gemmQ4g32F32(
      @Cast("const cai_block_q4g32x2*") ByteBuffer w,
      @Cast("const float*") FloatBuffer x,
      int ldx,
      FloatBuffer y,
      int ldy,
      int m,
      int n,
      int k);

  @Name("cai_gemm_q4g32_bias_f32")
  static native void gemmQ4g32BiasF32(
      @Cast("const cai_block_q4g32x2*") ByteBuffer w,
      @Cast("const float*") FloatBuffer x,
      FloatBuffer y,
      int m,
      int n,
      int k,
      @Cast("const float*") FloatBuffer bias,
      int relu);

  @Name("cai_gemm_q4g32_f32_ref")
  static native void gemmQ4g32F32Ref(
      @Cast("const cai_block_q4g32x2*") ByteBuffer w,
      @Cast("const float*") FloatBuffer x,
      int ldx,
      FloatBuffer y,
      int ldy,
      int m,
      int n,
      int k);

  @Name("cai_gemv_q4g32_f32")
  static native void gemvQ4g32F32(
      @Cast("const cai_block_q4g32x2*") ByteBuffer w,
      @Cast("const float*") FloatBuffer x,
      FloatBuffer y,
      int n,
      int k);

  @Name("cai_quantize_f32_u8")
  static native void quantizeF32U8(
      @Cast("const float*") FloatBuffer x,
      int count,
      float scale,
      int zeroPoint,
      @Cast("uint8_t*") ByteBuffer out,
      int useRef);

  @Name("cai_quantize_f32_u8_t")
  static native void quantizeF32U8T(
      @Cast("const float*") FloatBuffer x,
      int channels,
      int pixels,
      float scale,
      int zeroPoint,
      @Cast("uint8_t*") ByteBuffer rows);

  @Name("cai_im2row_u8")
  static native void im2rowU8(
      @Cast("const uint8_t*") ByteBuffer image,
      int channels,
      int inH,
      int inW,
      int kernelH,
      int kernelW,
      int strideH,
      int strideW,
      int padTop,
      int padLeft,
      int dilationH,
      int dilationW,
      int outH,
      int outW,
      int zeroPoint,
      @Cast("uint8_t*") ByteBuffer rows);

  @Name("cai_requant_s32_f32_t")
  static native void requantS32F32T(
      @Cast("const int32_t*") IntBuffer c,
      int ldc,
      int m,
      int n,
      @Cast("const int32_t*") IntBuffer bias,
      @Cast("const float*") FloatBuffer scale,
      int relu,
      FloatBuffer out,
      int ldo);

  @Name("cai_u8c4_size")
  static native long u8c4Size(int k, int pixels);

  @Name("cai_quantize_pad_f32_u8")
  static native void quantizePadF32U8(
      @Cast("const float*") FloatBuffer x,
      int channels,
      int h,
      int w,
      int padT,
      int padB,
      int padL,
      int padR,
      float scale,
      int zeroPoint,
      @Cast("uint8_t*") ByteBuffer out);

  @Name("cai_im2col_u8c4")
  static native void im2colU8c4(
      @Cast("const uint8_t*") ByteBuffer padded,
      int channels,
      int ph,
      int pw,
      int kH,
      int kW,
      int strideH,
      int strideW,
      int dilH,
      int dilW,
      int outH,
      int outW,
      @Cast("uint8_t*") ByteBuffer out);

  @Name("cai_quantize_f32_u8c4")
  static native void quantizeF32U8c4(
      @Cast("const float*") FloatBuffer x,
      int k,
      int pixels,
      float scale,
      int zeroPoint,
      @Cast("uint8_t*") ByteBuffer out);

  @Name("cai_conv_s8p16_u8c4_f32")
  static native void convS8p16U8c4F32(
      @Cast("const int8_t*") ByteBuffer wPacked,
      int m,
      int k,
      @Cast("const uint8_t*") ByteBuffer x4,
      int pixels,
      @Cast("const int32_t*") IntBuffer bias,
      @Cast("const float*") FloatBuffer scale,
      int relu,
      FloatBuffer y,
      int ldy,
      int useRef);

  // ---- cai_lowbit_conv.h: the low-bit (s4g32) convolution, called through LowBitConv ----

  @Name("cai_minmax_f32")
  static native void minMaxF32(FloatBuffer x, int count, FloatBuffer out);

  @Name("cai_conv_s4g32_body")
  static native int convS4g32Body();

  @Name("cai_conv_s4g32_u8c4_f32")
  static native void convS4g32U8c4F32(
      @Cast("const int8_t*") ByteBuffer w,
      @Cast("const float*") FloatBuffer d,
      @Cast("const float*") FloatBuffer zsum,
      int m,
      int k,
      @Cast("const uint8_t*") ByteBuffer x4,
      int pixels,
      float xScale,
      int xZeroPoint,
      @Cast("const float*") FloatBuffer bias,
      int relu,
      FloatBuffer y,
      int ldy,
      int useRef);

  @Name("cai_lowbit_patches_f32_u8c4")
  static native void lowbitPatchesF32U8c4(
      FloatBuffer x,
      int channels,
      int h,
      int w,
      int padT,
      int padB,
      int padL,
      int padR,
      float scale,
      int zeroPoint,
      int kH,
      int kW,
      int sH,
      int sW,
      int dH,
      int dW,
      int outH,
      int outW,
      @Cast("uint8_t*") ByteBuffer padded,
      @Cast("uint8_t*") ByteBuffer out,
      int useGeneric);

  @Name("cai_pack_conv_q4_size")
  static native long packConvQ4Size(int m, int c, int kH, int kW);

  @Name("cai_pack_conv_q4")
  static native void packConvQ4(
      @Cast("const int8_t*") ByteBuffer wPacked,
      int m,
      int c,
      int kH,
      int kW,
      @Cast("int8_t*") ByteBuffer out);

  @Name("cai_quantize_pad_f32_u8c4")
  static native void quantizePadF32U8c4(
      @Cast("const float*") FloatBuffer x,
      int channels,
      int h,
      int w,
      int padT,
      int padB,
      int padL,
      int padR,
      float scale,
      int zeroPoint,
      int pixelStride,
      @Cast("uint8_t*") ByteBuffer scratch,
      @Cast("uint8_t*") ByteBuffer out);

  @Name("cai_conv_direct_u8c4_f32")
  static native void convDirectU8c4F32(
      @Cast("const int8_t*") ByteBuffer wq,
      int m,
      int c,
      int kH,
      int kW,
      @Cast("const uint8_t*") ByteBuffer x4,
      int pixelStride,
      int pw,
      int outH,
      @Cast("const int32_t*") IntBuffer bias,
      @Cast("const float*") FloatBuffer scale,
      int relu,
      FloatBuffer y,
      int ldy,
      int useRef);

  @Name("cai_conv_crop_pool_f32")
  static native void convCropPoolF32(
      @Cast("const float*") FloatBuffer src,
      int m,
      int srcPlane,
      int srcRow,
      int rows,
      int cols,
      int poolK,
      int poolS,
      int outH2,
      int outW2,
      FloatBuffer y);

  @Name("cai_qgemm_f32")
  static native void qgemmF32(
      @Cast("const float*") FloatBuffer x,
      int m,
      int k,
      float xScale,
      int xZeroPoint,
      @Cast("const int8_t*") ByteBuffer wPacked,
      int n,
      @Cast("const int32_t*") IntBuffer bias,
      @Cast("const float*") FloatBuffer scale,
      int relu,
      @Cast("uint8_t*") ByteBuffer a,
      @Cast("int32_t*") IntBuffer acc,
      FloatBuffer y);

  @Name("cai_qconv_im2col_f32")
  static native void qconvIm2colF32(
      @Cast("const float*") FloatBuffer x,
      int c,
      int h,
      int w,
      int padT,
      int padB,
      int padL,
      int padR,
      float xScale,
      int xZeroPoint,
      @Cast("const int8_t*") ByteBuffer wPacked,
      int m,
      int kH,
      int kW,
      int strideH,
      int strideW,
      int dilH,
      int dilW,
      int outH,
      int outW,
      @Cast("const int32_t*") IntBuffer bias,
      @Cast("const float*") FloatBuffer scale,
      int relu,
      @Cast("uint8_t*") ByteBuffer padded,
      @Cast("uint8_t*") ByteBuffer patches,
      FloatBuffer convOut,
      int poolK,
      int poolS,
      int outH2,
      int outW2,
      FloatBuffer y);

  @Name("cai_qconv_direct_f32")
  static native void qconvDirectF32(
      @Cast("const float*") FloatBuffer x,
      int c,
      int h,
      int w,
      int padT,
      int padB,
      int padL,
      int padR,
      float xScale,
      int xZeroPoint,
      @Cast("const int8_t*") ByteBuffer wq,
      int m,
      int kH,
      int kW,
      int pixelStride,
      @Cast("const int32_t*") IntBuffer bias,
      @Cast("const float*") FloatBuffer scale,
      int relu,
      @Cast("uint8_t*") ByteBuffer scratch,
      @Cast("uint8_t*") ByteBuffer x4,
      FloatBuffer planes,
      int wide,
      int poolK,
      int poolS,
      int outH2,
      int outW2,
      FloatBuffer y);

  @Name("cai_conv_kq_available")
  static native int convKqAvailable();

  @Name("cai_pack_conv_kq")
  static native void packConvKq(
      @Cast("const int8_t*") ByteBuffer wPacked,
      int m,
      int c,
      int kH,
      int kW,
      @Cast("int8_t*") ByteBuffer out);

  @Name("cai_qconv_kq_f32")
  static native void qconvKqF32(
      @Cast("const float*") FloatBuffer x,
      int c,
      int h,
      int w,
      int padT,
      int padB,
      int padL,
      int padR,
      float xScale,
      int xZeroPoint,
      @Cast("const int8_t*") ByteBuffer wk,
      int m,
      int kH,
      int kW,
      int pixelStride,
      @Cast("const int32_t*") IntBuffer bias,
      @Cast("const float*") FloatBuffer scale,
      int relu,
      @Cast("uint8_t*") ByteBuffer img,
      FloatBuffer planes,
      int wide,
      int poolK,
      int poolS,
      int outH2,
      int outW2,
      FloatBuffer y,
      int useRef);

  @Name("cai_pack_conv_t16")
  static native void packConvT16(
      @Cast("const int8_t*") ByteBuffer wPacked,
      int m,
      int c,
      int kH,
      int kW,
      @Cast("int8_t*") ByteBuffer out);

  @Name("cai_qconv_direct_t_f32")
  static native void qconvDirectTF32(
      @Cast("const float*") FloatBuffer x,
      int c,
      int h,
      int w,
      int padT,
      int padB,
      int padL,
      int padR,
      float xScale,
      int xZeroPoint,
      @Cast("const int8_t*") ByteBuffer wt,
      int m,
      int kH,
      int kW,
      int pixelStride,
      @Cast("const int32_t*") IntBuffer bias,
      @Cast("const float*") FloatBuffer scale,
      int relu,
      @Cast("uint8_t*") ByteBuffer scratch,
      @Cast("uint8_t*") ByteBuffer x4,
      FloatBuffer t,
      int poolK,
      int poolS,
      int outH2,
      int outW2,
      FloatBuffer y,
      int useRef);

  @Name("cai_qgemm_chain_f32")
  static native void qgemmChainF32(
      @Cast("const cai_qgemm_layer*") ByteBuffer layers,
      int count,
      @Cast("const float*") FloatBuffer x,
      int m,
      @Cast("uint8_t*") ByteBuffer a,
      @Cast("int32_t*") IntBuffer acc,
      FloatBuffer tmp,
      int maxN,
      FloatBuffer y);

  @Name("cai_q4gemm_chain_f32")
  static native void q4gemmChainF32(
      @Cast("const cai_q4gemm_layer*") ByteBuffer layers,
      int count,
      @Cast("const float*") FloatBuffer x,
      int m,
      FloatBuffer tmp,
      int maxKp,
      FloatBuffer y);

  @Name("cai_q4g32p2_size")
  static native long q4g32p2Size(int n, int k);

  @Name("cai_pack_q4g32p2")
  static native void packQ4g32p2(
      @Cast("const cai_block_q4g32x2*") ByteBuffer w,
      int n,
      int k,
      @Cast("uint8_t*") ByteBuffer out);

  @Name("cai_q4g32p2_available")
  static native int q4g32p2Available();

  @Name("cai_gemv_q4g32p2_f32")
  static native void gemvQ4g32p2F32(
      @Cast("const uint8_t*") ByteBuffer pairs,
      @Cast("const float*") FloatBuffer x,
      FloatBuffer y,
      int n,
      int k,
      int useRef);

  @Name("cai_lb_dynamic_stage")
  static native int lbDynamicStage(
      @Cast("const float*") FloatBuffer x,
      int count,
      int m,
      @Cast("const uint8_t*") ByteBuffer constants,
      int hasBias,
      @Cast("int32_t*") IntBuffer stageBias,
      FloatBuffer stageScale);

  @Name("cai_int8_sequence_f32")
  static native int int8SequenceF32(
      @Cast("const cai_int8_step*") ByteBuffer steps,
      int count,
      @Cast("const float*") FloatBuffer x,
      @Cast("uint8_t*") ByteBuffer scratch,
      FloatBuffer y,
      int useRef);

  @Name("cai_pack_conv_kqc")
  static native void packConvKqc(
      @Cast("const int8_t*") ByteBuffer wk,
      int m,
      int c,
      int kH,
      int kW,
      @Cast("int8_t*") ByteBuffer out);
}
