/*
 * cacheai low-bit convolution: implementation. Format, contract and float order:
 * cai_lowbit_conv.h. Compiled in the same unit as cai_int8.c (IntKernelsNative), whose dispatch
 * (cai_isa_vnni, cai_isa_avx2, cai_force_scalar) it shares.
 *
 * Tiles: the VNNI body keeps 4 channels x 3 vectors of 16 pixels: per group 12 s32 accumulators
 * (restarted per group of 32 k) and 12 fp32 accumulators (the running sum over groups), per quad 3
 * u8c4 loads, 4 weight broadcasts and 12 vpdpbusd; per group and accumulator one convert and one
 * FMA by the group's scale. The zero-point correction is folded into the bias once per channel. The AVX2 body keeps 2 channels x 2 vectors of 8
 * pixels and replaces vpdpbusd by vpmaddubsw + vpmaddwd(ones) + vpaddd (exact: |w| <= 8).
 */
#include "cai_lowbit_conv.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CAI_LB_X86 1
#else
#define CAI_LB_X86 0
#endif

static inline int cai_lb_round_up(int v, int step) { return (v + step - 1) / step * step; }

static inline int32_t cai_lb_quad(const int8_t* w, int kp, int j, int q) {
  int32_t v;
  memcpy(&v, w + (size_t)j * kp + 4 * (size_t)q, 4);
  return v;
}

/* ------------------------------------------------------------------------------------------------
 * min / max
 * ---------------------------------------------------------------------------------------------- */
static void cai_minmax_f32_ref(const float* x, int count, float* out) {
  float lo = INFINITY, hi = -INFINITY;
  int nan = 0;
  for (int i = 0; i < count; i++) {
    const float v = x[i];
    nan |= v != v;
    lo = v < lo ? v : lo;
    hi = v > hi ? v : hi;
  }
  out[0] = nan ? NAN : lo;
  out[1] = nan ? NAN : hi;
}

#if CAI_LB_X86
static __attribute__((target("avx2"))) void cai_minmax_f32_avx2(const float* x, int count,
                                                                 float* out) {
  __m256 lo = _mm256_set1_ps(INFINITY), hi = _mm256_set1_ps(-INFINITY);
  __m256 nan = _mm256_setzero_ps();
  int i = 0;
  for (; i + 8 <= count; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    nan = _mm256_or_ps(nan, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    lo = _mm256_min_ps(v, lo); /* a NaN in v returns the second operand; flagged above */
    hi = _mm256_max_ps(v, hi);
  }
  float l[8], h[8];
  _mm256_storeu_ps(l, lo);
  _mm256_storeu_ps(h, hi);
  float rest[2];
  cai_minmax_f32_ref(x + i, count - i, rest);
  for (int t = 0; t < 8; t++) {
    rest[0] = l[t] < rest[0] ? l[t] : rest[0];
    rest[1] = h[t] > rest[1] ? h[t] : rest[1];
  }
  const int any_nan = _mm256_movemask_ps(nan) != 0 || rest[0] != rest[0];
  out[0] = any_nan ? NAN : rest[0];
  out[1] = any_nan ? NAN : rest[1];
}
#endif

#if CAI_LB_X86
/* Four independent min and max chains of 16 lanes (one chain was latency-bound), then the AVX2
 * body's reduction order on what is left; min/max are exact, so only the sign of a zero result may
 * differ from the one-chain bodies, which no caller can see (they take min(lo, 0), max(hi, 0)). */
static __attribute__((target("avx2,avx512f"))) void cai_minmax_f32_avx512(const float* x,
                                                                          int count, float* out) {
  __m512 lo0 = _mm512_set1_ps(INFINITY), lo1 = lo0, lo2 = lo0, lo3 = lo0;
  __m512 hi0 = _mm512_set1_ps(-INFINITY), hi1 = hi0, hi2 = hi0, hi3 = hi0;
  __mmask16 nan = 0;
  int i = 0;
  for (; i + 64 <= count; i += 64) {
    const __m512 v0 = _mm512_loadu_ps(x + i), v1 = _mm512_loadu_ps(x + i + 16);
    const __m512 v2 = _mm512_loadu_ps(x + i + 32), v3 = _mm512_loadu_ps(x + i + 48);
    nan |= _mm512_cmp_ps_mask(v0, v1, _CMP_UNORD_Q) | _mm512_cmp_ps_mask(v2, v3, _CMP_UNORD_Q);
    lo0 = _mm512_min_ps(v0, lo0);
    lo1 = _mm512_min_ps(v1, lo1);
    lo2 = _mm512_min_ps(v2, lo2);
    lo3 = _mm512_min_ps(v3, lo3);
    hi0 = _mm512_max_ps(v0, hi0);
    hi1 = _mm512_max_ps(v1, hi1);
    hi2 = _mm512_max_ps(v2, hi2);
    hi3 = _mm512_max_ps(v3, hi3);
  }
  for (; i + 16 <= count; i += 16) {
    const __m512 v = _mm512_loadu_ps(x + i);
    nan |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
    lo0 = _mm512_min_ps(v, lo0);
    hi0 = _mm512_max_ps(v, hi0);
  }
  const __m512 lo = _mm512_min_ps(_mm512_min_ps(lo0, lo1), _mm512_min_ps(lo2, lo3));
  const __m512 hi = _mm512_max_ps(_mm512_max_ps(hi0, hi1), _mm512_max_ps(hi2, hi3));
  float l[16], h[16];
  _mm512_storeu_ps(l, lo);
  _mm512_storeu_ps(h, hi);
  float rest[2];
  cai_minmax_f32_ref(x + i, count - i, rest);
  for (int t = 0; t < 16; t++) {
    rest[0] = l[t] < rest[0] ? l[t] : rest[0];
    rest[1] = h[t] > rest[1] ? h[t] : rest[1];
  }
  const int any_nan = nan != 0 || rest[0] != rest[0];
  out[0] = any_nan ? NAN : rest[0];
  out[1] = any_nan ? NAN : rest[1];
}
#endif

void cai_minmax_f32(const float* x, int count, float* out) {
#if CAI_LB_X86
  if (cai_isa_vnni()) { /* AVX-512 F/BW/VNNI here, not forced off */
    cai_minmax_f32_avx512(x, count, out);
    return;
  }
  if (cai_isa_avx2()) {
    cai_minmax_f32_avx2(x, count, out);
    return;
  }
#endif
  cai_minmax_f32_ref(x, count, out);
}

/* ------------------------------------------------------------------------------------------------
 * The dynamic quantization of an image and the int8 twin's output stage (cai_lowbit_conv.h)
 * ---------------------------------------------------------------------------------------------- */
/* rint in double, round half to even (Math.rint) without libm's nearbyint, a call that saves and
 * restores the FP environment and was most of this stage's time at MNIST sizes: below 2^52,
 * |v| + 2^52 - 2^52 rounds |v| to an integer in the current (nearest-even) mode, exactly; larger
 * values, infinities and NaN are returned as they are (already integers, or failing the caller's
 * checks as Math.rint's result would). */
static inline double cai_lb_rint(double v) {
  const double two52 = 4503599627370496.0;
  const double a = fabs(v);
  const double t = copysign((a + two52) - two52, v);
  return a < two52 ? t : v; /* a select, not a branch: the channel loop below vectorizes */
}

/* The twin's stage per channel, branch-free so that it vectorizes (bias_over_scale NULL: no bias;
 * the two calls below are two loops, so no bias is ever read without one); returns 1 when a channel
 * fails (s > 0 and s <= FLT_MAX is !(s > 0) || !isfinite(s) negated: a NaN fails both). */
static inline __attribute__((always_inline)) int cai_lb_stage_rows(
    int m, float scale, int zp, const float* row_scales, const int32_t* row_sums,
    const double* bias_over_scale, int32_t* stage_bias, float* stage_scale) {
  const double inverse = 1.0 / (double)scale;
  int bad = 0;
  for (int j = 0; j < m; j++) {
    const float s = scale * row_scales[j];
    const double q = bias_over_scale == NULL ? 0.0 : cai_lb_rint(bias_over_scale[j] * inverse);
    const double zsum = (double)zp * (double)row_sums[j];
    const double total = q - zsum;
    const int ok = (s > 0.0f) & (s <= FLT_MAX) & (fabs(total) <= (double)(1 << 28));
    bad |= !ok;
    stage_scale[j] = s;
    stage_bias[j] = (int32_t)(ok ? total : 0.0);
  }
  return bad;
}

int cai_lb_dynamic_stage(const float* x, int count, int m, const uint8_t* constants, int has_bias,
                         int32_t* stage_bias, float* stage_scale) {
  const float* row_scales = (const float*)constants;
  const int32_t* row_sums = (const int32_t*)(constants + 4 * (size_t)m);
  const double* bias_over_scale = (const double*)(constants + 8 * (size_t)m); /* has_bias only */
  float mm[2];
  cai_minmax_f32(x, count, mm);
  if (mm[0] != mm[0] || mm[1] != mm[1]) {
    return 0;
  }
  const float lo = mm[0] < 0.0f ? mm[0] : 0.0f; /* Java: Math.min(min, 0f), Math.max(max, 0f) */
  const float hi = mm[1] > 0.0f ? mm[1] : 0.0f;
  const float span = hi - lo;
  if (!isfinite(lo) || !isfinite(hi) || !isfinite(span)) {
    return 0;
  }
  float scale = span / 255.0f;
  if (!(scale >= FLT_MIN)) { /* an all-zero (or all-tiny) image */
    scale = FLT_MIN;
  }
  const float ratio = -lo / scale; /* fp32 division, then rounded in double as Math.rint */
  double z = cai_lb_rint((double)ratio);
  z = z > 255.0 ? 255.0 : (z < 0.0 ? 0.0 : z);
  const int zp = (int)z;
  const int bad = has_bias ? cai_lb_stage_rows(m, scale, zp, row_scales, row_sums, bias_over_scale,
                                                stage_bias, stage_scale)
                           : cai_lb_stage_rows(m, scale, zp, row_scales, row_sums, NULL,
                                                stage_bias, stage_scale);
  if (bad) {
    return -1;
  }
  stage_scale[m] = scale;
  stage_scale[m + 1] = (float)zp;
  return 1;
}

/* ------------------------------------------------------------------------------------------------
 * The convolution
 * ---------------------------------------------------------------------------------------------- */
/* bias[j] - x_scale * zp * zsum[j]: the zero-point correction folded into the channel's bias. */
static inline float cai_lb_bias(const float* bias, const float* zsum, int j, float x_scale, int zp) {
  return fmaf(-x_scale * (float)zp, zsum[j], bias == NULL ? 0.0f : bias[j]);
}

static inline float cai_lb_finish(float f, float x_scale, float b, int relu) {
  const float y = fmaf(f, x_scale, b);
  return relu && y < 0.0f ? 0.0f : y;
}

static void cai_conv_s4g32_u8c4_f32_ref(const int8_t* w, const float* d, const float* zsum,
                                        int m, int k, const uint8_t* x4, int pixels,
                                        float x_scale, int zp, const float* bias, int relu,
                                        float* y, int ldy) {
  const int kp = cai_lb_round_up(k, CAI_S4G32_GROUP);
  const int groups = kp / CAI_S4G32_GROUP;
  const int quads = (k + 3) / 4;
  const int p16 = cai_lb_round_up(pixels, CAI_U8C4_PIXELS);
  for (int j = 0; j < m; j++) {
    const float b = cai_lb_bias(bias, zsum, j, x_scale, zp);
    for (int p = 0; p < pixels; p++) {
      float f = 0.0f;
      for (int g = 0; g < groups; g++) {
        int32_t acc = 0;
        const int q_end = 8 * g + 8 < quads ? 8 * g + 8 : quads;
        for (int q = 8 * g; q < q_end; q++) {
          const uint8_t* xs = x4 + ((size_t)q * p16 + p) * 4;
          const int8_t* ws = w + (size_t)j * kp + 4 * (size_t)q;
          for (int i = 0; i < 4; i++) {
            acc += (int32_t)xs[i] * (int32_t)ws[i];
          }
        }
        f = fmaf((float)acc, d[(size_t)j * groups + g], f);
      }
      y[(size_t)j * ldy + p] = cai_lb_finish(f, x_scale, b, relu);
    }
  }
}

#if CAI_LB_X86
#define CAI_LB_VNNI_INLINE \
  static inline __attribute__((always_inline, target("avx512f,avx512bw,avx512vnni")))
#define CAI_LB_VNNI __attribute__((target("avx512f,avx512bw,avx512vnni")))
#define CAI_LB_MR 4
#define CAI_LB_NV 3

/* One tile: MR channels (j0 ..) x NV vectors of 16 pixels (p0 ..), all k. */
CAI_LB_VNNI_INLINE void cai_lb_vnni_tile(const int MR, const int NV, const int8_t* w,
                                         const float* d, const float* zsum, int kp, int groups,
                                         int quads, int j0, const uint8_t* x4, int p16, int p0,
                                         int pixels, float x_scale, int zp, const float* bias,
                                         int relu, float* y, int ldy) {
  __m512 facc[CAI_LB_MR][CAI_LB_NV];
  for (int r = 0; r < CAI_LB_MR; r++) {
    for (int v = 0; v < CAI_LB_NV; v++) {
      facc[r][v] = _mm512_setzero_ps();
    }
  }
  for (int g = 0; g < groups; g++) {
    __m512i acc[CAI_LB_MR][CAI_LB_NV];
    for (int r = 0; r < CAI_LB_MR; r++) {
      for (int v = 0; v < CAI_LB_NV; v++) {
        acc[r][v] = _mm512_setzero_si512();
      }
    }
    const int q_end = 8 * g + 8 < quads ? 8 * g + 8 : quads;
    for (int q = 8 * g; q < q_end; q++) {
      const uint8_t* xq = x4 + ((size_t)q * p16 + p0) * 4;
      __m512i xv[CAI_LB_NV];
      for (int v = 0; v < NV; v++) {
        xv[v] = _mm512_loadu_si512(xq + 64 * v);
      }
      for (int r = 0; r < MR; r++) {
        const __m512i wq = _mm512_set1_epi32(cai_lb_quad(w, kp, j0 + r, q));
        for (int v = 0; v < NV; v++) {
          acc[r][v] = _mm512_dpbusd_epi32(acc[r][v], xv[v], wq);
        }
      }
    }
    for (int r = 0; r < MR; r++) {
      const size_t at = (size_t)(j0 + r) * groups + g;
      const __m512 dg = _mm512_set1_ps(d[at]);
      for (int v = 0; v < NV; v++) {
        facc[r][v] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc[r][v]), dg, facc[r][v]);
      }
    }
  }
  const __m512 zero = _mm512_setzero_ps();
  const __m512 xs = _mm512_set1_ps(x_scale);
  for (int r = 0; r < MR; r++) {
    const int j = j0 + r;
    const __m512 b = _mm512_set1_ps(cai_lb_bias(bias, zsum, j, x_scale, zp));
    for (int v = 0; v < NV; v++) {
      const int p = p0 + 16 * v;
      const int count = pixels - p < 16 ? pixels - p : 16;
      if (count <= 0) {
        continue;
      }
      const __mmask16 mask = (__mmask16)(count == 16 ? 0xFFFF : (1u << count) - 1u);
      __m512 f = _mm512_fmadd_ps(facc[r][v], xs, b);
      if (relu) { /* exactly "y < 0 ? 0 : y", as the scalar twin */
        f = _mm512_mask_mov_ps(f, _mm512_cmp_ps_mask(f, zero, _CMP_LT_OQ), zero);
      }
      _mm512_mask_storeu_ps(y + (size_t)j * ldy + p, mask, f);
    }
  }
}

static CAI_LB_VNNI void cai_conv_s4g32_u8c4_f32_vnni(const int8_t* w, const float* d,
                                                     const float* zsum, int m, int k,
                                                     const uint8_t* x4, int pixels, float x_scale,
                                                     int zp, const float* bias, int relu, float* y,
                                                     int ldy) {
  const int kp = cai_lb_round_up(k, CAI_S4G32_GROUP);
  const int groups = kp / CAI_S4G32_GROUP;
  const int quads = (k + 3) / 4;
  const int p16 = cai_lb_round_up(pixels, CAI_U8C4_PIXELS);
  for (int j0 = 0; j0 < m; j0 += CAI_LB_MR) {
    const int mr = m - j0 < CAI_LB_MR ? m - j0 : CAI_LB_MR;
    for (int p0 = 0, nv; p0 < p16; p0 += 16 * nv) {
      const int left = (p16 - p0) / 16;
      /* 3 vectors per tile; 4 left become 2 + 2 rather than 3 + 1 (a 1-vector tile pays 4
       * broadcasts per 4 vpdpbusd) */
      nv = left == 4 ? 2 : (left < CAI_LB_NV ? left : CAI_LB_NV);
#define CAI_LB_TILE(MR_, NV_, J_)                                                              \
  cai_lb_vnni_tile(MR_, NV_, w, d, zsum, kp, groups, quads, J_, x4, p16, p0, pixels, x_scale, zp, \
                   bias, relu, y, ldy)
      if (mr == CAI_LB_MR) {
        switch (nv) {
          case 3: CAI_LB_TILE(4, 3, j0); break;
          case 2: CAI_LB_TILE(4, 2, j0); break;
          default: CAI_LB_TILE(4, 1, j0); break;
        }
      } else {
        for (int r = 0; r < mr; r++) {
          switch (nv) {
            case 3: CAI_LB_TILE(1, 3, j0 + r); break;
            case 2: CAI_LB_TILE(1, 2, j0 + r); break;
            default: CAI_LB_TILE(1, 1, j0 + r); break;
          }
        }
      }
#undef CAI_LB_TILE
    }
  }
}

/* AVX2: 2 channels x 2 vectors of 8 pixels (one 16-pixel u8c4 block). */
#define CAI_LB_AVX2 __attribute__((target("avx2,fma")))
#define CAI_LB_AVX2_INLINE static inline __attribute__((always_inline, target("avx2,fma")))

CAI_LB_AVX2_INLINE void cai_lb_avx2_tile(const int MR, const int8_t* w, const float* d,
                                         const float* zsum, int kp, int groups, int quads, int j0,
                                         const uint8_t* x4, int p16, int p0, int pixels,
                                         float x_scale, int zp, const float* bias, int relu,
                                         float* y, int ldy) {
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 facc[2][2];
  for (int r = 0; r < 2; r++) {
    facc[r][0] = _mm256_setzero_ps();
    facc[r][1] = _mm256_setzero_ps();
  }
  for (int g = 0; g < groups; g++) {
    __m256i acc[2][2];
    for (int r = 0; r < 2; r++) {
      acc[r][0] = _mm256_setzero_si256();
      acc[r][1] = _mm256_setzero_si256();
    }
    const int q_end = 8 * g + 8 < quads ? 8 * g + 8 : quads;
    for (int q = 8 * g; q < q_end; q++) {
      const uint8_t* xq = x4 + ((size_t)q * p16 + p0) * 4;
      const __m256i x0 = _mm256_loadu_si256((const __m256i*)xq);
      const __m256i x1 = _mm256_loadu_si256((const __m256i*)(xq + 32));
      for (int r = 0; r < MR; r++) {
        const __m256i wq = _mm256_set1_epi32(cai_lb_quad(w, kp, j0 + r, q));
        acc[r][0] = _mm256_add_epi32(
            acc[r][0], _mm256_madd_epi16(_mm256_maddubs_epi16(x0, wq), ones));
        acc[r][1] = _mm256_add_epi32(
            acc[r][1], _mm256_madd_epi16(_mm256_maddubs_epi16(x1, wq), ones));
      }
    }
    for (int r = 0; r < MR; r++) {
      const size_t at = (size_t)(j0 + r) * groups + g;
      const __m256 dg = _mm256_set1_ps(d[at]);
      for (int v = 0; v < 2; v++) {
        facc[r][v] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc[r][v]), dg, facc[r][v]);
      }
    }
  }
  const __m256 zero = _mm256_setzero_ps();
  const __m256 xs = _mm256_set1_ps(x_scale);
  for (int r = 0; r < MR; r++) {
    const int j = j0 + r;
    const __m256 b = _mm256_set1_ps(cai_lb_bias(bias, zsum, j, x_scale, zp));
    for (int v = 0; v < 2; v++) {
      const int p = p0 + 8 * v;
      const int count = pixels - p < 8 ? pixels - p : 8;
      if (count <= 0) {
        continue;
      }
      __m256 f = _mm256_fmadd_ps(facc[r][v], xs, b);
      if (relu) {
        f = _mm256_blendv_ps(f, zero, _mm256_cmp_ps(f, zero, _CMP_LT_OQ));
      }
      if (count == 8) {
        _mm256_storeu_ps(y + (size_t)j * ldy + p, f);
      } else {
        float tmp[8];
        _mm256_storeu_ps(tmp, f);
        memcpy(y + (size_t)j * ldy + p, tmp, (size_t)count * sizeof(float));
      }
    }
  }
}

static CAI_LB_AVX2 void cai_conv_s4g32_u8c4_f32_avx2(const int8_t* w, const float* d,
                                                     const float* zsum, int m, int k,
                                                     const uint8_t* x4, int pixels, float x_scale,
                                                     int zp, const float* bias, int relu, float* y,
                                                     int ldy) {
  const int kp = cai_lb_round_up(k, CAI_S4G32_GROUP);
  const int groups = kp / CAI_S4G32_GROUP;
  const int quads = (k + 3) / 4;
  const int p16 = cai_lb_round_up(pixels, CAI_U8C4_PIXELS);
  for (int j0 = 0; j0 < m; j0 += 2) {
    for (int p0 = 0; p0 < p16; p0 += 16) {
      if (m - j0 >= 2) {
        cai_lb_avx2_tile(2, w, d, zsum, kp, groups, quads, j0, x4, p16, p0, pixels, x_scale, zp,
                         bias, relu, y, ldy);
      } else {
        cai_lb_avx2_tile(1, w, d, zsum, kp, groups, quads, j0, x4, p16, p0, pixels, x_scale, zp,
                         bias, relu, y, ldy);
      }
    }
  }
}
#endif

/* ------------------------------------------------------------------------------------------------
 * Patches: quantize + pad + u8c4 im2col of one image (contract: cai_lowbit_conv.h)
 * ---------------------------------------------------------------------------------------------- */
#if CAI_LB_X86
#define CAI_LB_VBMI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vbmi")))

/* 1 when the AVX-512 VBMI patch body may run (with the VNNI conv body; same overrides). */
static int cai_lb_isa_vbmi(void) {
  static int known = -1;
  if (known < 0) {
    known = __builtin_cpu_supports("avx512vbmi") && __builtin_cpu_supports("avx512bw") &&
            __builtin_cpu_supports("avx512vl");
  }
  return known && cai_isa_vnni();
}

/* out[i] = q(x[i]) for i < count, the rule of cai_quantize_one (x / scale, NaN -> zp, clamp to
 * +-1024, rint, + zp, saturate 0..255), 16 per step with masks: short rows need no scalar tail. */
static CAI_LB_VBMI void cai_lb_quantize_row(const float* x, int count, __m512 scale, __m512i zp,
                                            uint8_t* out) {
  const __m512 lo = _mm512_set1_ps(-1024.0f), hi = _mm512_set1_ps(1024.0f);
  const __m512i zero = _mm512_setzero_si512(), top = _mm512_set1_epi32(255);
  for (int i = 0; i < count; i += 16) {
    const int n = count - i < 16 ? count - i : 16;
    const __mmask16 mask = (__mmask16)(n == 16 ? 0xFFFF : (1u << n) - 1u);
    __m512 v = _mm512_div_ps(_mm512_maskz_loadu_ps(mask, x + i), scale);
    const __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
    v = _mm512_min_ps(_mm512_max_ps(v, lo), hi);
    v = _mm512_mask_mov_ps(v, nan, _mm512_setzero_ps());
    __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(v), zp);
    q = _mm512_min_epi32(_mm512_max_epi32(q, zero), top);
    _mm_mask_storeu_epi8(out + i, mask, _mm512_cvtepi32_epi8(q));
  }
}

/* Per-thread table of the k-rows' offsets in the padded image (grown on demand, kept). */
static __thread int32_t* cai_lb_rows = NULL;
static __thread size_t cai_lb_rows_capacity = 0;

static int32_t* cai_lb_row_table(size_t count) {
  if (cai_lb_rows_capacity < count) {
    int32_t* grown = (int32_t*)realloc(cai_lb_rows, count * sizeof(int32_t));
    if (grown == NULL) {
      return NULL;
    }
    cai_lb_rows = grown;
    cai_lb_rows_capacity = count;
  }
  return cai_lb_rows;
}

/* u8c4 patches with one vpermb-style gather per pair of k-rows: for a block of 16 pixels (which
 * may span output rows) the byte offsets of its pixels relative to its first pixel are the same
 * for every k-row, so one index vector per block serves all quads:
 *   idx[4i + j] = rel[i] + (j odd ? 64 : 0)
 *   t01 = permutex2var(row_0, idx, row_1), t23 = permutex2var(row_2, idx, row_3)
 *   out = blend(0xCC.. : t23 over t01), zero past the last pixel
 * Each row_j is a masked 64-byte load of k-row j from the block's first pixel (span bytes: no read
 * outside the pixels' own extent). Returns 0 (nothing written) when a block spans more than 64
 * bytes or the table cannot be allocated: the caller then runs the generic builder. */
static CAI_LB_VBMI int cai_lb_im2col_vbmi(const uint8_t* padded, int channels, int ph, int pw,
                                          int k_h, int k_w, int s_h, int s_w, int d_h, int d_w,
                                          int out_h, int out_w, uint8_t* out) {
  const int k = channels * k_h * k_w;
  const int pixels = out_h * out_w;
  const int p16 = cai_lb_round_up(pixels, CAI_U8C4_PIXELS);
  const int quads = (k + 3) / 4;
  for (int p0 = 0; p0 < pixels; p0 += 16) { /* every block's span first: all or nothing */
    const int last = (p0 + 15 < pixels ? p0 + 15 : pixels - 1);
    const long span = (long)(last / out_w - p0 / out_w) * s_h * pw +
                      (long)(last % out_w - p0 % out_w) * s_w + 1;
    if (span > 64) {
      return 0;
    }
  }
  int32_t* rows = cai_lb_row_table((size_t)quads * 4);
  if (rows == NULL) {
    return 0;
  }
  int r = 0;
  for (int c = 0; c < channels; c++) {
    for (int kh = 0; kh < k_h; kh++) {
      for (int kw = 0; kw < k_w; kw++) {
        rows[r++] = (int32_t)((size_t)c * ph * pw + (size_t)kh * d_h * pw + (size_t)kw * d_w);
      }
    }
  }
  for (; r < quads * 4; r++) {
    rows[r] = -1;
  }
  const __mmask64 high_pairs = 0xCCCCCCCCCCCCCCCCull;
  for (int p0 = 0; p0 < p16; p0 += 16) {
    uint8_t* dst = out + (size_t)p0 * 4;
    const int count = pixels - p0 < 16 ? (pixels - p0 > 0 ? pixels - p0 : 0) : 16;
    if (count == 0) {
      for (int q = 0; q < quads; q++) {
        _mm512_storeu_si512(dst + (size_t)q * p16 * 4, _mm512_setzero_si512());
      }
      continue;
    }
    const int oh0 = p0 / out_w, ow0 = p0 % out_w;
    const size_t base = (size_t)oh0 * s_h * pw + (size_t)ow0 * s_w;
    uint8_t idx_bytes[64];
    int span = 1;
    int rel = 0, ow = ow0, row_start = 0; /* walk the block's pixels: no divisions */
    for (int i = 0; i < 16; i++) {
      if (i > 0 && i < count) {
        if (++ow == out_w) {
          ow = 0;
          row_start += s_h * pw;
          rel = row_start - ow0 * s_w;
        } else {
          rel += s_w;
        }
      }
      span = rel + 1 > span ? rel + 1 : span;
      for (int j = 0; j < 4; j++) {
        idx_bytes[4 * i + j] = (uint8_t)(rel + (j & 1 ? 64 : 0));
      }
    }
    const __m512i idx = _mm512_loadu_si512(idx_bytes);
    const __mmask64 load = span == 64 ? ~(__mmask64)0 : (((__mmask64)1 << span) - 1);
    const __mmask64 keep = count == 16 ? ~(__mmask64)0 : (((__mmask64)1 << (4 * count)) - 1);
    for (int q = 0; q < quads; q++) {
      const int32_t* r4 = rows + 4 * q;
      __m512i v[4];
      for (int j = 0; j < 4; j++) {
        v[j] = r4[j] < 0 ? _mm512_setzero_si512()
                         : _mm512_maskz_loadu_epi8(load, padded + r4[j] + base);
      }
      const __m512i t01 = _mm512_permutex2var_epi8(v[0], idx, v[1]);
      const __m512i t23 = _mm512_permutex2var_epi8(v[2], idx, v[3]);
      const __m512i all = _mm512_mask_blend_epi8(high_pairs, t01, t23);
      _mm512_storeu_si512(dst + (size_t)q * p16 * 4, _mm512_maskz_mov_epi8(keep, all));
    }
  }
  return 1;
}

static CAI_LB_VBMI void cai_lb_quantize_pad_vbmi(const float* x, int channels, int h, int w,
                                                 int pad_t, int pad_b, int pad_l, int pad_r,
                                                 float scale, int zp, uint8_t* out) {
  const int ph = h + pad_t + pad_b;
  const int pw = w + pad_l + pad_r;
  const __m512 s = _mm512_set1_ps(scale);
  const __m512i z = _mm512_set1_epi32(zp);
  if (pad_t == 0 && pad_b == 0 && pad_l == 0 && pad_r == 0) {
    cai_lb_quantize_row(x, channels * h * w, s, z, out);
    return;
  }
  memset(out, zp, (size_t)channels * ph * pw);
  for (int c = 0; c < channels; c++) {
    for (int r = 0; r < h; r++) {
      cai_lb_quantize_row(x + ((size_t)c * h + r) * w, w, s, z,
                          out + ((size_t)c * ph + pad_t + r) * pw + pad_l);
    }
  }
}
#endif

void cai_lowbit_patches_f32_u8c4(const float* x, int channels, int h, int w, int pad_t, int pad_b,
                                 int pad_l, int pad_r, float scale, int zero_point, int k_h,
                                 int k_w, int s_h, int s_w, int d_h, int d_w, int out_h, int out_w,
                                 uint8_t* padded, uint8_t* out, int use_generic) {
  const int ph = h + pad_t + pad_b;
  const int pw = w + pad_l + pad_r;
#if CAI_LB_X86
  if (!use_generic && cai_lb_isa_vbmi()) {
    cai_lb_quantize_pad_vbmi(x, channels, h, w, pad_t, pad_b, pad_l, pad_r, scale, zero_point,
                             padded);
    if (cai_lb_im2col_vbmi(padded, channels, ph, pw, k_h, k_w, s_h, s_w, d_h, d_w, out_h, out_w,
                           out)) {
      return;
    }
    cai_im2col_u8c4(padded, channels, ph, pw, k_h, k_w, s_h, s_w, d_h, d_w, out_h, out_w, out);
    return;
  }
#endif
  (void)use_generic;
  cai_quantize_pad_f32_u8(x, channels, h, w, pad_t, pad_b, pad_l, pad_r, scale, zero_point,
                          padded);
  cai_im2col_u8c4(padded, channels, ph, pw, k_h, k_w, s_h, s_w, d_h, d_w, out_h, out_w, out);
}

int cai_conv_s4g32_body(void) {
#if CAI_LB_X86
  if (cai_isa_vnni()) {
    return 2;
  }
  if (cai_isa_avx2()) {
    return 1;
  }
#endif
  return 0;
}

void cai_conv_s4g32_u8c4_f32(const int8_t* w, const float* d, const float* zsum, int m, int k,
                             const uint8_t* x4, int pixels, float x_scale, int x_zero_point,
                             const float* bias, int relu, float* y, int ldy, int use_ref) {
  const int body = use_ref ? 0 : cai_conv_s4g32_body();
#if CAI_LB_X86
  if (body == 2) {
    cai_conv_s4g32_u8c4_f32_vnni(w, d, zsum, m, k, x4, pixels, x_scale, x_zero_point, bias, relu,
                                 y, ldy);
    return;
  }
  if (body == 1) {
    cai_conv_s4g32_u8c4_f32_avx2(w, d, zsum, m, k, x4, pixels, x_scale, x_zero_point, bias, relu,
                                 y, ldy);
    return;
  }
#endif
  (void)body;
  cai_conv_s4g32_u8c4_f32_ref(w, d, zsum, m, k, x4, pixels, x_scale, x_zero_point, bias, relu, y,
                              ldy);
}
