/*
 * cacheai fp32 kernels: the layers of small convolutional networks (PP-OCR's PPLCNetV3 backbone)
 * where a general BLAS call is the wrong shape.
 *
 * Every kernel has a plain scalar twin with the suffix _ref (the definition the vector bodies are
 * tested against). The unsuffixed entry points dispatch at run time on what the CPU reports:
 *
 *   softmax_rows_f32      AVX2+FMA, else _ref
 *   dwconv2d_f32          AVX2+FMA, else _ref
 *   gemm_pa12_f32         AVX-512F only: the caller asks cai_fp32_isa_avx512() first and uses
 *                         OpenBLAS sgemm otherwise (same product, same layout)
 *
 * Threads: no kernel keeps state; scratch memory is passed in by the caller, so any number of
 * threads may call them at once with their own scratch.
 *
 * All callers are expected to have validated sizes: these functions do not check them. The Java side
 * (io.cacheai.kernels.Fp32Kernels) checks every extent before an address reaches here.
 *
 * This file is valid C11 and C++11: JavaCPP compiles it inside its generated C++ JNI unit.
 */
#ifndef CAI_FP32_H
#define CAI_FP32_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* 1 when the AVX2+FMA bodies run (and cai_fp32_force_scalar has not been called with 1). */
int cai_fp32_isa_avx2(void);
/* 1 when the CPU has AVX-512F (gemm_pa12_f32 may be called) and scalar is not forced. */
int cai_fp32_isa_avx512(void);
/* Tests: 1 makes every dispatching entry point run its _ref twin (and isa_* report 0). */
void cai_fp32_force_scalar(int force);

/* ------------------------------------------------------------------------------------------------
 * Epilogue steps: an elementwise chain (hard-swish, swish, scale-and-shift ...) applied to a
 * kernel's outputs while they are still in cache, instead of one more pass over memory. Step i is
 * kinds[i] with parameters params[2i], params[2i+1]; v starts as the kernel output x:
 *
 *   ADD v+a   SUB v-a   RSUB a-v   MUL v*a   DIV v/a   RDIV a/v   CLIP min(max(v,a),b)
 *   RELU max(v,0)   HSIG max(0,min(1,a*v+b))   SIGMOID 1/(1+exp(-v))   SQUARE v*v
 *   NEG -v   ABS |v|   ADDX v+x   MULX v*x
 * ---------------------------------------------------------------------------------------------- */
#define CAI_STEP_ADD 0
#define CAI_STEP_SUB 1
#define CAI_STEP_RSUB 2
#define CAI_STEP_MUL 3
#define CAI_STEP_DIV 4
#define CAI_STEP_RDIV 5
#define CAI_STEP_CLIP 6
#define CAI_STEP_RELU 7
#define CAI_STEP_HSIG 8
#define CAI_STEP_SIGMOID 9
#define CAI_STEP_SQUARE 10
#define CAI_STEP_NEG 11
#define CAI_STEP_ABS 12
#define CAI_STEP_ADDX 13
#define CAI_STEP_MULX 14
#define CAI_STEP_COUNT 15

/* The epilogue steps applied in place to n contiguous floats (what a kernel fuses, as one call). */
void cai_epilogue_f32(float* y, size_t n, const int32_t* step_kinds, const float* step_params,
                      int steps);

/* ------------------------------------------------------------------------------------------------
 * maxpool2d_f32: y[p, oh, ow] = max over the window's taps inside x[p] (padding never wins; an
 * all-padding window gives -inf), max as Java's Math.max (NaN wins, +0 beats -0), for `planes`
 * planes of [in_h, in_w] -> [out_h, out_w].
 * ---------------------------------------------------------------------------------------------- */
void cai_maxpool2d_f32(const float* x, float* y, int planes, int in_h, int in_w, int out_h,
                       int out_w, int k_h, int k_w, int stride_h, int stride_w, int pad_t,
                       int pad_l, int dil_h, int dil_w);

/* avgpool2d_f32: y = the mean of each window's taps inside x[p], the window clipped to the padded
 * input ([-pad_t, in_h + pad_b) x [-pad_l, in_w + pad_r)); the divisor counts those padded
 * positions (count_include_pad) or only the real ones; 0 for an empty window. The sum runs rows
 * then columns in float, as the runtime's Java loop, so results are bit-identical to it. */
void cai_avgpool2d_f32(const float* x, float* y, int planes, int in_h, int in_w, int out_h,
                       int out_w, int k_h, int k_w, int stride_h, int stride_w, int pad_t,
                       int pad_l, int pad_b, int pad_r, int count_include_pad);

/* ------------------------------------------------------------------------------------------------
 * softmax_rows_f32: y[r, :] = exp(x[r, :] - max_r) / sum_r, for `rows` contiguous rows of n floats.
 * x and y may be the same buffer. exp is Cody-Waite reduction + Cephes' degree-6 polynomial, inputs
 * clamped to [-87.34, 88.72] (relative error < 1e-7, the same function as the Java FastMath.exp).
 * ---------------------------------------------------------------------------------------------- */
void cai_softmax_rows_f32(const float* x, float* y, int rows, int n);
void cai_softmax_rows_f32_ref(const float* x, float* y, int rows, int n);

/* ------------------------------------------------------------------------------------------------
 * dwconv2d_f32: depthwise 2-D convolution over NCHW planes (groups = channels), one filter plane
 * per channel:
 *
 *   y[p, oh, ow] = bias[c] + sum_{kh,kw} w[c, kh, kw] * x[p, oh*sH - padT + kh*dH, ow*sW - padL + kw*dW]
 *
 * for planes p = 0 .. planes-1, channel c = p % channels (planes = batch * channels), taps outside
 * the input reading 0, then the epilogue steps (steps may be 0). bias may be NULL. scratch holds one zero-padded input plane:
 * cai_dwconv2d_scratch_floats(...) floats (the padded plane and one row).
 * ---------------------------------------------------------------------------------------------- */
size_t cai_dwconv2d_scratch_floats(int in_h, int in_w, int k_w, int dil_w, int pad_t, int pad_b,
                                   int pad_l, int pad_r);
void cai_dwconv2d_f32(const float* x, const float* w, const float* bias, float* y, float* scratch,
                      int planes, int channels, int in_h, int in_w, int out_h, int out_w, int k_h,
                      int k_w, int stride_h, int stride_w, int dil_h, int dil_w, int pad_t,
                      int pad_b, int pad_l, int pad_r, const int32_t* step_kinds,
                      const float* step_params, int steps);
void cai_dwconv2d_f32_ref(const float* x, const float* w, const float* bias, float* y,
                          int planes, int channels, int in_h, int in_w, int out_h, int out_w,
                          int k_h, int k_w, int stride_h, int stride_w, int dil_h, int dil_w,
                          int pad_t, int pad_l, const int32_t* step_kinds,
                          const float* step_params, int steps);

/* ------------------------------------------------------------------------------------------------
 * Format pa12: the left operand A[M,K] (a convolution's weights, row m = output channel m) packed
 * for gemm_pa12_f32, once per model. Mp = M rounded up to CAI_PA_MR (12). Mp/12 panels; panel p
 * holds rows 12p .. 12p+11 column by column:
 *
 *   panel p (K * 12 floats, starts at float p * K * 12):
 *   +-------------+---------------+-----+----------------+-------------+-----+------------------+
 *   | A[12p][0]   | A[12p+1][0]   | ... | A[12p+11][0]   | A[12p][1]   | ... | A[12p+11][K-1]   |
 *   +-------------+---------------+-----+----------------+-------------+-----+------------------+
 *
 * Rows past M are 0. Why: the kernel broadcasts the 12 weights of one k from consecutive floats.
 * ---------------------------------------------------------------------------------------------- */
#define CAI_PA_MR 12
/* Columns of B one kernel call covers: two AVX-512 registers of floats. */
#define CAI_PA_NR 32

size_t cai_pack_pa12_floats(int m, int k);
void cai_pack_pa12_f32(const float* a, int m, int k, int lda, float* packed);

/* ------------------------------------------------------------------------------------------------
 * gemm_pa12_f32: C[M,N] = A[M,K] * B[K,N] (+ bias[m] on row m when bias is not NULL), row-major B
 * and C with row strides ldb and ldc, A packed as pa12, then the epilogue steps. scratch: cai_gemm_pa12_scratch_floats(k)
 * floats (one packed K x 32 panel of B). AVX-512F only; _ref runs anywhere.
 * ---------------------------------------------------------------------------------------------- */
size_t cai_gemm_pa12_scratch_floats(int k);
void cai_gemm_pa12_f32(const float* a_packed, const float* b, int ldb, const float* bias, float* c,
                       int ldc, int m, int n, int k, float* scratch, const int32_t* step_kinds,
                       const float* step_params, int steps);
void cai_gemm_pa12_f32_ref(const float* a_packed, const float* b, int ldb, const float* bias,
                           float* c, int ldc, int m, int n, int k, const int32_t* step_kinds,
                           const float* step_params, int steps);

#ifdef __cplusplus
}
#endif

#endif /* CAI_FP32_H */
