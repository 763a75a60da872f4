/*
 * cacheai lookup kernels: implementation. Shapes, contracts and rounding rules: cai_lut.h.
 *
 * encode_tree: L (the depth, 2..4) compares and adds per codebook, no multiplications; each depth
 * has its own unrolled copy of both bodies (depth 4 is the code it had before K varied). The
 * scalar walk is fast because its L dependent loads per codebook overlap across codebooks in the
 * out-of-order core; a first AVX2 version that gathered x as well as the thresholds (three
 * gathers per level) was slower than it (0.71 vs 0.59 us for 200 codebooks). The AVX2 body kept
 * (widths <= 8, fewer than 8 rows) gathers only the thresholds and gets x with masked loads and
 * vpermps: 0.51 vs 0.67 us.
 *
 * encode_centroids (AVX2, widths 4 and 8): the squared differences of eight centroids are
 * computed with contiguous loads and transposed in registers so that lane k accumulates centroid
 * k's terms in dimension order, as the scalar twin does. Argmin: NaN lanes -> +inf, horizontal
 * min, the lowest lane equal to it (ties -> lowest key). Other widths run the scalar twin.
 *
 * accumulate (AVX2; any K, only the row pointers depend on it): outputs in blocks of up to 128
 * (8 vectors of 16 s16 lanes, all in registers); per codebook one table row slice is loaded 16
 * bytes at a time, sign-extended to s16 (vpmovsxbw) and added. Every CAI_LUT_S16_CODEBOOKS
 * codebooks the s16 sums are widened into s32. Leftover outputs: one pass with 0..7 vectors and
 * an 8-wide half, then scalar. The row pointers of a group of codebooks are computed once per row
 * and shared by all blocks. Tables larger than the L2 cache switch to the streaming order
 * (cai_lut_stream): rows taken 8 at a time and read front to back in chunks of 2048 outputs, s16
 * sums in L1 — on 4096 x 4096 this halved the time (400 -> 200 us at width 4) against the
 * register blocks, whose 128-byte pieces of a different page per codebook defeat the hardware
 * prefetcher even with software prefetch 48 rows ahead.
 *
 * accumulate_folded / accumulate_s4_folded (key 0 not stored, cai_lut.h): the same bodies with
 * fold = 1; only the row gather differs — a chunk's rowp lists just the rows of its codebooks
 * whose key is non-zero, so the blocks sum fewer rows (n may be 0), and the 4-bit offset
 * subtracted is 8 per row summed.
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

/* Tuning knobs; the #ifndef ones can be overridden with -D for measurements outside the build. */
#ifndef CAI_LUT_BLOCK_VECTORS
#define CAI_LUT_BLOCK_VECTORS 8 /* s16 vectors of 16 outputs per accumulate block: 128 outputs */
#endif
#ifndef CAI_LUT_TREE_AVX2
#define CAI_LUT_TREE_AVX2 1
#endif
#define CAI_LUT_TREE_AVX2_MAX_ROWS 8 /* batches of 8+ rows run the scalar walk (measured faster) */
#ifndef CAI_LUT_STREAM_ENABLED
#define CAI_LUT_STREAM_ENABLED 1
#endif
#ifndef CAI_LUT_STREAM_AHEAD
#define CAI_LUT_STREAM_AHEAD 512 /* bytes ahead in each streamed table row */
#endif
#define CAI_LUT_STREAM_OUTPUTS 2048   /* outputs per streaming chunk: s16 sums in 4 KiB of L1 */
#define CAI_LUT_STREAM_ROWS 8         /* table rows summed in registers per streaming pass */
#define CAI_LUT_STREAM_MIN_OUTPUTS 256 /* below this the register-blocked order is used */
#ifndef CAI_LUT_PREFETCH
#define CAI_LUT_PREFETCH 48     /* codebooks ahead whose table rows are prefetched */
#endif

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
/* The walk of one codebook's tree of `depth` levels (2^depth - 1 nodes); callers pass a constant
 * depth, so each depth gets its own unrolled copy. */
static inline __attribute__((always_inline)) uint8_t cai_lut_tree_key(const float* xs,
                                                                      const int32_t* sd,
                                                                      const float* t,
                                                                      const int depth) {
  int node = 0;
  for (int l = 0; l < depth; l++) {
    node = 2 * node + 1 + (xs[sd[l]] > t[node] ? 1 : 0);
  }
  return (uint8_t)(node - ((1 << depth) - 1));
}

static inline __attribute__((always_inline)) void cai_lut_encode_tree_ref_body(
    const float* x, int rows, int d, int codebooks, int width, const int32_t* split_dims,
    const float* thresholds, uint8_t* keys, const int depth) {
  const size_t nodes = ((size_t)1 << depth) - 1;
  for (int r = 0; r < rows; r++) {
    const float* xr = x + (size_t)r * d;
    for (int c = 0; c < codebooks; c++) {
      keys[(size_t)r * codebooks + c] =
          cai_lut_tree_key(xr + (size_t)c * width, split_dims + (size_t)c * depth,
                           thresholds + (size_t)c * nodes, depth);
    }
  }
}

void cai_lut_encode_tree_depth_ref(const float* x, int rows, int d, int codebooks, int width,
                                   int depth, const int32_t* split_dims, const float* thresholds,
                                   uint8_t* keys) {
  switch (depth) {
    case 2:
      cai_lut_encode_tree_ref_body(x, rows, d, codebooks, width, split_dims, thresholds, keys, 2);
      break;
    case 3:
      cai_lut_encode_tree_ref_body(x, rows, d, codebooks, width, split_dims, thresholds, keys, 3);
      break;
    default:
      cai_lut_encode_tree_ref_body(x, rows, d, codebooks, width, split_dims, thresholds, keys, 4);
      break;
  }
}

void cai_lut_encode_tree_ref(const float* x, int rows, int d, int codebooks, int width,
                             const int32_t* split_dims, const float* thresholds, uint8_t* keys) {
  cai_lut_encode_tree_ref_body(x, rows, d, codebooks, width, split_dims, thresholds, keys,
                               CAI_LUT_DEPTH);
}

/* Argmin with the contract's rules: key 0 when dist[0] is NaN, NaN never wins, ties -> lowest. */
static inline uint8_t cai_lut_argmin(const float* dist, int keys_per_codebook) {
  int best = 0;
  float best_dist = dist[0];
  for (int k = 1; k < keys_per_codebook; k++) {
    if (dist[k] < best_dist) {
      best = k;
      best_dist = dist[k];
    }
  }
  return (uint8_t)best;
}

void cai_lut_encode_centroids_ref(const float* x, int rows, int d, int codebooks, int width,
                                  const float* centroids, uint8_t* keys) {
  cai_lut_encode_centroids_k_ref(x, rows, d, codebooks, width, CAI_LUT_KEYS, centroids, keys);
}

void cai_lut_encode_centroids_k_ref(const float* x, int rows, int d, int codebooks, int width,
                                    int keys_per_codebook, const float* centroids,
                                    uint8_t* keys) {
  float dist[CAI_LUT_KEYS];
  const int kk = keys_per_codebook;
  for (int r = 0; r < rows; r++) {
    for (int c = 0; c < codebooks; c++) {
      const float* xs = x + (size_t)r * d + (size_t)c * width;
      const float* cen = centroids + (size_t)c * kk * width;
      for (int k = 0; k < kk; k++) {
        float s = 0.0f;
        for (int i = 0; i < width; i++) {
          const float diff = xs[i] - cen[(size_t)k * width + i];
          const float sq = diff * diff;
          s = s + sq;
        }
        dist[k] = s;
      }
      keys[(size_t)r * codebooks + c] = cai_lut_argmin(dist, kk);
    }
  }
}

/* The table row of (c, key) with K = keys_per_codebook rows per codebook (4, 8 or 16: a power of
 * two, checked in Java), the key masked to its low log2 K bits: whatever the key byte holds, the
 * row lies inside codebook c's K rows. */
static inline const int8_t* cai_lut_row(const int8_t* tables, int m, int keys_per_codebook, int c,
                                        uint8_t key) {
  return tables + ((size_t)c * keys_per_codebook + (key & (unsigned)(keys_per_codebook - 1))) *
                      (size_t)m;
}

static inline float cai_lut_output(int32_t sum, int j, const float* scale, const float* bias) {
  const float y = scale[j] * (float)sum;
  return bias != NULL ? bias[j] + y : y;
}

#define CAI_LUT_REF_BLOCK 256

void cai_lut_accumulate_k16_ref(const uint8_t* keys, int rows, int codebooks, int m,
                                const int8_t* tables, const float* scale, const float* bias,
                                float* out) {
  cai_lut_accumulate_ref(keys, rows, codebooks, CAI_LUT_KEYS, m, tables, scale, bias, out);
}

void cai_lut_accumulate_ref(const uint8_t* keys, int rows, int codebooks, int keys_per_codebook,
                            int m, const int8_t* tables, const float* scale, const float* bias,
                            float* out) {
  int32_t acc[CAI_LUT_REF_BLOCK];
  for (int r = 0; r < rows; r++) {
    const uint8_t* kr = keys + (size_t)r * codebooks;
    float* o = out + (size_t)r * m;
    for (int j0 = 0; j0 < m; j0 += CAI_LUT_REF_BLOCK) {
      const int n = m - j0 < CAI_LUT_REF_BLOCK ? m - j0 : CAI_LUT_REF_BLOCK;
      memset(acc, 0, sizeof(acc));
      for (int c = 0; c < codebooks; c++) {
        const int8_t* t = cai_lut_row(tables, m, keys_per_codebook, c, kr[c]) + j0;
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


/* 4-bit entry j of a "lut16x4" row (cai_lut.h): the nibble sign-extended, -8..7. */
static inline int32_t cai_lut4_entry(const uint8_t* row, int j) {
  const unsigned byte = row[j >> 1];
  const unsigned nibble = (j & 1) ? byte >> 4 : byte & 15u;
  return (int32_t)(nibble ^ 8u) - 8;
}

/* As cai_lut_row for a 4-bit table of rb bytes per row. */
static inline const uint8_t* cai_lut4_row(const uint8_t* tables, size_t rb, int keys_per_codebook,
                                          int c, uint8_t key) {
  const size_t row = (size_t)c * keys_per_codebook + (key & (unsigned)(keys_per_codebook - 1));
  return tables + row * rb;
}

void cai_lut_accumulate_k16_s4_ref(const uint8_t* keys, int rows, int codebooks, int m,
                                   const uint8_t* tables, const float* scale, const float* bias,
                                   float* out) {
  cai_lut_accumulate_s4_ref(keys, rows, codebooks, CAI_LUT_KEYS, m, tables, scale, bias, out);
}

void cai_lut_accumulate_s4_ref(const uint8_t* keys, int rows, int codebooks,
                               int keys_per_codebook, int m, const uint8_t* tables,
                               const float* scale, const float* bias, float* out) {
  int32_t acc[CAI_LUT_REF_BLOCK];
  const size_t rb = cai_lut4_row_bytes(m);
  for (int r = 0; r < rows; r++) {
    const uint8_t* kr = keys + (size_t)r * codebooks;
    float* o = out + (size_t)r * m;
    for (int j0 = 0; j0 < m; j0 += CAI_LUT_REF_BLOCK) {
      const int n = m - j0 < CAI_LUT_REF_BLOCK ? m - j0 : CAI_LUT_REF_BLOCK;
      memset(acc, 0, sizeof(acc));
      for (int c = 0; c < codebooks; c++) {
        const uint8_t* t = cai_lut4_row(tables, rb, keys_per_codebook, c, kr[c]);
        for (int j = 0; j < n; j++) {
          acc[j] += cai_lut4_entry(t, j0 + j);
        }
      }
      for (int j = 0; j < n; j++) {
        o[j0 + j] = cai_lut_output(acc[j], j0 + j, scale, bias);
      }
    }
  }
}

/* Folded tables (cai_lut.h): the stored row of key k = key & (K-1) of codebook c, or NULL for
 * key 0, whose row is zero and not stored. K - 1 rows per codebook. */
static inline size_t cai_lut_folded_index(int keys_per_codebook, int c, uint8_t key,
                                          int* nonzero) {
  const unsigned k = key & (unsigned)(keys_per_codebook - 1);
  *nonzero = k != 0;
  return (size_t)c * (size_t)(keys_per_codebook - 1) + k - 1;
}

void cai_lut_accumulate_folded_ref(const uint8_t* keys, int rows, int codebooks,
                                   int keys_per_codebook, int m, const int8_t* tables,
                                   const float* scale, const float* bias, float* out) {
  int32_t acc[CAI_LUT_REF_BLOCK];
  for (int r = 0; r < rows; r++) {
    const uint8_t* kr = keys + (size_t)r * codebooks;
    float* o = out + (size_t)r * m;
    for (int j0 = 0; j0 < m; j0 += CAI_LUT_REF_BLOCK) {
      const int n = m - j0 < CAI_LUT_REF_BLOCK ? m - j0 : CAI_LUT_REF_BLOCK;
      memset(acc, 0, sizeof(acc));
      for (int c = 0; c < codebooks; c++) {
        int nonzero;
        const size_t row = cai_lut_folded_index(keys_per_codebook, c, kr[c], &nonzero);
        if (!nonzero) {
          continue;
        }
        const int8_t* t = tables + row * (size_t)m + j0;
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

void cai_lut_accumulate_s4_folded_ref(const uint8_t* keys, int rows, int codebooks,
                                      int keys_per_codebook, int m, const uint8_t* tables,
                                      const float* scale, const float* bias, float* out) {
  int32_t acc[CAI_LUT_REF_BLOCK];
  const size_t rb = cai_lut4_row_bytes(m);
  for (int r = 0; r < rows; r++) {
    const uint8_t* kr = keys + (size_t)r * codebooks;
    float* o = out + (size_t)r * m;
    for (int j0 = 0; j0 < m; j0 += CAI_LUT_REF_BLOCK) {
      const int n = m - j0 < CAI_LUT_REF_BLOCK ? m - j0 : CAI_LUT_REF_BLOCK;
      memset(acc, 0, sizeof(acc));
      for (int c = 0; c < codebooks; c++) {
        int nonzero;
        const size_t row = cai_lut_folded_index(keys_per_codebook, c, kr[c], &nonzero);
        if (!nonzero) {
          continue;
        }
        const uint8_t* t = tables + row * rb;
        for (int j = 0; j < n; j++) {
          acc[j] += cai_lut4_entry(t, j0 + j);
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

/*
 * Tree encoder, widths 1..8, eight codebooks per step. Per codebook one masked load brings its w
 * floats (lanes >= w read nothing, so the row's end is never overrun) and one vpermps picks the
 * four split-dimension values; pairs of codebooks share a vector and a 4 x 4 in-lane transpose
 * turns them into one vector per level with codebooks in lanes [0 2 4 6 | 1 3 5 7]. Only the
 * thresholds of the lanes' current nodes need a gather (one per level). Split dimensions were
 * checked to lie in [0, w) before this runs.
 */
CAI_LUT_AVX2_INLINE void cai_lut_encode_tree_avx2_body(const float* x, int rows, int d,
                                                       int codebooks, int width,
                                                       const int32_t* split_dims,
                                                       const float* thresholds, uint8_t* keys,
                                                       const int depth) {
  const int c8 = codebooks & ~7;
  const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i load_mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(width), lanes);
  const __m256i order = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);   /* codebook of each lane */
  const __m256i unorder = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7); /* lane of each codebook */
  const __m256i one = _mm256_set1_epi32(1);
  const __m256i leaves = _mm256_set1_epi32((1 << depth) - 1);
  /* depth < 4: a codebook's split dims are `depth` ints; the masked load reads only those, and
   * the lanes it leaves 0 pick x[0] into levels that are never walked */
  const __m256i sd_mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(depth), lanes);
  for (int r = 0; r < rows; r++) {
    const float* xr = x + (size_t)r * d;
    uint8_t* kr = keys + (size_t)r * codebooks;
    for (int c0 = 0; c0 < c8; c0 += 8) {
      __m256 s[4];
      for (int q = 0; q < 4; q++) {
        const int ca = c0 + 2 * q;
        const __m256 va = _mm256_maskload_ps(xr + (size_t)ca * width, load_mask);
        const __m256 vb = _mm256_maskload_ps(xr + (size_t)(ca + 1) * width, load_mask);
        __m256i ia, ib;
        if (depth == 4) {
          ia = _mm256_castsi128_si256(
              _mm_loadu_si128((const __m128i*)(split_dims + (size_t)ca * 4)));
          ib = _mm256_castsi128_si256(
              _mm_loadu_si128((const __m128i*)(split_dims + (size_t)(ca + 1) * 4)));
        } else {
          ia = _mm256_maskload_epi32(split_dims + (size_t)ca * depth, sd_mask);
          ib = _mm256_maskload_epi32(split_dims + (size_t)(ca + 1) * depth, sd_mask);
        }
        const __m256 pa = _mm256_permutevar8x32_ps(va, ia); /* lanes 0..3: levels of ca */
        const __m256 pb = _mm256_permutevar8x32_ps(vb, ib);
        s[q] = _mm256_insertf128_ps(pa, _mm256_castps256_ps128(pb), 1);
      }
      const __m256 t0 = _mm256_unpacklo_ps(s[0], s[1]), t1 = _mm256_unpackhi_ps(s[0], s[1]);
      const __m256 t2 = _mm256_unpacklo_ps(s[2], s[3]), t3 = _mm256_unpackhi_ps(s[2], s[3]);
      __m256 level[4];
      level[0] = _mm256_shuffle_ps(t0, t2, 0x44);
      level[1] = _mm256_shuffle_ps(t0, t2, 0xEE);
      level[2] = _mm256_shuffle_ps(t1, t3, 0x44);
      level[3] = _mm256_shuffle_ps(t1, t3, 0xEE);
      const __m256i cb = _mm256_add_epi32(_mm256_set1_epi32(c0), order);
      /* c * (2^depth - 1) */
      const __m256i tbase = _mm256_sub_epi32(_mm256_slli_epi32(cb, depth), cb);
      __m256i node = _mm256_setzero_si256();
      for (int l = 0; l < depth; l++) {
        const __m256 tv = _mm256_i32gather_ps(thresholds, _mm256_add_epi32(tbase, node), 4);
        const __m256i gt = _mm256_castps_si256(_mm256_cmp_ps(level[l], tv, _CMP_GT_OQ));
        node = _mm256_sub_epi32(_mm256_add_epi32(_mm256_add_epi32(node, node), one), gt);
      }
      const __m256i k32 = _mm256_permutevar8x32_epi32(_mm256_sub_epi32(node, leaves), unorder);
      const __m128i k16 =
          _mm_packus_epi32(_mm256_castsi256_si128(k32), _mm256_extracti128_si256(k32, 1));
      _mm_storel_epi64((__m128i*)(kr + c0), _mm_packus_epi16(k16, k16));
    }
    for (int c = c8; c < codebooks; c++) {
      kr[c] = cai_lut_tree_key(xr + (size_t)c * width, split_dims + (size_t)c * depth,
                               thresholds + (size_t)c * ((1 << depth) - 1), depth);
    }
  }
}

/* One copy per depth, each with its loops unrolled for that depth. */
static CAI_LUT_AVX2 void cai_lut_encode_tree_avx2(const float* x, int rows, int d, int codebooks,
                                                  int width, int depth,
                                                  const int32_t* split_dims,
                                                  const float* thresholds, uint8_t* keys) {
  switch (depth) {
    case 2:
      cai_lut_encode_tree_avx2_body(x, rows, d, codebooks, width, split_dims, thresholds, keys, 2);
      break;
    case 3:
      cai_lut_encode_tree_avx2_body(x, rows, d, codebooks, width, split_dims, thresholds, keys, 3);
      break;
    default:
      cai_lut_encode_tree_avx2_body(x, rows, d, codebooks, width, split_dims, thresholds, keys, 4);
      break;
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

/* (x - c)^2 for 8 floats: a subtract and a multiply, never fused. */
CAI_LUT_AVX2_INLINE __m256 cai_lut_sq(__m256 x, const float* c) {
  const __m256 diff = _mm256_sub_ps(x, _mm256_loadu_ps(c));
  return _mm256_mul_ps(diff, diff);
}

/* Width 4: squared differences of 8 centroids (two per vector), transposed within 128-bit
 * lanes so that D_i holds dimension i, summed ((D0 + D1) + D2) + D3 like the scalar twin. The lanes
 * come out as centroids [0 2 4 6 | 1 3 5 7] and are permuted back to 0..7. */
CAI_LUT_AVX2_INLINE __m256 cai_lut_dist8_w4(__m256 xx, const float* cen) {
  const __m256 s0 = cai_lut_sq(xx, cen), s1 = cai_lut_sq(xx, cen + 8);
  const __m256 s2 = cai_lut_sq(xx, cen + 16), s3 = cai_lut_sq(xx, cen + 24);
  const __m256 t0 = _mm256_unpacklo_ps(s0, s1), t1 = _mm256_unpackhi_ps(s0, s1);
  const __m256 t2 = _mm256_unpacklo_ps(s2, s3), t3 = _mm256_unpackhi_ps(s2, s3);
  const __m256 d0 = _mm256_shuffle_ps(t0, t2, 0x44), d1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const __m256 d2 = _mm256_shuffle_ps(t1, t3, 0x44), d3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const __m256 sum = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(d0, d1), d2), d3);
  return _mm256_permutevar8x32_ps(sum, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

/* Width 8: one centroid per vector, an 8 x 8 transpose, then the dimensions summed in order. */
CAI_LUT_AVX2_INLINE __m256 cai_lut_dist8_w8(__m256 xx, const float* cen) {
  __m256 r[8];
#pragma GCC unroll 8
  for (int k = 0; k < 8; k++) {
    r[k] = cai_lut_sq(xx, cen + 8 * k);
  }
  const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  __m256 sum = _mm256_permute2f128_ps(u0, u4, 0x20);              /* dimension 0 */
  sum = _mm256_add_ps(sum, _mm256_permute2f128_ps(u1, u5, 0x20)); /* 1 */
  sum = _mm256_add_ps(sum, _mm256_permute2f128_ps(u2, u6, 0x20)); /* 2 */
  sum = _mm256_add_ps(sum, _mm256_permute2f128_ps(u3, u7, 0x20)); /* 3 */
  sum = _mm256_add_ps(sum, _mm256_permute2f128_ps(u0, u4, 0x31)); /* 4 */
  sum = _mm256_add_ps(sum, _mm256_permute2f128_ps(u1, u5, 0x31)); /* 5 */
  sum = _mm256_add_ps(sum, _mm256_permute2f128_ps(u2, u6, 0x31)); /* 6 */
  return _mm256_add_ps(sum, _mm256_permute2f128_ps(u3, u7, 0x31)); /* 7 */
}

/* Widths 4 and 8 (the common ones) vectorized across centroids without gathers; other widths run
 * the scalar twin (an eight-lane gather version was slower than it on Zen 3). */
static CAI_LUT_AVX2 void cai_lut_encode_centroids_avx2(const float* x, int rows, int d,
                                                       int codebooks, int width,
                                                       const float* centroids, uint8_t* keys) {
  for (int r = 0; r < rows; r++) {
    for (int c = 0; c < codebooks; c++) {
      const float* xs = x + (size_t)r * d + (size_t)c * width;
      const float* cen = centroids + (size_t)c * CAI_LUT_KEYS * width;
      __m256 d0, d1;
      if (width == 4) {
        const __m256 xx = _mm256_broadcast_ps((const __m128*)xs);
        d0 = cai_lut_dist8_w4(xx, cen);
        d1 = cai_lut_dist8_w4(xx, cen + 32);
      } else {
        const __m256 xx = _mm256_loadu_ps(xs);
        d0 = cai_lut_dist8_w8(xx, cen);
        d1 = cai_lut_dist8_w8(xx, cen + 64);
      }
      keys[(size_t)r * codebooks + c] = cai_lut_argmin16_avx2(d0, d1);
    }
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

/* Finishes 8 outputs at j from their s16 sums of one group: adds the s32 partials of the earlier
 * groups (kept in out's own bytes), then stores the final floats or the new partials. */
CAI_LUT_AVX2_INLINE void cai_lut_flush8(float* o, int j, __m128i sum16, int first, int last,
                                        const float* scale, const float* bias) {
  __m256i acc32 = _mm256_cvtepi16_epi32(sum16);
  if (!first) {
    acc32 = _mm256_add_epi32(acc32, _mm256_loadu_si256((const __m256i*)(o + j)));
  }
  if (last) {
    cai_lut_store8(o, scale, bias, j, acc32);
  } else {
    _mm256_storeu_si256((__m256i*)(o + j), acc32);
  }
}

/*
 * One block of 16 * nv (+ 8 if half) outputs at j0 of one row over one group of n codebooks whose
 * table rows are rowp[0..n) (rowp[n..np) are the next ones, for prefetching). nv and half are
 * compile-time constants at every call site, so the loops unroll and a16 lives in registers.
 */
CAI_LUT_AVX2_INLINE void cai_lut_block(const int8_t* const* rowp, int n, int np, int prefetch,
                                       int j0, int nv, int half, int first, int last,
                                       const float* scale, const float* bias, float* o) {
  __m256i a16[CAI_LUT_BLOCK_VECTORS];
  __m128i h16 = _mm_setzero_si128();
  const int span = 16 * nv + 8 * half;
#pragma GCC unroll 8
  for (int v = 0; v < nv; v++) {
    a16[v] = _mm256_setzero_si256();
  }
  for (int i = 0; i < n; i++) {
    if (prefetch && i + CAI_LUT_PREFETCH < np) {
      const char* p = (const char*)(rowp[i + CAI_LUT_PREFETCH] + j0);
      _mm_prefetch(p, _MM_HINT_T0);
      if (span > 64) {
        _mm_prefetch(p + 64, _MM_HINT_T0);
      }
      _mm_prefetch(p + span - 1, _MM_HINT_T0);
    }
    const int8_t* t = rowp[i] + j0;
#pragma GCC unroll 8
    for (int v = 0; v < nv; v++) {
      a16[v] = _mm256_add_epi16(
          a16[v], _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i*)(t + 16 * v))));
    }
    if (half) {
      h16 = _mm_add_epi16(h16, _mm_cvtepi8_epi16(_mm_loadl_epi64((const __m128i*)(t + 16 * nv))));
    }
  }
#pragma GCC unroll 8
  for (int v = 0; v < nv; v++) {
    cai_lut_flush8(o, j0 + 16 * v, _mm256_castsi256_si128(a16[v]), first, last, scale, bias);
    cai_lut_flush8(o, j0 + 16 * v + 8, _mm256_extracti128_si256(a16[v], 1), first, last, scale,
                   bias);
  }
  if (half) {
    cai_lut_flush8(o, j0 + 16 * nv, h16, first, last, scale, bias);
  }
}

/* The block for the row's last m % 128 outputs, as one pass: nv = 0..7 vectors, half = 0..1. */
static CAI_LUT_AVX2 void cai_lut_block_rest(const int8_t* const* rowp, int n, int np,
                                            int prefetch, int j0, int nv, int half, int first,
                                            int last, const float* scale, const float* bias,
                                            float* o) {
#define CAI_LUT_REST(NV)                                                                  \
  case NV:                                                                                \
    if (half) {                                                                           \
      cai_lut_block(rowp, n, np, prefetch, j0, NV, 1, first, last, scale, bias, o);       \
    } else {                                                                              \
      cai_lut_block(rowp, n, np, prefetch, j0, NV, 0, first, last, scale, bias, o);       \
    }                                                                                     \
    break;
  switch (nv) {
    CAI_LUT_REST(0)
    CAI_LUT_REST(1)
    CAI_LUT_REST(2)
    CAI_LUT_REST(3)
    CAI_LUT_REST(4)
    CAI_LUT_REST(5)
    CAI_LUT_REST(6)
    CAI_LUT_REST(7)
    default:
      break;
  }
#undef CAI_LUT_REST
}

/*
 * Streaming order for tables larger than the L2 cache: per chunk of up to CAI_LUT_STREAM_OUTPUTS
 * outputs, the s16 sums live in an L1 array and the codebooks are taken CAI_LUT_STREAM_ROWS at a
 * time, each pass reading those rows' chunk front to back: contiguous runs of up to 2 KiB per row
 * that the hardware prefetcher follows, instead of 128-byte pieces of a different page per
 * codebook. Covers the outputs [0, m16), m16 = m rounded down to 16.
 */
CAI_LUT_AVX2_INLINE void cai_lut_stream_pass(__m256i* acc, const int8_t* const* p, int nq,
                                             int vectors) {
  for (int v = 0; v < vectors; v++) {
    __m256i s = acc[v];
    if ((v & 3) == 0) {
      for (int q = 0; q < nq; q++) {
        _mm_prefetch((const char*)(p[q] + 16 * v + CAI_LUT_STREAM_AHEAD), _MM_HINT_T0);
      }
    }
#pragma GCC unroll 8
    for (int q = 0; q < nq; q++) {
      s = _mm256_add_epi16(s, _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i*)(p[q] + 16 * v))));
    }
    acc[v] = s;
  }
}

static CAI_LUT_AVX2 void cai_lut_stream(const int8_t* const* rowp, int n, int m16, int first,
                                        int last, const float* scale, const float* bias,
                                        float* o) {
  __m256i acc[CAI_LUT_STREAM_OUTPUTS / 16];
  const int8_t* p[CAI_LUT_STREAM_ROWS];
  for (int j0 = 0; j0 < m16; j0 += CAI_LUT_STREAM_OUTPUTS) {
    const int len = m16 - j0 < CAI_LUT_STREAM_OUTPUTS ? m16 - j0 : CAI_LUT_STREAM_OUTPUTS;
    const int vectors = len / 16;
    for (int v = 0; v < vectors; v++) {
      acc[v] = _mm256_setzero_si256();
    }
    for (int i = 0; i < n; i += CAI_LUT_STREAM_ROWS) {
      const int nq = n - i < CAI_LUT_STREAM_ROWS ? n - i : CAI_LUT_STREAM_ROWS;
      for (int q = 0; q < nq; q++) {
        p[q] = rowp[i + q] + j0;
      }
      if (nq == CAI_LUT_STREAM_ROWS) {
        cai_lut_stream_pass(acc, p, CAI_LUT_STREAM_ROWS, vectors); /* unrolled */
      } else {
        cai_lut_stream_pass(acc, p, nq, vectors);
      }
    }
    for (int v = 0; v < vectors; v++) {
      cai_lut_flush8(o, j0 + 16 * v, _mm256_castsi256_si128(acc[v]), first, last, scale, bias);
      cai_lut_flush8(o, j0 + 16 * v + 8, _mm256_extracti128_si256(acc[v], 1), first, last, scale,
                     bias);
    }
  }
}

/* fold = 1: folded tables (cai_lut.h), K - 1 stored rows per codebook; a chunk's rowp then holds
 * only the rows of its codebooks whose key is not 0, so n (the rows summed) may be below the
 * chunk's codebooks, even 0 (the blocks then still write bias + scale * 0 / the partial sums). */
static CAI_LUT_AVX2 void cai_lut_accumulate_avx2(const uint8_t* keys, int rows, int codebooks,
                                                 int keys_per_codebook, int fold, int m,
                                                 const int8_t* tables, const float* scale,
                                                 const float* bias, float* out) {
  /* Table rows of one group of codebooks (and the next CAI_LUT_PREFETCH, to prefetch). */
  const int8_t* rowp[CAI_LUT_S16_CODEBOOKS + CAI_LUT_PREFETCH];
  /* Prefetching pays once the tables outgrow the L2 cache; below that it only costs. */
  const int prefetch =
      (size_t)codebooks * (keys_per_codebook - fold) * (size_t)m > ((size_t)1 << 19);
  const int full = m / (16 * CAI_LUT_BLOCK_VECTORS) * (16 * CAI_LUT_BLOCK_VECTORS);
  const int rest = m - full;
  const int rest_nv = rest / 16;
  const int rest_half = (rest % 16) >= 8;
  const int tail = full + 16 * rest_nv + 8 * rest_half; /* first output of the scalar tail */
  const int m16 = m / 16 * 16;
  const int stream = CAI_LUT_STREAM_ENABLED && prefetch && m16 >= CAI_LUT_STREAM_MIN_OUTPUTS;
  for (int r = 0; r < rows; r++) {
    const uint8_t* kr = keys + (size_t)r * codebooks;
    float* o = out + (size_t)r * m;
    int cs = 0;
    do { /* at least once, so that codebooks == 0 still writes bias + scale * 0 */
      const int chunk =
          codebooks - cs < CAI_LUT_S16_CODEBOOKS ? codebooks - cs : CAI_LUT_S16_CODEBOOKS;
      const int ahead =
          codebooks - cs < chunk + CAI_LUT_PREFETCH ? codebooks - cs : chunk + CAI_LUT_PREFETCH;
      const int first = cs == 0;
      const int last = cs + chunk == codebooks;
      int n = chunk; /* rows summed: the chunk's codebooks, or those with a non-zero key */
      int np = ahead;
      if (!fold) {
        for (int i = 0; i < np; i++) {
          rowp[i] = cai_lut_row(tables, m, keys_per_codebook, cs + i, kr[cs + i]);
        }
      } else {
        np = 0;
        for (int i = 0; i < ahead; i++) {
          int nonzero;
          const size_t row = cai_lut_folded_index(keys_per_codebook, cs + i, kr[cs + i], &nonzero);
          if (i == chunk) {
            n = np; /* the rows after the chunk's are only prefetched */
          }
          if (nonzero) {
            rowp[np++] = tables + row * (size_t)m;
          }
        }
        if (ahead == chunk) {
          n = np;
        }
      }
      if (stream) {
        cai_lut_stream(rowp, n, m16, first, last, scale, bias, o);
        if (rest_half) {
          cai_lut_block_rest(rowp, n, np, 0, m16, 0, 1, first, last, scale, bias, o);
        }
      } else {
        for (int j0 = 0; j0 < full; j0 += 16 * CAI_LUT_BLOCK_VECTORS) {
          cai_lut_block(rowp, n, np, prefetch, j0, CAI_LUT_BLOCK_VECTORS, 0, first, last, scale,
                        bias, o);
        }
        if (rest_nv > 0 || rest_half) {
          cai_lut_block_rest(rowp, n, np, prefetch, full, rest_nv, rest_half, first, last, scale,
                             bias, o);
        }
      }
      for (int j = tail; j < m; j++) { /* at most 7 outputs */
        int32_t s = 0;
        if (!first) {
          memcpy(&s, o + j, sizeof(s));
        }
        for (int i = 0; i < n; i++) {
          s += rowp[i][j];
        }
        if (last) {
          o[j] = cai_lut_output(s, j, scale, bias);
        } else {
          memcpy(o + j, &s, sizeof(s));
        }
      }
      cs += chunk;
    } while (cs < codebooks);
  }
}

/* ------------------------------------------------------------------------------------------------
 * 4-bit tables (AVX2). Per codebook a 32-byte slice of its table row holds 64 outputs; XOR 0x88
 * turns both nibbles of every byte into entry + 8 (0..15), an AND and a shift split them into the
 * even outputs (low nibbles) and the odd outputs (high nibbles), summed in u8 lanes for 16
 * codebooks. Then one byte interleave puts the sums back in output order and they are widened
 * into s16 lanes. No sign extension and no shuffle in the inner loop: 1 load and 5 ALU ops per
 * 64 outputs per codebook (the int8 body: 4 loads, 4 extends, 4 adds for the same outputs).
 * ---------------------------------------------------------------------------------------------- */

/* s16 sums of (entry + 8) over rowp[0..n) for the 64 outputs of bytes [b0, b0 + 32): s[v] holds
 * outputs 2*b0 + 16v .. 2*b0 + 16v + 15. */
CAI_LUT_AVX2_INLINE void cai_lut4_sums64(const uint8_t* const* rowp, int n, size_t b0,
                                         __m256i s[4]) {
  const __m256i flip = _mm256_set1_epi8((char)0x88);
  const __m256i low = _mm256_set1_epi8(0x0F);
  s[0] = s[1] = s[2] = s[3] = _mm256_setzero_si256();
  for (int i = 0; i < n; i += CAI_LUT4_U8_CODEBOOKS) {
    const int nn = n - i < CAI_LUT4_U8_CODEBOOKS ? n - i : CAI_LUT4_U8_CODEBOOKS;
    __m256i even = _mm256_setzero_si256(), odd = _mm256_setzero_si256();
    for (int q = 0; q < nn; q++) {
      const __m256i b =
          _mm256_xor_si256(_mm256_loadu_si256((const __m256i*)(rowp[i + q] + b0)), flip);
      even = _mm256_add_epi8(even, _mm256_and_si256(b, low));
      odd = _mm256_add_epi8(odd, _mm256_and_si256(_mm256_srli_epi16(b, 4), low));
    }
    /* per 128-bit lane: bytes 0..7 interleaved = outputs 0..15 of the lane's 16 bytes */
    const __m256i il = _mm256_unpacklo_epi8(even, odd); /* outputs 0..15 | 32..47 */
    const __m256i ih = _mm256_unpackhi_epi8(even, odd); /* outputs 16..31 | 48..63 */
    s[0] = _mm256_add_epi16(s[0], _mm256_cvtepu8_epi16(_mm256_castsi256_si128(il)));
    s[1] = _mm256_add_epi16(s[1], _mm256_cvtepu8_epi16(_mm256_castsi256_si128(ih)));
    s[2] = _mm256_add_epi16(s[2], _mm256_cvtepu8_epi16(_mm256_extracti128_si256(il, 1)));
    s[3] = _mm256_add_epi16(s[3], _mm256_cvtepu8_epi16(_mm256_extracti128_si256(ih, 1)));
  }
}

/* The same for the 32 outputs of bytes [b0, b0 + 16): s[0] outputs 2*b0 .. +15, s[1] +16 .. +31. */
CAI_LUT_AVX2_INLINE void cai_lut4_sums32(const uint8_t* const* rowp, int n, size_t b0,
                                         __m256i s[2]) {
  const __m128i flip = _mm_set1_epi8((char)0x88);
  const __m128i low = _mm_set1_epi8(0x0F);
  s[0] = s[1] = _mm256_setzero_si256();
  for (int i = 0; i < n; i += CAI_LUT4_U8_CODEBOOKS) {
    const int nn = n - i < CAI_LUT4_U8_CODEBOOKS ? n - i : CAI_LUT4_U8_CODEBOOKS;
    __m128i even = _mm_setzero_si128(), odd = _mm_setzero_si128();
    for (int q = 0; q < nn; q++) {
      const __m128i b = _mm_xor_si128(_mm_loadu_si128((const __m128i*)(rowp[i + q] + b0)), flip);
      even = _mm_add_epi8(even, _mm_and_si128(b, low));
      odd = _mm_add_epi8(odd, _mm_and_si128(_mm_srli_epi16(b, 4), low));
    }
    s[0] = _mm256_add_epi16(s[0], _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(even, odd)));
    s[1] = _mm256_add_epi16(s[1], _mm256_cvtepu8_epi16(_mm_unpackhi_epi8(even, odd)));
  }
}

/* Finishes 8 outputs at j from the s16 sums of (entry + 8) over one group of n codebooks: the
 * group's exact s32 sum is that minus 8n; earlier groups' partials are kept in out's own bytes. */
CAI_LUT_AVX2_INLINE void cai_lut4_flush8(float* o, int j, __m128i sum16, __m256i minus,
                                         int first, int last, const float* scale,
                                         const float* bias) {
  __m256i acc32 = _mm256_sub_epi32(_mm256_cvtepi16_epi32(sum16), minus);
  if (!first) {
    acc32 = _mm256_add_epi32(acc32, _mm256_loadu_si256((const __m256i*)(o + j)));
  }
  if (last) {
    cai_lut_store8(o, scale, bias, j, acc32);
  } else {
    _mm256_storeu_si256((__m256i*)(o + j), acc32);
  }
}

CAI_LUT_AVX2_INLINE void cai_lut4_flush16(float* o, int j, __m256i sum16, __m256i minus,
                                          int first, int last, const float* scale,
                                          const float* bias) {
  cai_lut4_flush8(o, j, _mm256_castsi256_si128(sum16), minus, first, last, scale, bias);
  cai_lut4_flush8(o, j + 8, _mm256_extracti128_si256(sum16, 1), minus, first, last, scale, bias);
}

/* m >= 32 (so a row has at least 16 bytes). Outputs [0, 2*(m/2 rounded down to 16 bytes)) run in
 * 64- and 32-output blocks written straight to out; the rest (fewer than 32 outputs, including
 * the last output of an odd m, whose byte's high nibble is padding) come from one 16-byte window
 * ending at the row's last byte — never past it — written through a small array so that no
 * output is written twice (a partial sum must not be added twice) and nothing past out[m-1]. */
static CAI_LUT_AVX2 void cai_lut_accumulate_s4_avx2(const uint8_t* keys, int rows,
                                                    int codebooks, int keys_per_codebook,
                                                    int fold, int m,
                                                    const uint8_t* tables, const float* scale,
                                                    const float* bias, float* out) {
  const uint8_t* rowp[CAI_LUT4_S16_CODEBOOKS];
  const size_t rb = cai_lut4_row_bytes(m);
  const size_t full = (size_t)m / 2;              /* bytes whose two outputs both exist */
  const size_t b64 = full / 32 * 32;              /* end of the 64-output blocks */
  const size_t b32 = b64 + (full - b64 >= 16 ? 16 : 0); /* end of the 32-output block */
  const int tail = (int)(2 * b32);                /* first output of the window */
  const size_t wb = rb - 16;                      /* window bytes [wb, rb) */
  for (int r = 0; r < rows; r++) {
    const uint8_t* kr = keys + (size_t)r * codebooks;
    float* o = out + (size_t)r * m;
    int cs = 0;
    do { /* at least once, so that codebooks == 0 still writes bias + scale * 0 */
      const int chunk =
          codebooks - cs < CAI_LUT4_S16_CODEBOOKS ? codebooks - cs : CAI_LUT4_S16_CODEBOOKS;
      const int first = cs == 0;
      const int last = cs + chunk == codebooks;
      int n = chunk; /* rows summed (folded: only the non-zero keys'): the offset is 8 per row */
      if (!fold) {
        for (int i = 0; i < n; i++) {
          rowp[i] = cai_lut4_row(tables, rb, keys_per_codebook, cs + i, kr[cs + i]);
        }
      } else {
        n = 0;
        for (int i = 0; i < chunk; i++) {
          int nonzero;
          const size_t row = cai_lut_folded_index(keys_per_codebook, cs + i, kr[cs + i], &nonzero);
          if (nonzero) {
            rowp[n++] = tables + row * rb;
          }
        }
      }
      const __m256i minus = _mm256_set1_epi32(8 * n);
      for (size_t b0 = 0; b0 < b64; b0 += 32) {
        __m256i s[4];
        cai_lut4_sums64(rowp, n, b0, s);
        for (int v = 0; v < 4; v++) {
          cai_lut4_flush16(o, (int)(2 * b0) + 16 * v, s[v], minus, first, last, scale, bias);
        }
      }
      if (b32 > b64) {
        __m256i s[2];
        cai_lut4_sums32(rowp, n, b64, s);
        cai_lut4_flush16(o, (int)(2 * b64), s[0], minus, first, last, scale, bias);
        cai_lut4_flush16(o, (int)(2 * b64) + 16, s[1], minus, first, last, scale, bias);
      }
      if (tail < m) {
        __m256i s[2];
        int32_t sums[32];
        cai_lut4_sums32(rowp, n, wb, s);
        _mm256_storeu_si256((__m256i*)sums, _mm256_cvtepi16_epi32(_mm256_castsi256_si128(s[0])));
        _mm256_storeu_si256((__m256i*)(sums + 8),
                            _mm256_cvtepi16_epi32(_mm256_extracti128_si256(s[0], 1)));
        _mm256_storeu_si256((__m256i*)(sums + 16),
                            _mm256_cvtepi16_epi32(_mm256_castsi256_si128(s[1])));
        _mm256_storeu_si256((__m256i*)(sums + 24),
                            _mm256_cvtepi16_epi32(_mm256_extracti128_si256(s[1], 1)));
        const int jw = (int)(2 * wb); /* output of sums[0] */
        for (int j = tail; j < m; j++) {
          int32_t v = sums[j - jw] - 8 * n;
          if (!first) {
            int32_t prev;
            memcpy(&prev, o + j, sizeof(prev));
            v += prev;
          }
          if (last) {
            o[j] = cai_lut_output(v, j, scale, bias);
          } else {
            memcpy(o + j, &v, sizeof(v));
          }
        }
      }
      cs += chunk;
    } while (cs < codebooks);
  }
}
#endif /* CAI_LUT_X86 */

/* ------------------------------------------------------------------------------------------------
 * Entry points
 * ---------------------------------------------------------------------------------------------- */
int cai_lut_check_split_dims(const int32_t* split_dims, int count, int width) {
  unsigned bad = 0;
  for (int i = 0; i < count; i++) { /* no early exit: the compiler vectorizes this */
    bad |= (unsigned)split_dims[i] >= (unsigned)width;
  }
  if (!bad) {
    return -1;
  }
  for (int i = 0; i < count; i++) {
    if ((unsigned)split_dims[i] >= (unsigned)width) {
      return i;
    }
  }
  return -1;
}

int cai_lut_encode_tree(const float* x, int rows, int d, int codebooks, int width,
                        const int32_t* split_dims, const float* thresholds, uint8_t* keys) {
  return cai_lut_encode_tree_depth(x, rows, d, codebooks, width, CAI_LUT_DEPTH, split_dims,
                                   thresholds, keys);
}

int cai_lut_encode_tree_depth(const float* x, int rows, int d, int codebooks, int width,
                              int depth, const int32_t* split_dims, const float* thresholds,
                              uint8_t* keys) {
  const int bad = cai_lut_check_split_dims(split_dims, codebooks * depth, width);
  if (bad >= 0) {
    return bad;
  }
#if CAI_LUT_X86
  /* Measured on Zen 3: the vector body wins by 20-25 % up to 4 rows (0.51 vs 0.67 us for one
   * row of 200 codebooks) but lost to the scalar walk at 16 rows, so batches keep the scalar. */
  if (CAI_LUT_TREE_AVX2 && width <= 8 && rows < CAI_LUT_TREE_AVX2_MAX_ROWS && cai_lut_isa_avx2()) {
    cai_lut_encode_tree_avx2(x, rows, d, codebooks, width, depth, split_dims, thresholds, keys);
    return -1;
  }
#endif
  cai_lut_encode_tree_depth_ref(x, rows, d, codebooks, width, depth, split_dims, thresholds, keys);
  return -1;
}

void cai_lut_encode_centroids(const float* x, int rows, int d, int codebooks, int width,
                              const float* centroids, uint8_t* keys) {
#if CAI_LUT_X86
  if ((width == 4 || width == 8) && cai_lut_isa_avx2()) {
    cai_lut_encode_centroids_avx2(x, rows, d, codebooks, width, centroids, keys);
    return;
  }
#endif
  cai_lut_encode_centroids_ref(x, rows, d, codebooks, width, centroids, keys);
}

void cai_lut_encode_centroids_k(const float* x, int rows, int d, int codebooks, int width,
                                int keys_per_codebook, const float* centroids, uint8_t* keys) {
  if (keys_per_codebook == CAI_LUT_KEYS) {
    cai_lut_encode_centroids(x, rows, d, codebooks, width, centroids, keys);
    return;
  }
  cai_lut_encode_centroids_k_ref(x, rows, d, codebooks, width, keys_per_codebook, centroids,
                                 keys);
}

void cai_lut_accumulate_k16(const uint8_t* keys, int rows, int codebooks, int m,
                            const int8_t* tables, const float* scale, const float* bias,
                            float* out) {
  cai_lut_accumulate(keys, rows, codebooks, CAI_LUT_KEYS, m, tables, scale, bias, out);
}

void cai_lut_accumulate(const uint8_t* keys, int rows, int codebooks, int keys_per_codebook,
                        int m, const int8_t* tables, const float* scale, const float* bias,
                        float* out) {
#if CAI_LUT_X86
  if (cai_lut_isa_avx2()) {
    cai_lut_accumulate_avx2(keys, rows, codebooks, keys_per_codebook, 0, m, tables, scale, bias,
                            out);
    return;
  }
#endif
  cai_lut_accumulate_ref(keys, rows, codebooks, keys_per_codebook, m, tables, scale, bias, out);
}

void cai_lut_accumulate_k16_s4(const uint8_t* keys, int rows, int codebooks, int m,
                               const uint8_t* tables, const float* scale, const float* bias,
                               float* out) {
  cai_lut_accumulate_s4(keys, rows, codebooks, CAI_LUT_KEYS, m, tables, scale, bias, out);
}

void cai_lut_accumulate_s4(const uint8_t* keys, int rows, int codebooks, int keys_per_codebook,
                           int m, const uint8_t* tables, const float* scale, const float* bias,
                           float* out) {
#if CAI_LUT_X86
  if (m >= 32 && cai_lut_isa_avx2()) { /* the AVX2 body's tail window needs 16-byte rows */
    cai_lut_accumulate_s4_avx2(keys, rows, codebooks, keys_per_codebook, 0, m, tables, scale,
                               bias, out);
    return;
  }
#endif
  cai_lut_accumulate_s4_ref(keys, rows, codebooks, keys_per_codebook, m, tables, scale, bias, out);
}

void cai_lut_accumulate_folded(const uint8_t* keys, int rows, int codebooks,
                               int keys_per_codebook, int m, const int8_t* tables,
                               const float* scale, const float* bias, float* out) {
#if CAI_LUT_X86
  if (cai_lut_isa_avx2()) {
    cai_lut_accumulate_avx2(keys, rows, codebooks, keys_per_codebook, 1, m, tables, scale, bias,
                            out);
    return;
  }
#endif
  cai_lut_accumulate_folded_ref(keys, rows, codebooks, keys_per_codebook, m, tables, scale, bias,
                                out);
}

void cai_lut_accumulate_s4_folded(const uint8_t* keys, int rows, int codebooks,
                                  int keys_per_codebook, int m, const uint8_t* tables,
                                  const float* scale, const float* bias, float* out) {
#if CAI_LUT_X86
  if (m >= 32 && cai_lut_isa_avx2()) { /* as cai_lut_accumulate_s4: 16-byte rows */
    cai_lut_accumulate_s4_avx2(keys, rows, codebooks, keys_per_codebook, 1, m, tables, scale,
                               bias, out);
    return;
  }
#endif
  cai_lut_accumulate_s4_folded_ref(keys, rows, codebooks, keys_per_codebook, m, tables, scale,
                                   bias, out);
}
