/*
 * cacheai integer kernels: quantized formats and the kernels that read them.
 *
 * Every kernel is named by its role and operand formats (gemm_u8s8_s32 = u8 activations times s8
 * weights into s32) and has a plain scalar twin with the suffix _ref. The unsuffixed entry points
 * dispatch at run time: the AVX2 body when the CPU reports AVX2 (and FMA, for the float parts),
 * otherwise the _ref twin, so the library runs on any x86-64. gemm/gemv_u8s8_s32 prefer an AVX-512
 * VNNI body (vpdpbusd, same s8p16 weights) when the CPU has avx512f + avx512bw + avx512vnni.
 *
 * The path of a quantized layer is three separate steps:
 *   pack     (once, at compression time)  cai_pack_s8 / cai_quantize_q4g32
 *   compute  (per request)                cai_gemm_u8s8_s32, cai_gemv_u8s8_s32, cai_gemv_q4g32_f32...
 *   requant  (per request)                cai_requant_s32_u8 / cai_requant_s32_f32, one params struct
 *
 * Threads: every kernel may run concurrently on any number of threads. The GEMM keeps one packed-A
 * scratch buffer per calling thread (128 KiB) and the q4 kernels one activation buffer per thread
 * (128 bytes per 64 activations), allocated on first use and kept for the thread's lifetime: sized
 * for a fixed pool of request threads, not for a thread per call.
 *
 * All callers are expected to have validated sizes: these functions do not check them. The Java side
 * (io.cacheai.kernels) checks every extent before an address reaches here.
 *
 * This file is valid C11 and C++11: JavaCPP compiles it inside its generated C++ JNI unit.
 */
#ifndef CAI_INT8_H
#define CAI_INT8_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
#define CAI_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
extern "C" {
#else
#define CAI_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

/* ------------------------------------------------------------------------------------------------
 * Format s8p16: s8 weights prepacked for gemm_u8s8_s32 / gemv_u8s8_s32. 8 bits per weight.
 *
 * Source: B is the [N,K] s8 weight matrix, row n = output channel n (what y = W·x stores).
 * Kp = K rounded up to CAI_S8P_KSTEP (2), Np = N rounded up to CAI_S8P_NR (16).
 * Packed: Np/16 panels, panel p = output channels 16p..16p+15, each Kp/2 blocks of 32 bytes:
 *
 *   panel p, k-pair q (32 bytes):
 *   +------------+--------------+------------+--------------+-----+---------------+----------------+
 *   | B[16p][2q] | B[16p][2q+1] | B[16p+1][2q]| B[16p+1][2q+1]| ... | B[16p+15][2q] | B[16p+15][2q+1]|
 *   +------------+--------------+------------+--------------+-----+---------------+----------------+
 *
 * Padding (n >= N or k >= K) is 0 and adds nothing to a sum. Panel p starts at byte p * Kp * 16.
 *
 * Why this layout: sign-extending 16 bytes gives 8 channels x 2 k as s16, and _mm256_madd_epi16
 * against a broadcast activation pair (a[2q], a[2q+1]) yields the 8 channels' partial sums
 * a[2q]*B[n][2q] + a[2q+1]*B[n][2q+1] in s32 lanes, with no horizontal reduction.
 * ---------------------------------------------------------------------------------------------- */
#define CAI_S8P_NR 16
#define CAI_S8P_KSTEP 2

typedef struct {
  int8_t b[CAI_S8P_NR][CAI_S8P_KSTEP]; /* [channel within panel][k within pair] */
} cai_s8p16_block;
CAI_STATIC_ASSERT(sizeof(cai_s8p16_block) == 32, "s8p16 block is 32 bytes");

/* Largest K accepted: K * 255 * 128 must fit in s32, so every sum of products is exact. */
#define CAI_S8_MAX_K 65536

/* Bytes of the packed form of an [n,k] matrix: round_up(n,16) * round_up(k,2). */
size_t cai_pack_s8_size(int n, int k);
/* Packs B [n,k] (row stride ldb bytes) into s8p16 at packed (cai_pack_s8_size(n,k) bytes). */
void cai_pack_s8(const int8_t* b, int n, int k, int ldb, int8_t* packed);

/* C[m,n] (s32, row stride ldc) = A[m,k] (u8, row stride lda) x B^T, B packed s8p16 from [n,k].
 * Exact for all inputs (see the widening scheme in cai_int8.c). */
void cai_gemm_u8s8_s32(const uint8_t* a, int lda, const int8_t* b_packed, int32_t* c, int ldc,
                       int m, int n, int k);
void cai_gemm_u8s8_s32_ref(const uint8_t* a, int lda, const int8_t* b_packed, int32_t* c, int ldc,
                           int m, int n, int k);
/* y[n] (s32) = B x a for one activation row a[k] (u8). */
void cai_gemv_u8s8_s32(const uint8_t* a, const int8_t* b_packed, int32_t* y, int n, int k);
void cai_gemv_u8s8_s32_ref(const uint8_t* a, const int8_t* b_packed, int32_t* y, int n, int k);

/* ------------------------------------------------------------------------------------------------
 * Output stage: s32 accumulators -> + bias (s32) -> x scale[channel] (fp32) -> u8 with zero point,
 * or fp32; optional ReLU. One params struct for both outputs.
 *
 * Rounding rules (bit-exact with the Java reference, io.cacheai.kernels.Requantize):
 *   t = acc + bias[j]                  two's-complement s32 add (wraps; callers keep |t| < 2^31)
 *   y = (float) t * scale[j]           int->float round-to-nearest-even, then one fp32 multiply
 *   fp32 output: out = relu ? max(y, 0) : y          (max(-0, 0) -> +0 is not promised: +-0 equal)
 *   u8 output:   lo = relu ? 0 : -zp, hi = 255 - zp
 *                out = (int) rint(min(max(y, lo), hi)) + zp     rint: nearest, ties to even
 * Subtracting the activation zero point: the caller folds it into the bias, bias[j] -= a_zp *
 * sum_k B[j][k] (an exact integer identity), so the kernels never see it.
 * ---------------------------------------------------------------------------------------------- */
typedef struct {
  const int32_t* bias;    /* [n] added to every row, or NULL for none */
  const float* scale;     /* [n] per-output-channel multiplier, finite */
  int32_t out_zero_point; /* u8 output only: 0..255 */
  int32_t relu;           /* nonzero: clamp the real value at 0 */
} cai_requant_params;

void cai_requant_s32_u8(const int32_t* c, int ldc, int m, int n, const cai_requant_params* p,
                        uint8_t* out, int ldo);
void cai_requant_s32_u8_ref(const int32_t* c, int ldc, int m, int n, const cai_requant_params* p,
                            uint8_t* out, int ldo);
void cai_requant_s32_f32(const int32_t* c, int ldc, int m, int n, const cai_requant_params* p,
                         float* out, int ldo);
void cai_requant_s32_f32_ref(const int32_t* c, int ldc, int m, int n,
                             const cai_requant_params* p, float* out, int ldo);

/* ------------------------------------------------------------------------------------------------
 * Format q4g32: 4-bit weights in groups of 32 along K, one fp32 scale per group. 5 bits per weight.
 * Two consecutive groups form one 40-byte block, so that one 32-byte load brings 64 weights:
 *
 *   w = d[h] * (q - 8),  q in 0..15, h = group within the block
 *    0          4          8                               24                              40
 *   +----------+----------+-------------------------------+-------------------------------+
 *   | d[0] f32 | d[1] f32 | qs[0][16]: group 2b           | qs[1][16]: group 2b+1         |
 *   +----------+----------+-------------------------------+-------------------------------+
 *   qs[h][i] = q[i] | q[i+16] << 4  (weight i of the group in the low nibble, weight i+16 high)
 *
 * A weight matrix [N,K] (K a multiple of 32) is N rows of ceil(K/64) blocks; when K/32 is odd the
 * row's last group is padding with d = 0 and q = 8 (weight 0).
 *
 * Activations of the q4 kernels are fp32; the kernels quantize each group of 32 of them to s8 with
 * its own scale (dx = max|x| / 127, xq = rint(x * (1/dx)), 0 when dx is below FLT_MIN) and compute the group's dot product
 * exactly in integers: q (u8 0..15) x xq (s8) through _mm256_maddubs_epi16 cannot saturate
 * (2 * 15 * 127 = 3810; two such sums added in s16: 7620 < 32767), and the -8 offset is an exact
 * integer correction -8 * sum(xq). The only approximation is that rounding of x:
 * |x - dx*xq| <= dx/2 per element.
 * ---------------------------------------------------------------------------------------------- */
#define QK4_G32 32

typedef struct {
  float d[2];                   /* scales of the block's two groups */
  uint8_t qs[2][QK4_G32 / 2];   /* nibbles of each group: q[i] low, q[i+16] high */
} cai_block_q4g32x2;
CAI_STATIC_ASSERT(sizeof(cai_block_q4g32x2) == 40, "q4g32 block (two groups) is 40 bytes");

/* Blocks per row of K weights: ceil(K / 64). */
int cai_q4g32_blocks_per_row(int k);

/* Quantizes fp32 weights W [n,k] (k % 32 == 0) to q4g32: per group d = (value of largest
 * magnitude) / -8, so that value is exactly -8d, and q = clamp(rint(w / d) + 8, 0, 15). */
void cai_quantize_q4g32(const float* w, int n, int k, cai_block_q4g32x2* out);

/* Y[m,n] (dense) = X[m,k] (dense) x W^T as cai_gemm_q4g32_f32, then per element
 * y = relu ? max(y + bias[j], 0) : y + bias[j] (bias may be NULL: 0; the max keeps a NaN). */
void cai_gemm_q4g32_bias_f32(const cai_block_q4g32x2* w, const float* x, float* y, int m, int n,
                             int k, const float* bias, int relu);
/* y[n] = W x for fp32 x[k]. */
void cai_gemv_q4g32_f32(const cai_block_q4g32x2* w, const float* x, float* y, int n, int k);
/* Y[m,n] (row stride ldy) = X[m,k] (row stride ldx) x W^T. */
void cai_gemm_q4g32_f32(const cai_block_q4g32x2* w, const float* x, int ldx, float* y, int ldy,
                        int m, int n, int k);
void cai_gemm_q4g32_f32_ref(const cai_block_q4g32x2* w, const float* x, int ldx, float* y, int ldy,
                            int m, int n, int k);

/* ------------------------------------------------------------------------------------------------
 * Dispatch.
 * ---------------------------------------------------------------------------------------------- */
/* 1 when the AVX2 (+FMA) bodies run, 0 when the scalar _ref twins do. */
int cai_isa_avx2(void);
/* 1 when the AVX-512 VNNI (vpdpbusd) body of gemm/gemv_u8s8_s32 runs: CPU has avx512f, avx512bw
 * and avx512vnni and neither cai_force_scalar nor cai_force_no_vnni is set. */
int cai_isa_vnni(void);
/* Disables the VNNI body (nonzero; AVX2 then runs if present) or restores detection (0). */
void cai_force_no_vnni(int force);
/* Forces the scalar twins (nonzero) or restores CPU detection (0): for tests and benchmarks. */
void cai_force_scalar(int force);

/* sizeof of a format's block, for the Java side to check its constants: 0 = s8p16, 1 = q4g32 (two groups). */
int cai_block_size_bytes(int format);

/* Flat-argument wrappers for JNI (the struct is built here). */
void cai_requant_s32_u8_args(const int32_t* c, int ldc, int m, int n, const int32_t* bias,
                             const float* scale, int out_zero_point, int relu, uint8_t* out,
                             int ldo, int use_ref);
void cai_requant_s32_f32_args(const int32_t* c, int ldc, int m, int n, const int32_t* bias,
                              const float* scale, int relu, float* out, int ldo, int use_ref);

/* ------------------------------------------------------------------------------------------------
 * Activation quantization and layouts for the int8 operators (QLinearConv / QLinearGemm).
 *
 *   q(x) = saturate_0_255(rint(x / scale) + zero_point)   (ONNX QuantizeLinear: float division,
 *          round half to even, NaN -> zero_point as Java's (int) NaN == 0)
 *
 * cai_quantize_f32_u8:    out[i] = q(x[i]), i < count
 * cai_quantize_f32_u8_t:  rows[p * channels + c] = q(x[c * pixels + p])   (1x1 conv patch rows)
 * cai_im2row_u8:          rows[(oh*outW+ow) * R + (c*kH+kh)*kW + kw] = image[c, ih, iw] or
 *                         zero_point outside the image, R = channels*kH*kW
 * cai_requant_s32_f32_t:  out[j * ldo + i] = relu?((float)(c[i*ldc+j] + bias[j]) * scale[j])
 *                         (the output stage written transposed: GEMM [P,M] -> NCHW [M,P])
 * ---------------------------------------------------------------------------------------------- */
void cai_quantize_f32_u8(const float* x, int count, float scale, int zero_point, uint8_t* out,
                         int use_ref);
void cai_quantize_f32_u8_t(const float* x, int channels, int pixels, float scale, int zero_point,
                           uint8_t* rows);
void cai_im2row_u8(const uint8_t* image, int channels, int in_h, int in_w, int k_h, int k_w,
                   int stride_h, int stride_w, int pad_top, int pad_left, int dil_h, int dil_w,
                   int out_h, int out_w, int zero_point, uint8_t* rows);
void cai_requant_s32_f32_t(const int32_t* c, int ldc, int m, int n, const int32_t* bias,
                           const float* scale, int relu, float* out, int ldo);


/* ------------------------------------------------------------------------------------------------
 * The int8 convolution in NCHW, output channels x pixels (no transposes):
 *
 *   y[j, p] = relu?((float) (sum_k W[j][k] * X[k][p] + bias[j]) * scale[j])     j < m, p < P
 *
 * W is the s8p16-packed weight [m, k] (read in place); X is the u8 patch matrix [k, P] in the u8c4
 * layout below; y is fp32 [m, P] (row stride ldy) -- the NCHW output of one image, written once.
 * The same output stage (and rounding) as cai_requant_s32_f32_t, so results are bit-identical to
 * im2row + gemm_u8s8_s32 + requant_s32_f32_t.
 *
 * Format u8c4: X[k, P] in groups of 4 rows; P16 = P rounded up to 16, G = ceil(k / 4):
 *
 *   group g (P16 * 4 bytes, starts at byte g * P16 * 4):
 *   +-----------+-----------+-----------+-----------+-----------+-----+-----------------+
 *   | X[4g][0]  | X[4g+1][0]| X[4g+2][0]| X[4g+3][0]| X[4g][1]  | ... | X[4g+3][P16-1]  |
 *   +-----------+-----------+-----------+-----------+-----------+-----+-----------------+
 *
 * Rows >= k and pixels >= P are 0. Why: one 64-byte load is 16 pixels x 4 k, the u8 operand of
 * vpdpbusd against a broadcast quad of one channel's weights W[j][4g..4g+3].
 *
 * cai_quantize_pad_f32_u8: out[c][ph][pw] = q(x[c][h][w]) inside, zero_point in the border of
 *   pad_t/pad_b rows and pad_l/pad_r columns (ph = h + pad_t + pad_b, pw = w + pad_l + pad_r).
 * cai_im2col_u8c4: X[(c*kH + kh)*kW + kw][oh*outW + ow] = padded[c][oh*sH + kh*dH][ow*sW + kw*dW]
 *   from the padded u8 image (callers check that every index is inside it).
 * cai_quantize_f32_u8c4: X[c][p] = q(x[c][p]) for x [k, P] (a 1x1 convolution's patches).
 * The VNNI body needs avx512f/bw/vnni; without it (or with use_ref) the scalar twin runs.
 * ---------------------------------------------------------------------------------------------- */
#define CAI_U8C4_PIXELS 16

size_t cai_u8c4_size(int k, int pixels);
void cai_quantize_pad_f32_u8(const float* x, int channels, int h, int w, int pad_t, int pad_b,
                             int pad_l, int pad_r, float scale, int zero_point, uint8_t* out);
void cai_im2col_u8c4(const uint8_t* padded, int channels, int ph, int pw, int k_h, int k_w,
                     int stride_h, int stride_w, int dil_h, int dil_w, int out_h, int out_w,
                     uint8_t* out);
void cai_quantize_f32_u8c4(const float* x, int k, int pixels, float scale, int zero_point,
                           uint8_t* out);
void cai_conv_s8p16_u8c4_f32(const int8_t* w_packed, int m, int k, const uint8_t* x4, int pixels,
                             const int32_t* bias, const float* scale, int relu, float* y, int ldy,
                             int use_ref);

/* ------------------------------------------------------------------------------------------------
 * The direct int8 convolution (stride 1, dilation 1): no patch matrix at all.
 *
 * The input is the zero-point-padded u8 image [C, ph, pw] in u8c4 form over its flattened pixels
 * (group cg = channels 4cg..4cg+3, pixel q = row * pw + col at byte (cg * pstride + q) * 4, pstride a
 * multiple of 16; channels >= C and pixels >= ph*pw are 0). Outputs are computed on "wide" rows of
 * pw pixels: q' = oh * pw + ow for oh < out_h and every ow < pw, so for tap (kh, kw) the u8 operand
 * of 16 consecutive outputs is one 64-byte load at pixel q' + kh * pw + kw. Columns ow >= out_w
 * read across the row edge and are garbage; callers keep only ow < out_w (cai_conv_crop_pool_f32).
 * Outputs with ow < out_w read only pixels inside the padded image, so they are exactly the im2col
 * convolution's values.
 *
 * Format s8q4m4 (weights of the direct kernel, packed once per plan from s8p16): blocks of 4
 * output channels, within a block tap t = (cg * kH + kh) * kW + kw, within a tap one s32 per channel:
 *
 *   block jb, tap t (16 bytes):
 *   +---------------------------+---------------------------+-----+---------------------------+
 *   | W[4jb][4cg..4cg+3][kh][kw] | W[4jb+1][4cg..+3][kh][kw] | ... | W[4jb+3][4cg..+3][kh][kw] |
 *   +---------------------------+---------------------------+-----+---------------------------+
 *
 * channels >= C and output channels >= m are 0. Why: the broadcast quad of a vpdpbusd is one aligned
 * 4-byte memory operand (embedded broadcast), no scalar gathering per use.
 *
 * cai_conv_direct_u8c4_f32: y[j * ldy + q'] = relu?((float)(sum + bias[j]) * scale[j]) for every
 *   q' < round_up(out_h * pw, 16) (ldy >= that); x4 must hold pstride >= that + (kH-1)*pw + kW-1
 *   pixels per group (callers check).
 * cai_quantize_pad_f32_u8c4: the padded image of cai_quantize_pad_f32_u8 laid out as above
 *   (pixels ph*pw .. pstride-1 zero); scratch holds C * ph * pw bytes.
 * cai_conv_crop_pool_f32: y[j][oh2][ow2] from wide rows src[j * src_plane + oh * src_row + ow]
 *   (oh < rows, ow < cols): pool_k == 0 copies (crop), else the max over the pool_k x pool_k window
 *   at stride pool_s (no padding, out_h2/out_w2 windows all inside). Plain max: the values are
 *   conv outputs (finite or infinite, never NaN; -0 only as relu keeps it), where it equals
 *   Java's Math.max up to the sign of zero.
 * ---------------------------------------------------------------------------------------------- */
size_t cai_pack_conv_q4_size(int m, int c, int k_h, int k_w);
void cai_pack_conv_q4(const int8_t* w_packed, int m, int c, int k_h, int k_w, int8_t* out);
void cai_quantize_pad_f32_u8c4(const float* x, int channels, int h, int w, int pad_t, int pad_b,
                               int pad_l, int pad_r, float scale, int zero_point, int pstride,
                               uint8_t* scratch, uint8_t* out);
void cai_conv_direct_u8c4_f32(const int8_t* wq, int m, int c, int k_h, int k_w, const uint8_t* x4,
                              int pstride, int pw, int out_h, const int32_t* bias,
                              const float* scale, int relu, float* y, int ldy, int use_ref);
void cai_conv_crop_pool_f32(const float* src, int m, int src_plane, int src_row, int rows,
                            int cols, int pool_k, int pool_s, int out_h2, int out_w2, float* y);

/* ------------------------------------------------------------------------------------------------
 * Whole int8 layers in one call: each is the chain of the kernels above, unchanged (same results
 * bit for bit), so that a layer costs one crossing from Java instead of three or four.
 *
 * cai_qgemm_f32:        a = q(x [m,k]); acc = gemv (m == 1) or gemm; y [m,n] = requant_s32_f32(acc)
 *                       (scratch a: m*k bytes, acc: m*n s32).
 * cai_qconv_im2col_f32: quantize_pad -> im2col_u8c4 -> conv_s8p16_u8c4_f32 into y [m, out_h*out_w]
 *                       (pool_k == 0) or into conv_out and then conv_crop_pool_f32 into y
 *                       [m, out_h2, out_w2]; scratch padded: c*ph*pw, patches: u8c4_size(k, P).
 * cai_qconv_direct_f32: quantize_pad_f32_u8c4 -> conv_direct_u8c4_f32 into planes [m, wide] ->
 *                       conv_crop_pool_f32 into y (crop when pool_k == 0).
 * ---------------------------------------------------------------------------------------------- */
void cai_qgemm_f32(const float* x, int m, int k, float x_scale, int x_zero_point,
                   const int8_t* w_packed, int n, const int32_t* bias, const float* scale,
                   int relu, uint8_t* a, int32_t* acc, float* y);
void cai_qconv_im2col_f32(const float* x, int c, int h, int w, int pad_t, int pad_b, int pad_l,
                          int pad_r, float x_scale, int x_zero_point, const int8_t* w_packed,
                          int m, int k_h, int k_w, int stride_h, int stride_w, int dil_h,
                          int dil_w, int out_h, int out_w, const int32_t* bias,
                          const float* scale, int relu, uint8_t* padded, uint8_t* patches,
                          float* conv_out, int pool_k, int pool_s, int out_h2, int out_w2,
                          float* y);
void cai_qconv_direct_f32(const float* x, int c, int h, int w, int pad_t, int pad_b, int pad_l,
                          int pad_r, float x_scale, int x_zero_point, const int8_t* wq, int m,
                          int k_h, int k_w, int pstride, const int32_t* bias, const float* scale,
                          int relu, uint8_t* scratch, uint8_t* x4, float* planes, int wide,
                          int pool_k, int pool_s, int out_h2, int out_w2, float* y);

/* ------------------------------------------------------------------------------------------------
 * The direct convolution for few input channels (C < 4, e.g. an image's first layer): quads along
 * kw instead of channels, so C = 1 wastes nothing on absent channels. Stride 1, dilation 1; needs
 * AVX-512 VBMI (vpermb) besides VNNI (cai_conv_kq_available), else the scalar twin runs.
 *
 * Input: the zero-point-padded u8 image, plane by plane: channel ch at byte ch * pstride, pixel
 * row * pw + col (bytes ph*pw .. pstride-1 zero). Outputs on wide rows as cai_conv_direct_u8c4_f32.
 * For 16 outputs q'..q'+15 and tap (ch, kh, kq) one 64-byte load at q' + kh*pw + 4kq and one vpermb
 * (byte 4i + j <- byte i + j) give each output its 4 consecutive kw bytes; pstride must cover
 * round_up(out_h*pw, 16) + (kH-1)*pw + 4*ceil(kW/4) + 48 bytes (callers check).
 *
 * Format s8k4m16 (weights, packed once per plan from s8p16): blocks of 16 output channels; within
 * a block tap t = (ch * kH + kh) * ceil(kW/4) + kq; within a tap one s32 per channel:
 *
 *   block jb, tap t (64 bytes):
 *   +-------------------------------+-------------------------------+-----+------------------+
 *   | W[16jb][ch][kh][4kq .. 4kq+3] | W[16jb+1][ch][kh][4kq .. +3]  | ... | W[16jb+15][...]  |
 *   +-------------------------------+-------------------------------+-----+------------------+
 *
 * kw >= kW and output channels >= m are 0 (a zero weight makes the byte it meets irrelevant).
 * cai_qconv_kq_f32: quantize_pad each plane -> conv_kq -> conv_crop_pool_f32, one call.
 * ---------------------------------------------------------------------------------------------- */
size_t cai_pack_conv_kq_size(int m, int c, int k_h, int k_w);
void cai_pack_conv_kq(const int8_t* w_packed, int m, int c, int k_h, int k_w, int8_t* out);
int cai_conv_kq_available(void);
void cai_conv_kq_u8_f32(const int8_t* wk, int m, int c, int k_h, int k_w, const uint8_t* img,
                        int pstride, int pw, int out_h, const int32_t* bias, const float* scale,
                        int relu, float* y, int ldy, int use_ref);
void cai_qconv_kq_f32(const float* x, int c, int h, int w, int pad_t, int pad_b, int pad_l,
                      int pad_r, float x_scale, int x_zero_point, const int8_t* wk, int m,
                      int k_h, int k_w, int pstride, const int32_t* bias, const float* scale,
                      int relu, uint8_t* img, float* planes, int wide, int pool_k, int pool_s,
                      int out_h2, int out_w2, float* y, int use_ref);

/* ------------------------------------------------------------------------------------------------
 * The direct convolution with output channels in the lanes, for a pooled output: no scrap columns.
 *
 * Same input as cai_conv_direct_u8c4_f32 (channel quads of the padded image, pstride pixels per
 * group), but each vpdpbusd computes 16 output channels of one output pixel: the u8 operand is the
 * pixel's broadcast channel quad, the s8 operand 16 channels' weight quads (one 64-byte load per
 * tap). Only real outputs are computed (the wide-row kernel also computes the kW-1 columns past
 * each row's end: 40 % more work for a 10-wide output of a 5x5 kernel). Results go to
 * t[(oh*out_w + ow) * ldc + j] (ldc = round_up(m, 16)), then the pool (pool_k x pool_k at stride
 * pool_s; 1/1 copies) scatters y[j][oh2][ow2] in NCHW. Same rounding as every other output stage.
 *
 * Format s8q4n16 (weights, packed once per plan from s8p16): blocks of 16 output channels; within
 * a block tap t = (cg * kH + kh) * kW + kw; within a tap 16 s32 (channel 16jb + r: W[j][4cg..4cg+3]
 * [kh][kw], 0 past c or m), 64 bytes = one zmm:
 *
 *   block jb, tap t (64 bytes): | W[16jb][4cg..+3][kh][kw] | W[16jb+1][...] | ... | W[16jb+15][...] |
 *
 * cai_qconv_direct_t_f32: quantize_pad_f32_u8c4 -> product into t -> pool into y, one call
 * (use_ref: the scalar twins).
 * ---------------------------------------------------------------------------------------------- */
size_t cai_pack_conv_t16_size(int m, int c, int k_h, int k_w);
void cai_pack_conv_t16(const int8_t* w_packed, int m, int c, int k_h, int k_w, int8_t* out);
void cai_qconv_direct_t_f32(const float* x, int c, int h, int w, int pad_t, int pad_b, int pad_l,
                            int pad_r, float x_scale, int x_zero_point, const int8_t* wt, int m,
                            int k_h, int k_w, int pstride, const int32_t* bias, const float* scale,
                            int relu, uint8_t* scratch, uint8_t* x4, float* t, int pool_k,
                            int pool_s, int out_h2, int out_w2, float* y, int use_ref);

/* ------------------------------------------------------------------------------------------------
 * A chain of int8 layers (QLinearGemm -> QLinearGemm -> ..., e.g. an MLP head) in one call: layer i
 * is cai_qgemm_f32 on layer i-1's fp32 output, unchanged (same results bit for bit as one call per
 * layer), so a request crosses from Java once for the whole chain.
 *
 * Descriptor, one per layer (48 bytes, written once per plan by io.cacheai.kernels.Int8GemmChain):
 *
 *    0       4       8              12      16        20         24          32          40      48
 *   +-------+-------+--------------+-------+---------+----------+-----------+-----------+-------+
 *   | k s32 | n s32 | x_zero_point | relu  | x_scale | reserved | w (ptr)   | bias (ptr)| scale |
 *   +-------+-------+--------------+-------+---------+----------+-----------+-----------+-------+
 *
 * w: s8p16 [n,k]; bias: s32 [n] or NULL; scale: fp32 [n]. Layer i+1's k equals layer i's n.
 * Scratch: a (m * max k bytes), acc (m * max_n s32), tmp (2 * m * max_n floats: ping-pong).
 * ---------------------------------------------------------------------------------------------- */
typedef struct {
  int32_t k;
  int32_t n;
  int32_t x_zero_point;
  int32_t relu;
  float x_scale;
  int32_t reserved;
  const int8_t* w;
  const int32_t* bias;
  const float* scale;
} cai_qgemm_layer;
CAI_STATIC_ASSERT(sizeof(cai_qgemm_layer) == 48, "qgemm layer descriptor is 48 bytes");

void cai_qgemm_chain_f32(const cai_qgemm_layer* layers, int count, const float* x, int m,
                         uint8_t* a, int32_t* acc, float* tmp, int max_n, float* y);

/* ------------------------------------------------------------------------------------------------
 * A chain of q4g32 layers (LowBitGemm -> LowBitGemm -> ..., the low-bit MLP head) in one call:
 * layer i is cai_gemm_q4g32_bias_f32 on layer i-1's output zero-padded to round_up(k_i, 32)
 * columns (exactly what one call per layer computes: same row quantization, same dot products,
 * same bias/ReLU pass), so a request crosses from Java once for the whole chain.
 *
 * Descriptor, one per layer (40 bytes, written once per plan by io.cacheai.kernels.Q4GemmChain):
 *
 *    0       4       8       12         16                  24                  32                  40
 *   +-------+-------+-------+----------+-------------------+-------------------+-------------------+
 *   | k s32 | n s32 | relu  | reserved | w (ptr)           | bias (ptr)        | pairs (ptr)       |
 *   +-------+-------+-------+----------+-------------------+-------------------+-------------------+
 *
 * k: logical input width (any >= 1); w: q4g32 [n, round_up(k, 32)]; bias: fp32 [n] or NULL;
 * pairs: the same weights as q4g32p2 (cai_q4_pairs.h) or NULL — with m = 1 and the 512-bit body
 * available the layer runs on them (same results bit for bit), else on w.
 * Layer i+1's k equals layer i's n. tmp: 2 * m * max_kp floats (max_kp = the largest
 * round_up(k, 32)), two regions of m rows at stride round_up(k, 32): region i % 2 holds layer i's
 * padded input (layer 0's only when k % 32 != 0), region (i + 1) % 2 its output. y: [m, n_last].
 * ---------------------------------------------------------------------------------------------- */
typedef struct {
  int32_t k;
  int32_t n;
  int32_t relu;
  int32_t reserved;
  const cai_block_q4g32x2* w;
  const float* bias;
  const void* pairs; /* q4g32p2 weights (const uint8_t*, 64-byte aligned), or NULL */
} cai_q4gemm_layer;
CAI_STATIC_ASSERT(sizeof(cai_q4gemm_layer) == 40, "q4 gemm layer descriptor is 40 bytes");

void cai_q4gemm_chain_f32(const cai_q4gemm_layer* layers, int count, const float* x, int m,
                          float* tmp, int max_kp, float* y);

/* ------------------------------------------------------------------------------------------------
 * Two convolutions handing over u8 channel quads instead of fp32 NCHW (io.cacheai.kernels.
 * Int8Sequence): the bytes are those of the one-layer calls, only the fp32 NCHW copy between them
 * and its re-reading disappear.
 *
 * cai_qconv_kq_quads: cai_qconv_kq_f32 (pooled), then the next convolution's quantization
 * (n_pad_*, n_scale, n_zero_point, n_pstride) of its output straight into x4 as
 * cai_quantize_pad_f32_u8c4 lays it out. On the 2x2 / stride 2 VBMI path with m % 16 == 0 the
 * pooled [pixel, channel] vectors are quantized in registers (16 channels = 4 quads per pixel);
 * otherwise (scalar twins, other pools) cai_qconv_kq_f32 writes pooled [m, out_h2, out_w2] and
 * cai_quantize_pad_f32_u8c4 (n_scratch: m * padded plane bytes) quantizes it.
 *
 * With wc (the kqc weights, cai_pack_conv_kqc, or NULL) the product on that path takes the columns
 * past the last whole kw quad as quads along kh, read from a column image cq (c *
 * cai_kqc_image_size bytes: position row * pw + col holds padded rows row .. row+3 at col, 0 past
 * the plane), built per image by interleaving 4 rows: a 5x5 kernel needs 7 quads instead of 10.
 * kqc layout, per block of 16 output channels and input channel: row quads [kh][kq < k_w / 4],
 * then column quads [kw = 4 (k_w / 4) .. k_w - 1][g < ceil(k_h / 4)] (W[j][ch][4g .. 4g+3][kw],
 * 0 past k_h), 16 channels x 4 bytes each:
 *
 *   block jb, ch, quad t (64 bytes): | W[16jb][..] 4 taps | W[16jb+1][..] 4 taps | ... x16 |
 *
 * cai_conv_direct_t_x4_f32: cai_qconv_direct_t_f32 from its quantized input x4.
 * ---------------------------------------------------------------------------------------------- */
void cai_qconv_kq_quads(const float* x, int c, int h, int w, int pad_t, int pad_b, int pad_l,
                        int pad_r, float x_scale, int x_zero_point, const int8_t* wk, int m,
                        int k_h, int k_w, int pstride, const int32_t* bias, const float* scale,
                        int relu, uint8_t* img, float* planes, int wide, int pool_k, int pool_s,
                        int out_h2, int out_w2, float* pooled, int n_pad_t, int n_pad_b,
                        int n_pad_l, int n_pad_r, float n_scale, int n_zero_point, int n_pstride,
                        uint8_t* n_scratch, uint8_t* x4, const int8_t* wc, uint8_t* cq,
                        int use_ref);
size_t cai_pack_conv_kqc_size(int m, int c, int k_h, int k_w);
void cai_pack_conv_kqc(const int8_t* wk, int m, int c, int k_h, int k_w, int8_t* out);
size_t cai_kqc_image_size(int c, int k_h, int out_h, int pw);
void cai_conv_direct_t_x4_f32(const uint8_t* x4, int c, int h, int w, int pad_t, int pad_b,
                              int pad_l, int pad_r, const int8_t* wt, int m, int k_h, int k_w,
                              int pstride, const int32_t* bias, const float* scale, int relu,
                              float* t, int pool_k, int pool_s, int out_h2, int out_w2, float* y,
                              int use_ref);

#ifdef __cplusplus
}
#endif

#endif /* CAI_INT8_H */
