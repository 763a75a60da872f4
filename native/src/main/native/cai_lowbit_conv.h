/*
 * cacheai low-bit convolution: 4-bit (and 3/2-bit, re-encoded exactly) weights in groups of 32
 * along K, u8 activations with one dynamic scale and zero point per image, fp32 NCHW output.
 *
 *   y[j, p] = relu?( x_scale * (sum_g d[j][g] * sum_{k in g} w[j][k] * X[k][p] - zp * zsum[j])
 *                    + bias[j] )                                         j < m, p < P
 *
 * X is the u8 patch matrix [k, P] in the u8c4 layout of cai_int8.h (the patch builders
 * cai_quantize_pad_f32_u8 + cai_im2col_u8c4 of the int8 convolution are reused as they are), so
 * X[k][p] - zp is the real activation / x_scale. The inner sums are exact in s32; each group's sum
 * is converted to fp32 once and scaled by its d.
 *
 * Format s4g32 (built once at load from the q4g32 blocks, io.cacheai.kernels.LowBitConv):
 * 8 bits per weight in memory (the bundle keeps its 2-4 bits on disk). For W [m, k]:
 * Kp = k rounded up to 32, G = Kp / 32.
 *
 *   w     m x Kp   int8   row j at byte j*Kp; w in -8..7 (q - 8 of a q4g32 nibble); 0 past k
 *   d     m x G    fp32   d[j*G + g] = the scale of row j's group g (weight = d * w)
 *   zsum  m        fp32   zsum[j] = sum_g d[j][g] * (sum of group g's w): the zero-point term
 *
 *   row j of w:  | w[j][0..31] group 0 | w[j][32..63] group 1 | ... | w[j][Kp-32..Kp-1] |
 *   quad q (4 bytes at j*Kp + 4q) = w[j][4q..4q+3]: the s8 operand broadcast against 16 pixels x
 *   4 k of X (one 64-byte u8c4 load) by vpdpbusd; quads 8g..8g+7 make group g.
 *
 * Exactness: |w| <= 8 and X <= 255, so a group's sum is at most 32 * 255 * 8 = 65280: exact in s32
 * and in its conversion to fp32 (< 2^24). On AVX2 (no VNNI)
 * _mm256_maddubs_epi16 cannot saturate either: 2 * 255 * 8 = 4080 < 32767 -- only because |w| <= 8.
 *
 * Float order (the same in every body, so they agree bit for bit): f = 0; for g in order:
 * f = fmaf((float) acc_g, d[j][g], f); b = fmaf(-x_scale * (float) zp, zsum[j], bias[j]);
 * y = fmaf(f, x_scale, b); relu: y < 0 ? 0 : y.
 *
 * cai_minmax_f32: out[0] = min, out[1] = max of x[0..count) (count >= 1); both NaN when any x is
 *   NaN (callers then keep the fp32 path, which propagates it).
 *
 * Dispatch: AVX-512 VNNI body (cai_isa_vnni), else AVX2 (cai_isa_avx2), else the scalar twin;
 * use_ref forces the twin. Callers (io.cacheai.kernels.LowBitConv) validate every extent.
 * Threads: any number; the patch builder keeps one table of k-row offsets per calling thread
 * (4 bytes per k, grown on demand and kept for the thread's lifetime, as cai_int8.c's scratch).
 */
#ifndef CAI_LOWBIT_CONV_H
#define CAI_LOWBIT_CONV_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CAI_S4G32_GROUP 32

void cai_minmax_f32(const float* x, int count, float* out);

/*
 * cai_lb_dynamic_stage: image x[0..count) quantized to u8 as the low-bit convolution does per image
 * (lo = min(min x, 0), hi = max(max x, 0), scale = (hi - lo) / 255 raised to FLT_MIN, zero point
 * rint(-lo / scale) clamped to 0..255), and the output stage of the int8 twin of m output channels
 * for it, from the channels' constants (one buffer, made once per plan, 8-byte aligned; the
 * doubles only when has_bias):
 *
 *   0                 4m                 8m                                16m
 *   +-----------------+------------------+----------------------------------+
 *   | row_scales f32[m] | row_sums s32[m] | bias_over_scale f64[m]           |
 *   +-----------------+------------------+----------------------------------+
 *   row_scales[j] = d_j (the twin's weight scale), row_sums[j] = Σ_k q[j,k], bias_over_scale[j] = bias_j / d_j
 *
 *   stage_scale[j] = scale * d_j                                            (fp32)
 *   stage_bias[j]  = rint(bias_over_scale[j] * (1.0 / scale)) - zp * row_sums[j]   (in double, s32)
 * then stage_scale[m] = scale, stage_scale[m + 1] = zp (m + 2 floats). Returns 1; 0 when x holds a NaN or an infinity or its range
 * overflows (nothing written but nothing is usable); -1 when a stage scale is not a positive finite
 * fp32 or |stage bias| > 2^28 (stage partly written, unusable). The same operations as the Java
 * code it replaces (LowBitConvKernel), hence the same values.
 */
int cai_lb_dynamic_stage(const float* x, int count, int m, const uint8_t* constants, int has_bias,
                         int32_t* stage_bias, float* stage_scale);

void cai_conv_s4g32_u8c4_f32(const int8_t* w, const float* d, const float* zsum, int m, int k,
                             const uint8_t* x4, int pixels, float x_scale, int x_zero_point,
                             const float* bias, int relu, float* y, int ldy, int use_ref);

/* The u8c4 patches of one image: exactly cai_quantize_pad_f32_u8 into padded (channels x ph x pw
 * bytes, ph = h + pad_t + pad_b, pw = w + pad_l + pad_r) followed by cai_im2col_u8c4 into out
 * (cai_u8c4_size(channels * k_h * k_w, out_h * out_w) bytes), the same bytes. With AVX-512 VBMI
 * (and the VNNI body allowed) rows are quantized 16 at a time with masks and the patches gathered
 * with one two-source byte permute per pair of k-rows and 16 pixels (blocks of 16 output pixels
 * may span output rows when their bytes lie within 64 of each other: MNIST's 14- and 28-byte
 * rows); otherwise, or with use_generic, the two int8 builders run. Callers check that every
 * window index is inside the padded image. */
void cai_lowbit_patches_f32_u8c4(const float* x, int channels, int h, int w, int pad_t, int pad_b,
                                 int pad_l, int pad_r, float scale, int zero_point, int k_h,
                                 int k_w, int s_h, int s_w, int d_h, int d_w, int out_h, int out_w,
                                 uint8_t* padded, uint8_t* out, int use_generic);

/* Which body cai_conv_s4g32_u8c4_f32 runs without use_ref: 2 = VNNI, 1 = AVX2, 0 = scalar. */
int cai_conv_s4g32_body(void);

#ifdef __cplusplus
}
#endif

#endif /* CAI_LOWBIT_CONV_H */
