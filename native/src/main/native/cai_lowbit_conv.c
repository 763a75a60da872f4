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

#include <math.h>
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
  for (int i = 0; i < count; i++) {
    const float v = x[i];
    lo = v < lo ? v : lo; /* NaN compares false: ignored */
    hi = v > hi ? v : hi;
  }
  out[0] = lo;
  out[1] = hi;
}

#if CAI_LB_X86
static __attribute__((target("avx2"))) void cai_minmax_f32_avx2(const float* x, int count,
                                                                 float* out) {
  __m256 lo = _mm256_set1_ps(INFINITY), hi = _mm256_set1_ps(-INFINITY);
  int i = 0;
  for (; i + 8 <= count; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    lo = _mm256_min_ps(v, lo); /* a NaN in v returns the second operand: ignored */
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
  out[0] = rest[0];
  out[1] = rest[1];
}
#endif

void cai_minmax_f32(const float* x, int count, float* out) {
#if CAI_LB_X86
  if (cai_isa_avx2()) {
    cai_minmax_f32_avx2(x, count, out);
    return;
  }
#endif
  cai_minmax_f32_ref(x, count, out);
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
    for (int p0 = 0; p0 < p16; p0 += 16 * CAI_LB_NV) {
      const int nv = (p16 - p0) / 16 < CAI_LB_NV ? (p16 - p0) / 16 : CAI_LB_NV;
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
