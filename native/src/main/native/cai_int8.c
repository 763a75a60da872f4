/*
 * cacheai integer kernels: implementation. Formats, contracts and rounding rules: cai_int8.h.
 *
 * Exactness of gemm_u8s8_s32 on AVX2 (CPUs without AVX-512 VNNI; the VNNI body is described at
 * cai_gemm_u8s8_s32_vnni):
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

#include <float.h>
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
#define CAI_VNNI __attribute__((target("avx512f,avx512bw,avx512vnni")))
#define CAI_VNNI_INLINE \
  static inline __attribute__((always_inline, target("avx512f,avx512bw,avx512vnni")))

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

static int cai_forced_no_vnni = 0;

int cai_isa_vnni(void) {
#if CAI_X86
  if (cai_forced_scalar || cai_forced_no_vnni) {
    return 0;
  }
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vnni");
#else
  return 0;
#endif
}

void cai_force_no_vnni(int force) { cai_forced_no_vnni = force != 0; }

int cai_block_size_bytes(int format) {
  return format == 0 ? (int)sizeof(cai_s8p16_block) : format == 1 ? (int)sizeof(cai_block_q4g32x2) : -1;
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

/* ------------------------------------------------------------------------------------------------
 * gemm u8 x s8 -> s32: AVX-512 VNNI
 *
 * vpdpbusd adds, to each s32 lane, the sum of 4 products u8 x s8 of the lane's 4 bytes. Each
 * product is within [-32640, 32385], the 4-sum within +-130560, and it is added to the s32 lane
 * without saturation (vpdpbusd, not vpdpbusds): the result is exact while the running sum stays in
 * s32, which K <= 65536 guarantees (as for the AVX2 path). No widening of A is needed.
 *
 * Reading s8p16 without repacking: two consecutive 32-byte k-pair blocks q, q+1 of a panel form
 * one 64-byte zmm load X whose s16 word w holds (B[c][2q], B[c][2q+1]) for w = c < 16 and
 * (B[c][2q+2], B[c][2q+3]) for w = 16 + c. One vpermw with index (0,16, 1,17, ..., 15,31) puts the
 * four k of channel c into s32 lane c:
 *
 *   X    : | c0 k0k1 | c1 k0k1 | ... | c15 k0k1 | c0 k2k3 | c1 k2k3 | ... | c15 k2k3 |
 *   perm : | c0 k0k1 k2k3 | c1 k0k1 k2k3 | ... | c15 k0k1 k2k3 |      (lane c = channel c)
 *
 * so one vpdpbusd against the broadcast activation quad (a[4s..4s+3]) gives 16 channels x 4 k.
 * When a block has an odd number of k-pairs, the last one is loaded as 32 bytes with the upper
 * half zero (A is zero-padded there too). The permute is shared by all MR rows of a tile.
 *
 * Blocking: A is copied per (MC x KC) block into u8 rows of stride round_up(kc, 4), zero padded;
 * the micro-kernel holds MR (<= 8) rows x 2 panels (32 channels) in 16 zmm accumulators.
 * ---------------------------------------------------------------------------------------------- */
#define CAI_VMR 8

/* Stores (or adds into C when accumulate) the first ncols of 16 lanes. */
CAI_VNNI_INLINE void cai_vnni_store16(int32_t* c, __m512i v, int ncols, int accumulate) {
  const __mmask16 mask = (__mmask16)(ncols >= 16 ? 0xFFFF : (1u << ncols) - 1u);
  if (accumulate) {
    v = _mm512_add_epi32(v, _mm512_maskz_loadu_epi32(mask, c));
  }
  _mm512_mask_storeu_epi32(c, mask, v);
}

#define CAI_VROW_STEP(r)                                                      \
  if (MR > r) {                                                               \
    const __m512i av = _mm512_set1_epi32(a##r[s]);                            \
    d##r##0 = _mm512_dpbusd_epi32(d##r##0, av, w0);                           \
    if (NP > 1) d##r##1 = _mm512_dpbusd_epi32(d##r##1, av, w1);               \
  }
#define CAI_VROW_STORE(r)                                                     \
  if (MR > r) {                                                               \
    cai_vnni_store16(c + (size_t)r * ldc, d##r##0, nc0, accumulate);          \
    if (NP > 1) cai_vnni_store16(c + (size_t)r * ldc + 16, d##r##1, nc1, accumulate); \
  }
#define CAI_VROW_PTR(r) \
  const int32_t* a##r = (const int32_t*)(a8 + (size_t)(MR > r ? r : 0) * a_stride)

/* C tile [MR x 16*NP] (+)= A8 [MR rows, stride a_stride bytes] x NP s8p16 panel slices. */
CAI_VNNI_INLINE void cai_vnni_kernel(const int MR, const int NP, const uint8_t* a8, int a_stride,
                                     const int8_t* bp0, const int8_t* bp1, int kpairs,
                                     int32_t* c, int ldc, int nc0, int nc1, int accumulate) {
  const __m512i idx = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24,
                                       8, 23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
  __m512i d00 = _mm512_setzero_si512(), d01 = d00, d10 = d00, d11 = d00, d20 = d00, d21 = d00;
  __m512i d30 = d00, d31 = d00, d40 = d00, d41 = d00, d50 = d00, d51 = d00;
  __m512i d60 = d00, d61 = d00, d70 = d00, d71 = d00;
  CAI_VROW_PTR(0);
  CAI_VROW_PTR(1);
  CAI_VROW_PTR(2);
  CAI_VROW_PTR(3);
  CAI_VROW_PTR(4);
  CAI_VROW_PTR(5);
  CAI_VROW_PTR(6);
  CAI_VROW_PTR(7);
  const int quads = kpairs / 2;
  int s = 0;
  for (; s < quads; s++) {
    const __m512i w0 = _mm512_permutexvar_epi16(idx, _mm512_loadu_si512(bp0 + (size_t)s * 64));
    const __m512i w1 =
        NP > 1 ? _mm512_permutexvar_epi16(idx, _mm512_loadu_si512(bp1 + (size_t)s * 64)) : w0;
    CAI_VROW_STEP(0)
    CAI_VROW_STEP(1)
    CAI_VROW_STEP(2)
    CAI_VROW_STEP(3)
    CAI_VROW_STEP(4)
    CAI_VROW_STEP(5)
    CAI_VROW_STEP(6)
    CAI_VROW_STEP(7)
  }
  if (kpairs & 1) { /* last k-pair alone: upper 32 bytes zero, never read past the panel */
    const __m512i w0 = _mm512_permutexvar_epi16(
        idx, _mm512_inserti64x4(_mm512_setzero_si512(),
                                _mm256_loadu_si256((const __m256i*)(bp0 + (size_t)s * 64)), 0));
    const __m512i w1 =
        NP > 1 ? _mm512_permutexvar_epi16(
                     idx, _mm512_inserti64x4(
                              _mm512_setzero_si512(),
                              _mm256_loadu_si256((const __m256i*)(bp1 + (size_t)s * 64)), 0))
               : w0;
    CAI_VROW_STEP(0)
    CAI_VROW_STEP(1)
    CAI_VROW_STEP(2)
    CAI_VROW_STEP(3)
    CAI_VROW_STEP(4)
    CAI_VROW_STEP(5)
    CAI_VROW_STEP(6)
    CAI_VROW_STEP(7)
  }
  CAI_VROW_STORE(0)
  CAI_VROW_STORE(1)
  CAI_VROW_STORE(2)
  CAI_VROW_STORE(3)
  CAI_VROW_STORE(4)
  CAI_VROW_STORE(5)
  CAI_VROW_STORE(6)
  CAI_VROW_STORE(7)
}

#define CAI_VCASE(mr)                                                                        \
  case mr:                                                                                   \
    if (np == 2) {                                                                           \
      cai_vnni_kernel(mr, 2, a8, a_stride, bp0, bp1, kpairs, c, ldc, nc0, nc1, accumulate);  \
    } else {                                                                                 \
      cai_vnni_kernel(mr, 1, a8, a_stride, bp0, bp0, kpairs, c, ldc, nc0, nc0, accumulate);  \
    }                                                                                        \
    break;

static CAI_VNNI void cai_vnni_dispatch(int mr, int np, const uint8_t* a8, int a_stride,
                                       const int8_t* bp0, const int8_t* bp1, int kpairs,
                                       int32_t* c, int ldc, int nc0, int nc1, int accumulate) {
  switch (mr) {
    CAI_VCASE(8)
    CAI_VCASE(7)
    CAI_VCASE(6)
    CAI_VCASE(5)
    CAI_VCASE(4)
    CAI_VCASE(3)
    CAI_VCASE(2)
    default:
      CAI_VCASE(1)
  }
}

/* Copies rows x [k0, k0+kc) of A into u8 rows of stride kc4 (kc rounded up to 4); columns >= k
 * become 0. */
static void cai_pack_a8(const uint8_t* a, int lda, int rows, int k, int k0, int kc4,
                        uint8_t* dst) {
  for (int r = 0; r < rows; r++) {
    const int valid = k - k0 < kc4 ? (k - k0 > 0 ? k - k0 : 0) : kc4;
    memcpy(dst + (size_t)r * kc4, a + (size_t)r * lda + k0, (size_t)valid);
    memset(dst + (size_t)r * kc4 + valid, 0, (size_t)(kc4 - valid));
  }
}

static __thread uint8_t* cai_a8_scratch = NULL;

static uint8_t* cai_scratch8(void) {
  if (cai_a8_scratch == NULL) {
    cai_a8_scratch = (uint8_t*)aligned_alloc(64, (size_t)CAI_MC * CAI_KC);
  }
  return cai_a8_scratch;
}

static CAI_VNNI void cai_gemm_u8s8_s32_vnni(const uint8_t* a, int lda, const int8_t* b_packed,
                                            int32_t* c, int ldc, int m, int n, int k,
                                            uint8_t* a8) {
  const int kp = cai_round_up(k, CAI_S8P_KSTEP);
  const int panels = cai_round_up(n, CAI_S8P_NR) / CAI_S8P_NR;
  const size_t panel_bytes = (size_t)kp * CAI_S8P_NR;
  for (int m0 = 0; m0 < m; m0 += CAI_MC) {
    const int mc = m - m0 < CAI_MC ? m - m0 : CAI_MC;
    for (int k0 = 0; k0 < kp; k0 += CAI_KC) {
      const int kc = kp - k0 < CAI_KC ? kp - k0 : CAI_KC; /* even */
      const int kc4 = cai_round_up(kc, 4);
      cai_pack_a8(a + (size_t)m0 * lda, lda, mc, k, k0, kc4, a8);
      for (int p = 0; p < panels; p += 2) {
        const int np = panels - p >= 2 ? 2 : 1;
        const int8_t* bp0 = b_packed + (size_t)p * panel_bytes + (size_t)k0 * CAI_S8P_NR;
        const int8_t* bp1 = bp0 + panel_bytes;
        const int nc0 = n - p * CAI_S8P_NR < 16 ? n - p * CAI_S8P_NR : 16;
        const int nc1 = np == 2 ? (n - (p + 1) * CAI_S8P_NR < 16 ? n - (p + 1) * CAI_S8P_NR : 16)
                                : 0;
        for (int i = 0; i < mc; i += CAI_VMR) {
          const int mr = mc - i < CAI_VMR ? mc - i : CAI_VMR;
          cai_vnni_dispatch(mr, np, a8 + (size_t)i * kc4, kc4, bp0, bp1, kc / 2,
                            c + (size_t)(m0 + i) * ldc + p * CAI_S8P_NR, ldc, nc0, nc1, k0 > 0);
        }
      }
    }
  }
}

/* GEMV (one activation row) on VNNI: the GEMM's MR = 1 tile has only two accumulator chains, so
 * it waits on vpdpbusd's latency every step. Here NP (<= 4) panels advance together: NP
 * independent chains, one vpermw each per 4 k. */
CAI_VNNI_INLINE void cai_gemv_vnni_panels(const int NP, const int32_t* a32, const int8_t* bp,
                                          size_t panel_bytes, int kpairs, int32_t* y, int n0,
                                          int n) {
  const __m512i idx = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24,
                                       8, 23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
  __m512i acc[4];
  for (int i = 0; i < 4; i++) {
    acc[i] = _mm512_setzero_si512();
  }
  const int quads = kpairs / 2;
  int s = 0;
  for (; s < quads; s++) {
    const __m512i av = _mm512_set1_epi32(a32[s]);
    for (int i = 0; i < NP; i++) {
      const __m512i w =
          _mm512_permutexvar_epi16(idx, _mm512_loadu_si512(bp + i * panel_bytes + (size_t)s * 64));
      acc[i] = _mm512_dpbusd_epi32(acc[i], av, w);
    }
  }
  if (kpairs & 1) { /* last k-pair alone: upper 32 bytes zero, never read past the panel */
    const __m512i av = _mm512_set1_epi32(a32[s]);
    for (int i = 0; i < NP; i++) {
      const __m512i w = _mm512_permutexvar_epi16(
          idx, _mm512_inserti64x4(_mm512_setzero_si512(),
                                  _mm256_loadu_si256((const __m256i*)(bp + i * panel_bytes +
                                                                       (size_t)s * 64)),
                                  0));
      acc[i] = _mm512_dpbusd_epi32(acc[i], av, w);
    }
  }
  for (int i = 0; i < NP; i++) {
    const int nc = n - (n0 + 16 * i) < 16 ? n - (n0 + 16 * i) : 16;
    cai_vnni_store16(y + n0 + 16 * i, acc[i], nc, 0);
  }
}

static __thread uint8_t* cai_gemv_a = NULL;
static __thread size_t cai_gemv_a_capacity = 0;

/* 0 when the activation buffer cannot be allocated (the caller falls back). */
static CAI_VNNI int cai_gemv_u8s8_s32_vnni(const uint8_t* a, const int8_t* b_packed, int32_t* y,
                                           int n, int k) {
  const int kp = cai_round_up(k, CAI_S8P_KSTEP);
  const size_t need = (size_t)cai_round_up(kp, 4);
  if (cai_gemv_a_capacity < need) {
    free(cai_gemv_a);
    cai_gemv_a = (uint8_t*)aligned_alloc(64, (need + 63) / 64 * 64);
    cai_gemv_a_capacity = cai_gemv_a == NULL ? 0 : need;
    if (cai_gemv_a == NULL) {
      return 0;
    }
  }
  memcpy(cai_gemv_a, a, (size_t)k);
  memset(cai_gemv_a + k, 0, need - (size_t)k);
  const int32_t* a32 = (const int32_t*)cai_gemv_a;
  const int panels = cai_round_up(n, CAI_S8P_NR) / CAI_S8P_NR;
  const size_t panel_bytes = (size_t)kp * CAI_S8P_NR;
  for (int p = 0; p < panels; p += 4) {
    const int np = panels - p < 4 ? panels - p : 4;
    const int8_t* bp = b_packed + (size_t)p * panel_bytes;
    switch (np) {
      case 4: cai_gemv_vnni_panels(4, a32, bp, panel_bytes, kp / 2, y, p * 16, n); break;
      case 3: cai_gemv_vnni_panels(3, a32, bp, panel_bytes, kp / 2, y, p * 16, n); break;
      case 2: cai_gemv_vnni_panels(2, a32, bp, panel_bytes, kp / 2, y, p * 16, n); break;
      default: cai_gemv_vnni_panels(1, a32, bp, panel_bytes, kp / 2, y, p * 16, n); break;
    }
  }
  return 1;
}
#endif /* CAI_X86 */

void cai_gemm_u8s8_s32(const uint8_t* a, int lda, const int8_t* b_packed, int32_t* c, int ldc,
                       int m, int n, int k) {
#if CAI_X86
  if (cai_isa_vnni()) {
    uint8_t* a8 = cai_scratch8();
    if (a8 != NULL) {
      cai_gemm_u8s8_s32_vnni(a, lda, b_packed, c, ldc, m, n, k, a8);
      return;
    }
  }
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
  if (cai_isa_vnni() && cai_gemv_u8s8_s32_vnni(a, b_packed, y, n, k)) {
    return;
  }
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
int cai_q4g32_blocks_per_row(int k) { return (k + 2 * QK4_G32 - 1) / (2 * QK4_G32); }

void cai_quantize_q4g32(const float* w, int n, int k, cai_block_q4g32x2* out) {
  const int groups = k / QK4_G32;
  const int bpr = cai_q4g32_blocks_per_row(k);
  for (int r = 0; r < n; r++) {
    for (int g = 0; g < 2 * bpr; g++) {
      cai_block_q4g32x2* blk = out + (size_t)r * bpr + g / 2;
      const int h = g % 2;
      if (g >= groups) { /* padding group: weight 0 */
        blk->d[h] = 0.0f;
        memset(blk->qs[h], 0x88, sizeof(blk->qs[h]));
        continue;
      }
      const float* src = w + (size_t)r * k + (size_t)g * QK4_G32;
      float extreme = 0.0f; /* the value of largest magnitude, with its sign */
      for (int j = 0; j < QK4_G32; j++) {
        if (fabsf(src[j]) > fabsf(extreme)) {
          extreme = src[j];
        }
      }
      const float d = extreme / -8.0f; /* extreme -> q - 8 = -8 exactly */
      blk->d[h] = d;
      uint8_t q[QK4_G32];
      for (int j = 0; j < QK4_G32; j++) {
        int v = d == 0.0f ? 8 : (int)nearbyintf(src[j] / d) + 8;
        q[j] = (uint8_t)(v < 0 ? 0 : v > 15 ? 15 : v);
      }
      for (int j = 0; j < QK4_G32 / 2; j++) {
        blk->qs[h][j] = (uint8_t)(q[j] | (q[j + QK4_G32 / 2] << 4));
      }
    }
  }
}

/*
 * Activations of one row, quantized per group of 32 and laid out to meet a q4g32 block: for the
 * block's two groups g0, g1 (x[i] = element i of a group):
 *   lo   = [xq_g0[0..15]  | xq_g1[0..15]]     meets the low nibbles of the 32 weight bytes
 *   hi   = [xq_g0[16..31] | xq_g1[16..31]]    meets the high nibbles
 *   corr = [-8*sum(xq_g0), 0, 0, 0 | -8*sum(xq_g1), 0, 0, 0]   the exact q - 8 correction
 *   dx   = [dx_g0 x4 | dx_g1 x4]
 * Missing groups (padding) are all zero.
 */
typedef struct {
  int8_t lo[32];
  int8_t hi[32];
  int32_t corr[8];
  float dx[8];
} cai_block_q8g32x2;
CAI_STATIC_ASSERT(sizeof(cai_block_q8g32x2) == 128, "q8g32x2 activation block is 128 bytes");

/* One group: dx = amax / 127, id = 1 / dx, xq = rint(x * id). Returns dx and sum(xq). */
static void cai_quantize_group_q8_ref(const float* src, int8_t* lo16, int8_t* hi16, float* dx,
                                      int32_t* sum) {
  float amax = 0.0f;
  for (int j = 0; j < QK4_G32; j++) {
    amax = fabsf(src[j]) > amax ? fabsf(src[j]) : amax;
  }
  const float d = amax / 127.0f;
  const float id = d >= FLT_MIN ? 1.0f / d : 0.0f; /* tiny groups quantize to 0 */
  int32_t s = 0;
  for (int j = 0; j < QK4_G32; j++) {
    const int v = (int)nearbyintf(src[j] * id);
    (j < 16 ? lo16 : hi16)[j % 16] = (int8_t)v;
    s += v;
  }
  *dx = d;
  *sum = s;
}

static void cai_quantize_row_q8_ref(const float* x, int k, cai_block_q8g32x2* out) {
  const int groups = k / QK4_G32;
  const int bpr = cai_q4g32_blocks_per_row(k);
  memset(out, 0, sizeof(cai_block_q8g32x2) * (size_t)bpr);
  for (int g = 0; g < groups; g++) {
    cai_block_q8g32x2* b = out + g / 2;
    const int h = g % 2;
    float dx;
    int32_t sum;
    cai_quantize_group_q8_ref(x + (size_t)g * QK4_G32, b->lo + 16 * h, b->hi + 16 * h, &dx, &sum);
    b->corr[4 * h] = -8 * sum;
    for (int t = 0; t < 4; t++) {
      b->dx[4 * h + t] = dx;
    }
  }
}

/* The exact integer dot of group h of a q4 block with the matching activations. */
static inline int32_t cai_dot_group_ref(const cai_block_q4g32x2* w, const cai_block_q8g32x2* x,
                                        int h) {
  int32_t sum = 0;
  for (int j = 0; j < QK4_G32 / 2; j++) {
    sum += (w->qs[h][j] & 0x0F) * x->lo[16 * h + j];
    sum += (w->qs[h][j] >> 4) * x->hi[16 * h + j];
  }
  return sum + x->corr[4 * h];
}

static void cai_gemm_q4g32_q8_ref(const cai_block_q4g32x2* w, const cai_block_q8g32x2* xq,
                                  float* y, int ldy, int m, int n, int k) {
  const int bpr = cai_q4g32_blocks_per_row(k);
  for (int i = 0; i < m; i++) {
    for (int r = 0; r < n; r++) {
      float sum = 0.0f;
      for (int b = 0; b < bpr; b++) {
        const cai_block_q4g32x2* wb = w + (size_t)r * bpr + b;
        const cai_block_q8g32x2* xb = xq + (size_t)i * bpr + b;
        for (int h = 0; h < 2; h++) {
          sum += wb->d[h] * xb->dx[4 * h] * (float)cai_dot_group_ref(wb, xb, h);
        }
      }
      y[(size_t)i * ldy + r] = sum;
    }
  }
}

/* Thread-local activation scratch for the q4 kernels, grown as needed. */
static __thread cai_block_q8g32x2* cai_q8_scratch = NULL;
static __thread size_t cai_q8_scratch_blocks = 0;

static cai_block_q8g32x2* cai_q8_buffer(size_t blocks) {
  if (blocks > cai_q8_scratch_blocks) {
    free(cai_q8_scratch);
    cai_q8_scratch = (cai_block_q8g32x2*)aligned_alloc(64, blocks * sizeof(cai_block_q8g32x2));
    cai_q8_scratch_blocks = cai_q8_scratch ? blocks : 0;
  }
  return cai_q8_scratch;
}

void cai_gemm_q4g32_f32_ref(const cai_block_q4g32x2* w, const float* x, int ldx, float* y, int ldy,
                            int m, int n, int k) {
  const int bpr = cai_q4g32_blocks_per_row(k);
  /* Row by row, so the scalar twin needs no more than one row of activations. */
  cai_block_q8g32x2* xq = (cai_block_q8g32x2*)malloc(sizeof(cai_block_q8g32x2) * (size_t)bpr);
  if (xq == NULL) {
    return;
  }
  for (int i = 0; i < m; i++) {
    cai_quantize_row_q8_ref(x + (size_t)i * ldx, k, xq);
    cai_gemm_q4g32_q8_ref(w, xq, y + (size_t)i * ldy, ldy, 1, n, k);
  }
  free(xq);
}

#if CAI_X86
CAI_AVX2_INLINE float cai_hsum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

/* The same arithmetic as cai_quantize_group_q8_ref (same IEEE operations, same results). */
static CAI_AVX2 void cai_quantize_row_q8_avx2(const float* x, int k, cai_block_q8g32x2* out) {
  const int groups = k / QK4_G32;
  const int bpr = cai_q4g32_blocks_per_row(k);
  const __m256 sign = _mm256_set1_ps(-0.0f);
  const __m256i perm = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  if (groups % 2) {
    memset(out + bpr - 1, 0, sizeof(cai_block_q8g32x2));
  }
  for (int g = 0; g < groups; g++) {
    const float* src = x + (size_t)g * QK4_G32;
    cai_block_q8g32x2* b = out + g / 2;
    const int h = g % 2;
    const __m256 v0 = _mm256_loadu_ps(src), v1 = _mm256_loadu_ps(src + 8);
    const __m256 v2 = _mm256_loadu_ps(src + 16), v3 = _mm256_loadu_ps(src + 24);
    __m256 amax = _mm256_max_ps(_mm256_max_ps(_mm256_andnot_ps(sign, v0), _mm256_andnot_ps(sign, v1)),
                                _mm256_max_ps(_mm256_andnot_ps(sign, v2), _mm256_andnot_ps(sign, v3)));
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    const float d = _mm_cvtss_f32(m4) / 127.0f;
    const __m256 id = _mm256_set1_ps(d >= FLT_MIN ? 1.0f / d : 0.0f);
    const __m256i q0 = _mm256_cvtps_epi32(_mm256_mul_ps(v0, id));
    const __m256i q1 = _mm256_cvtps_epi32(_mm256_mul_ps(v1, id));
    const __m256i q2 = _mm256_cvtps_epi32(_mm256_mul_ps(v2, id));
    const __m256i q3 = _mm256_cvtps_epi32(_mm256_mul_ps(v3, id));
    const __m256i s = _mm256_add_epi32(_mm256_add_epi32(q0, q1), _mm256_add_epi32(q2, q3));
    __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
    s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0x4E));
    s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0xB1));
    const __m256i q8 = _mm256_permutevar8x32_epi32(
        _mm256_packs_epi16(_mm256_packs_epi32(q0, q1), _mm256_packs_epi32(q2, q3)), perm);
    _mm_storeu_si128((__m128i*)(b->lo + 16 * h), _mm256_castsi256_si128(q8));
    _mm_storeu_si128((__m128i*)(b->hi + 16 * h), _mm256_extracti128_si256(q8, 1));
    _mm_storeu_si128((__m128i*)(b->corr + 4 * h),
                     _mm_setr_epi32(-8 * _mm_cvtsi128_si32(s4), 0, 0, 0));
    _mm_storeu_ps(b->dx + 4 * h, _mm_set1_ps(d));
  }
}

/* The two groups' scales as [d0 x4 | d1 x4]. */
CAI_AVX2_INLINE __m256 cai_q4_scales(const cai_block_q4g32x2* b) {
  const __m128 d01 = _mm_castsi128_ps(_mm_loadl_epi64((const __m128i*)b->d));
  return _mm256_permutevar8x32_ps(_mm256_castps128_ps256(d01),
                                  _mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1));
}

/* acc += (dot of 64 weights lo/hi with xb, per group) * scale * dx, 8 lanes. */
CAI_AVX2_INLINE __m256 cai_q4_step(__m256i lo, __m256i hi, __m256 dw,
                                   const cai_block_q8g32x2* xb, __m256i ones, __m256 acc) {
  const __m256i p16 = _mm256_add_epi16(
      _mm256_maddubs_epi16(lo, _mm256_load_si256((const __m256i*)xb->lo)),
      _mm256_maddubs_epi16(hi, _mm256_load_si256((const __m256i*)xb->hi)));
  const __m256i p32 = _mm256_add_epi32(_mm256_madd_epi16(p16, ones),
                                       _mm256_load_si256((const __m256i*)xb->corr));
  return _mm256_fmadd_ps(_mm256_cvtepi32_ps(p32),
                         _mm256_mul_ps(dw, _mm256_load_ps(xb->dx)), acc);
}

#define CAI_Q4_XR 4 /* activation rows sharing one unpacked weight block */

#define CAI_Q4_BODY_NAME cai_gemm_q4g32_q8_avx2
#define CAI_Q4_BODY_ATTR CAI_AVX2
#define CAI_Q4_STEP cai_q4_step
#define CAI_Q4_SCALES cai_q4_scales
#define CAI_Q4_HSUM cai_hsum8
#include "cai_q4_gemm_body.inc"

/*
 * The same kernel with AVX-512 VNNI on 256-bit registers (vpdpbusd ymm): per 32-bit lane the
 * group's exact integer dot q·xq over the same 4 + 4 bytes, accumulated onto the -8·sum(xq)
 * correction — the same integers as vpmaddubsw + vpmaddwd + add (no saturation either way: the
 * AVX2 sums stay below 7620), so the same fp32 conversion, multiply and FMA give the same results
 * bit for bit, in 2 instructions instead of 5 per block and row.
 */
#define CAI_Q4VNNI __attribute__((target("avx2,fma,avx512f,avx512bw,avx512vl,avx512vnni")))
#define CAI_Q4VNNI_INLINE \
  static inline __attribute__((always_inline, target("avx2,fma,avx512f,avx512bw,avx512vl,avx512vnni")))

CAI_Q4VNNI_INLINE float cai_hsum8_vnni(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

CAI_Q4VNNI_INLINE __m256 cai_q4_scales_vnni(const cai_block_q4g32x2* b) {
  const __m128 d01 = _mm_castsi128_ps(_mm_loadl_epi64((const __m128i*)b->d));
  return _mm256_permutevar8x32_ps(_mm256_castps128_ps256(d01),
                                  _mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1));
}

CAI_Q4VNNI_INLINE __m256 cai_q4_step_vnni(__m256i lo, __m256i hi, __m256 dw,
                                          const cai_block_q8g32x2* xb, __m256i ones, __m256 acc) {
  (void)ones;
  const __m256i p32 = _mm256_dpbusd_epi32(
      _mm256_dpbusd_epi32(_mm256_load_si256((const __m256i*)xb->corr), lo,
                          _mm256_load_si256((const __m256i*)xb->lo)),
      hi, _mm256_load_si256((const __m256i*)xb->hi));
  return _mm256_fmadd_ps(_mm256_cvtepi32_ps(p32),
                         _mm256_mul_ps(dw, _mm256_load_ps(xb->dx)), acc);
}

/* 1 when the VNNI q4 body runs: cai_isa_vnni() (honours the force flags) and AVX-512 VL. */
static int cai_q4_vnni(void) {
  return cai_isa_vnni() && __builtin_cpu_supports("avx512vl");
}

#define CAI_Q4_BODY_NAME cai_gemm_q4g32_q8_vnni
#define CAI_Q4_BODY_ATTR CAI_Q4VNNI
#define CAI_Q4_STEP cai_q4_step_vnni
#define CAI_Q4_SCALES cai_q4_scales_vnni
#define CAI_Q4_HSUM cai_hsum8_vnni
#include "cai_q4_gemm_body.inc"
#endif /* CAI_X86 */

void cai_gemm_q4g32_f32(const cai_block_q4g32x2* w, const float* x, int ldx, float* y, int ldy,
                        int m, int n, int k) {
  const int bpr = cai_q4g32_blocks_per_row(k);
  cai_block_q8g32x2* xq = cai_q8_buffer((size_t)m * bpr);
  if (xq == NULL) {
    cai_gemm_q4g32_f32_ref(w, x, ldx, y, ldy, m, n, k);
    return;
  }
#if CAI_X86
  if (cai_isa_avx2()) {
    for (int i = 0; i < m; i++) {
      cai_quantize_row_q8_avx2(x + (size_t)i * ldx, k, xq + (size_t)i * bpr);
    }
    if (cai_q4_vnni()) {
      cai_gemm_q4g32_q8_vnni(w, xq, y, ldy, m, n, k);
    } else {
      cai_gemm_q4g32_q8_avx2(w, xq, y, ldy, m, n, k);
    }
    return;
  }
#endif
  for (int i = 0; i < m; i++) {
    cai_quantize_row_q8_ref(x + (size_t)i * ldx, k, xq + (size_t)i * bpr);
  }
  cai_gemm_q4g32_q8_ref(w, xq, y, ldy, m, n, k);
}

void cai_gemm_q4g32_bias_f32(const cai_block_q4g32x2* w, const float* x, float* y, int m, int n,
                             int k, const float* bias, int relu) {
  cai_gemm_q4g32_f32(w, x, k, y, n, m, n, k);
  if (bias == NULL && !relu) {
    return;
  }
  for (int i = 0; i < m; i++) {
    float* row = y + (size_t)i * n;
    for (int j = 0; j < n; j++) {
      float t = bias == NULL ? row[j] : row[j] + bias[j];
      row[j] = relu && t < 0.0f ? 0.0f : t; /* as Java: NaN stays NaN, -0 stays -0 */
    }
  }
}

void cai_gemv_q4g32_f32(const cai_block_q4g32x2* w, const float* x, float* y, int n, int k) {
  cai_gemm_q4g32_f32(w, x, k, y, n, 1, n, k);
}

/* ------------------------------------------------------------------------------------------------
 * Activation quantization and layouts (contracts: cai_int8.h)
 * ---------------------------------------------------------------------------------------------- */
/* rint(v) clamped to [-1024, 1024] equals clamping first: both bounds are integers and the final
 * saturation to 0..255 after adding a zero point in 0..255 is unaffected. */
static inline uint8_t cai_quantize_one(float x, float scale, int zero_point) {
  float v = x / scale;
  int q;
  if (v != v) {
    q = zero_point;
  } else {
    v = v < -1024.0f ? -1024.0f : (v > 1024.0f ? 1024.0f : v);
    q = (int)rintf(v) + zero_point;
  }
  return (uint8_t)(q < 0 ? 0 : (q > 255 ? 255 : q));
}

static void cai_quantize_f32_u8_ref(const float* x, int count, float scale, int zero_point,
                                    uint8_t* out) {
  for (int i = 0; i < count; i++) {
    out[i] = cai_quantize_one(x[i], scale, zero_point);
  }
}

#if CAI_X86
/* q of 8 floats as s32 lanes: div, NaN -> 0, clamp, cvtps (MXCSR round-to-nearest-even, the
 * JVM's and C's default), + zero point, clamp 0..255. */
CAI_AVX2_INLINE __m256i cai_quantize8(const float* x, __m256 scale, __m256i zp) {
  __m256 v = _mm256_div_ps(_mm256_loadu_ps(x), scale);
  const __m256 nan = _mm256_cmp_ps(v, v, _CMP_UNORD_Q);
  v = _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps(-1024.0f)), _mm256_set1_ps(1024.0f));
  v = _mm256_andnot_ps(nan, v);
  __m256i q = _mm256_add_epi32(_mm256_cvtps_epi32(v), zp);
  return _mm256_min_epi32(_mm256_max_epi32(q, _mm256_setzero_si256()), _mm256_set1_epi32(255));
}

static CAI_AVX2 void cai_quantize_f32_u8_avx2(const float* x, int count, float scale,
                                              int zero_point, uint8_t* out) {
  const __m256 s = _mm256_set1_ps(scale);
  const __m256i zp = _mm256_set1_epi32(zero_point);
  const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  int i = 0;
  for (; i + 32 <= count; i += 32) {
    const __m256i a = cai_quantize8(x + i, s, zp);
    const __m256i b = cai_quantize8(x + i + 8, s, zp);
    const __m256i c = cai_quantize8(x + i + 16, s, zp);
    const __m256i d = cai_quantize8(x + i + 24, s, zp);
    /* lanes: [a0-3 b0-3 c0-3 d0-3 | a4-7 b4-7 c4-7 d4-7] -> permute the 32-bit groups */
    const __m256i bytes =
        _mm256_packus_epi16(_mm256_packus_epi32(a, b), _mm256_packus_epi32(c, d));
    _mm256_storeu_si256((__m256i*)(out + i), _mm256_permutevar8x32_epi32(bytes, order));
  }
  for (; i + 8 <= count; i += 8) { /* short rows (a 28-pixel image row): 8 at a time */
    const __m256i q = cai_quantize8(x + i, s, zp);
    const __m256i bytes = _mm256_packus_epi16(_mm256_packus_epi32(q, q), _mm256_setzero_si256());
    const int lo = _mm_cvtsi128_si32(_mm256_castsi256_si128(bytes));
    const int hi = _mm_cvtsi128_si32(_mm256_extracti128_si256(bytes, 1));
    memcpy(out + i, &lo, 4);
    memcpy(out + i + 4, &hi, 4);
  }
  cai_quantize_f32_u8_ref(x + i, count - i, scale, zero_point, out + i);
}
/* 16 floats quantized as cai_quantize_one does (IEEE division, NaN -> zero point, clamp +-1024,
 * round to nearest even, + zero point, clamp 0..255), as 16 bytes */
CAI_VNNI_INLINE __m512i cai_quantize16_s32(__m512 x, __m512 scale, __m512i zp) {
  __m512 v = _mm512_div_ps(x, scale);
  const __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
  v = _mm512_min_ps(_mm512_max_ps(v, _mm512_set1_ps(-1024.0f)), _mm512_set1_ps(1024.0f));
  v = _mm512_mask_mov_ps(v, nan, _mm512_setzero_ps());
  __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(v), zp);
  return _mm512_min_epi32(_mm512_max_epi32(q, _mm512_setzero_si512()), _mm512_set1_epi32(255));
}

CAI_VNNI_INLINE __m128i cai_quantize16(__m512 x, __m512 scale, __m512i zp) {
  return _mm512_cvtepi32_epi8(cai_quantize16_s32(x, scale, zp));
}

/* 16 at a time, the tail masked: short rows (a 28-pixel image row) need no scalar division */
static CAI_VNNI void cai_quantize_f32_u8_avx512(const float* x, int count, float scale,
                                               int zero_point, uint8_t* out) {
  const __m512 s = _mm512_set1_ps(scale);
  const __m512i zp = _mm512_set1_epi32(zero_point);
  int i = 0;
  for (; i + 16 <= count; i += 16) {
    _mm_storeu_si128((__m128i*)(out + i), cai_quantize16(_mm512_loadu_ps(x + i), s, zp));
  }
  if (i < count) {
    const __mmask16 mask = (__mmask16)((1u << (count - i)) - 1u);
    _mm512_mask_cvtepi32_storeu_epi8(out + i, mask,
                                     cai_quantize16_s32(_mm512_maskz_loadu_ps(mask, x + i), s, zp));
  }
}
#endif

void cai_quantize_f32_u8(const float* x, int count, float scale, int zero_point, uint8_t* out,
                         int use_ref) {
#if CAI_X86
  if (!use_ref && cai_isa_vnni()) {
    cai_quantize_f32_u8_avx512(x, count, scale, zero_point, out);
    return;
  }
  if (!use_ref && cai_isa_avx2()) {
    cai_quantize_f32_u8_avx2(x, count, scale, zero_point, out);
    return;
  }
#endif
  cai_quantize_f32_u8_ref(x, count, scale, zero_point, out);
}

void cai_quantize_f32_u8_t(const float* x, int channels, int pixels, float scale, int zero_point,
                           uint8_t* rows) {
  /* blocks of 64 channels x 64 pixels keep both the read and the strided write in L1 */
  for (int c0 = 0; c0 < channels; c0 += 64) {
    const int c1 = c0 + 64 < channels ? c0 + 64 : channels;
    for (int p0 = 0; p0 < pixels; p0 += 64) {
      const int p1 = p0 + 64 < pixels ? p0 + 64 : pixels;
      for (int c = c0; c < c1; c++) {
        const float* src = x + (size_t)c * pixels;
        for (int p = p0; p < p1; p++) {
          rows[(size_t)p * channels + c] = cai_quantize_one(src[p], scale, zero_point);
        }
      }
    }
  }
}

void cai_im2row_u8(const uint8_t* image, int channels, int in_h, int in_w, int k_h, int k_w,
                   int stride_h, int stride_w, int pad_top, int pad_left, int dil_h, int dil_w,
                   int out_h, int out_w, int zero_point, uint8_t* rows) {
  const uint8_t zero = (uint8_t)zero_point;
  size_t at = 0;
  for (int oh = 0; oh < out_h; oh++) {
    for (int ow = 0; ow < out_w; ow++) {
      for (int c = 0; c < channels; c++) {
        for (int kh = 0; kh < k_h; kh++) {
          const int ih = oh * stride_h - pad_top + kh * dil_h;
          if (ih < 0 || ih >= in_h) {
            memset(rows + at, zero, (size_t)k_w);
            at += (size_t)k_w;
            continue;
          }
          const uint8_t* base = image + ((size_t)c * in_h + ih) * in_w;
          for (int kw = 0; kw < k_w; kw++) {
            const int iw = ow * stride_w - pad_left + kw * dil_w;
            rows[at++] = iw >= 0 && iw < in_w ? base[iw] : zero;
          }
        }
      }
    }
  }
}

void cai_requant_s32_f32_t(const int32_t* c, int ldc, int m, int n, const int32_t* bias,
                           const float* scale, int relu, float* out, int ldo) {
  cai_requant_params p;
  p.bias = bias;
  p.scale = scale;
  p.out_zero_point = 0;
  p.relu = relu;
  /* blocks of 16 rows keep the 16 strided output streams short-lived in cache */
  for (int i0 = 0; i0 < m; i0 += 16) {
    const int i1 = i0 + 16 < m ? i0 + 16 : m;
    for (int j = 0; j < n; j++) {
      float* dst = out + (size_t)j * ldo;
      for (int i = i0; i < i1; i++) {
        const float y = cai_requant_real(c[(size_t)i * ldc + j], &p, j);
        dst[i] = relu && y < 0.0f ? 0.0f : y;
      }
    }
  }
}

/* ------------------------------------------------------------------------------------------------
 * The int8 convolution in NCHW (contracts: cai_int8.h)
 * ---------------------------------------------------------------------------------------------- */
size_t cai_u8c4_size(int k, int pixels) {
  return (size_t)((k + 3) / 4) * (size_t)cai_round_up(pixels, CAI_U8C4_PIXELS) * 4;
}

void cai_quantize_pad_f32_u8(const float* x, int channels, int h, int w, int pad_t, int pad_b,
                             int pad_l, int pad_r, float scale, int zero_point, uint8_t* out) {
  const int ph = h + pad_t + pad_b;
  const int pw = w + pad_l + pad_r;
  if (pad_t == 0 && pad_b == 0 && pad_l == 0 && pad_r == 0) {
    cai_quantize_f32_u8(x, channels * h * w, scale, zero_point, out, 0);
    return;
  }
  memset(out, zero_point, (size_t)channels * ph * pw);
  for (int c = 0; c < channels; c++) {
    for (int r = 0; r < h; r++) {
      cai_quantize_f32_u8(x + ((size_t)c * h + r) * w, w, scale, zero_point,
                          out + ((size_t)c * ph + pad_t + r) * pw + pad_l, 0);
    }
  }
}

/* dst[4i + j] = src_j[i * stride] for i < n, j < 4; a NULL source reads as 0. */
static void cai_interleave4_ref(const uint8_t* const src[4], int stride, int n, uint8_t* dst) {
  for (int i = 0; i < n; i++) {
    for (int j = 0; j < 4; j++) {
      dst[4 * i + j] = src[j] == NULL ? 0 : src[j][(size_t)i * stride];
    }
  }
}

#if CAI_X86
CAI_AVX2_INLINE __m128i cai_load16_or_zero(const uint8_t* s, int i) {
  return s == NULL ? _mm_setzero_si128() : _mm_loadu_si128((const __m128i*)(s + i));
}

/* The same for stride 1, 16 pixels per step: two rounds of unpack turn 4 x 16 bytes into 64. */
static CAI_AVX2 void cai_interleave4_avx2(const uint8_t* const src[4], int n, uint8_t* dst) {
  int i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m128i a = cai_load16_or_zero(src[0], i);
    const __m128i b = cai_load16_or_zero(src[1], i);
    const __m128i c = cai_load16_or_zero(src[2], i);
    const __m128i d = cai_load16_or_zero(src[3], i);
    const __m128i ab_lo = _mm_unpacklo_epi8(a, b);
    const __m128i ab_hi = _mm_unpackhi_epi8(a, b);
    const __m128i cd_lo = _mm_unpacklo_epi8(c, d);
    const __m128i cd_hi = _mm_unpackhi_epi8(c, d);
    _mm_storeu_si128((__m128i*)(dst + 4 * i), _mm_unpacklo_epi16(ab_lo, cd_lo));
    _mm_storeu_si128((__m128i*)(dst + 4 * i + 16), _mm_unpackhi_epi16(ab_lo, cd_lo));
    _mm_storeu_si128((__m128i*)(dst + 4 * i + 32), _mm_unpacklo_epi16(ab_hi, cd_hi));
    _mm_storeu_si128((__m128i*)(dst + 4 * i + 48), _mm_unpackhi_epi16(ab_hi, cd_hi));
  }
  if (i < n) {
    const uint8_t* rest[4];
    for (int j = 0; j < 4; j++) {
      rest[j] = src[j] == NULL ? NULL : src[j] + i;
    }
    cai_interleave4_ref(rest, 1, n - i, dst + 4 * i);
  }
}

#define CAI_BWVL __attribute__((target("avx512f,avx512bw,avx512vl")))
#define CAI_BWVL_INLINE static inline __attribute__((always_inline, target("avx512f,avx512bw,avx512vl")))

/* 1 when the masked AVX-512BW/VL interleave may run (with the VNNI body; same overrides). */
static int cai_isa_bwvl(void) {
  static int known = -1;
  if (known < 0) {
    known = __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw");
  }
  return known && cai_isa_vnni();
}

CAI_BWVL_INLINE __m128i cai_load16_masked(const uint8_t* s, int i, __mmask16 mask) {
  return s == NULL ? _mm_setzero_si128() : _mm_maskz_loadu_epi8(mask, s + i);
}

/* Any n with AVX-512BW masks: short rows (a 10-pixel output row) need no scalar tail. */
static CAI_BWVL void cai_interleave4_bw(const uint8_t* const src[4], int n, uint8_t* dst) {
  for (int i = 0; i < n; i += 16) {
    const int count = n - i < 16 ? n - i : 16;
    const __mmask16 mask = (__mmask16)(count == 16 ? 0xFFFF : (1u << count) - 1u);
    const __m128i a = cai_load16_masked(src[0], i, mask);
    const __m128i b = cai_load16_masked(src[1], i, mask);
    const __m128i c = cai_load16_masked(src[2], i, mask);
    const __m128i d = cai_load16_masked(src[3], i, mask);
    const __m128i ab_lo = _mm_unpacklo_epi8(a, b);
    const __m128i ab_hi = _mm_unpackhi_epi8(a, b);
    const __m128i cd_lo = _mm_unpacklo_epi8(c, d);
    const __m128i cd_hi = _mm_unpackhi_epi8(c, d);
    __m512i all = _mm512_castsi128_si512(_mm_unpacklo_epi16(ab_lo, cd_lo));
    all = _mm512_inserti32x4(all, _mm_unpackhi_epi16(ab_lo, cd_lo), 1);
    all = _mm512_inserti32x4(all, _mm_unpacklo_epi16(ab_hi, cd_hi), 2);
    all = _mm512_inserti32x4(all, _mm_unpackhi_epi16(ab_hi, cd_hi), 3);
    const __mmask64 out_mask = count == 16 ? ~(__mmask64)0 : (((__mmask64)1 << (4 * count)) - 1);
    _mm512_mask_storeu_epi8(dst + 4 * i, out_mask, all);
  }
}
#endif

static void cai_interleave4(const uint8_t* const src[4], int stride, int n, uint8_t* dst) {
#if CAI_X86
  if (stride == 1 && cai_isa_bwvl()) {
    cai_interleave4_bw(src, n, dst);
    return;
  }
  if (stride == 1 && cai_isa_avx2()) {
    cai_interleave4_avx2(src, n, dst);
    return;
  }
#endif
  cai_interleave4_ref(src, stride, n, dst);
}

void cai_im2col_u8c4(const uint8_t* padded, int channels, int ph, int pw, int k_h, int k_w,
                     int stride_h, int stride_w, int dil_h, int dil_w, int out_h, int out_w,
                     uint8_t* out) {
  const int k = channels * k_h * k_w;
  const int pixels = out_h * out_w;
  const int p16 = cai_round_up(pixels, CAI_U8C4_PIXELS);
  const int groups = (k + 3) / 4;
  for (int g = 0; g < groups; g++) {
    uint8_t* dst = out + (size_t)g * p16 * 4;
    int c[4], kh[4], kw[4];
    for (int j = 0; j < 4; j++) {
      const int r = 4 * g + j;
      c[j] = r / (k_h * k_w);
      kh[j] = r / k_w % k_h;
      kw[j] = r % k_w;
    }
    for (int oh = 0; oh < out_h; oh++) {
      const uint8_t* src[4];
      for (int j = 0; j < 4; j++) {
        src[j] = 4 * g + j < k ? padded + ((size_t)c[j] * ph + (size_t)oh * stride_h +
                                           (size_t)kh[j] * dil_h) * pw + (size_t)kw[j] * dil_w
                               : NULL;
      }
      cai_interleave4(src, stride_w, out_w, dst + (size_t)oh * out_w * 4);
    }
    memset(dst + (size_t)pixels * 4, 0, (size_t)(p16 - pixels) * 4);
  }
}

void cai_quantize_f32_u8c4(const float* x, int k, int pixels, float scale, int zero_point,
                           uint8_t* out) {
  enum { CHUNK = 256 };
  uint8_t rows[4][CHUNK];
  const int p16 = cai_round_up(pixels, CAI_U8C4_PIXELS);
  const int groups = (k + 3) / 4;
  for (int g = 0; g < groups; g++) {
    uint8_t* dst = out + (size_t)g * p16 * 4;
    for (int p0 = 0; p0 < pixels; p0 += CHUNK) {
      const int n = pixels - p0 < CHUNK ? pixels - p0 : CHUNK;
      const uint8_t* src[4];
      for (int j = 0; j < 4; j++) {
        if (4 * g + j < k) {
          cai_quantize_f32_u8(x + (size_t)(4 * g + j) * pixels + p0, n, scale, zero_point,
                              rows[j], 0);
          src[j] = rows[j];
        } else {
          src[j] = NULL;
        }
      }
      cai_interleave4(src, 1, n, dst + (size_t)p0 * 4);
    }
    memset(dst + (size_t)pixels * 4, 0, (size_t)(p16 - pixels) * 4);
  }
}

/* Channel j's weights W[j][4g .. 4g+3] from s8p16 as one little-endian s32 (4 s8 bytes): the
 * k-pair 2g sits in block 2g, the pair 2g+1 in block 2g+1 (absent past Kp: zero). */
static inline int32_t cai_s8p16_quad(const int8_t* packed, int kp, int j, int g) {
  const int8_t* panel = packed + (size_t)(j / CAI_S8P_NR) * kp * CAI_S8P_NR + (j % CAI_S8P_NR) * 2;
  uint16_t lo, hi = 0;
  memcpy(&lo, panel + (size_t)(2 * g) * 32, 2);
  if (4 * g + 2 < kp) {
    memcpy(&hi, panel + (size_t)(2 * g + 1) * 32, 2);
  }
  return (int32_t)((uint32_t)lo | (uint32_t)hi << 16);
}

static void cai_conv_s8p16_u8c4_f32_ref(const int8_t* w, int m, int k, const uint8_t* x4,
                                        int pixels, const int32_t* bias, const float* scale,
                                        int relu, float* y, int ldy) {
  const int kp = cai_round_up(k, CAI_S8P_KSTEP);
  const int p16 = cai_round_up(pixels, CAI_U8C4_PIXELS);
  const int groups = (k + 3) / 4;
  cai_requant_params params = {bias, scale, 0, relu};
  for (int j = 0; j < m; j++) {
    for (int p = 0; p < pixels; p++) {
      int32_t acc = 0;
      for (int g = 0; g < groups; g++) {
        const uint32_t quad = (uint32_t)cai_s8p16_quad(w, kp, j, g);
        const uint8_t* xs = x4 + ((size_t)g * p16 + p) * 4;
        for (int i = 0; i < 4; i++) {
          acc += (int32_t)xs[i] * (int32_t)(int8_t)(quad >> (8 * i));
        }
      }
      const float v = cai_requant_real(acc, &params, j);
      y[(size_t)j * ldy + p] = relu && v < 0.0f ? 0.0f : v;
    }
  }
}

#if CAI_X86
#define CAI_CONV_MR 4

/* One tile: MR channels (j0 ..) x NV vectors of 16 pixels (p0 ..), all k. */
CAI_VNNI_INLINE void cai_conv_vnni_tile(const int MR, const int NV, const int8_t* w, int kp,
                                        int groups, int j0, const uint8_t* x4, int p16, int p0,
                                        int pixels, const int32_t* bias, const float* scale,
                                        int relu, float* y, int ldy) {
  __m512i acc[CAI_CONV_MR][4];
  for (int r = 0; r < CAI_CONV_MR; r++) {
    for (int v = 0; v < 4; v++) {
      acc[r][v] = _mm512_setzero_si512();
    }
  }
  for (int g = 0; g < groups; g++) {
    const uint8_t* xg = x4 + ((size_t)g * p16 + p0) * 4;
    __m512i xv[4];
    for (int v = 0; v < NV; v++) {
      xv[v] = _mm512_loadu_si512(xg + 64 * v);
    }
    for (int r = 0; r < MR; r++) {
      const __m512i wq = _mm512_set1_epi32(cai_s8p16_quad(w, kp, j0 + r, g));
      for (int v = 0; v < NV; v++) {
        acc[r][v] = _mm512_dpbusd_epi32(acc[r][v], xv[v], wq);
      }
    }
  }
  const __m512 zero = _mm512_setzero_ps();
  for (int r = 0; r < MR; r++) {
    const int j = j0 + r;
    const __m512i b = _mm512_set1_epi32(bias == NULL ? 0 : bias[j]);
    const __m512 s = _mm512_set1_ps(scale[j]);
    for (int v = 0; v < NV; v++) {
      const int p = p0 + 16 * v;
      const int count = pixels - p < 16 ? pixels - p : 16;
      if (count <= 0) {
        continue;
      }
      const __mmask16 mask = (__mmask16)(count == 16 ? 0xFFFF : (1u << count) - 1u);
      __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(acc[r][v], b)), s);
      if (relu) { /* exactly "v < 0 ? 0 : v" (keeps -0 as the scalar twin does) */
        f = _mm512_mask_mov_ps(f, _mm512_cmp_ps_mask(f, zero, _CMP_LT_OQ), zero);
      }
      _mm512_mask_storeu_ps(y + (size_t)j * ldy + p, mask, f);
    }
  }
}

static CAI_VNNI void cai_conv_s8p16_u8c4_f32_vnni(const int8_t* w, int m, int k, const uint8_t* x4,
                                                  int pixels, const int32_t* bias,
                                                  const float* scale, int relu, float* y,
                                                  int ldy) {
  const int kp = cai_round_up(k, CAI_S8P_KSTEP);
  const int p16 = cai_round_up(pixels, CAI_U8C4_PIXELS);
  const int groups = (k + 3) / 4;
  for (int j0 = 0; j0 < m; j0 += CAI_CONV_MR) {
    const int mr = m - j0 < CAI_CONV_MR ? m - j0 : CAI_CONV_MR;
    for (int p0 = 0; p0 < p16; p0 += 64) {
      const int nv = (p16 - p0) / 16 < 4 ? (p16 - p0) / 16 : 4;
#define CAI_CONV_TILE(MR_, NV_) \
  cai_conv_vnni_tile(MR_, NV_, w, kp, groups, j0, x4, p16, p0, pixels, bias, scale, relu, y, ldy)
      if (mr == CAI_CONV_MR) {
        switch (nv) {
          case 4: CAI_CONV_TILE(4, 4); break;
          case 3: CAI_CONV_TILE(4, 3); break;
          case 2: CAI_CONV_TILE(4, 2); break;
          default: CAI_CONV_TILE(4, 1); break;
        }
      } else {
        for (int r = 0; r < mr; r++) {
          const int j = j0 + r;
          switch (nv) {
            case 4: cai_conv_vnni_tile(1, 4, w, kp, groups, j, x4, p16, p0, pixels, bias, scale,
                                       relu, y, ldy); break;
            case 3: cai_conv_vnni_tile(1, 3, w, kp, groups, j, x4, p16, p0, pixels, bias, scale,
                                       relu, y, ldy); break;
            case 2: cai_conv_vnni_tile(1, 2, w, kp, groups, j, x4, p16, p0, pixels, bias, scale,
                                       relu, y, ldy); break;
            default: cai_conv_vnni_tile(1, 1, w, kp, groups, j, x4, p16, p0, pixels, bias, scale,
                                        relu, y, ldy); break;
          }
        }
      }
#undef CAI_CONV_TILE
    }
  }
}
#endif

void cai_conv_s8p16_u8c4_f32(const int8_t* w_packed, int m, int k, const uint8_t* x4, int pixels,
                             const int32_t* bias, const float* scale, int relu, float* y, int ldy,
                             int use_ref) {
#if CAI_X86
  if (!use_ref && cai_isa_vnni()) {
    cai_conv_s8p16_u8c4_f32_vnni(w_packed, m, k, x4, pixels, bias, scale, relu, y, ldy);
    return;
  }
#endif
  cai_conv_s8p16_u8c4_f32_ref(w_packed, m, k, x4, pixels, bias, scale, relu, y, ldy);
}

/* ------------------------------------------------------------------------------------------------
 * The direct int8 convolution (contracts and the s8q4m4 layout: cai_int8.h)
 * ---------------------------------------------------------------------------------------------- */
#define CAI_DIRECT_MR 4

/*
 * Repacks s8p16 weights [m, k = c·kH·kW] for the direct kernels: blocks of mr output channels,
 * then per channel quad, tap (kh, kw) and channel of the block the quad's 4 weights — one aligned
 * s32 per channel and tap (zero past m and c). mr = CAI_DIRECT_MR for the wide-row kernel (s8q4m4),
 * 16 for the channels-in-lanes one (s8q4n16).
 */
static size_t cai_pack_conv_quads_size(int m, int c, int k_h, int k_w, int mr) {
  return (size_t)((m + mr - 1) / mr) * (size_t)((c + 3) / 4) * (size_t)k_h * (size_t)k_w * mr * 4;
}

static void cai_pack_conv_quads(const int8_t* w_packed, int m, int c, int k_h, int k_w, int mr,
                                int8_t* out) {
  const int kp = cai_round_up(c * k_h * k_w, CAI_S8P_KSTEP);
  const int groups = (c + 3) / 4;
  const int blocks = (m + mr - 1) / mr;
  size_t at = 0;
  for (int jb = 0; jb < blocks; jb++) {
    for (int cg = 0; cg < groups; cg++) {
      for (int kh = 0; kh < k_h; kh++) {
        for (int kw = 0; kw < k_w; kw++) {
          for (int r = 0; r < mr; r++) {
            const int j = jb * mr + r;
            for (int i = 0; i < 4; i++) {
              const int ch = 4 * cg + i;
              out[at++] = (j < m && ch < c)
                              ? (int8_t)cai_s8p16_at(w_packed, kp, j, (ch * k_h + kh) * k_w + kw)
                              : 0;
            }
          }
        }
      }
    }
  }
}

size_t cai_pack_conv_q4_size(int m, int c, int k_h, int k_w) {
  return cai_pack_conv_quads_size(m, c, k_h, k_w, CAI_DIRECT_MR);
}

void cai_pack_conv_q4(const int8_t* w_packed, int m, int c, int k_h, int k_w, int8_t* out) {
  cai_pack_conv_quads(w_packed, m, c, k_h, k_w, CAI_DIRECT_MR, out);
}

void cai_quantize_pad_f32_u8c4(const float* x, int channels, int h, int w, int pad_t, int pad_b,
                               int pad_l, int pad_r, float scale, int zero_point, int pstride,
                               uint8_t* scratch, uint8_t* out) {
  const int plane = (h + pad_t + pad_b) * (w + pad_l + pad_r);
  cai_quantize_pad_f32_u8(x, channels, h, w, pad_t, pad_b, pad_l, pad_r, scale, zero_point,
                          scratch);
  for (int cg = 0; cg < (channels + 3) / 4; cg++) {
    const uint8_t* src[4];
    for (int i = 0; i < 4; i++) {
      src[i] = 4 * cg + i < channels ? scratch + (size_t)(4 * cg + i) * plane : NULL;
    }
    uint8_t* dst = out + (size_t)cg * pstride * 4;
    cai_interleave4(src, 1, plane, dst);
    memset(dst + (size_t)plane * 4, 0, (size_t)(pstride - plane) * 4);
  }
}

static void cai_conv_direct_u8c4_f32_ref(const int8_t* wq, int m, int c, int k_h, int k_w,
                                         const uint8_t* x4, int pstride, int pw, int out_h,
                                         const int32_t* bias, const float* scale, int relu,
                                         float* y, int ldy) {
  const int groups = (c + 3) / 4;
  const int wide = cai_round_up(out_h * pw, CAI_U8C4_PIXELS);
  const size_t block = (size_t)groups * k_h * k_w * CAI_DIRECT_MR * 4;
  cai_requant_params params = {bias, scale, 0, relu};
  for (int j = 0; j < m; j++) {
    const int8_t* wj = wq + (size_t)(j / CAI_DIRECT_MR) * block + (j % CAI_DIRECT_MR) * 4;
    for (int q = 0; q < wide; q++) {
      int32_t acc = 0;
      size_t t = 0;
      for (int cg = 0; cg < groups; cg++) {
        for (int kh = 0; kh < k_h; kh++) {
          for (int kw = 0; kw < k_w; kw++, t++) {
            const uint8_t* xs = x4 + ((size_t)cg * pstride + q + kh * pw + kw) * 4;
            const int8_t* ws = wj + t * CAI_DIRECT_MR * 4;
            for (int i = 0; i < 4; i++) {
              acc += (int32_t)xs[i] * (int32_t)ws[i];
            }
          }
        }
      }
      const float v = cai_requant_real(acc, &params, j);
      y[(size_t)j * ldy + q] = relu && v < 0.0f ? 0.0f : v;
    }
  }
}

#if CAI_X86
/* One tile: the 4 channels of block jb x NV vectors of 16 wide pixels from q0, every tap. */
CAI_VNNI_INLINE void cai_direct_tile(const int NV, const int32_t* wb, int groups, int k_h,
                                     int k_w, const uint8_t* x4, int pstride, int pw, int q0,
                                     int j0, int mr, const int32_t* bias, const float* scale,
                                     int relu, float* y, int ldy) {
  __m512i acc[CAI_DIRECT_MR][6];
  for (int r = 0; r < CAI_DIRECT_MR; r++) {
    for (int v = 0; v < NV; v++) {
      acc[r][v] = _mm512_setzero_si512();
    }
  }
  const int32_t* wt = wb;
  for (int cg = 0; cg < groups; cg++) {
    const uint8_t* xg = x4 + ((size_t)cg * pstride + q0) * 4;
    for (int kh = 0; kh < k_h; kh++) {
      const uint8_t* xr = xg + (size_t)kh * pw * 4;
      for (int kw = 0; kw < k_w; kw++, wt += CAI_DIRECT_MR) {
        __m512i xv[6];
        for (int v = 0; v < NV; v++) {
          xv[v] = _mm512_loadu_si512(xr + 4 * kw + 64 * v);
        }
        for (int r = 0; r < CAI_DIRECT_MR; r++) {
          const __m512i wv = _mm512_set1_epi32(wt[r]);
          for (int v = 0; v < NV; v++) {
            acc[r][v] = _mm512_dpbusd_epi32(acc[r][v], xv[v], wv);
          }
        }
      }
    }
  }
  const __m512 zero = _mm512_setzero_ps();
  for (int r = 0; r < mr; r++) {
    const int j = j0 + r;
    const __m512i b = _mm512_set1_epi32(bias == NULL ? 0 : bias[j]);
    const __m512 s = _mm512_set1_ps(scale[j]);
    for (int v = 0; v < NV; v++) {
      __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(acc[r][v], b)), s);
      if (relu) { /* exactly "v < 0 ? 0 : v" */
        f = _mm512_mask_mov_ps(f, _mm512_cmp_ps_mask(f, zero, _CMP_LT_OQ), zero);
      }
      _mm512_storeu_ps(y + (size_t)j * ldy + q0 + 16 * v, f);
    }
  }
}

static CAI_VNNI void cai_conv_direct_u8c4_f32_vnni(const int8_t* wq, int m, int c, int k_h,
                                                   int k_w, const uint8_t* x4, int pstride, int pw,
                                                   int out_h, const int32_t* bias,
                                                   const float* scale, int relu, float* y,
                                                   int ldy) {
  const int groups = (c + 3) / 4;
  const int vectors = cai_round_up(out_h * pw, CAI_U8C4_PIXELS) / CAI_U8C4_PIXELS;
  const size_t block = (size_t)groups * k_h * k_w * CAI_DIRECT_MR;
  for (int j0 = 0; j0 < m; j0 += CAI_DIRECT_MR) {
    const int mr = m - j0 < CAI_DIRECT_MR ? m - j0 : CAI_DIRECT_MR;
    const int32_t* wb = (const int32_t*)wq + (size_t)(j0 / CAI_DIRECT_MR) * block;
    int v0 = 0;
    while (v0 < vectors) {
      const int left = vectors - v0;
      const int tiles = (left + 5) / 6;
      const int nv = (left + tiles - 1) / tiles; /* spread evenly: 9 -> 5 + 4 */
#define CAI_DIRECT_TILE(NV_)                                                                     \
  cai_direct_tile(NV_, wb, groups, k_h, k_w, x4, pstride, pw, 16 * v0, j0, mr, bias, scale, relu, \
                  y, ldy)
      switch (nv) {
        case 6: CAI_DIRECT_TILE(6); break;
        case 5: CAI_DIRECT_TILE(5); break;
        case 4: CAI_DIRECT_TILE(4); break;
        case 3: CAI_DIRECT_TILE(3); break;
        case 2: CAI_DIRECT_TILE(2); break;
        default: CAI_DIRECT_TILE(1); break;
      }
#undef CAI_DIRECT_TILE
      v0 += nv;
    }
  }
}

/* 2x2 / stride 2 max of wide rows, 16 outputs per step (AVX-512F). */
static CAI_VNNI void cai_pool2x2_rows_avx512(const float* src, int m, int src_plane, int src_row,
                                             int out_h2, int out_w2, float* y) {
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
  for (int j = 0; j < m; j++) {
    for (int oh = 0; oh < out_h2; oh++) {
      const float* r0 = src + (size_t)j * src_plane + (size_t)(2 * oh) * src_row;
      const float* r1 = r0 + src_row;
      float* dst = y + ((size_t)j * out_h2 + oh) * out_w2;
      for (int ow = 0; ow < out_w2; ow += 16) {
        const int n = out_w2 - ow < 16 ? out_w2 - ow : 16;
        const int lo = 2 * n < 16 ? 2 * n : 16;
        const int hi = 2 * n - lo;
        const __mmask16 mlo = (__mmask16)(lo == 16 ? 0xFFFF : (1u << lo) - 1u);
        const __mmask16 mhi = (__mmask16)(hi == 16 ? 0xFFFF : (1u << hi) - 1u);
        const __m512 a0 = _mm512_maskz_loadu_ps(mlo, r0 + 2 * ow);
        const __m512 a1 = _mm512_maskz_loadu_ps(mhi, r0 + 2 * ow + 16);
        const __m512 b0 = _mm512_maskz_loadu_ps(mlo, r1 + 2 * ow);
        const __m512 b1 = _mm512_maskz_loadu_ps(mhi, r1 + 2 * ow + 16);
        const __m512 v0 = _mm512_max_ps(a0, b0);
        const __m512 v1 = _mm512_max_ps(a1, b1);
        const __m512 out = _mm512_max_ps(_mm512_permutex2var_ps(v0, even, v1),
                                         _mm512_permutex2var_ps(v0, odd, v1));
        _mm512_mask_storeu_ps(dst + ow, (__mmask16)(n == 16 ? 0xFFFF : (1u << n) - 1u), out);
      }
    }
  }
}
#endif

void cai_conv_direct_u8c4_f32(const int8_t* wq, int m, int c, int k_h, int k_w, const uint8_t* x4,
                              int pstride, int pw, int out_h, const int32_t* bias,
                              const float* scale, int relu, float* y, int ldy, int use_ref) {
#if CAI_X86
  if (!use_ref && cai_isa_vnni()) {
    cai_conv_direct_u8c4_f32_vnni(wq, m, c, k_h, k_w, x4, pstride, pw, out_h, bias, scale, relu,
                                  y, ldy);
    return;
  }
#endif
  cai_conv_direct_u8c4_f32_ref(wq, m, c, k_h, k_w, x4, pstride, pw, out_h, bias, scale, relu, y,
                               ldy);
}

void cai_conv_crop_pool_f32(const float* src, int m, int src_plane, int src_row, int rows,
                            int cols, int pool_k, int pool_s, int out_h2, int out_w2, float* y) {
  if (pool_k == 0) {
    for (int j = 0; j < m; j++) {
      for (int r = 0; r < rows; r++) {
        memcpy(y + ((size_t)j * rows + r) * cols, src + (size_t)j * src_plane + (size_t)r * src_row,
               (size_t)cols * sizeof(float));
      }
    }
    return;
  }
#if CAI_X86
  if (pool_k == 2 && pool_s == 2 && cai_isa_vnni()) {
    cai_pool2x2_rows_avx512(src, m, src_plane, src_row, out_h2, out_w2, y);
    return;
  }
#endif
  for (int j = 0; j < m; j++) {
    for (int oh = 0; oh < out_h2; oh++) {
      for (int ow = 0; ow < out_w2; ow++) {
        const float* at = src + (size_t)j * src_plane + (size_t)(oh * pool_s) * src_row + ow * pool_s;
        float best = at[0];
        for (int kh = 0; kh < pool_k; kh++) {
          for (int kw = 0; kw < pool_k; kw++) {
            const float v = at[(size_t)kh * src_row + kw];
            best = v > best ? v : best;
          }
        }
        y[((size_t)j * out_h2 + oh) * out_w2 + ow] = best;
      }
    }
  }
}

/* ------------------------------------------------------------------------------------------------
 * Whole int8 layers in one call (contracts: cai_int8.h): the steps above, unchanged, chained.
 * ---------------------------------------------------------------------------------------------- */
void cai_qgemm_f32(const float* x, int m, int k, float x_scale, int x_zero_point,
                   const int8_t* w_packed, int n, const int32_t* bias, const float* scale,
                   int relu, uint8_t* a, int32_t* acc, float* y) {
  cai_quantize_f32_u8(x, m * k, x_scale, x_zero_point, a, 0);
  if (m == 1) {
    cai_gemv_u8s8_s32(a, w_packed, acc, n, k);
  } else {
    cai_gemm_u8s8_s32(a, k, w_packed, acc, n, m, n, k);
  }
  cai_requant_s32_f32_args(acc, n, m, n, bias, scale, relu, y, n, 0);
}

void cai_qconv_im2col_f32(const float* x, int c, int h, int w, int pad_t, int pad_b, int pad_l,
                          int pad_r, float x_scale, int x_zero_point, const int8_t* w_packed,
                          int m, int k_h, int k_w, int stride_h, int stride_w, int dil_h,
                          int dil_w, int out_h, int out_w, const int32_t* bias,
                          const float* scale, int relu, uint8_t* padded, uint8_t* patches,
                          float* conv_out, int pool_k, int pool_s, int out_h2, int out_w2,
                          float* y) {
  const int ph = h + pad_t + pad_b;
  const int pw = w + pad_l + pad_r;
  const int pixels = out_h * out_w;
  cai_quantize_pad_f32_u8(x, c, h, w, pad_t, pad_b, pad_l, pad_r, x_scale, x_zero_point, padded);
  cai_im2col_u8c4(padded, c, ph, pw, k_h, k_w, stride_h, stride_w, dil_h, dil_w, out_h, out_w,
                  patches);
  cai_conv_s8p16_u8c4_f32(w_packed, m, c * k_h * k_w, patches, pixels, bias, scale, relu,
                          pool_k == 0 ? y : conv_out, pixels, 0);
  if (pool_k != 0) {
    cai_conv_crop_pool_f32(conv_out, m, pixels, out_w, out_h, out_w, pool_k, pool_s, out_h2,
                           out_w2, y);
  }
}

void cai_qconv_direct_f32(const float* x, int c, int h, int w, int pad_t, int pad_b, int pad_l,
                          int pad_r, float x_scale, int x_zero_point, const int8_t* wq, int m,
                          int k_h, int k_w, int pstride, const int32_t* bias, const float* scale,
                          int relu, uint8_t* scratch, uint8_t* x4, float* planes, int wide,
                          int pool_k, int pool_s, int out_h2, int out_w2, float* y) {
  const int ph = h + pad_t + pad_b;
  const int pw = w + pad_l + pad_r;
  const int out_h = ph - k_h + 1;
  const int out_w = pw - k_w + 1;
  cai_quantize_pad_f32_u8c4(x, c, h, w, pad_t, pad_b, pad_l, pad_r, x_scale, x_zero_point,
                            pstride, scratch, x4);
  cai_conv_direct_u8c4_f32(wq, m, c, k_h, k_w, x4, pstride, pw, out_h, bias, scale, relu, planes,
                           wide, 0);
  cai_conv_crop_pool_f32(planes, m, wide, pw, out_h, out_w, pool_k, pool_s, out_h2, out_w2, y);
}

/* ------------------------------------------------------------------------------------------------
 * The direct convolution for few input channels: quads along kw (contracts: cai_int8.h)
 * ---------------------------------------------------------------------------------------------- */
#define CAI_KQ_MR 16 /* one permuted operand feeds 16 channels: measured best */

size_t cai_pack_conv_kq_size(int m, int c, int k_h, int k_w) {
  return (size_t)((m + CAI_KQ_MR - 1) / CAI_KQ_MR) * (size_t)c * (size_t)k_h *
         (size_t)((k_w + 3) / 4) * CAI_KQ_MR * 4;
}

void cai_pack_conv_kq(const int8_t* w_packed, int m, int c, int k_h, int k_w, int8_t* out) {
  const int k = c * k_h * k_w;
  const int kp = cai_round_up(k, CAI_S8P_KSTEP);
  const int quads = (k_w + 3) / 4;
  const int blocks = (m + CAI_KQ_MR - 1) / CAI_KQ_MR;
  size_t at = 0;
  for (int jb = 0; jb < blocks; jb++) {
    for (int ch = 0; ch < c; ch++) {
      for (int kh = 0; kh < k_h; kh++) {
        for (int kq = 0; kq < quads; kq++) {
          for (int r = 0; r < CAI_KQ_MR; r++) {
            const int j = jb * CAI_KQ_MR + r;
            for (int i = 0; i < 4; i++) {
              const int kw = 4 * kq + i;
              int8_t v = 0;
              if (j < m && kw < k_w) {
                v = (int8_t)cai_s8p16_at(w_packed, kp, j, (ch * k_h + kh) * k_w + kw);
              }
              out[at++] = v;
            }
          }
        }
      }
    }
  }
}

static int cai_isa_vbmi(void) {
#if CAI_X86
  static int known = -1;
  if (known < 0) {
    known = __builtin_cpu_supports("avx512vbmi");
  }
  return known && cai_isa_vnni();
#else
  return 0;
#endif
}

int cai_conv_kq_available(void) { return cai_isa_vbmi(); }

static void cai_conv_kq_u8_f32_ref(const int8_t* wk, int m, int c, int k_h, int k_w,
                                   const uint8_t* img, int pstride, int pw, int out_h,
                                   const int32_t* bias, const float* scale, int relu, float* y,
                                   int ldy) {
  const int quads = (k_w + 3) / 4;
  const int wide = cai_round_up(out_h * pw, CAI_U8C4_PIXELS);
  const size_t block = (size_t)c * k_h * quads * CAI_KQ_MR * 4;
  cai_requant_params params = {bias, scale, 0, relu};
  for (int j = 0; j < m; j++) {
    const int8_t* wj = wk + (size_t)(j / CAI_KQ_MR) * block + (j % CAI_KQ_MR) * 4;
    for (int q = 0; q < wide; q++) {
      int32_t acc = 0;
      size_t t = 0;
      for (int ch = 0; ch < c; ch++) {
        for (int kh = 0; kh < k_h; kh++) {
          for (int kq = 0; kq < quads; kq++, t++) {
            const uint8_t* xs = img + (size_t)ch * pstride + q + (size_t)kh * pw + 4 * kq;
            const int8_t* ws = wj + t * CAI_KQ_MR * 4;
            for (int i = 0; i < 4; i++) {
              acc += (int32_t)xs[i] * (int32_t)ws[i];
            }
          }
        }
      }
      const float v = cai_requant_real(acc, &params, j);
      y[(size_t)j * ldy + q] = relu && v < 0.0f ? 0.0f : v;
    }
  }
}

#if CAI_X86
#define CAI_VBMI_INLINE \
  static inline __attribute__((always_inline, target("avx512f,avx512bw,avx512vnni,avx512vbmi")))
#define CAI_VBMI __attribute__((target("avx512f,avx512bw,avx512vnni,avx512vbmi")))

/* byte 4i + j of a 16-output operand = image byte i + j: output i's 4 consecutive kw taps */
static const uint8_t cai_kq_index[64] = {
    0,  1,  2,  3,  1,  2,  3,  4,  2,  3,  4,  5,  3,  4,  5,  6,  4,  5,  6,  7,  5,  6,
    7,  8,  6,  7,  8,  9,  7,  8,  9,  10, 8,  9,  10, 11, 9,  10, 11, 12, 10, 11, 12, 13,
    11, 12, 13, 14, 12, 13, 14, 15, 13, 14, 15, 16, 14, 15, 16, 17, 15, 16, 17, 18};

CAI_VBMI_INLINE void cai_kq_tile(const int NV, const int32_t* wb, int c, int k_h, int quads,
                                 const uint8_t* img, int pstride, int pw, int q0, int j0, int mr,
                                 const int32_t* bias, const float* scale, int relu, float* y,
                                 int ldy) {
  __m512i acc[CAI_KQ_MR][1];
  for (int r = 0; r < CAI_KQ_MR; r++) {
    for (int v = 0; v < NV; v++) {
      acc[r][v] = _mm512_setzero_si512();
    }
  }
  const __m512i index = _mm512_loadu_si512(cai_kq_index);
  const int32_t* wt = wb;
  for (int ch = 0; ch < c; ch++) {
    for (int kh = 0; kh < k_h; kh++) {
      const uint8_t* row = img + (size_t)ch * pstride + q0 + (size_t)kh * pw;
      for (int kq = 0; kq < quads; kq++, wt += CAI_KQ_MR) {
        __m512i xv[1];
        for (int v = 0; v < NV; v++) {
          xv[v] = _mm512_permutexvar_epi8(index, _mm512_loadu_si512(row + 4 * kq + 16 * v));
        }
        for (int r = 0; r < CAI_KQ_MR; r++) {
          const __m512i wv = _mm512_set1_epi32(wt[r]);
          for (int v = 0; v < NV; v++) {
            acc[r][v] = _mm512_dpbusd_epi32(acc[r][v], xv[v], wv);
          }
        }
      }
    }
  }
  const __m512 zero = _mm512_setzero_ps();
  for (int r = 0; r < mr; r++) {
    const int j = j0 + r;
    const __m512i b = _mm512_set1_epi32(bias == NULL ? 0 : bias[j]);
    const __m512 s = _mm512_set1_ps(scale[j]);
    for (int v = 0; v < NV; v++) {
      __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(acc[r][v], b)), s);
      if (relu) { /* exactly "v < 0 ? 0 : v" */
        f = _mm512_mask_mov_ps(f, _mm512_cmp_ps_mask(f, zero, _CMP_LT_OQ), zero);
      }
      _mm512_storeu_ps(y + (size_t)j * ldy + q0 + 16 * v, f);
    }
  }
}

static CAI_VBMI void cai_conv_kq_u8_f32_vbmi(const int8_t* wk, int m, int c, int k_h, int k_w,
                                             const uint8_t* img, int pstride, int pw, int out_h,
                                             const int32_t* bias, const float* scale, int relu,
                                             float* y, int ldy) {
  const int quads = (k_w + 3) / 4;
  const int vectors = cai_round_up(out_h * pw, CAI_U8C4_PIXELS) / CAI_U8C4_PIXELS;
  const size_t block = (size_t)c * k_h * quads * CAI_KQ_MR;
  for (int j0 = 0; j0 < m; j0 += CAI_KQ_MR) {
    const int mr = m - j0 < CAI_KQ_MR ? m - j0 : CAI_KQ_MR;
    const int32_t* wb = (const int32_t*)wk + (size_t)(j0 / CAI_KQ_MR) * block;
    for (int v0 = 0; v0 < vectors; v0++) {
      cai_kq_tile(1, wb, c, k_h, quads, img, pstride, pw, 16 * v0, j0, mr, bias, scale, relu, y,
                  ldy);
    }
  }
}

/* defined with the channels-in-lanes kernel below */
static CAI_VNNI void cai_t_pool_vnni(const float* t, int ldc, int m, int out_w, int pool_k,
                                    int pool_s, int out_h2, int out_w2, float* y);

/* kw quads with 16 output channels in the lanes, real outputs only: t[(oh*out_w + ow)*ldc + j] */
CAI_VBMI_INLINE void cai_kql_seg(const int PT, const int8_t* w0, int c, int k_h, int quads,
                                 const uint8_t* img, int pstride, int pw, int q0, __mmask16 mk,
                                 const int32_t* bias, const float* scale, int relu, float* out,
                                 int ldc) {
  __m512i acc[12];
  for (int i = 0; i < PT; i++) acc[i] = _mm512_setzero_si512();
  const int8_t* wp = w0;
  for (int ch = 0; ch < c; ch++) {
    for (int kh = 0; kh < k_h; kh++) {
      const uint8_t* xs = img + (size_t)ch * pstride + q0 + (size_t)kh * pw;
      for (int kq = 0; kq < quads; kq++, wp += 64, xs += 4) {
        const __m512i wv = _mm512_loadu_si512(wp);
        for (int i = 0; i < PT; i++) {
          const __m512i xb = _mm512_broadcastd_epi32(_mm_loadu_si32(xs + i));
          acc[i] = _mm512_dpbusd_epi32(acc[i], xb, wv);
        }
      }
    }
  }
  const __m512 zero = _mm512_setzero_ps();
  const __m512i b = bias == NULL ? _mm512_setzero_si512() : _mm512_maskz_loadu_epi32(mk, bias);
  const __m512 s = _mm512_maskz_loadu_ps(mk, scale);
  for (int i = 0; i < PT; i++) {
    __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(acc[i], b)), s);
    if (relu) f = _mm512_mask_mov_ps(f, _mm512_cmp_ps_mask(f, zero, _CMP_LT_OQ), zero);
    _mm512_storeu_ps(out + (size_t)i * ldc, f);
  }
}

/* The output stage of a pooled tile (2 rows x PT columns of s32 in acc): + bias, x scale, ReLU,
 * as unfused, then the 2x2 maxima of the column pairs as PT/2 pooled pixels: tp[i * ldc] */
CAI_VBMI_INLINE void cai_kq_pool2_store(const int PT, __m512i acc[2][6], __mmask16 mk,
                                        const int32_t* bias, const float* scale, int relu,
                                        float* tp, int ldc) {
  const __m512 zero = _mm512_setzero_ps();
  const __m512i b = bias == NULL ? _mm512_setzero_si512() : _mm512_maskz_loadu_epi32(mk, bias);
  const __m512 s = _mm512_maskz_loadu_ps(mk, scale);
  __m512 f[2][6];
  for (int r = 0; r < 2; r++) {
    for (int i = 0; i < PT; i++) {
      f[r][i] = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(acc[r][i], b)), s);
      if (relu) f[r][i] = _mm512_mask_mov_ps(f[r][i], _mm512_cmp_ps_mask(f[r][i], zero, _CMP_LT_OQ), zero);
    }
  }
  for (int i = 0; i < PT / 2; i++) {
    const __m512 top = _mm512_max_ps(f[0][2 * i], f[0][2 * i + 1]);
    const __m512 bottom = _mm512_max_ps(f[1][2 * i], f[1][2 * i + 1]);
    _mm512_storeu_ps(tp + (size_t)i * ldc, _mm512_max_ps(top, bottom));
  }
}

/* 2x2 / stride 2 pooled in registers: 2 output rows x PT columns (PT even), their maxima as
 * PT/2 pooled pixels of 16 channels: tp[i * ldc] (the requantization first, as unfused) */
CAI_VBMI_INLINE void cai_kql_seg_pool2(const int PT, const int8_t* w0, int c, int k_h, int quads,
                                       const uint8_t* img, int pstride, int pw, int q0,
                                       __mmask16 mk, const int32_t* bias, const float* scale,
                                       int relu, float* tp, int ldc) {
  __m512i acc[2][6];
  for (int r = 0; r < 2; r++) for (int i = 0; i < PT; i++) acc[r][i] = _mm512_setzero_si512();
  const int8_t* wp = w0;
  for (int ch = 0; ch < c; ch++) {
    for (int kh = 0; kh < k_h; kh++) {
      const uint8_t* xs = img + (size_t)ch * pstride + q0 + (size_t)kh * pw;
      for (int kq = 0; kq < quads; kq++, wp += 64, xs += 4) {
        const __m512i wv = _mm512_loadu_si512(wp);
        for (int r = 0; r < 2; r++) {
          for (int i = 0; i < PT; i++) {
            /* a broadcast straight from memory: a load, not a GPR -> vector move */
            const __m512i xb = _mm512_broadcastd_epi32(_mm_loadu_si32(xs + (size_t)r * pw + i));
            acc[r][i] = _mm512_dpbusd_epi32(acc[r][i], xb, wv);
          }
        }
      }
    }
  }
  cai_kq_pool2_store(PT, acc, mk, bias, scale, relu, tp, ldc);
}

/* The 2x2 / stride 2 pooled kw-quad convolution: tp[(oh2*out_w2 + ow2)*ldc + j] */
static CAI_VBMI void cai_conv_kq_pool2_vnni(const int8_t* wk, int m, int c, int k_h, int k_w,
                                            const uint8_t* img, int pstride, int pw,
                                            int out_h2, int out_w2, const int32_t* bias,
                                            const float* scale, int relu, float* tp, int ldc) {
  const int quads = (k_w + 3) / 4;
  const size_t jstride = (size_t)c * k_h * quads * 64;
  for (int j0 = 0; j0 < m; j0 += 16) {
    const int left = m - j0;
    const __mmask16 mk = (__mmask16)(left >= 16 ? 0xFFFF : (1u << left) - 1u);
    const int8_t* w0 = wk + (size_t)(j0 / 16) * jstride;
    const int32_t* bj = bias == NULL ? NULL : bias + j0;
    for (int oh = 0; oh < out_h2; oh++) {
      for (int ow = 0; ow < out_w2; ow += 3) {
        const int pooled = out_w2 - ow < 3 ? out_w2 - ow : 3;
        float* out = tp + (size_t)(oh * out_w2 + ow) * ldc + j0;
        const int q0 = 2 * oh * pw + 2 * ow;
#define KQP(P) cai_kql_seg_pool2(P, w0, c, k_h, quads, img, pstride, pw, q0, mk, bj, scale + j0, relu, out, ldc)
        switch (pooled) {
          case 1: KQP(2); break;
          case 2: KQP(4); break;
          default: KQP(6); break;
        }
#undef KQP
      }
    }
  }
}

static CAI_VBMI void cai_conv_kq_t_vnni(const int8_t* wk, int m, int c, int k_h, int k_w,
                                        const uint8_t* img, int pstride, int pw, int out_h,
                                        int out_w, const int32_t* bias, const float* scale,
                                        int relu, float* t, int ldc) {
  const int quads = (k_w + 3) / 4;
  const size_t jstride = (size_t)c * k_h * quads * 64;
  for (int j0 = 0; j0 < m; j0 += 16) {
    const int left = m - j0;
    const __mmask16 mk = (__mmask16)(left >= 16 ? 0xFFFF : (1u << left) - 1u);
    const int8_t* w0 = wk + (size_t)(j0 / 16) * jstride;
    for (int oh = 0; oh < out_h; oh++) {
      for (int ow = 0; ow < out_w; ow += 12) {
        const int pt = out_w - ow < 12 ? out_w - ow : 12;
        float* out = t + (size_t)(oh * out_w + ow) * ldc + j0;
        const int q0 = oh * pw + ow;
        const int32_t* bj = bias == NULL ? NULL : bias + j0;
#define KQL(P) cai_kql_seg(P, w0, c, k_h, quads, img, pstride, pw, q0, mk, bj, scale + j0, relu, out, ldc)
        switch (pt) {
          case 1: KQL(1); break; case 2: KQL(2); break; case 3: KQL(3); break;
          case 4: KQL(4); break; case 5: KQL(5); break; case 6: KQL(6); break;
          case 7: KQL(7); break; case 8: KQL(8); break; case 9: KQL(9); break;
          case 10: KQL(10); break; case 11: KQL(11); break; default: KQL(12); break;
        }
#undef KQL
      }
    }
  }
}
#endif

void cai_conv_kq_u8_f32(const int8_t* wk, int m, int c, int k_h, int k_w, const uint8_t* img,
                        int pstride, int pw, int out_h, const int32_t* bias, const float* scale,
                        int relu, float* y, int ldy, int use_ref) {
#if CAI_X86
  if (!use_ref && cai_isa_vbmi()) {
    cai_conv_kq_u8_f32_vbmi(wk, m, c, k_h, k_w, img, pstride, pw, out_h, bias, scale, relu, y,
                            ldy);
    return;
  }
#endif
  cai_conv_kq_u8_f32_ref(wk, m, c, k_h, k_w, img, pstride, pw, out_h, bias, scale, relu, y, ldy);
}

void cai_qconv_kq_f32(const float* x, int c, int h, int w, int pad_t, int pad_b, int pad_l,
                      int pad_r, float x_scale, int x_zero_point, const int8_t* wk, int m,
                      int k_h, int k_w, int pstride, const int32_t* bias, const float* scale,
                      int relu, uint8_t* img, float* planes, int wide, int pool_k, int pool_s,
                      int out_h2, int out_w2, float* y, int use_ref) {
  const int ph = h + pad_t + pad_b;
  const int pw = w + pad_l + pad_r;
  const int out_h = ph - k_h + 1;
  const int out_w = pw - k_w + 1;
  for (int ch = 0; ch < c; ch++) {
    uint8_t* plane = img + (size_t)ch * pstride;
    cai_quantize_pad_f32_u8(x + (size_t)ch * h * w, 1, h, w, pad_t, pad_b, pad_l, pad_r, x_scale,
                            x_zero_point, plane);
    memset(plane + (size_t)ph * pw, 0, (size_t)(pstride - ph * pw));
  }
#if CAI_X86
  /* pooled, whole 16-channel blocks: channels in the lanes, only real outputs, [pixel, channel]
   * into planes (out_h*out_w*m <= m*wide floats), then pool + transpose into y */
  if (!use_ref && pool_k == 2 && pool_s == 2 && m % 16 == 0 && cai_isa_vbmi()) {
    /* the pool in registers: only the pooled [pixel, channel] vectors reach memory */
    cai_conv_kq_pool2_vnni(wk, m, c, k_h, k_w, img, pstride, pw, out_h2, out_w2, bias, scale,
                           relu, planes, m);
    cai_t_pool_vnni(planes, m, m, out_w2, 1, 1, out_h2, out_w2, y);
    return;
  }
  if (!use_ref && pool_k != 0 && m % 16 == 0 && cai_isa_vbmi()) {
    cai_conv_kq_t_vnni(wk, m, c, k_h, k_w, img, pstride, pw, out_h, out_w, bias, scale, relu,
                       planes, m);
    cai_t_pool_vnni(planes, m, m, out_w, pool_k, pool_s, out_h2, out_w2, y);
    return;
  }
#endif
  cai_conv_kq_u8_f32(wk, m, c, k_h, k_w, img, pstride, pw, out_h, bias, scale, relu, planes, wide,
                     use_ref);
  cai_conv_crop_pool_f32(planes, m, wide, pw, out_h, out_w, pool_k, pool_s, out_h2, out_w2, y);
}

/* ------------------------------------------------------------------------------------------------
 * The direct convolution with output channels in the lanes (contracts: cai_int8.h)
 * ---------------------------------------------------------------------------------------------- */
size_t cai_pack_conv_t16_size(int m, int c, int k_h, int k_w) {
  return cai_pack_conv_quads_size(m, c, k_h, k_w, 16);
}

void cai_pack_conv_t16(const int8_t* w_packed, int m, int c, int k_h, int k_w, int8_t* out) {
  cai_pack_conv_quads(w_packed, m, c, k_h, k_w, 16, out);
}

static void cai_conv_direct_t_ref(const int8_t* wt, int m, int c, int k_h, int k_w,
                                  const uint8_t* x4, int pstride, int pw, int out_h, int out_w,
                                  const int32_t* bias, const float* scale, int relu, float* t,
                                  int ldc) {
  const int groups = (c + 3) / 4;
  const size_t jstride = (size_t)groups * k_h * k_w * 64;
  cai_requant_params params = {bias, scale, 0, relu};
  for (int oh = 0; oh < out_h; oh++) {
    for (int ow = 0; ow < out_w; ow++) {
      for (int j = 0; j < m; j++) {
        const int8_t* wj = wt + (size_t)(j / 16) * jstride + (j % 16) * 4;
        int32_t acc = 0;
        size_t tap = 0;
        for (int cg = 0; cg < groups; cg++) {
          for (int kh = 0; kh < k_h; kh++) {
            for (int kw = 0; kw < k_w; kw++, tap++) {
              const uint8_t* xs = x4 + ((size_t)cg * pstride + (size_t)(oh + kh) * pw + ow + kw) * 4;
              for (int i = 0; i < 4; i++) {
                acc += (int32_t)xs[i] * (int32_t)wj[tap * 64 + i];
              }
            }
          }
        }
        const float v = cai_requant_real(acc, &params, j);
        t[(size_t)(oh * out_w + ow) * ldc + j] = relu && v < 0.0f ? 0.0f : v;
      }
    }
  }
}

static void cai_t_pool_ref(const float* t, int ldc, int m, int out_w, int pool_k, int pool_s,
                           int out_h2, int out_w2, float* y) {
  for (int j = 0; j < m; j++) {
    for (int oh = 0; oh < out_h2; oh++) {
      for (int ow = 0; ow < out_w2; ow++) {
        const float* base = t + (size_t)((oh * pool_s) * out_w + ow * pool_s) * ldc + j;
        float best = base[0];
        for (int kh = 0; kh < pool_k; kh++) {
          for (int kw = 0; kw < pool_k; kw++) {
            const float v = base[(size_t)(kh * out_w + kw) * ldc];
            best = v > best ? v : best;
          }
        }
        y[((size_t)j * out_h2 + oh) * out_w2 + ow] = best;
      }
    }
  }
}

#if CAI_X86
CAI_VNNI_INLINE void cai_t_seg(const int PT, const int NJ, const int8_t* w0, size_t jstride, int groups, int k_h, int k_w,
                               const uint8_t* x4, int pstride, int pw, int q0, __mmask16 m0, __mmask16 m1,
                               const int32_t* bias, const float* scale, int relu, float* out, int ldc) {
  __m512i acc[12][2];
  for (int i = 0; i < PT; i++) for (int jv = 0; jv < NJ; jv++) acc[i][jv] = _mm512_setzero_si512();
  const int8_t* wp = w0;
  for (int cg = 0; cg < groups; cg++) {
    for (int kh = 0; kh < k_h; kh++) {
      const uint8_t* xs = x4 + ((size_t)cg * pstride + q0 + (size_t)kh * pw) * 4;
      for (int kw = 0; kw < k_w; kw++, wp += 64, xs += 4) {
        __m512i wv[2];
        for (int jv = 0; jv < NJ; jv++) wv[jv] = _mm512_loadu_si512(wp + jv * jstride);
        for (int i = 0; i < PT; i++) {
          const __m512i xb = _mm512_broadcastd_epi32(_mm_loadu_si32(xs + 4 * i));
          for (int jv = 0; jv < NJ; jv++) acc[i][jv] = _mm512_dpbusd_epi32(acc[i][jv], xb, wv[jv]);
        }
      }
    }
  }
  const __m512 zero = _mm512_setzero_ps();
  for (int jv = 0; jv < NJ; jv++) {
    const __mmask16 mk = jv == 0 ? m0 : m1;
    const __m512i b = bias == NULL ? _mm512_setzero_si512() : _mm512_maskz_loadu_epi32(mk, bias + 16 * jv);
    const __m512 s = _mm512_maskz_loadu_ps(mk, scale + 16 * jv);
    for (int i = 0; i < PT; i++) {
      __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(acc[i][jv], b)), s);
      if (relu) f = _mm512_mask_mov_ps(f, _mm512_cmp_ps_mask(f, zero, _CMP_LT_OQ), zero);
      _mm512_storeu_ps(out + (size_t)i * ldc + 16 * jv, f);
    }
  }
}

/* t[(oh*out_w+ow)*ldc + j] for valid outputs; ldc = round_up(m, 16) */
static CAI_VNNI void cai_conv_direct_t_vnni(const int8_t* wt, int m, int c, int k_h, int k_w, const uint8_t* x4,
                                            int pstride, int pw, int out_h, int out_w, const int32_t* bias,
                                            const float* scale, int relu, float* t, int ldc) {
  const int groups = (c + 3) / 4;
  const size_t jstride = (size_t)groups * k_h * k_w * 64;
  for (int j0 = 0; j0 < m; j0 += 32) {
    const int nj = m - j0 > 16 ? 2 : 1;
    const int left0 = m - j0, left1 = m - j0 - 16;
    const __mmask16 m0 = (__mmask16)(left0 >= 16 ? 0xFFFF : (1u << left0) - 1u);
    const __mmask16 m1 = (__mmask16)(left1 >= 16 ? 0xFFFF : left1 <= 0 ? 0 : (1u << left1) - 1u);
    const int8_t* w0 = wt + (size_t)(j0 / 16) * jstride;
    const int ptmax = 12; /* pixels per segment: 12 x 2 accumulators (the switch below) */
    for (int oh = 0; oh < out_h; oh++) {
      for (int ow = 0; ow < out_w; ow += ptmax) {
        const int pt = out_w - ow < ptmax ? out_w - ow : ptmax;
        float* out = t + (size_t)(oh * out_w + ow) * ldc + j0;
        const int q0 = oh * pw + ow;
        const int32_t* bj = bias == NULL ? NULL : bias + j0;
#define T_SEG(P, N) cai_t_seg(P, N, w0, jstride, groups, k_h, k_w, x4, pstride, pw, q0, m0, m1, bj, scale + j0, relu, out, ldc)
#define T_CASES(N) switch (pt) { case 1: T_SEG(1,N); break; case 2: T_SEG(2,N); break; case 3: T_SEG(3,N); break; case 4: T_SEG(4,N); break; \
  case 5: T_SEG(5,N); break; case 6: T_SEG(6,N); break; case 7: T_SEG(7,N); break; case 8: T_SEG(8,N); break; case 9: T_SEG(9,N); break; \
  case 10: T_SEG(10,N); break; case 11: T_SEG(11,N); break; default: T_SEG(12,N); break; }
        if (nj == 2) { T_CASES(2) } else { T_CASES(1) }
      }
    }
  }
}

/* rows r[i] = 16 channels of pixel p0+i  ->  y[j * ystride + p0 + i] for j < m, i < n (n <= 16) */
CAI_VNNI_INLINE void cai_transpose16_store(__m512 r[16], int n, int m, float* y, size_t ystride) {
  __m512 t[16];
  for (int i = 0; i < 8; i++) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 4; i++) {
    r[4 * i + 0] = _mm512_shuffle_ps(t[4 * i + 0], t[4 * i + 2], 0x44);
    r[4 * i + 1] = _mm512_shuffle_ps(t[4 * i + 0], t[4 * i + 2], 0xEE);
    r[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
    r[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
  }
  for (int i = 0; i < 4; i++) {
    t[i] = _mm512_shuffle_f32x4(r[i], r[4 + i], 0x88);
    t[4 + i] = _mm512_shuffle_f32x4(r[i], r[4 + i], 0xDD);
    t[8 + i] = _mm512_shuffle_f32x4(r[8 + i], r[12 + i], 0x88);
    t[12 + i] = _mm512_shuffle_f32x4(r[8 + i], r[12 + i], 0xDD);
  }
  for (int i = 0; i < 8; i++) {
    r[i] = _mm512_shuffle_f32x4(t[i], t[8 + i], 0x88);
    r[8 + i] = _mm512_shuffle_f32x4(t[i], t[8 + i], 0xDD);
  }
  const __mmask16 mask = (__mmask16)(n >= 16 ? 0xFFFF : (1u << n) - 1u);
  for (int j = 0; j < m; j++) {
    _mm512_mask_storeu_ps(y + (size_t)j * ystride, mask, r[j]);
  }
}

/* y[j][oh2][ow2] = max over the pool window of t[p][j] (pool_k 1 / stride 1: a copy): 16 pooled
 * pixels x 16 channels at a time, transposed in registers into NCHW rows (no scatters) */
static CAI_VNNI void cai_t_pool_vnni(const float* t, int ldc, int m, int out_w, int pool_k,
                                    int pool_s, int out_h2, int out_w2, float* y) {
  const int p2n = out_h2 * out_w2;
  for (int j0 = 0; j0 < m; j0 += 16) {
    const int mb = m - j0 < 16 ? m - j0 : 16;
    int oh = 0;
    int ow = 0; /* the pooled pixel p0 + i, walked without divisions */
    for (int p0 = 0; p0 < p2n; p0 += 16) {
      const int n = p2n - p0 < 16 ? p2n - p0 : 16;
      __m512 r[16];
      for (int i = 0; i < 16; i++) {
        if (i >= n) {
          r[i] = _mm512_setzero_ps();
          continue;
        }
        const float* base = t + (size_t)((oh * pool_s) * out_w + ow * pool_s) * ldc + j0;
        __m512 best = _mm512_loadu_ps(base);
        for (int kh = 0; kh < pool_k; kh++) {
          for (int kw = 0; kw < pool_k; kw++) {
            best = _mm512_max_ps(best, _mm512_loadu_ps(base + (size_t)(kh * out_w + kw) * ldc));
          }
        }
        r[i] = best;
        if (++ow == out_w2) {
          ow = 0;
          oh++;
        }
      }
      cai_transpose16_store(r, n, mb, y + (size_t)j0 * p2n + p0, (size_t)p2n);
    }
  }
}
#endif

void cai_qconv_direct_t_f32(const float* x, int c, int h, int w, int pad_t, int pad_b, int pad_l,
                            int pad_r, float x_scale, int x_zero_point, const int8_t* wt, int m,
                            int k_h, int k_w, int pstride, const int32_t* bias, const float* scale,
                            int relu, uint8_t* scratch, uint8_t* x4, float* t, int pool_k,
                            int pool_s, int out_h2, int out_w2, float* y, int use_ref) {
  const int ph = h + pad_t + pad_b;
  const int pw = w + pad_l + pad_r;
  const int out_h = ph - k_h + 1;
  const int out_w = pw - k_w + 1;
  const int ldc = cai_round_up(m, 16);
  cai_quantize_pad_f32_u8c4(x, c, h, w, pad_t, pad_b, pad_l, pad_r, x_scale, x_zero_point,
                            pstride, scratch, x4);
#if CAI_X86
  if (!use_ref && cai_isa_vnni()) {
    cai_conv_direct_t_vnni(wt, m, c, k_h, k_w, x4, pstride, pw, out_h, out_w, bias, scale, relu,
                           t, ldc);
    cai_t_pool_vnni(t, ldc, m, out_w, pool_k, pool_s, out_h2, out_w2, y);
    return;
  }
#endif
  cai_conv_direct_t_ref(wt, m, c, k_h, k_w, x4, pstride, pw, out_h, out_w, bias, scale, relu, t,
                        ldc);
  cai_t_pool_ref(t, ldc, m, out_w, pool_k, pool_s, out_h2, out_w2, y);
}

/* ------------------------------------------------------------------------------------------------
 * A chain of int8 layers in one call (contracts and the descriptor: cai_int8.h)
 * ---------------------------------------------------------------------------------------------- */
void cai_qgemm_chain_f32(const cai_qgemm_layer* layers, int count, const float* x, int m,
                         uint8_t* a, int32_t* acc, float* tmp, int max_n, float* y) {
  const float* in = x;
  for (int i = 0; i < count; i++) {
    const cai_qgemm_layer* l = &layers[i];
    float* out = i == count - 1 ? y : tmp + (size_t)(i % 2) * m * max_n;
    cai_qgemm_f32(in, m, l->k, l->x_scale, l->x_zero_point, l->w, l->n, l->bias, l->scale,
                  l->relu, a, acc, out);
    in = out;
  }
}

#include "cai_q4_pairs.h" /* the batch-1 row-pair body, defined in cai_q4_pairs.c */

void cai_q4gemm_chain_f32(const cai_q4gemm_layer* layers, int count, const float* x, int m,
                          float* tmp, int max_kp, float* y) {
  const float* in = x;
  int ld_in = layers[0].k;
  if (ld_in % QK4_G32 != 0) { /* layer 0's input, zero-padded into region 0 */
    const int kp = cai_round_up(ld_in, QK4_G32);
    for (int i = 0; i < m; i++) {
      float* row = tmp + (size_t)i * kp;
      memcpy(row, x + (size_t)i * ld_in, sizeof(float) * (size_t)ld_in);
      memset(row + ld_in, 0, sizeof(float) * (size_t)(kp - ld_in));
    }
    in = tmp;
    ld_in = kp;
  }
  for (int l = 0; l < count; l++) {
    const cai_q4gemm_layer* layer = &layers[l];
    const int n = layer->n;
    const int last = l == count - 1;
    const int ld_out = last ? n : cai_round_up(n, QK4_G32);
    float* out = last ? y : tmp + (size_t)((l + 1) % 2) * m * max_kp;
    if (m == 1 && layer->pairs != NULL && cai_q4g32p2_available()) {
      cai_gemv_q4g32p2_f32((const uint8_t*)layer->pairs, in, out, n, ld_in, 0);
    } else {
      cai_gemm_q4g32_f32(layer->w, in, ld_in, out, ld_out, m, n, ld_in);
    }
    for (int i = 0; i < m; i++) {
      float* row = out + (size_t)i * ld_out;
      if (layer->bias != NULL || layer->relu) {
        for (int j = 0; j < n; j++) { /* as cai_gemm_q4g32_bias_f32 */
          float t = layer->bias == NULL ? row[j] : row[j] + layer->bias[j];
          row[j] = layer->relu && t < 0.0f ? 0.0f : t;
        }
      }
      if (ld_out > n) {
        memset(row + n, 0, sizeof(float) * (size_t)(ld_out - n));
      }
    }
    in = out;
    ld_in = ld_out;
  }
}

/* ------------------------------------------------------------------------------------------------
 * A pooled kw-quad convolution handing its output to the next convolution as u8 channel quads
 * (contracts: cai_int8.h)
 * ---------------------------------------------------------------------------------------------- */
#if CAI_X86
/* t[(r*w + c)*ldc + j] (j < m, m % 16 == 0) -> x4[(cg*pstride + (r+pad_t)*pw + c+pad_l)*4 + i]
 * = q(t[..][4cg + i]); border = zero point, tail [ph*pw, pstride) = 0: the bytes of
 * cai_quantize_pad_f32_u8c4 on the NCHW transpose of t */
static CAI_VNNI void cai_t_quantize_quads(const float* t, int ldc, int m, int h, int w,
                                          int pad_t, int pad_b, int pad_l, int pad_r,
                                          float scale, int zero_point, int pstride, uint8_t* x4) {
  const int pw = w + pad_l + pad_r;
  const int plane = (h + pad_t + pad_b) * pw;
  const int bordered = pad_t | pad_b | pad_l | pad_r;
  const uint32_t zp4 = 0x01010101u * (uint32_t)zero_point;
  for (int cg = 0; cg < m / 4; cg++) {
    uint32_t* group = (uint32_t*)(x4 + (size_t)cg * pstride * 4);
    if (bordered) {
      for (int p = 0; p < plane; p++) group[p] = zp4;
    }
    memset(group + plane, 0, (size_t)(pstride - plane) * 4);
  }
  const __m512 s = _mm512_set1_ps(scale);
  const __m512i zp = _mm512_set1_epi32(zero_point);
  const size_t g = (size_t)pstride * 4; /* bytes between channel groups */
  for (int r = 0; r < h; r++) {
    int c = 0;
    for (; c + 4 <= w; c += 4) { /* 4 pixels: a 4x4 transpose of quads, 16-byte stores */
      const float* src = t + (size_t)(r * w + c) * ldc;
      const size_t at = (size_t)(r + pad_t) * pw + c + pad_l;
      for (int j0 = 0; j0 < m; j0 += 16) {
        const __m128i p0 = cai_quantize16(_mm512_loadu_ps(src + j0), s, zp);
        const __m128i p1 = cai_quantize16(_mm512_loadu_ps(src + ldc + j0), s, zp);
        const __m128i p2 = cai_quantize16(_mm512_loadu_ps(src + 2 * (size_t)ldc + j0), s, zp);
        const __m128i p3 = cai_quantize16(_mm512_loadu_ps(src + 3 * (size_t)ldc + j0), s, zp);
        /* p_i = quads (cg 0..3) of pixel i -> group cg = quads of pixels 0..3 */
        const __m128i a = _mm_unpacklo_epi32(p0, p1); /* p0q0 p1q0 p0q1 p1q1 */
        const __m128i b = _mm_unpacklo_epi32(p2, p3); /* p2q0 p3q0 p2q1 p3q1 */
        const __m128i d = _mm_unpackhi_epi32(p0, p1); /* p0q2 p1q2 p0q3 p1q3 */
        const __m128i e = _mm_unpackhi_epi32(p2, p3); /* p2q2 p3q2 p2q3 p3q3 */
        uint8_t* base = x4 + ((size_t)(j0 / 4) * pstride + at) * 4;
        _mm_storeu_si128((__m128i*)base, _mm_unpacklo_epi64(a, b));
        _mm_storeu_si128((__m128i*)(base + g), _mm_unpackhi_epi64(a, b));
        _mm_storeu_si128((__m128i*)(base + 2 * g), _mm_unpacklo_epi64(d, e));
        _mm_storeu_si128((__m128i*)(base + 3 * g), _mm_unpackhi_epi64(d, e));
      }
    }
    for (; c < w; c++) {
      const float* src = t + (size_t)(r * w + c) * ldc;
      const size_t at = (size_t)(r + pad_t) * pw + c + pad_l;
      for (int j0 = 0; j0 < m; j0 += 16) {
        const __m128i b = cai_quantize16(_mm512_loadu_ps(src + j0), s, zp);
        uint8_t* base = x4 + ((size_t)(j0 / 4) * pstride + at) * 4;
        const int32_t q0 = _mm_cvtsi128_si32(b);
        const int32_t q1 = _mm_extract_epi32(b, 1);
        const int32_t q2 = _mm_extract_epi32(b, 2);
        const int32_t q3 = _mm_extract_epi32(b, 3);
        memcpy(base, &q0, 4);
        memcpy(base + g, &q1, 4);
        memcpy(base + 2 * g, &q2, 4);
        memcpy(base + 3 * g, &q3, 4);
      }
    }
  }
}
#endif

/* The kw-quad weights with the columns past the last whole quad regrouped along kh ("kqc"):
 * per block of 16 output channels and per input channel, first the row quads
 * [kh][kq < k_w / 4] (W[j][ch][kh][4kq .. 4kq+3]), then the column quads
 * [kw = 4 (k_w / 4) .. k_w - 1][g < ceil(k_h / 4)] (W[j][ch][4g .. 4g+3][kw], 0 past k_h); 16
 * channels x 4 bytes = 64 bytes per quad. A 5x5 kernel: 5 + 2 quads instead of 10. */
size_t cai_pack_conv_kqc_size(int m, int c, int k_h, int k_w) {
  const size_t quads = (size_t)k_h * (k_w / 4) + (size_t)(k_w % 4) * ((k_h + 3) / 4);
  return (size_t)((m + CAI_KQ_MR - 1) / CAI_KQ_MR) * (size_t)c * quads * CAI_KQ_MR * 4;
}

void cai_pack_conv_kqc(const int8_t* wk, int m, int c, int k_h, int k_w, int8_t* out) {
  const int quads = (k_w + 3) / 4;
  const int blocks = (m + CAI_KQ_MR - 1) / CAI_KQ_MR;
  /* wk (s8k4m16): block jb, tap (ch * k_h + kh) * quads + kq, channel r, byte i */
#define KQ_AT(jb, ch, kh, kw, r) \
  wk[((((size_t)(jb) * c + (ch)) * k_h + (kh)) * quads + (kw) / 4) * CAI_KQ_MR * 4 + (r) * 4 + (kw) % 4]
  size_t at = 0;
  for (int jb = 0; jb < blocks; jb++) {
    for (int ch = 0; ch < c; ch++) {
      for (int kh = 0; kh < k_h; kh++) {
        for (int kq = 0; kq < k_w / 4; kq++) {
          for (int r = 0; r < CAI_KQ_MR; r++) {
            for (int i = 0; i < 4; i++) {
              out[at++] = KQ_AT(jb, ch, kh, 4 * kq + i, r);
            }
          }
        }
      }
      for (int kw = 4 * (k_w / 4); kw < k_w; kw++) {
        for (int g = 0; g < (k_h + 3) / 4; g++) {
          for (int r = 0; r < CAI_KQ_MR; r++) {
            for (int i = 0; i < 4; i++) {
              const int kh = 4 * g + i;
              out[at++] = kh < k_h ? KQ_AT(jb, ch, kh, kw, r) : 0;
            }
          }
        }
      }
    }
  }
#undef KQ_AT
}

/* Rows of the column image: out_h + 4 (ceil(k_h / 4) - 1), pw positions each. */
static int cai_kqc_rows(int k_h, int out_h) { return out_h + 4 * ((k_h + 3) / 4 - 1); }

#if CAI_X86
/* As cai_kql_seg_pool2, the kqc weights: row quads broadcast from img, column quads from the
 * column image cq (position p = row * pw + col holds img rows row .. row+3 at col, 0 past ph) */
CAI_VBMI_INLINE void cai_kqc_seg_pool2(const int PT, const int8_t* w0, int c, int k_h, int k_w,
                                       const uint8_t* img, int pstride, const uint8_t* cq,
                                       int cstride, int pw, int q0, __mmask16 mk,
                                       const int32_t* bias, const float* scale, int relu,
                                       float* tp, int ldc) {
  __m512i acc[2][6];
  for (int r = 0; r < 2; r++) for (int i = 0; i < PT; i++) acc[r][i] = _mm512_setzero_si512();
  const int8_t* wp = w0;
  for (int ch = 0; ch < c; ch++) {
    for (int kh = 0; kh < k_h; kh++) {
      const uint8_t* xs = img + (size_t)ch * pstride + q0 + (size_t)kh * pw;
      for (int kq = 0; kq < k_w / 4; kq++, wp += 64, xs += 4) {
        const __m512i wv = _mm512_loadu_si512(wp);
        for (int r = 0; r < 2; r++) {
          for (int i = 0; i < PT; i++) {
            const __m512i xb = _mm512_broadcastd_epi32(_mm_loadu_si32(xs + (size_t)r * pw + i));
            acc[r][i] = _mm512_dpbusd_epi32(acc[r][i], xb, wv);
          }
        }
      }
    }
    for (int kw = 4 * (k_w / 4); kw < k_w; kw++) {
      for (int g = 0; g < (k_h + 3) / 4; g++, wp += 64) {
        const uint8_t* cs = cq + ((size_t)ch * cstride + q0 + (size_t)4 * g * pw + kw) * 4;
        const __m512i wv = _mm512_loadu_si512(wp);
        for (int r = 0; r < 2; r++) {
          for (int i = 0; i < PT; i++) {
            const __m512i xb =
                _mm512_broadcastd_epi32(_mm_loadu_si32(cs + ((size_t)r * pw + i) * 4));
            acc[r][i] = _mm512_dpbusd_epi32(acc[r][i], xb, wv);
          }
        }
      }
    }
  }
  cai_kq_pool2_store(PT, acc, mk, bias, scale, relu, tp, ldc);
}

/* cai_conv_kq_pool2_vnni on the kqc weights; cq built here from img */
static CAI_VBMI void cai_conv_kqc_pool2_vnni(const int8_t* wc, int m, int c, int k_h, int k_w,
                                             const uint8_t* img, int pstride, int ph, int pw,
                                             int out_h, int out_h2, int out_w2,
                                             const int32_t* bias, const float* scale, int relu,
                                             uint8_t* cq, float* tp, int ldc) {
  const int rows = cai_kqc_rows(k_h, out_h);
  const int cstride = rows * pw;
  for (int ch = 0; ch < c; ch++) {
    const uint8_t* plane = img + (size_t)ch * pstride;
    for (int row = 0; row < rows; row++) {
      const uint8_t* src[4];
      for (int i = 0; i < 4; i++) {
        src[i] = row + i < ph ? plane + (size_t)(row + i) * pw : NULL;
      }
      cai_interleave4(src, 1, pw, cq + ((size_t)ch * cstride + (size_t)row * pw) * 4);
    }
  }
  const size_t quads = (size_t)k_h * (k_w / 4) + (size_t)(k_w % 4) * ((k_h + 3) / 4);
  const size_t jstride = (size_t)c * quads * 64;
  for (int j0 = 0; j0 < m; j0 += 16) {
    const int left = m - j0;
    const __mmask16 mk = (__mmask16)(left >= 16 ? 0xFFFF : (1u << left) - 1u);
    const int8_t* w0 = wc + (size_t)(j0 / 16) * jstride;
    const int32_t* bj = bias == NULL ? NULL : bias + j0;
    for (int oh = 0; oh < out_h2; oh++) {
      for (int ow = 0; ow < out_w2; ow += 3) {
        const int pooled = out_w2 - ow < 3 ? out_w2 - ow : 3;
        float* out = tp + (size_t)(oh * out_w2 + ow) * ldc + j0;
        const int q0 = 2 * oh * pw + 2 * ow;
#define KQC(P) cai_kqc_seg_pool2(P, w0, c, k_h, k_w, img, pstride, cq, cstride, pw, q0, mk, bj, scale + j0, relu, out, ldc)
        switch (pooled) {
          case 1: KQC(2); break;
          case 2: KQC(4); break;
          default: KQC(6); break;
        }
#undef KQC
      }
    }
  }
}
#endif

size_t cai_kqc_image_size(int c, int k_h, int out_h, int pw) {
  return (size_t)c * cai_kqc_rows(k_h, out_h) * pw * 4;
}

void cai_qconv_kq_quads(const float* x, int c, int h, int w, int pad_t, int pad_b, int pad_l,
                        int pad_r, float x_scale, int x_zero_point, const int8_t* wk, int m,
                        int k_h, int k_w, int pstride, const int32_t* bias, const float* scale,
                        int relu, uint8_t* img, float* planes, int wide, int pool_k, int pool_s,
                        int out_h2, int out_w2, float* pooled, int n_pad_t, int n_pad_b,
                        int n_pad_l, int n_pad_r, float n_scale, int n_zero_point, int n_pstride,
                        uint8_t* n_scratch, uint8_t* x4, const int8_t* wc, uint8_t* cq,
                        int use_ref) {
#if CAI_X86
  if (!use_ref && pool_k == 2 && pool_s == 2 && m % 16 == 0 && cai_isa_vbmi()) {
    const int ph = h + pad_t + pad_b;
    const int pw = w + pad_l + pad_r;
    for (int ch = 0; ch < c; ch++) { /* as cai_qconv_kq_f32 */
      uint8_t* plane = img + (size_t)ch * pstride;
      cai_quantize_pad_f32_u8(x + (size_t)ch * h * w, 1, h, w, pad_t, pad_b, pad_l, pad_r,
                              x_scale, x_zero_point, plane);
      memset(plane + (size_t)ph * pw, 0, (size_t)(pstride - ph * pw));
    }
    if (wc != NULL) {
      cai_conv_kqc_pool2_vnni(wc, m, c, k_h, k_w, img, pstride, ph, pw, ph - k_h + 1, out_h2,
                              out_w2, bias, scale, relu, cq, planes, m);
    } else {
      cai_conv_kq_pool2_vnni(wk, m, c, k_h, k_w, img, pstride, pw, out_h2, out_w2, bias, scale,
                             relu, planes, m);
    }
    cai_t_quantize_quads(planes, m, m, out_h2, out_w2, n_pad_t, n_pad_b, n_pad_l, n_pad_r,
                         n_scale, n_zero_point, n_pstride, x4);
    return;
  }
#endif
  cai_qconv_kq_f32(x, c, h, w, pad_t, pad_b, pad_l, pad_r, x_scale, x_zero_point, wk, m, k_h, k_w,
                   pstride, bias, scale, relu, img, planes, wide, pool_k, pool_s, out_h2, out_w2,
                   pooled, use_ref);
  cai_quantize_pad_f32_u8c4(pooled, m, out_h2, out_w2, n_pad_t, n_pad_b, n_pad_l, n_pad_r, n_scale,
                            n_zero_point, n_pstride, n_scratch, x4);
}

void cai_conv_direct_t_x4_f32(const uint8_t* x4, int c, int h, int w, int pad_t, int pad_b,
                              int pad_l, int pad_r, const int8_t* wt, int m, int k_h, int k_w,
                              int pstride, const int32_t* bias, const float* scale, int relu,
                              float* t, int pool_k, int pool_s, int out_h2, int out_w2, float* y,
                              int use_ref) {
  const int ph = h + pad_t + pad_b;
  const int pw = w + pad_l + pad_r;
  const int out_h = ph - k_h + 1;
  const int out_w = pw - k_w + 1;
  const int ldc = cai_round_up(m, 16);
#if CAI_X86
  if (!use_ref && cai_isa_vnni()) { /* as cai_qconv_direct_t_f32 after its quantization */
    cai_conv_direct_t_vnni(wt, m, c, k_h, k_w, x4, pstride, pw, out_h, out_w, bias, scale, relu,
                           t, ldc);
    cai_t_pool_vnni(t, ldc, m, out_w, pool_k, pool_s, out_h2, out_w2, y);
    return;
  }
#endif
  cai_conv_direct_t_ref(wt, m, c, k_h, k_w, x4, pstride, pw, out_h, out_w, bias, scale, relu, t,
                        ldc);
  cai_t_pool_ref(t, ldc, m, out_w, pool_k, pool_s, out_h2, out_w2, y);
}
