/*
 * cacheai lookup kernels: implementation. Shapes, contracts and rounding rules: cai_lut.h.
 *
 * encode_tree (AVX2): eight codebooks per step, one int32 lane each. Per level one gather brings
 * the eight split-dimension values of x, one gather the eight thresholds of the lanes' current
 * nodes; node = 2*node + 1 - (x > t ? -1 : 0): compares, shifts and adds only. The split-dimension
 * offsets are computed once per group of codebooks and reused for every row.
 *
 * encode_centroids (AVX2): the 16 centroids of a codebook are two vectors of 8 lanes; per
 * dimension i two gathers bring centroid k's coordinate i into lane k, and the lanes accumulate
 * (x_i - c_ki)^2 in dimension order, as the scalar twin does. Argmin: NaN lanes -> +inf, horizontal
 * min, the lowest lane equal to it (ties -> lowest key).
 *
 * accumulate_k16 (AVX2): outputs in blocks of up to 128 (8 vectors of 16 s16 lanes, all in
 * registers); per codebook one table row slice is loaded 16 bytes at a time, sign-extended to s16
 * (vpmovsxbw) and added. Every CAI_LUT_S16_CODEBOOKS codebooks the s16 sums are widened into s32.
 * Leftover outputs: one 8-wide step, then scalar. The table row of codebook c + CAI_LUT_PREFETCH
 * is prefetched: with large m each codebook's row lies in a different page and the hardware
 * prefetcher cannot guess the key-dependent jump.
 */
#include "cai_lut.h"

#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CAI_LUT_X86 1
#else
#define CAI_LUT_X86 0
#endif

/* AVX2 only, deliberately not FMA: with FMA enabled the compiler may contract a*b + c into one
 * rounding, which would break bit equality with the scalar twin and the Java reference. */
#define CAI_LUT_AVX2 __attribute__((target("avx2")))
#define CAI_LUT_AVX2_INLINE static inline __attribute__((always_inline, target("avx2")))

#define CAI_LUT_BLOCK_VECTORS 8 /* s16 vectors of 16 outputs per accumulate block: 128 outputs */
#define CAI_LUT_PREFETCH 4      /* codebooks ahead whose table rows are prefetched */

/* ------------------------------------------------------------------------------------------------
 * Dispatch
 * ---------------------------------------------------------------------------------------------- */
static int cai_lut_forced_scalar = 0;

int cai_lut_isa_avx2(void) {
#if CAI_LUT_X86
  if (cai_lut_forced_scalar) {
    return 0;
  }
  return __builtin_cpu_supports("avx2");
#else
  return 0;
#endif
}

void cai_lut_force_scalar(int force) { cai_lut_forced_scalar = force != 0; }

/* ------------------------------------------------------------------------------------------------
 * Scalar twins
 * ---------------------------------------------------------------------------------------------- */
static inline uint8_t cai_lut_tree_key(const float* xs, const int32_t* sd, const float* t) {
  int node = 0;
  for (int l = 0; l < CAI_LUT_DEPTH; l++) {
    node = 2 * node + 1 + (xs[sd[l]] > t[node] ? 1 : 0);
  }
  return (uint8_t)(node - CAI_LUT_NODES);
}

void cai_lut_encode_tree_ref(const float* x, int rows, int d, int codebooks, int width,
                             const int32_t* split_dims, const float* thresholds, uint8_t* keys) {
  for (int r = 0; r < rows; r++) {
    const float* xr = x + (size_t)r * d;
    for (int c = 0; c < codebooks; c++) {
      keys[(size_t)r * codebooks + c] =
          cai_lut_tree_key(xr + (size_t)c * width, split_dims + (size_t)c * CAI_LUT_DEPTH,
                           thresholds + (size_t)c * CAI_LUT_NODES);
    }
  }
}

/* Argmin with the contract's rules: key 0 when dist[0] is NaN, NaN never wins, ties -> lowest. */
static inline uint8_t cai_lut_argmin16(const float* dist) {
  int best = 0;
  float best_dist = dist[0];
  for (int k = 1; k < CAI_LUT_KEYS; k++) {
    if (dist[k] < best_dist) {
      best = k;
      best_dist = dist[k];
    }
  }
  return (uint8_t)best;
}

void cai_lut_encode_centroids_ref(const float* x, int rows, int d, int codebooks, int width,
                                  const float* centroids, uint8_t* keys) {
  float dist[CAI_LUT_KEYS];
  for (int r = 0; r < rows; r++) {
    for (int c = 0; c < codebooks; c++) {
      const float* xs = x + (size_t)r * d + (size_t)c * width;
      const float* cen = centroids + (size_t)c * CAI_LUT_KEYS * width;
      for (int k = 0; k < CAI_LUT_KEYS; k++) {
        float s = 0.0f;
        for (int i = 0; i < width; i++) {
          const float diff = xs[i] - cen[(size_t)k * width + i];
          const float sq = diff * diff;
          s = s + sq;
        }
        dist[k] = s;
      }
      keys[(size_t)r * codebooks + c] = cai_lut_argmin16(dist);
    }
  }
}

static inline const int8_t* cai_lut_row(const int8_t* tables, int m, int c, uint8_t key) {
  return tables + ((size_t)c * CAI_LUT_KEYS + (key & 15u)) * (size_t)m;
}

static inline float cai_lut_output(int32_t sum, int j, const float* scale, const float* bias) {
  const float y = scale[j] * (float)sum;
  return bias != NULL ? bias[j] + y : y;
}

#define CAI_LUT_REF_BLOCK 256

void cai_lut_accumulate_k16_ref(const uint8_t* keys, int rows, int codebooks, int m,
                                const int8_t* tables, const float* scale, const float* bias,
                                float* out) {
  int32_t acc[CAI_LUT_REF_BLOCK];
  for (int r = 0; r < rows; r++) {
    const uint8_t* kr = keys + (size_t)r * codebooks;
    float* o = out + (size_t)r * m;
    for (int j0 = 0; j0 < m; j0 += CAI_LUT_REF_BLOCK) {
      const int n = m - j0 < CAI_LUT_REF_BLOCK ? m - j0 : CAI_LUT_REF_BLOCK;
      memset(acc, 0, sizeof(acc));
      for (int c = 0; c < codebooks; c++) {
        const int8_t* t = cai_lut_row(tables, m, c, kr[c]) + j0;
        for (int j = 0; j < n; j++) {
          acc[j] += t[j];
        }
      }
      for (int j = 0; j < n; j++) {
        o[j0 + j] = cai_lut_output(acc[j], j0 + j, scale, bias);
      }
    }
  }
}

#if CAI_LUT_X86
/* ------------------------------------------------------------------------------------------------
 * AVX2 bodies
 * ---------------------------------------------------------------------------------------------- */

/* The low byte of each of 8 int32 lanes (each 0..15), stored as 8 consecutive bytes. */
CAI_LUT_AVX2_INLINE void cai_lut_store_keys8(uint8_t* dst, __m256i k32) {
  const __m128i k16 = _mm_packus_epi32(_mm256_castsi256_si128(k32), _mm256_extracti128_si256(k32, 1));
  _mm_storel_epi64((__m128i*)dst, _mm_packus_epi16(k16, k16));
}

static CAI_LUT_AVX2 void cai_lut_encode_tree_avx2(const float* x, int rows, int d, int codebooks,
                                                  int width, const int32_t* split_dims,
                                                  const float* thresholds, uint8_t* keys) {
  const int c8 = codebooks & ~7;
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i one = _mm256_set1_epi32(1);
  const __m256i leaves = _mm256_set1_epi32(CAI_LUT_NODES);
  for (int c0 = 0; c0 < c8; c0 += 8) {
    const __m256i cb = _mm256_add_epi32(_mm256_set1_epi32(c0), lane);
    /* offsets of the split dimension of each level within the row: c*w + split_dims[c*4 + l] */
    const __m256i xbase = _mm256_mullo_epi32(cb, _mm256_set1_epi32(width));
    const __m256i sbase = _mm256_slli_epi32(cb, 2);
    __m256i xoff[CAI_LUT_DEPTH];
    for (int l = 0; l < CAI_LUT_DEPTH; l++) {
      const __m256i sd = _mm256_i32gather_epi32(
          (const int*)split_dims, _mm256_add_epi32(sbase, _mm256_set1_epi32(l)), 4);
      xoff[l] = _mm256_add_epi32(xbase, sd);
    }
    const __m256i tbase = _mm256_sub_epi32(_mm256_slli_epi32(cb, 4), cb); /* c * 15 */
    for (int r = 0; r < rows; r++) {
      const float* xr = x + (size_t)r * d;
      __m256i node = _mm256_setzero_si256();
      for (int l = 0; l < CAI_LUT_DEPTH; l++) {
        const __m256 xv = _mm256_i32gather_ps(xr, xoff[l], 4);
        const __m256 tv = _mm256_i32gather_ps(thresholds, _mm256_add_epi32(tbase, node), 4);
        const __m256i gt = _mm256_castps_si256(_mm256_cmp_ps(xv, tv, _CMP_GT_OQ)); /* -1 or 0 */
        node = _mm256_sub_epi32(_mm256_add_epi32(_mm256_add_epi32(node, node), one), gt);
      }
      cai_lut_store_keys8(keys + (size_t)r * codebooks + c0, _mm256_sub_epi32(node, leaves));
    }
  }
  if (c8 < codebooks) {
    for (int r = 0; r < rows; r++) {
      const float* xr = x + (size_t)r * d;
      for (int c = c8; c < codebooks; c++) {
        keys[(size_t)r * codebooks + c] =
            cai_lut_tree_key(xr + (size_t)c * width, split_dims + (size_t)c * CAI_LUT_DEPTH,
                             thresholds + (size_t)c * CAI_LUT_NODES);
      }
    }
  }
}

/* Lowest k whose distance is minimal, with the scalar argmin's NaN rules. */
CAI_LUT_AVX2_INLINE uint8_t cai_lut_argmin16_avx2(__m256 d0, __m256 d1) {
  const float first = _mm256_cvtss_f32(d0);
  if (first != first) {
    return 0;
  }
  const __m256 inf = _mm256_set1_ps(__builtin_inff());
  d0 = _mm256_blendv_ps(d0, inf, _mm256_cmp_ps(d0, d0, _CMP_UNORD_Q));
  d1 = _mm256_blendv_ps(d1, inf, _mm256_cmp_ps(d1, d1, _CMP_UNORD_Q));
  __m256 mn = _mm256_min_ps(d0, d1);
  mn = _mm256_min_ps(mn, _mm256_permute2f128_ps(mn, mn, 1));
  mn = _mm256_min_ps(mn, _mm256_shuffle_ps(mn, mn, _MM_SHUFFLE(1, 0, 3, 2)));
  mn = _mm256_min_ps(mn, _mm256_shuffle_ps(mn, mn, _MM_SHUFFLE(2, 3, 0, 1)));
  const unsigned mask =
      (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(d0, mn, _CMP_EQ_OQ)) |
      ((unsigned)_mm256_movemask_ps(_mm256_cmp_ps(d1, mn, _CMP_EQ_OQ)) << 8);
  return (uint8_t)__builtin_ctz(mask);
}

static CAI_LUT_AVX2 void cai_lut_encode_centroids_avx2(const float* x, int rows, int d,
                                                       int codebooks, int width,
                                                       const float* centroids, uint8_t* keys) {
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i idx0 = _mm256_mullo_epi32(lane, _mm256_set1_epi32(width));
  const __m256i idx1 = _mm256_add_epi32(idx0, _mm256_set1_epi32(8 * width));
  for (int r = 0; r < rows; r++) {
    for (int c = 0; c < codebooks; c++) {
      const float* xs = x + (size_t)r * d + (size_t)c * width;
      const float* cen = centroids + (size_t)c * CAI_LUT_KEYS * width;
      __m256 acc0 = _mm256_setzero_ps();
      __m256 acc1 = _mm256_setzero_ps();
      for (int i = 0; i < width; i++) {
        const __m256 xv = _mm256_set1_ps(xs[i]);
        const __m256 diff0 = _mm256_sub_ps(xv, _mm256_i32gather_ps(cen + i, idx0, 4));
        const __m256 diff1 = _mm256_sub_ps(xv, _mm256_i32gather_ps(cen + i, idx1, 4));
        acc0 = _mm256_add_ps(acc0, _mm256_mul_ps(diff0, diff0));
        acc1 = _mm256_add_ps(acc1, _mm256_mul_ps(diff1, diff1));
      }
      keys[(size_t)r * codebooks + c] = cai_lut_argmin16_avx2(acc0, acc1);
    }
  }
}

/* acc32[0..2nv) += widen(a16[0..nv)) */
CAI_LUT_AVX2_INLINE void cai_lut_widen(const __m256i* a16, __m256i* acc32, int nv) {
#pragma GCC unroll 8
  for (int v = 0; v < nv; v++) {
    acc32[2 * v] = _mm256_add_epi32(acc32[2 * v],
                                    _mm256_cvtepi16_epi32(_mm256_castsi256_si128(a16[v])));
    acc32[2 * v + 1] = _mm256_add_epi32(
        acc32[2 * v + 1], _mm256_cvtepi16_epi32(_mm256_extracti128_si256(a16[v], 1)));
  }
}

/* out[j] = bias[j] + scale[j] * (float) acc32[j] for 8 outputs at j. */
CAI_LUT_AVX2_INLINE void cai_lut_store8(float* o, const float* scale, const float* bias, int j,
                                        __m256i acc32) {
  __m256 y = _mm256_mul_ps(_mm256_loadu_ps(scale + j), _mm256_cvtepi32_ps(acc32));
  if (bias != NULL) {
    y = _mm256_add_ps(_mm256_loadu_ps(bias + j), y);
  }
  _mm256_storeu_ps(o + j, y);
}

/* One block of 16 * nv outputs starting at j0 of one row, all codebooks. */
CAI_LUT_AVX2_INLINE void cai_lut_block(const uint8_t* kr, int codebooks, int m,
                                       const int8_t* tables, int j0, int nv, const float* scale,
                                       const float* bias, float* o) {
  __m256i acc32[2 * CAI_LUT_BLOCK_VECTORS];
  __m256i a16[CAI_LUT_BLOCK_VECTORS];
#pragma GCC unroll 16
  for (int v = 0; v < 2 * nv; v++) {
    acc32[v] = _mm256_setzero_si256();
  }
  for (int cs = 0; cs < codebooks; cs += CAI_LUT_S16_CODEBOOKS) {
    const int ce = codebooks - cs < CAI_LUT_S16_CODEBOOKS ? codebooks : cs + CAI_LUT_S16_CODEBOOKS;
#pragma GCC unroll 8
    for (int v = 0; v < nv; v++) {
      a16[v] = _mm256_setzero_si256();
    }
    for (int c = cs; c < ce; c++) {
      if (c + CAI_LUT_PREFETCH < codebooks) {
        const int8_t* p = cai_lut_row(tables, m, c + CAI_LUT_PREFETCH, kr[c + CAI_LUT_PREFETCH]) + j0;
        _mm_prefetch((const char*)p, _MM_HINT_T0);
        if (nv > 4) {
          _mm_prefetch((const char*)p + 64, _MM_HINT_T0);
        }
      }
      const int8_t* t = cai_lut_row(tables, m, c, kr[c]) + j0;
#pragma GCC unroll 8
      for (int v = 0; v < nv; v++) {
        a16[v] = _mm256_add_epi16(
            a16[v], _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i*)(t + 16 * v))));
      }
    }
    cai_lut_widen(a16, acc32, nv);
  }
#pragma GCC unroll 16
  for (int v = 0; v < 2 * nv; v++) {
    cai_lut_store8(o, scale, bias, j0 + 8 * v, acc32[v]);
  }
}

/* The last m % 16 outputs of one row: an 8-wide step if at least 8 are left, then scalar. */
static CAI_LUT_AVX2 void cai_lut_tail(const uint8_t* kr, int codebooks, int m,
                                      const int8_t* tables, int j0, const float* scale,
                                      const float* bias, float* o) {
  if (m - j0 >= 8) {
    __m256i acc32 = _mm256_setzero_si256();
    for (int cs = 0; cs < codebooks; cs += CAI_LUT_S16_CODEBOOKS) {
      const int ce = codebooks - cs < CAI_LUT_S16_CODEBOOKS ? codebooks : cs + CAI_LUT_S16_CODEBOOKS;
      __m128i a16 = _mm_setzero_si128();
      for (int c = cs; c < ce; c++) {
        const int8_t* t = cai_lut_row(tables, m, c, kr[c]) + j0;
        a16 = _mm_add_epi16(a16, _mm_cvtepi8_epi16(_mm_loadl_epi64((const __m128i*)t)));
      }
      acc32 = _mm256_add_epi32(acc32, _mm256_cvtepi16_epi32(a16));
    }
    cai_lut_store8(o, scale, bias, j0, acc32);
    j0 += 8;
  }
  const int n = m - j0; /* 0..7 */
  if (n == 0) {
    return;
  }
  int32_t acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (int c = 0; c < codebooks; c++) {
    const int8_t* t = cai_lut_row(tables, m, c, kr[c]) + j0;
    for (int j = 0; j < n; j++) {
      acc[j] += t[j];
    }
  }
  for (int j = 0; j < n; j++) {
    o[j0 + j] = cai_lut_output(acc[j], j0 + j, scale, bias);
  }
}

static CAI_LUT_AVX2 void cai_lut_accumulate_k16_avx2(const uint8_t* keys, int rows,
                                                     int codebooks, int m, const int8_t* tables,
                                                     const float* scale, const float* bias,
                                                     float* out) {
  for (int r = 0; r < rows; r++) {
    const uint8_t* kr = keys + (size_t)r * codebooks;
    float* o = out + (size_t)r * m;
    int j0 = 0;
    for (; j0 + 16 * CAI_LUT_BLOCK_VECTORS <= m; j0 += 16 * CAI_LUT_BLOCK_VECTORS) {
      cai_lut_block(kr, codebooks, m, tables, j0, CAI_LUT_BLOCK_VECTORS, scale, bias, o);
    }
    /* leftover 16-wide vectors: 0..7 of them, as 4 + 2 + 1 */
    if (m - j0 >= 64) {
      cai_lut_block(kr, codebooks, m, tables, j0, 4, scale, bias, o);
      j0 += 64;
    }
    if (m - j0 >= 32) {
      cai_lut_block(kr, codebooks, m, tables, j0, 2, scale, bias, o);
      j0 += 32;
    }
    if (m - j0 >= 16) {
      cai_lut_block(kr, codebooks, m, tables, j0, 1, scale, bias, o);
      j0 += 16;
    }
    if (j0 < m) {
      cai_lut_tail(kr, codebooks, m, tables, j0, scale, bias, o);
    }
  }
}
#endif /* CAI_LUT_X86 */

/* ------------------------------------------------------------------------------------------------
 * Entry points
 * ---------------------------------------------------------------------------------------------- */
void cai_lut_encode_tree(const float* x, int rows, int d, int codebooks, int width,
                         const int32_t* split_dims, const float* thresholds, uint8_t* keys) {
#if CAI_LUT_X86
  if (cai_lut_isa_avx2()) {
    cai_lut_encode_tree_avx2(x, rows, d, codebooks, width, split_dims, thresholds, keys);
    return;
  }
#endif
  cai_lut_encode_tree_ref(x, rows, d, codebooks, width, split_dims, thresholds, keys);
}

void cai_lut_encode_centroids(const float* x, int rows, int d, int codebooks, int width,
                              const float* centroids, uint8_t* keys) {
#if CAI_LUT_X86
  if (cai_lut_isa_avx2()) {
    cai_lut_encode_centroids_avx2(x, rows, d, codebooks, width, centroids, keys);
    return;
  }
#endif
  cai_lut_encode_centroids_ref(x, rows, d, codebooks, width, centroids, keys);
}

void cai_lut_accumulate_k16(const uint8_t* keys, int rows, int codebooks, int m,
                            const int8_t* tables, const float* scale, const float* bias,
                            float* out) {
#if CAI_LUT_X86
  if (cai_lut_isa_avx2()) {
    cai_lut_accumulate_k16_avx2(keys, rows, codebooks, m, tables, scale, bias, out);
    return;
  }
#endif
  cai_lut_accumulate_k16_ref(keys, rows, codebooks, m, tables, scale, bias, out);
}
