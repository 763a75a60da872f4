/*
 * The batch-1 q4g32 product on row pairs (layout in cai_q4_pairs.h). Compiled in the same
 * translation unit as cai_int8.c (after it, see IntKernelsNative's @Platform), whose activation
 * quantization (cai_quantize_row_q8_*), scratch (cai_q8_buffer) and dispatch flags it shares.
 */
#include "cai_q4_pairs.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Block (pair p, column block b): panels of CAI_Q4P2_PANEL pairs (the last one shorter), each
 * stored block by block, its pairs side by side (cai_q4_pairs.h). */
static inline size_t cai_q4p2_index(int p, int b, int pairs, int bpr) {
  const int p0 = p / CAI_Q4P2_PANEL * CAI_Q4P2_PANEL;
  const int np = pairs - p0 < CAI_Q4P2_PANEL ? pairs - p0 : CAI_Q4P2_PANEL;
  return (size_t)p0 * bpr + (size_t)b * np + (size_t)(p - p0);
}

long long cai_q4g32p2_size(int n, int k) {
  return (long long)((n + 1) / 2) * cai_q4g32_blocks_per_row(k) * CAI_Q4P2_BLOCK_BYTES;
}

void cai_pack_q4g32p2(const cai_block_q4g32x2* w, int n, int k, uint8_t* out) {
  const int bpr = cai_q4g32_blocks_per_row(k);
  const int pairs = (n + 1) / 2;
  uint8_t* qs = out;
  float* d = (float*)(out + (size_t)pairs * bpr * CAI_Q4P2_QS_BYTES);
  for (int p = 0; p < pairs; p++) {
    for (int b = 0; b < bpr; b++) {
      const size_t at = cai_q4p2_index(p, b, pairs, bpr);
      for (int s = 0; s < 2; s++) {
        const int r = 2 * p + s;
        uint8_t* q = qs + at * CAI_Q4P2_QS_BYTES + 32 * s;
        float* ds = d + at * 4 + 2 * s;
        if (r < n) {
          const cai_block_q4g32x2* blk = w + (size_t)r * bpr + b;
          memcpy(q, blk->qs, 32);
          ds[0] = blk->d[0];
          ds[1] = blk->d[1];
        } else { /* padding row: q = 8, d = 0 */
          memset(q, 0x88, 32);
          ds[0] = 0.0f;
          ds[1] = 0.0f;
        }
      }
    }
  }
}

int cai_q4g32p2_available(void) {
#if CAI_X86
  return cai_q4_vnni();
#else
  return 0;
#endif
}

/*
 * Scalar twin of the 512-bit body: per row, the 8 fp32 lanes of the vector body (lane l covers
 * bytes 4l..4l+3 of the row's 32 nibble bytes, i.e. group l / 4), each accumulated over the blocks
 * with one fused multiply-add, then summed as cai_hsum8 does: ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)).
 */
static void cai_gemv_q4g32p2_q8_ref(const uint8_t* p, const cai_block_q8g32x2* xq, float* y,
                                    int n, int bpr) {
  const int pairs = (n + 1) / 2;
  const float* d = (const float*)(p + (size_t)pairs * bpr * CAI_Q4P2_QS_BYTES);
  for (int r = 0; r < n; r++) {
    const int s = r % 2;
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int b = 0; b < bpr; b++) {
      const size_t at = cai_q4p2_index(r / 2, b, pairs, bpr);
      const uint8_t* qs = p + at * CAI_Q4P2_QS_BYTES + 32 * s;
      const cai_block_q8g32x2* xb = xq + b;
      for (int l = 0; l < 8; l++) {
        int32_t dot = xb->corr[l];
        for (int t = 0; t < 4; t++) {
          const int i = 4 * l + t;
          dot += (qs[i] & 0x0F) * xb->lo[i] + (qs[i] >> 4) * xb->hi[i];
        }
        const float scale = d[at * 4 + 2 * s + l / 4] * xb->dx[l];
        acc[l] = fmaf((float)dot, scale, acc[l]);
      }
    }
    const float a0 = acc[0] + acc[4], a1 = acc[1] + acc[5];
    const float a2 = acc[2] + acc[6], a3 = acc[3] + acc[7];
    const float b0 = a0 + a2, b1 = a1 + a3;
    y[r] = b0 + b1;
  }
}

#if CAI_X86
#define CAI_Q4P2 __attribute__((target("avx2,fma,avx512f,avx512bw,avx512vl,avx512vnni")))
#define CAI_Q4P2_INLINE \
  static inline __attribute__((always_inline, target("avx2,fma,avx512f,avx512bw,avx512vl,avx512vnni")))

/*
 * The row's activations quantized per group of 32 (cai_quantize_row_q8_avx2's output, bit for
 * bit), eight groups at a time: their max |x| reduced together into one vector, then one vector
 * division for the eight scales and one for their inverses, where the AVX2 body reduces and divides
 * group by group (a last batch of fewer than eight groups is completed with zeros, not stored). Max is exact, so the order of the reduction cannot matter — except with a NaN,
 * whose fate depends on operand order: a row holding one takes the AVX2 body.
 */
static CAI_Q4P2 void cai_quantize_row_q8_avx512(const float* x, int k, cai_block_q8g32x2* out) {
  const int groups = k / QK4_G32;
  __mmask16 nan = 0;
  for (int i = 0; i < groups * QK4_G32; i += 16) {
    const __m512 v = _mm512_loadu_ps(x + i);
    nan |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
  }
  if (nan) {
    cai_quantize_row_q8_avx2(x, k, out);
    return;
  }
  if (groups % 2) { /* the last block's second group is padding: all zero */
    memset(out + cai_q4g32_blocks_per_row(k) - 1, 0, sizeof(cai_block_q8g32x2));
  }
  for (int g = 0; g < groups; g += 8) {
    const int live = groups - g < 8 ? groups - g : 8; /* a short last batch: zeros, not stored */
    const float* src = x + (size_t)g * QK4_G32;
    __m512 v[16];
    __m256 r[8];
    for (int i = 0; i < 8; i++) {
      v[2 * i] = i < live ? _mm512_loadu_ps(src + QK4_G32 * i) : _mm512_setzero_ps();
      v[2 * i + 1] = i < live ? _mm512_loadu_ps(src + QK4_G32 * i + 16) : _mm512_setzero_ps();
      const __m512 a = _mm512_max_ps(_mm512_abs_ps(v[2 * i]), _mm512_abs_ps(v[2 * i + 1]));
      r[i] = _mm256_max_ps(_mm512_castps512_ps256(a),
                           _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a), 1)));
    }
    /* lane i of amax = max over r[i]'s 8 lanes */
    __m256 s[4];
    for (int i = 0; i < 4; i++) {
      s[i] = _mm256_max_ps(_mm256_shuffle_ps(r[2 * i], r[2 * i + 1], 0x88),
                           _mm256_shuffle_ps(r[2 * i], r[2 * i + 1], 0xDD));
    }
    const __m256 t0 = _mm256_max_ps(_mm256_shuffle_ps(s[0], s[1], 0x88),
                                    _mm256_shuffle_ps(s[0], s[1], 0xDD));
    const __m256 t1 = _mm256_max_ps(_mm256_shuffle_ps(s[2], s[3], 0x88),
                                    _mm256_shuffle_ps(s[2], s[3], 0xDD));
    const __m256 amax = _mm256_max_ps(_mm256_permute2f128_ps(t0, t1, 0x20),
                                      _mm256_permute2f128_ps(t0, t1, 0x31));
    const __m256 d8 = _mm256_div_ps(amax, _mm256_set1_ps(127.0f));
    const __m256 id8 = _mm256_and_ps(_mm256_cmp_ps(d8, _mm256_set1_ps(FLT_MIN), _CMP_GE_OQ),
                                     _mm256_div_ps(_mm256_set1_ps(1.0f), d8));
    float ds[8], ids[8];
    _mm256_storeu_ps(ds, d8);
    _mm256_storeu_ps(ids, id8);
    for (int i = 0; i < live; i++) {
      cai_block_q8g32x2* b = out + (g + i) / 2;
      const int h = (g + i) % 2;
      const __m512 id = _mm512_set1_ps(ids[i]);
      const __m512i q0 = _mm512_cvtps_epi32(_mm512_mul_ps(v[2 * i], id));
      const __m512i q1 = _mm512_cvtps_epi32(_mm512_mul_ps(v[2 * i + 1], id));
      const int32_t sum = _mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1));
      _mm_storeu_si128((__m128i*)(b->lo + 16 * h), _mm512_cvtsepi32_epi8(q0));
      _mm_storeu_si128((__m128i*)(b->hi + 16 * h), _mm512_cvtsepi32_epi8(q1));
      _mm_storeu_si128((__m128i*)(b->corr + 4 * h), _mm_setr_epi32(-8 * sum, 0, 0, 0));
      _mm_storeu_ps(b->dx + 4 * h, _mm_set1_ps(ds[i]));
    }
  }
}

/*
 * The panel of NP (1..CAI_Q4P2_PANEL) pairs from pair p0, every block (read front to back): per pair and block one
 * 64-byte load of both rows' nibbles, two vpdpbusd onto the -8·Σxq correction, one convert, the
 * scales d·dx, one FMA — the 256-bit body's operations on 16 lanes. Rows 2p and 2p+1 are the low
 * and high 256 bits; each half is summed by cai_hsum8_vnni as the 256-bit body sums its register.
 */
CAI_Q4P2_INLINE void cai_q4p2_pass(const uint8_t* qs, const float* d, const cai_block_q8g32x2* xq,
                                   float* y, int n, int bpr, int p0, const int np) {
  const __m512i m4 = _mm512_set1_epi8(0x0F);
  const __m512i didx = _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
  __m512 acc[8];
  for (int j = 0; j < np; j++) {
    acc[j] = _mm512_setzero_ps();
  }
  const uint8_t* qbase = qs + (size_t)p0 * bpr * CAI_Q4P2_QS_BYTES;
  const float* dbase = d + (size_t)p0 * bpr * 4;
  for (int b = 0; b < bpr; b++) {
    const cai_block_q8g32x2* xb = xq + b;
    const __m512i xlo = _mm512_broadcast_i64x4(_mm256_load_si256((const __m256i*)xb->lo));
    const __m512i xhi = _mm512_broadcast_i64x4(_mm256_load_si256((const __m256i*)xb->hi));
    const __m512i corr = _mm512_broadcast_i64x4(_mm256_load_si256((const __m256i*)xb->corr));
    const __m512 dx = _mm512_castpd_ps(
        _mm512_broadcast_f64x4(_mm256_castps_pd(_mm256_load_ps(xb->dx))));
    for (int j = 0; j < np; j++) {
      const size_t at = (size_t)b * np + j;
      const __m512i raw = _mm512_loadu_si512((const void*)(qbase + at * CAI_Q4P2_QS_BYTES));
      const __m512i lo = _mm512_and_si512(raw, m4);
      const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(raw, 4), m4);
      const __m512i p32 = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(corr, lo, xlo), hi, xhi);
      const __m512 dw = _mm512_permutexvar_ps(didx, _mm512_castps128_ps512(_mm_loadu_ps(dbase + at * 4)));
      acc[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p32), _mm512_mul_ps(dw, dx), acc[j]);
    }
  }
  for (int j = 0; j < np; j++) {
    const int r = 2 * (p0 + j);
    y[r] = cai_hsum8_vnni(_mm512_castps512_ps256(acc[j]));
    if (r + 1 < n) {
      y[r + 1] = cai_hsum8_vnni(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(acc[j]), 1)));
    }
  }
}


static CAI_Q4P2 void cai_gemv_q4g32p2_q8_vnni(const uint8_t* p, const cai_block_q8g32x2* xq,
                                              float* y, int n, int bpr) {
  const int pairs = (n + 1) / 2;
  const uint8_t* qs = p;
  const float* d = (const float*)(p + (size_t)pairs * bpr * CAI_Q4P2_QS_BYTES);
  int p0 = 0;
  for (; p0 + CAI_Q4P2_PANEL <= pairs; p0 += CAI_Q4P2_PANEL) {
    cai_q4p2_pass(qs, d, xq, y, n, bpr, p0, CAI_Q4P2_PANEL);
  }
  switch (pairs - p0) {
    case 5: cai_q4p2_pass(qs, d, xq, y, n, bpr, p0, 5); break;
    case 4: cai_q4p2_pass(qs, d, xq, y, n, bpr, p0, 4); break;
    case 3: cai_q4p2_pass(qs, d, xq, y, n, bpr, p0, 3); break;
    case 2: cai_q4p2_pass(qs, d, xq, y, n, bpr, p0, 2); break;
    case 1: cai_q4p2_pass(qs, d, xq, y, n, bpr, p0, 1); break;
    default: break;
  }
}
#endif /* CAI_X86 */

void cai_gemv_q4g32p2_f32(const uint8_t* p, const float* x, float* y, int n, int k, int use_ref) {
  const int bpr = cai_q4g32_blocks_per_row(k);
  if (n <= 0) {
    return;
  }
  cai_block_q8g32x2* xq = cai_q8_buffer((size_t)bpr);
  if (xq == NULL) { /* no scratch: the twin on a row of its own */
    xq = (cai_block_q8g32x2*)malloc(sizeof(cai_block_q8g32x2) * (size_t)bpr);
    if (xq == NULL) {
      return;
    }
    cai_quantize_row_q8_ref(x, k, xq);
    cai_gemv_q4g32p2_q8_ref(p, xq, y, n, bpr);
    free(xq);
    return;
  }
#if CAI_X86
  if (!use_ref && cai_q4g32p2_available()) {
    cai_quantize_row_q8_avx512(x, k, xq);
    cai_gemv_q4g32p2_q8_vnni(p, xq, y, n, bpr);
    return;
  }
#endif
  cai_quantize_row_q8_ref(x, k, xq);
  cai_gemv_q4g32p2_q8_ref(p, xq, y, n, bpr);
}
