/*
 * cacheai integer kernels: implementation. Formats, contracts and rounding rules: cai_int8.h.
 *
 * Exactness of gemm_u8s8_s32 on AVX2 (no VNNI on the target machine):
 *   _mm256_maddubs_epi16 (u8 x s8, pairs summed into s16) saturates: 255*127 + 255*127 = 64770 >
 *   32767, so it is not used for u8 x s8. Instead both operands are widened to s16 (activations
 *   zero-extended 0..255 when A is packed, weights sign-extended -128..127 as they are loaded) and
 *   multiplied with _mm256_madd_epi16, which forms a[2q]*b[2q] + a[2q+1]*b[2q+1] in s32:
 *   |each pair| <= 2 * 255 * 128 = 65280, far from 2^31; the s32 accumulation over K <= 65536 stays
 *   below 65536 * 255 * 128 = 2^31 - 2^24... < 2^31. No step can saturate or wrap.
 *   Cost: one vpmaddwd per 16 products, the same multiplier throughput as the usual
 *   vpmaddubsw + vpmaddwd(ones) pair, which needs two multiplies per 32 products.
 *
 * Blocking of the AVX2 GEMM:
 *   - A is repacked per (MC rows x KC columns) block into s16 (zero-extended, k padded to even),
 *     MC x KC x 2 bytes = 128 KiB, kept in L2;
 *   - B is the s8p16 panel of 16 output channels, its KC slice (16 KiB) stays in L1 while all
 *     row tiles of the block run over it;
 *   - the micro-kernel holds a 6 x 16 tile of C in 12 ymm accumulators; per k-pair it loads and
 *     sign-extends two 16-byte halves of B, broadcasts one s16 pair of each of 6 rows of A, and
 *     issues 12 vpmaddwd + 12 vpaddd.
 */
#include "cai_int8.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CAI_X86 1
#else
#define CAI_X86 0
#endif

#define CAI_AVX2 __attribute__((target("avx2,fma")))
#define CAI_AVX2_INLINE static inline __attribute__((always_inline, target("avx2,fma")))

/* ------------------------------------------------------------------------------------------------
 * Dispatch
 * ---------------------------------------------------------------------------------------------- */
static int cai_forced_scalar = 0;

int cai_isa_avx2(void) {
#if CAI_X86
  if (cai_forced_scalar) {
    return 0;
  }
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return 0;
#endif
}

void cai_force_scalar(int force) { cai_forced_scalar = force != 0; }

int cai_block_size_bytes(int format) {
  return format == 0 ? (int)sizeof(cai_s8p16_block) : format == 1 ? (int)sizeof(cai_block_q4g32) : -1;
}

static inline int cai_round_up(int v, int step) { return (v + step - 1) / step * step; }

/* ------------------------------------------------------------------------------------------------
 * Packing s8p16
 * ---------------------------------------------------------------------------------------------- */
size_t cai_pack_s8_size(int n, int k) {
  return (size_t)cai_round_up(n, CAI_S8P_NR) * (size_t)cai_round_up(k, CAI_S8P_KSTEP);
}

void cai_pack_s8(const int8_t* b, int n, int k, int ldb, int8_t* packed) {
  const int kp = cai_round_up(k, CAI_S8P_KSTEP);
  const int panels = cai_round_up(n, CAI_S8P_NR) / CAI_S8P_NR;
  for (int p = 0; p < panels; p++) {
    int8_t* dst = packed + (size_t)p * kp * CAI_S8P_NR;
    for (int q = 0; q < kp / 2; q++) {
      for (int c = 0; c < CAI_S8P_NR; c++) {
        const int row = p * CAI_S8P_NR + c;
        for (int t = 0; t < 2; t++) {
          const int col = 2 * q + t;
          *dst++ = (row < n && col < k) ? b[(size_t)row * ldb + col] : 0;
        }
      }
    }
  }
}

/* B[row][col] read back from s8p16. */
static inline int32_t cai_s8p16_at(const int8_t* packed, int kp, int row, int col) {
  const int p = row / CAI_S8P_NR;
  const int c = row % CAI_S8P_NR;
  return packed[(size_t)p * kp * CAI_S8P_NR + (size_t)(col / 2) * 32 + c * 2 + (col & 1)];
}

/* ------------------------------------------------------------------------------------------------
 * gemm / gemv u8 x s8 -> s32: scalar twins
 * ---------------------------------------------------------------------------------------------- */
void cai_gemm_u8s8_s32_ref(const uint8_t* a, int lda, const int8_t* b_packed, int32_t* c, int ldc,
                           int m, int n, int k) {
  const int kp = cai_round_up(k, CAI_S8P_KSTEP);
  for (int i = 0; i < m; i++) {
    for (int j = 0; j < n; j++) {
      int32_t sum = 0;
      for (int t = 0; t < k; t++) {
        sum += (int32_t)a[(size_t)i * lda + t] * cai_s8p16_at(b_packed, kp, j, t);
      }
      c[(size_t)i * ldc + j] = sum;
    }
  }
}

void cai_gemv_u8s8_s32_ref(const uint8_t* a, const int8_t* b_packed, int32_t* y, int n, int k) {
  cai_gemm_u8s8_s32_ref(a, k, b_packed, y, n, 1, n, k);
}

#if CAI_X86
/* ------------------------------------------------------------------------------------------------
 * gemm u8 x s8 -> s32: AVX2
 * ---------------------------------------------------------------------------------------------- */
#define CAI_MR 6
#define CAI_MC 64  /* rows of A per packed block */
#define CAI_KC 1024 /* k per packed block: even */

/* Stores (or adds to C when accumulate) the 16 lanes lo|hi, only the first ncols of them. */
CAI_AVX2_INLINE void cai_store_row16(int32_t* c, __m256i lo, __m256i hi, int ncols,
                                     int accumulate) {
  if (ncols == 16) {
    if (accumulate) {
      lo = _mm256_add_epi32(lo, _mm256_loadu_si256((const __m256i*)c));
      hi = _mm256_add_epi32(hi, _mm256_loadu_si256((const __m256i*)(c + 8)));
    }
    _mm256_storeu_si256((__m256i*)c, lo);
    _mm256_storeu_si256((__m256i*)(c + 8), hi);
    return;
  }
  int32_t tmp[16];
  _mm256_storeu_si256((__m256i*)tmp, lo);
  _mm256_storeu_si256((__m256i*)(tmp + 8), hi);
  for (int j = 0; j < ncols; j++) {
    c[j] = accumulate ? c[j] + tmp[j] : tmp[j];
  }
}

/* C tile [MR x 16] (+)= A16 [MR rows, stride a_stride s16] x one s8p16 panel slice of kpairs.
 * Accumulators are named variables, not an array, so that gcc keeps all 12 in ymm registers; the
 * MR guards are compile-time constants after inlining. */
#define CAI_ROW_STEP(r)                                                       \
  if (MR > r) {                                                               \
    const __m256i av = _mm256_set1_epi32(a##r[q]);                            \
    c##r##0 = _mm256_add_epi32(c##r##0, _mm256_madd_epi16(av, b0));           \
    c##r##1 = _mm256_add_epi32(c##r##1, _mm256_madd_epi16(av, b1));           \
  }
#define CAI_ROW_STORE(r)                                               \
  if (MR > r) {                                                        \
    _mm256_storeu_si256((__m256i*)(tile + r * 16), c##r##0);           \
    _mm256_storeu_si256((__m256i*)(tile + r * 16 + 8), c##r##1);       \
  }

CAI_AVX2_INLINE void cai_kernel_mrx16_tile(const int MR, const int16_t* a16, int a_stride,
                                           const int8_t* bp, int kpairs, int32_t* tile) {
  __m256i c00 = _mm256_setzero_si256(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  __m256i c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  const int32_t* a0 = (const int32_t*)a16;
  const int32_t* a1 = (const int32_t*)(a16 + (size_t)(MR > 1 ? 1 : 0) * a_stride);
  const int32_t* a2 = (const int32_t*)(a16 + (size_t)(MR > 2 ? 2 : 0) * a_stride);
  const int32_t* a3 = (const int32_t*)(a16 + (size_t)(MR > 3 ? 3 : 0) * a_stride);
  const int32_t* a4 = (const int32_t*)(a16 + (size_t)(MR > 4 ? 4 : 0) * a_stride);
  const int32_t* a5 = (const int32_t*)(a16 + (size_t)(MR > 5 ? 5 : 0) * a_stride);
  for (int q = 0; q < kpairs; q++) {
    const __m256i b0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i*)(bp)));
    const __m256i b1 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i*)(bp + 16)));
    bp += 32;
    CAI_ROW_STEP(0)
    CAI_ROW_STEP(1)
    CAI_ROW_STEP(2)
    CAI_ROW_STEP(3)
    CAI_ROW_STEP(4)
    CAI_ROW_STEP(5)
  }
  CAI_ROW_STORE(0)
  CAI_ROW_STORE(1)
  CAI_ROW_STORE(2)
  CAI_ROW_STORE(3)
  CAI_ROW_STORE(4)
  CAI_ROW_STORE(5)
}

/* The register tile computed, then stored to / added into C (only the first ncols columns). */
CAI_AVX2_INLINE void cai_kernel_mrx16(const int MR, const int16_t* a16, int a_stride,
                                      const int8_t* bp, int kpairs, int32_t* c, int ldc,
                                      int ncols, int accumulate) {
  int32_t tile[CAI_MR * 16] __attribute__((aligned(32)));
  cai_kernel_mrx16_tile(MR, a16, a_stride, bp, kpairs, tile);
  for (int r = 0; r < MR; r++) {
    cai_store_row16(c + (size_t)r * ldc, _mm256_load_si256((const __m256i*)(tile + r * 16)),
                    _mm256_load_si256((const __m256i*)(tile + r * 16 + 8)), ncols, accumulate);
  }
}

static CAI_AVX2 void cai_kernel_dispatch(int mr, const int16_t* a16, int a_stride,
                                         const int8_t* bp, int kpairs, int32_t* c, int ldc,
                                         int ncols, int accumulate) {
  switch (mr) {
    case 6: cai_kernel_mrx16(6, a16, a_stride, bp, kpairs, c, ldc, ncols, accumulate); break;
    case 5: cai_kernel_mrx16(5, a16, a_stride, bp, kpairs, c, ldc, ncols, accumulate); break;
    case 4: cai_kernel_mrx16(4, a16, a_stride, bp, kpairs, c, ldc, ncols, accumulate); break;
    case 3: cai_kernel_mrx16(3, a16, a_stride, bp, kpairs, c, ldc, ncols, accumulate); break;
    case 2: cai_kernel_mrx16(2, a16, a_stride, bp, kpairs, c, ldc, ncols, accumulate); break;
    default: cai_kernel_mrx16(1, a16, a_stride, bp, kpairs, c, ldc, ncols, accumulate); break;
  }
}

/* Zero-extends rows x [k0, k0+kc) of A into s16, stride kc (kc even); columns >= k become 0. */
static CAI_AVX2 void cai_pack_a16(const uint8_t* a, int lda, int rows, int k, int k0, int kc,
                                  int16_t* dst) {
  for (int r = 0; r < rows; r++) {
    const uint8_t* src = a + (size_t)r * lda + k0;
    int16_t* out = dst + (size_t)r * kc;
    const int valid = k - k0 < kc ? k - k0 : kc;
    int t = 0;
    for (; t + 16 <= valid; t += 16) {
      _mm256_storeu_si256((__m256i*)(out + t),
                          _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i*)(src + t))));
    }
    for (; t < valid; t++) {
      out[t] = src[t];
    }
    for (; t < kc; t++) {
      out[t] = 0;
    }
  }
}

/* One scratch buffer per thread for packed A, allocated once on first use, CAI_MC x CAI_KC s16. */
static __thread int16_t* cai_a16_scratch = NULL;

static int16_t* cai_scratch(void) {
  if (cai_a16_scratch == NULL) {
    cai_a16_scratch = (int16_t*)aligned_alloc(64, sizeof(int16_t) * CAI_MC * CAI_KC);
  }
  return cai_a16_scratch;
}

static CAI_AVX2 void cai_gemm_u8s8_s32_avx2(const uint8_t* a, int lda, const int8_t* b_packed,
                                            int32_t* c, int ldc, int m, int n, int k,
                                            int16_t* a16) {
  const int kp = cai_round_up(k, CAI_S8P_KSTEP);
  const int panels = cai_round_up(n, CAI_S8P_NR) / CAI_S8P_NR;
  for (int m0 = 0; m0 < m; m0 += CAI_MC) {
    const int mc = m - m0 < CAI_MC ? m - m0 : CAI_MC;
    for (int k0 = 0; k0 < kp; k0 += CAI_KC) {
      const int kc = kp - k0 < CAI_KC ? kp - k0 : CAI_KC;
      cai_pack_a16(a + (size_t)m0 * lda, lda, mc, k, k0, kc, a16);
      for (int p = 0; p < panels; p++) {
        const int8_t* bp = b_packed + (size_t)p * kp * CAI_S8P_NR + (size_t)k0 * CAI_S8P_NR;
        const int ncols = n - p * CAI_S8P_NR < CAI_S8P_NR ? n - p * CAI_S8P_NR : CAI_S8P_NR;
        for (int i = 0; i < mc; i += CAI_MR) {
          const int mr = mc - i < CAI_MR ? mc - i : CAI_MR;
          cai_kernel_dispatch(mr, a16 + (size_t)i * kc, kc, bp, kc / 2,
                              c + (size_t)(m0 + i) * ldc + p * CAI_S8P_NR, ldc, ncols, k0 > 0);
        }
      }
    }
  }
}

/* GEMV: the activation row widened once per KCV chunk, two panels per pass (four accumulators). */
#define CAI_KCV 4096

static CAI_AVX2 void cai_gemv_u8s8_s32_avx2(const uint8_t* a, const int8_t* b_packed, int32_t* y,
                                            int n, int k) {
  const int kp = cai_round_up(k, CAI_S8P_KSTEP);
  const int panels = cai_round_up(n, CAI_S8P_NR) / CAI_S8P_NR;
  int16_t a16[CAI_KCV] __attribute__((aligned(64)));
  const int32_t* a32 = (const int32_t*)a16;
  for (int k0 = 0; k0 < kp; k0 += CAI_KCV) {
    const int kc = kp - k0 < CAI_KCV ? kp - k0 : CAI_KCV;
    const int accumulate = k0 > 0;
    cai_pack_a16(a, k, 1, k, k0, kc, a16);
    int p = 0;
    for (; p + 2 <= panels; p += 2) {
      const int8_t* b0p = b_packed + (size_t)p * kp * CAI_S8P_NR + (size_t)k0 * CAI_S8P_NR;
      const int8_t* b1p = b0p + (size_t)kp * CAI_S8P_NR;
      __m256i acc0 = _mm256_setzero_si256(), acc1 = _mm256_setzero_si256();
      __m256i acc2 = _mm256_setzero_si256(), acc3 = _mm256_setzero_si256();
      for (int q = 0; q < kc / 2; q++) {
        const __m256i av = _mm256_set1_epi32(a32[q]);
        const __m256i x0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i*)(b0p)));
        const __m256i x1 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i*)(b0p + 16)));
        const __m256i x2 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i*)(b1p)));
        const __m256i x3 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i*)(b1p + 16)));
        b0p += 32;
        b1p += 32;
        acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(av, x0));
        acc1 = _mm256_add_epi32(acc1, _mm256_madd_epi16(av, x1));
        acc2 = _mm256_add_epi32(acc2, _mm256_madd_epi16(av, x2));
        acc3 = _mm256_add_epi32(acc3, _mm256_madd_epi16(av, x3));
      }
      const int nc0 = n - p * CAI_S8P_NR;
      const int nc1 = n - (p + 1) * CAI_S8P_NR;
      cai_store_row16(y + p * CAI_S8P_NR, acc0, acc1, nc0 < 16 ? nc0 : 16, accumulate);
      cai_store_row16(y + (p + 1) * CAI_S8P_NR, acc2, acc3, nc1 < 16 ? nc1 : 16, accumulate);
    }
    for (; p < panels; p++) {
      const int8_t* bp = b_packed + (size_t)p * kp * CAI_S8P_NR + (size_t)k0 * CAI_S8P_NR;
      const int nc = n - p * CAI_S8P_NR;
      cai_kernel_mrx16(1, a16, kc, bp, kc / 2, y + p * CAI_S8P_NR, 0, nc < 16 ? nc : 16,
                       accumulate);
    }
  }
}
#endif /* CAI_X86 */

void cai_gemm_u8s8_s32(const uint8_t* a, int lda, const int8_t* b_packed, int32_t* c, int ldc,
                       int m, int n, int k) {
#if CAI_X86
  if (cai_isa_avx2()) {
    if (m == 1) {
      cai_gemv_u8s8_s32_avx2(a, b_packed, c, n, k);
      return;
    }
    int16_t* a16 = cai_scratch();
    if (a16 != NULL) {
      cai_gemm_u8s8_s32_avx2(a, lda, b_packed, c, ldc, m, n, k, a16);
      return;
    }
  }
#endif
  cai_gemm_u8s8_s32_ref(a, lda, b_packed, c, ldc, m, n, k);
}

void cai_gemv_u8s8_s32(const uint8_t* a, const int8_t* b_packed, int32_t* y, int n, int k) {
#if CAI_X86
  if (cai_isa_avx2()) {
    cai_gemv_u8s8_s32_avx2(a, b_packed, y, n, k);
    return;
  }
#endif
  cai_gemv_u8s8_s32_ref(a, b_packed, y, n, k);
}

/* ------------------------------------------------------------------------------------------------
 * Output stage
 * ---------------------------------------------------------------------------------------------- */
static inline float cai_requant_real(int32_t acc, const cai_requant_params* p, int j) {
  /* Unsigned add: s32 wrap-around without C undefined behaviour, as Java's int add. */
  const int32_t t = (int32_t)((uint32_t)acc + (uint32_t)(p->bias ? p->bias[j] : 0));
  return (float)t * p->scale[j];
}

void cai_requant_s32_u8_ref(const int32_t* c, int ldc, int m, int n, const cai_requant_params* p,
                            uint8_t* out, int ldo) {
  const float lo = p->relu ? 0.0f : (float)-p->out_zero_point;
  const float hi = (float)(255 - p->out_zero_point);
  for (int i = 0; i < m; i++) {
    for (int j = 0; j < n; j++) {
      float y = cai_requant_real(c[(size_t)i * ldc + j], p, j);
      y = y < lo ? lo : y;
      y = y > hi ? hi : y;
      out[(size_t)i * ldo + j] = (uint8_t)((int)nearbyintf(y) + p->out_zero_point);
    }
  }
}

void cai_requant_s32_f32_ref(const int32_t* c, int ldc, int m, int n,
                             const cai_requant_params* p, float* out, int ldo) {
  for (int i = 0; i < m; i++) {
    for (int j = 0; j < n; j++) {
      const float y = cai_requant_real(c[(size_t)i * ldc + j], p, j);
      out[(size_t)i * ldo + j] = p->relu && y < 0.0f ? 0.0f : y;
    }
  }
}

#if CAI_X86
/* The real values of 8 consecutive channels j..j+7 of one row. */
CAI_AVX2_INLINE __m256 cai_requant_real8(const int32_t* c, const cai_requant_params* p, int j) {
  __m256i acc = _mm256_loadu_si256((const __m256i*)(c + j));
  if (p->bias) {
    acc = _mm256_add_epi32(acc, _mm256_loadu_si256((const __m256i*)(p->bias + j)));
  }
  return _mm256_mul_ps(_mm256_cvtepi32_ps(acc), _mm256_loadu_ps(p->scale + j));
}

static CAI_AVX2 void cai_requant_s32_u8_avx2(const int32_t* c, int ldc, int m, int n,
                                             const cai_requant_params* p, uint8_t* out, int ldo) {
  const __m256 lo = _mm256_set1_ps(p->relu ? 0.0f : (float)-p->out_zero_point);
  const __m256 hi = _mm256_set1_ps((float)(255 - p->out_zero_point));
  const __m256i zp = _mm256_set1_epi32(p->out_zero_point);
  const int n8 = n / 8 * 8;
  for (int i = 0; i < m; i++) {
    const int32_t* row = c + (size_t)i * ldc;
    uint8_t* dst = out + (size_t)i * ldo;
    for (int j = 0; j < n8; j += 8) {
      /* min/max with y first: NaN-free inputs give the same as the scalar compare-and-select. */
      __m256 y = _mm256_min_ps(_mm256_max_ps(cai_requant_real8(row, p, j), lo), hi);
      /* cvtps_epi32 rounds by MXCSR: nearest, ties to even, as nearbyintf / Math.rint. */
      __m256i q = _mm256_add_epi32(_mm256_cvtps_epi32(y), zp); /* 0..255 */
      __m128i q16 = _mm_packus_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
      __m128i q8 = _mm_packus_epi16(q16, q16);
      _mm_storel_epi64((__m128i*)(dst + j), q8);
    }
    if (n8 < n) {
      cai_requant_params tail = *p;
      tail.bias = p->bias ? p->bias + n8 : NULL;
      tail.scale = p->scale + n8;
      cai_requant_s32_u8_ref(row + n8, ldc, 1, n - n8, &tail, dst + n8, ldo);
    }
  }
}

static CAI_AVX2 void cai_requant_s32_f32_avx2(const int32_t* c, int ldc, int m, int n,
                                              const cai_requant_params* p, float* out, int ldo) {
  const int n8 = n / 8 * 8;
  const __m256 zero = _mm256_setzero_ps();
  for (int i = 0; i < m; i++) {
    const int32_t* row = c + (size_t)i * ldc;
    float* dst = out + (size_t)i * ldo;
    for (int j = 0; j < n8; j += 8) {
      __m256 y = cai_requant_real8(row, p, j);
      if (p->relu) {
        y = _mm256_max_ps(y, zero);
      }
      _mm256_storeu_ps(dst + j, y);
    }
    if (n8 < n) {
      cai_requant_params tail = *p;
      tail.bias = p->bias ? p->bias + n8 : NULL;
      tail.scale = p->scale + n8;
      cai_requant_s32_f32_ref(row + n8, ldc, 1, n - n8, &tail, dst + n8, ldo);
    }
  }
}
#endif /* CAI_X86 */

void cai_requant_s32_u8(const int32_t* c, int ldc, int m, int n, const cai_requant_params* p,
                        uint8_t* out, int ldo) {
#if CAI_X86
  if (cai_isa_avx2()) {
    cai_requant_s32_u8_avx2(c, ldc, m, n, p, out, ldo);
    return;
  }
#endif
  cai_requant_s32_u8_ref(c, ldc, m, n, p, out, ldo);
}

void cai_requant_s32_f32(const int32_t* c, int ldc, int m, int n, const cai_requant_params* p,
                         float* out, int ldo) {
#if CAI_X86
  if (cai_isa_avx2()) {
    cai_requant_s32_f32_avx2(c, ldc, m, n, p, out, ldo);
    return;
  }
#endif
  cai_requant_s32_f32_ref(c, ldc, m, n, p, out, ldo);
}

void cai_requant_s32_u8_args(const int32_t* c, int ldc, int m, int n, const int32_t* bias,
                             const float* scale, int out_zero_point, int relu, uint8_t* out,
                             int ldo, int use_ref) {
  cai_requant_params p;
  p.bias = bias;
  p.scale = scale;
  p.out_zero_point = out_zero_point;
  p.relu = relu;
  if (use_ref) {
    cai_requant_s32_u8_ref(c, ldc, m, n, &p, out, ldo);
  } else {
    cai_requant_s32_u8(c, ldc, m, n, &p, out, ldo);
  }
}

void cai_requant_s32_f32_args(const int32_t* c, int ldc, int m, int n, const int32_t* bias,
                              const float* scale, int relu, float* out, int ldo, int use_ref) {
  cai_requant_params p;
  p.bias = bias;
  p.scale = scale;
  p.out_zero_point = 0;
  p.relu = relu;
  if (use_ref) {
    cai_requant_s32_f32_ref(c, ldc, m, n, &p, out, ldo);
  } else {
    cai_requant_s32_f32(c, ldc, m, n, &p, out, ldo);
  }
}

/* ------------------------------------------------------------------------------------------------
 * q4g32
 * ---------------------------------------------------------------------------------------------- */
void cai_quantize_q4g32(const float* w, int n, int k, cai_block_q4g32* out) {
  const int groups = k / QK4_G32;
  for (int r = 0; r < n; r++) {
    for (int g = 0; g < groups; g++) {
      const float* src = w + (size_t)r * k + (size_t)g * QK4_G32;
      float extreme = 0.0f; /* the value of largest magnitude, with its sign */
      for (int j = 0; j < QK4_G32; j++) {
        if (fabsf(src[j]) > fabsf(extreme)) {
          extreme = src[j];
        }
      }
      const float d = extreme / -8.0f; /* extreme -> q - 8 = -8 exactly */
      cai_block_q4g32* blk = out + (size_t)r * groups + g;
      blk->d = d;
      uint8_t q[QK4_G32];
      for (int j = 0; j < QK4_G32; j++) {
        int v = d == 0.0f ? 8 : (int)nearbyintf(src[j] / d) + 8;
        q[j] = (uint8_t)(v < 0 ? 0 : v > 15 ? 15 : v);
      }
      for (int j = 0; j < QK4_G32 / 2; j++) {
        blk->qs[j] = (uint8_t)(q[j] | (q[j + QK4_G32 / 2] << 4));
      }
    }
  }
}

/* Activations of one row quantized per group of 32: xq = rint(x / dx), dx = max|x| / 127. */
typedef struct {
  float d;                /* dx */
  int32_t corr;           /* -8 * sum(xq): the exact integer correction of the q - 8 offset */
  int8_t qs[QK4_G32];     /* xq */
} cai_block_q8g32;
CAI_STATIC_ASSERT(sizeof(cai_block_q8g32) == 40, "q8g32 block is 40 bytes");

static void cai_quantize_row_q8g32(const float* x, int k, cai_block_q8g32* out) {
  for (int g = 0; g < k / QK4_G32; g++) {
    const float* src = x + (size_t)g * QK4_G32;
    float amax = 0.0f;
    for (int j = 0; j < QK4_G32; j++) {
      amax = fabsf(src[j]) > amax ? fabsf(src[j]) : amax;
    }
    const float d = amax / 127.0f;
    int32_t sum = 0;
    for (int j = 0; j < QK4_G32; j++) {
      int v = d == 0.0f ? 0 : (int)nearbyintf(src[j] / d);
      v = v < -127 ? -127 : v > 127 ? 127 : v;
      out[g].qs[j] = (int8_t)v;
      sum += v;
    }
    out[g].d = d;
    out[g].corr = -8 * sum;
  }
}

/* The exact integer dot of one q4 group with one q8 group: sum (q - 8) * xq. */
static inline int32_t cai_dot_q4q8_ref(const cai_block_q4g32* w, const cai_block_q8g32* x) {
  int32_t sum = 0;
  for (int j = 0; j < QK4_G32 / 2; j++) {
    sum += ((w->qs[j] & 0x0F) - 8) * x->qs[j];
    sum += ((w->qs[j] >> 4) - 8) * x->qs[j + QK4_G32 / 2];
  }
  return sum;
}

/* Thread-local activation scratch for the q4 kernels, grown as needed. */
static __thread cai_block_q8g32* cai_q8_scratch = NULL;
static __thread size_t cai_q8_scratch_blocks = 0;

static cai_block_q8g32* cai_q8_buffer(size_t blocks) {
  if (blocks > cai_q8_scratch_blocks) {
    free(cai_q8_scratch);
    cai_q8_scratch = (cai_block_q8g32*)aligned_alloc(64, (blocks * sizeof(cai_block_q8g32) + 63) / 64 * 64);
    cai_q8_scratch_blocks = cai_q8_scratch ? blocks : 0;
  }
  return cai_q8_scratch;
}

static void cai_gemm_q4g32_ref_q8(const cai_block_q4g32* w, const cai_block_q8g32* xq, float* y,
                                  int ldy, int m, int n, int k) {
  const int groups = k / QK4_G32;
  for (int i = 0; i < m; i++) {
    for (int r = 0; r < n; r++) {
      float sum = 0.0f;
      for (int g = 0; g < groups; g++) {
        const cai_block_q4g32* wb = w + (size_t)r * groups + g;
        const cai_block_q8g32* xb = xq + (size_t)i * groups + g;
        sum += wb->d * xb->d * (float)cai_dot_q4q8_ref(wb, xb);
      }
      y[(size_t)i * ldy + r] = sum;
    }
  }
}

void cai_gemm_q4g32_f32_ref(const cai_block_q4g32* w, const float* x, int ldx, float* y, int ldy,
                            int m, int n, int k) {
  const int groups = k / QK4_G32;
  for (int i = 0; i < m; i++) {
    cai_block_q8g32 xq[64];
    /* Row by row, chunks of 64 groups, so the scalar twin needs no heap. */
    for (int r = 0; r < n; r++) {
      y[(size_t)i * ldy + r] = 0.0f;
    }
    for (int g0 = 0; g0 < groups; g0 += 64) {
      const int gc = groups - g0 < 64 ? groups - g0 : 64;
      cai_quantize_row_q8g32(x + (size_t)i * ldx + (size_t)g0 * QK4_G32, gc * QK4_G32, xq);
      for (int r = 0; r < n; r++) {
        float sum = 0.0f;
        for (int g = 0; g < gc; g++) {
          const cai_block_q4g32* wb = w + (size_t)r * groups + g0 + g;
          sum += wb->d * xq[g].d * (float)cai_dot_q4q8_ref(wb, &xq[g]);
        }
        y[(size_t)i * ldy + r] += sum;
      }
    }
  }
}

void cai_gemv_q4g32_f32_ref(const cai_block_q4g32* w, const float* x, float* y, int n, int k) {
  cai_gemm_q4g32_f32_ref(w, x, k, y, n, 1, n, k);
}

#if CAI_X86
/* 32 weights of a q4 group as u8 0..15, element order 0..31. */
CAI_AVX2_INLINE __m256i cai_unpack_q4(const cai_block_q4g32* b) {
  const __m128i raw = _mm_loadu_si128((const __m128i*)b->qs);
  const __m256i both = _mm256_set_m128i(_mm_srli_epi16(raw, 4), raw);
  return _mm256_and_si256(both, _mm256_set1_epi8(0x0F));
}

/* 8 s32 lanes whose sum is sum_j (q_j - 8) * xq_j, exact. */
CAI_AVX2_INLINE __m256i cai_dot8_q4q8(__m256i q, const cai_block_q8g32* xb, __m256i ones) {
  const __m256i xv = _mm256_loadu_si256((const __m256i*)xb->qs);
  /* u8 q in 0..15 times s8 xq in -127..127: |pair| <= 3810, maddubs never saturates. */
  const __m256i p16 = _mm256_maddubs_epi16(q, xv);
  const __m256i p32 = _mm256_madd_epi16(p16, ones);
  return _mm256_add_epi32(p32, _mm256_setr_epi32(xb->corr, 0, 0, 0, 0, 0, 0, 0));
}

CAI_AVX2_INLINE float cai_hsum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

#define CAI_Q4_XR 4 /* activation rows sharing one unpacked weight group */

/* Y[m,n] = X W^T with X already quantized (xq: m rows of k/32 groups). */
static CAI_AVX2 void cai_gemm_q4g32_avx2_q8(const cai_block_q4g32* w, const cai_block_q8g32* xq,
                                            float* y, int ldy, int m, int n, int k) {
  const int groups = k / QK4_G32;
  const __m256i ones = _mm256_set1_epi16(1);
  if (m == 1) {
    /* GEMV: four weight rows per pass share each activation group. */
    int r = 0;
    for (; r + 4 <= n; r += 4) {
      const cai_block_q4g32* w0 = w + (size_t)r * groups;
      const cai_block_q4g32* w1 = w0 + groups;
      const cai_block_q4g32* w2 = w1 + groups;
      const cai_block_q4g32* w3 = w2 + groups;
      __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
      __m256 a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
      for (int g = 0; g < groups; g++) {
        const cai_block_q8g32* xb = xq + g;
        const __m256 dx = _mm256_set1_ps(xb->d);
        a0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(cai_dot8_q4q8(cai_unpack_q4(w0 + g), xb, ones)),
                             _mm256_mul_ps(_mm256_set1_ps(w0[g].d), dx), a0);
        a1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(cai_dot8_q4q8(cai_unpack_q4(w1 + g), xb, ones)),
                             _mm256_mul_ps(_mm256_set1_ps(w1[g].d), dx), a1);
        a2 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(cai_dot8_q4q8(cai_unpack_q4(w2 + g), xb, ones)),
                             _mm256_mul_ps(_mm256_set1_ps(w2[g].d), dx), a2);
        a3 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(cai_dot8_q4q8(cai_unpack_q4(w3 + g), xb, ones)),
                             _mm256_mul_ps(_mm256_set1_ps(w3[g].d), dx), a3);
      }
      y[r] = cai_hsum8(a0);
      y[r + 1] = cai_hsum8(a1);
      y[r + 2] = cai_hsum8(a2);
      y[r + 3] = cai_hsum8(a3);
    }
    for (; r < n; r++) {
      const cai_block_q4g32* w0 = w + (size_t)r * groups;
      __m256 a0 = _mm256_setzero_ps();
      for (int g = 0; g < groups; g++) {
        a0 = _mm256_fmadd_ps(
            _mm256_cvtepi32_ps(cai_dot8_q4q8(cai_unpack_q4(w0 + g), xq + g, ones)),
            _mm256_set1_ps(w0[g].d * xq[g].d), a0);
      }
      y[r] = cai_hsum8(a0);
    }
    return;
  }
  /* GEMM: each unpacked weight group serves up to CAI_Q4_XR activation rows. */
  for (int r = 0; r < n; r++) {
    const cai_block_q4g32* wr = w + (size_t)r * groups;
    for (int i0 = 0; i0 < m; i0 += CAI_Q4_XR) {
      const int rows = m - i0 < CAI_Q4_XR ? m - i0 : CAI_Q4_XR;
      __m256 acc[CAI_Q4_XR];
      for (int t = 0; t < CAI_Q4_XR; t++) {
        acc[t] = _mm256_setzero_ps();
      }
      if (rows == CAI_Q4_XR) {
        for (int g = 0; g < groups; g++) {
          const __m256i q = cai_unpack_q4(wr + g);
          const __m256 dw = _mm256_set1_ps(wr[g].d);
          for (int t = 0; t < CAI_Q4_XR; t++) {
            const cai_block_q8g32* xb = xq + (size_t)(i0 + t) * groups + g;
            acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(cai_dot8_q4q8(q, xb, ones)),
                                     _mm256_mul_ps(dw, _mm256_set1_ps(xb->d)), acc[t]);
          }
        }
      } else {
        for (int g = 0; g < groups; g++) {
          const __m256i q = cai_unpack_q4(wr + g);
          const __m256 dw = _mm256_set1_ps(wr[g].d);
          for (int t = 0; t < rows; t++) {
            const cai_block_q8g32* xb = xq + (size_t)(i0 + t) * groups + g;
            acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(cai_dot8_q4q8(q, xb, ones)),
                                     _mm256_mul_ps(dw, _mm256_set1_ps(xb->d)), acc[t]);
          }
        }
      }
      for (int t = 0; t < rows; t++) {
        y[(size_t)(i0 + t) * ldy + r] = cai_hsum8(acc[t]);
      }
    }
  }
}
#endif /* CAI_X86 */

void cai_gemm_q4g32_f32(const cai_block_q4g32* w, const float* x, int ldx, float* y, int ldy, int m,
                        int n, int k) {
  const int groups = k / QK4_G32;
  cai_block_q8g32* xq = cai_q8_buffer((size_t)m * groups);
  if (xq == NULL) {
    cai_gemm_q4g32_f32_ref(w, x, ldx, y, ldy, m, n, k);
    return;
  }
  for (int i = 0; i < m; i++) {
    cai_quantize_row_q8g32(x + (size_t)i * ldx, k, xq + (size_t)i * groups);
  }
#if CAI_X86
  if (cai_isa_avx2()) {
    cai_gemm_q4g32_avx2_q8(w, xq, y, ldy, m, n, k);
    return;
  }
#endif
  cai_gemm_q4g32_ref_q8(w, xq, y, ldy, m, n, k);
}

void cai_gemv_q4g32_f32(const cai_block_q4g32* w, const float* x, float* y, int n, int k) {
  cai_gemm_q4g32_f32(w, x, k, y, n, 1, n, k);
}
