/*
 * cacheai fp32 kernels; see cai_fp32.h for the contracts and layouts.
 *
 * Why these exist beside OpenBLAS (measured on the 2-core AMD EPYC build machine, PP-OCRv4 rec,
 * one 48x320 line):
 *   - softmax over 6625 classes: a Java loop calling a scalar exp ran ~2 ms; 8 lanes of the same
 *     polynomial run it in a tenth of that.
 *   - depthwise convolutions (5x5 over 240 channels): im2col + sgemm makes one-row products, and
 *     the Java loops reached ~1 FMA per cycle; AVX2 rows of 8 outputs keep the taps in registers.
 *   - pointwise (1x1) convolutions are sgemm with M, K of 64..480 and N = pixels: OpenBLAS 0.3.31
 *     reached 120-135 GFLOP/s on this core; with AVX-512 the core does twice that (ONNX Runtime's
 *     MLAS did 250), so a plain 12x32 AVX-512 register tile over prepacked weights wins there.
 */
#include "cai_fp32.h"

#include <math.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CAI_FP32_X86 1
#else
#define CAI_FP32_X86 0
#endif

#define CAI_F32_AVX2 __attribute__((target("avx2,fma")))
#define CAI_F32_AVX2_INLINE static inline __attribute__((always_inline, target("avx2,fma")))
#define CAI_F32_AVX512 __attribute__((target("avx512f,avx2,fma")))
#define CAI_F32_AVX512_INLINE static inline __attribute__((always_inline, target("avx512f,avx2,fma")))

/* ------------------------------------------------------------------------------------------------
 * Dispatch
 * ---------------------------------------------------------------------------------------------- */
static int cai_fp32_forced_scalar = 0;

int cai_fp32_isa_avx2(void) {
#if CAI_FP32_X86
  return !cai_fp32_forced_scalar && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return 0;
#endif
}

int cai_fp32_isa_avx512(void) {
#if CAI_FP32_X86
  return !cai_fp32_forced_scalar && __builtin_cpu_supports("avx512f") &&
         __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return 0;
#endif
}

void cai_fp32_force_scalar(int force) { cai_fp32_forced_scalar = force != 0; }

/* ------------------------------------------------------------------------------------------------
 * exp: Cody-Waite range reduction exp(x) = 2^n * exp(r), |r| <= ln2/2, Cephes' polynomial for
 * exp(r); 2^n applied as two factors so n = 128 does not overflow the exponent field.
 * ---------------------------------------------------------------------------------------------- */
#define CAI_LOG2_E 1.44269504f
#define CAI_LN2_HIGH 0.693359375f
#define CAI_LN2_LOW -2.12194440e-4f
#define CAI_EXP_MIN -87.33654f
#define CAI_EXP_MAX 88.72283f

static float cai_exp_ref(float x) {
  x = fminf(fmaxf(x, CAI_EXP_MIN), CAI_EXP_MAX);
  float n = floorf(x * CAI_LOG2_E + 0.5f);
  float r = x - n * CAI_LN2_HIGH - n * CAI_LN2_LOW;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  float y = p * r * r + r + 1.0f;
  int e = (int)n;
  int e1 = e / 2;
  int e2 = e - e1;
  union {
    uint32_t u;
    float f;
  } s1, s2;
  s1.u = (uint32_t)(e1 + 127) << 23;
  s2.u = (uint32_t)(e2 + 127) << 23;
  return y * s1.f * s2.f;
}

#if CAI_FP32_X86
CAI_F32_AVX2_INLINE __m256 cai_exp8(__m256 x) {
  x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(CAI_EXP_MIN)), _mm256_set1_ps(CAI_EXP_MAX));
  __m256 n = _mm256_floor_ps(
      _mm256_add_ps(_mm256_mul_ps(x, _mm256_set1_ps(CAI_LOG2_E)), _mm256_set1_ps(0.5f)));
  __m256 r = _mm256_sub_ps(x, _mm256_mul_ps(n, _mm256_set1_ps(CAI_LN2_HIGH)));
  r = _mm256_sub_ps(r, _mm256_mul_ps(n, _mm256_set1_ps(CAI_LN2_LOW)));
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  __m256 y = _mm256_add_ps(_mm256_fmadd_ps(_mm256_mul_ps(p, r), r, r), _mm256_set1_ps(1.0f));
  __m256i e = _mm256_cvtps_epi32(n);
  __m256i e1 = _mm256_srai_epi32(e, 1);
  __m256i e2 = _mm256_sub_epi32(e, e1);
  __m256i bias = _mm256_set1_epi32(127);
  __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(e1, bias), 23));
  __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(e2, bias), 23));
  return _mm256_mul_ps(_mm256_mul_ps(y, s1), s2);
}

CAI_F32_AVX2_INLINE float cai_hsum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

CAI_F32_AVX2_INLINE float cai_hmax8(__m256 v) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

static CAI_F32_AVX2 void cai_softmax_rows_avx2(const float* x, float* y, int rows, int n) {
  for (int r = 0; r < rows; r++) {
    const float* xr = x + (size_t)r * n;
    float* yr = y + (size_t)r * n;
    int i = 0;
    float max = -INFINITY;
    if (n >= 8) {
      __m256 vmax = _mm256_set1_ps(-INFINITY);
      for (; i + 8 <= n; i += 8) {
        vmax = _mm256_max_ps(vmax, _mm256_loadu_ps(xr + i));
      }
      max = cai_hmax8(vmax);
    }
    for (; i < n; i++) {
      max = fmaxf(max, xr[i]);
    }
    __m256 vmax = _mm256_set1_ps(max);
    __m256 vsum = _mm256_setzero_ps();
    for (i = 0; i + 8 <= n; i += 8) {
      __m256 e = cai_exp8(_mm256_sub_ps(_mm256_loadu_ps(xr + i), vmax));
      _mm256_storeu_ps(yr + i, e);
      vsum = _mm256_add_ps(vsum, e);
    }
    float sum = cai_hsum8(vsum);
    for (; i < n; i++) {
      float e = cai_exp_ref(xr[i] - max);
      yr[i] = e;
      sum += e;
    }
    float inverse = 1.0f / sum;
    __m256 vinv = _mm256_set1_ps(inverse);
    for (i = 0; i + 8 <= n; i += 8) {
      _mm256_storeu_ps(yr + i, _mm256_mul_ps(_mm256_loadu_ps(yr + i), vinv));
    }
    for (; i < n; i++) {
      yr[i] *= inverse;
    }
  }
}
#endif

void cai_softmax_rows_f32_ref(const float* x, float* y, int rows, int n) {
  for (int r = 0; r < rows; r++) {
    const float* xr = x + (size_t)r * n;
    float* yr = y + (size_t)r * n;
    float max = -INFINITY;
    for (int i = 0; i < n; i++) {
      max = fmaxf(max, xr[i]);
    }
    double sum = 0;
    for (int i = 0; i < n; i++) {
      float e = cai_exp_ref(xr[i] - max);
      yr[i] = e;
      sum += e;
    }
    float inverse = (float)(1.0 / sum);
    for (int i = 0; i < n; i++) {
      yr[i] *= inverse;
    }
  }
}

void cai_softmax_rows_f32(const float* x, float* y, int rows, int n) {
#if CAI_FP32_X86
  if (cai_fp32_isa_avx2()) {
    cai_softmax_rows_avx2(x, y, rows, n);
    return;
  }
#endif
  cai_softmax_rows_f32_ref(x, y, rows, n);
}

/* ------------------------------------------------------------------------------------------------
 * Epilogue steps (see cai_fp32.h). The vector body applies all steps to 8 values in a register
 * before storing them once.
 * ---------------------------------------------------------------------------------------------- */
static float cai_step_ref(int kind, float a, float b, float v, float x) {
  switch (kind) {
    case CAI_STEP_ADD: return v + a;
    case CAI_STEP_SUB: return v - a;
    case CAI_STEP_RSUB: return a - v;
    case CAI_STEP_MUL: return v * a;
    case CAI_STEP_DIV: return v / a;
    case CAI_STEP_RDIV: return a / v;
    case CAI_STEP_CLIP: return fminf(fmaxf(v, a), b);
    case CAI_STEP_RELU: return fmaxf(v, 0.0f);
    case CAI_STEP_HSIG: return fmaxf(0.0f, fminf(1.0f, a * v + b));
    case CAI_STEP_SIGMOID: return 1.0f / (1.0f + cai_exp_ref(-v));
    case CAI_STEP_SQUARE: return v * v;
    case CAI_STEP_NEG: return -v;
    case CAI_STEP_ABS: return fabsf(v);
    case CAI_STEP_ADDX: return v + x;
    case CAI_STEP_MULX: return v * x;
    default: return v;
  }
}

static void cai_steps_apply_ref(float* y, size_t n, const int32_t* kinds, const float* params,
                                int steps) {
  for (size_t i = 0; i < n; i++) {
    float x = y[i];
    float v = x;
    for (int s = 0; s < steps; s++) {
      v = cai_step_ref(kinds[s], params[2 * s], params[2 * s + 1], v, x);
    }
    y[i] = v;
  }
}

#if CAI_FP32_X86
CAI_F32_AVX2_INLINE __m256 cai_steps8(__m256 x, const int32_t* kinds, const float* params,
                                      int steps) {
  __m256 v = x;
  for (int s = 0; s < steps; s++) {
    __m256 a = _mm256_set1_ps(params[2 * s]);
    switch (kinds[s]) {
      case CAI_STEP_ADD: v = _mm256_add_ps(v, a); break;
      case CAI_STEP_SUB: v = _mm256_sub_ps(v, a); break;
      case CAI_STEP_RSUB: v = _mm256_sub_ps(a, v); break;
      case CAI_STEP_MUL: v = _mm256_mul_ps(v, a); break;
      case CAI_STEP_DIV: v = _mm256_div_ps(v, a); break;
      case CAI_STEP_RDIV: v = _mm256_div_ps(a, v); break;
      case CAI_STEP_CLIP:
        v = _mm256_min_ps(_mm256_max_ps(v, a), _mm256_set1_ps(params[2 * s + 1]));
        break;
      case CAI_STEP_RELU: v = _mm256_max_ps(v, _mm256_setzero_ps()); break;
      case CAI_STEP_HSIG:
        v = _mm256_max_ps(_mm256_setzero_ps(),
                          _mm256_min_ps(_mm256_set1_ps(1.0f),
                                        _mm256_add_ps(_mm256_mul_ps(a, v),
                                                      _mm256_set1_ps(params[2 * s + 1]))));
        break;
      case CAI_STEP_SIGMOID:
        v = _mm256_div_ps(_mm256_set1_ps(1.0f),
                          _mm256_add_ps(_mm256_set1_ps(1.0f),
                                        cai_exp8(_mm256_sub_ps(_mm256_setzero_ps(), v))));
        break;
      case CAI_STEP_SQUARE: v = _mm256_mul_ps(v, v); break;
      case CAI_STEP_NEG: v = _mm256_sub_ps(_mm256_setzero_ps(), v); break;
      case CAI_STEP_ABS: v = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v); break;
      case CAI_STEP_ADDX: v = _mm256_add_ps(v, x); break;
      case CAI_STEP_MULX: v = _mm256_mul_ps(v, x); break;
      default: break;
    }
  }
  return v;
}

static CAI_F32_AVX2 void cai_steps_apply_avx2(float* y, size_t n, const int32_t* kinds,
                                             const float* params, int steps) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm256_storeu_ps(y + i, cai_steps8(_mm256_loadu_ps(y + i), kinds, params, steps));
  }
  if (i < n) {
    cai_steps_apply_ref(y + i, n - i, kinds, params, steps);
  }
}
#endif

/*
 * The one chain worth a body of its own: hard-swish then scale-and-shift, how every PP-OCR LCNet
 * block ends (ADD 3, CLIP 0 6, MULX, DIV 6, MUL s, ADD t). Applied in registers before the store;
 * interpreting six steps per vector instead cost as much as a separate pass over memory. The
 * division by 6 is a multiplication by the float nearest 1/6 (within 1 ulp of the quotient):
 * vdivps alone made the epilogue cost a third of a 240x960x240 product on this machine.
 */
typedef struct {
  int hswish_affine; /* 1: the chain is exactly the pattern above, with s, t below */
  float s;
  float t;
} cai_epilogue_form;

static cai_epilogue_form cai_epilogue_classify(const int32_t* kinds, const float* params,
                                               int steps) {
  cai_epilogue_form form = {0, 1.0f, 0.0f};
  if (steps == 6 && kinds[0] == CAI_STEP_ADD && params[0] == 3.0f && kinds[1] == CAI_STEP_CLIP &&
      params[2] == 0.0f && params[3] == 6.0f && kinds[2] == CAI_STEP_MULX &&
      kinds[3] == CAI_STEP_DIV && params[6] == 6.0f && kinds[4] == CAI_STEP_MUL &&
      kinds[5] == CAI_STEP_ADD) {
    form.hswish_affine = 1;
    form.s = params[8];
    form.t = params[10];
  }
  return form;
}

#if CAI_FP32_X86
CAI_F32_AVX2_INLINE __m256 cai_hswish_affine8(__m256 x, __m256 s, __m256 t) {
  __m256 v = _mm256_add_ps(x, _mm256_set1_ps(3.0f));
  v = _mm256_min_ps(_mm256_max_ps(v, _mm256_setzero_ps()), _mm256_set1_ps(6.0f));
  v = _mm256_mul_ps(_mm256_mul_ps(v, x), _mm256_set1_ps(1.0f / 6.0f));
  return _mm256_add_ps(_mm256_mul_ps(v, s), t);
}

CAI_F32_AVX512_INLINE __m512 cai_hswish_affine16(__m512 x, __m512 s, __m512 t) {
  __m512 v = _mm512_add_ps(x, _mm512_set1_ps(3.0f));
  v = _mm512_min_ps(_mm512_max_ps(v, _mm512_setzero_ps()), _mm512_set1_ps(6.0f));
  v = _mm512_mul_ps(_mm512_mul_ps(v, x), _mm512_set1_ps(1.0f / 6.0f));
  return _mm512_add_ps(_mm512_mul_ps(v, s), t);
}

/* The epilogue over n contiguous outputs still in cache. */
static CAI_F32_AVX2 void cai_epilogue_apply_avx2(float* y, size_t n, cai_epilogue_form form,
                                                const int32_t* kinds, const float* params,
                                                int steps) {
  if (!form.hswish_affine) {
    cai_steps_apply_avx2(y, n, kinds, params, steps);
    return;
  }
  __m256 s = _mm256_set1_ps(form.s);
  __m256 t = _mm256_set1_ps(form.t);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm256_storeu_ps(y + i, cai_hswish_affine8(_mm256_loadu_ps(y + i), s, t));
  }
  if (i < n) {
    cai_steps_apply_ref(y + i, n - i, kinds, params, steps);
  }
}
#endif

void cai_epilogue_f32(float* y, size_t n, const int32_t* step_kinds, const float* step_params,
                      int steps) {
  if (steps <= 0 || n == 0) {
    return;
  }
#if CAI_FP32_X86
  if (cai_fp32_isa_avx2()) {
    cai_epilogue_apply_avx2(y, n, cai_epilogue_classify(step_kinds, step_params, steps),
                            step_kinds, step_params, steps);
    return;
  }
#endif
  cai_steps_apply_ref(y, n, step_kinds, step_params, steps);
}

/* Java's Math.max: NaN wins, +0 beats -0. */
static inline float cai_java_max(float a, float b) {
  if (a != a) return a;
  if (b != b) return b;
  if (a == 0.0f && b == 0.0f) return signbit(a) ? b : a;
  return a > b ? a : b;
}

/* Whether a plane holds a NaN or a -0: only then can a plain "a > b ? a : b" differ from Java's
 * Math.max (NaN wins, +0 beats -0), so only such planes take the exact slow path. */
static int cai_has_nan_or_negzero(const float* x, size_t n) {
  int found = 0;
  for (size_t i = 0; i < n; i++) {
    uint32_t bits;
    memcpy(&bits, x + i, 4);
    found |= bits == 0x80000000u || (bits & 0x7FFFFFFFu) > 0x7F800000u;
  }
  return found;
}

static inline float cai_plain_max(float a, float b) { return a > b ? a : b; }

void cai_maxpool2d_f32(const float* x, float* y, int planes, int in_h, int in_w, int out_h,
                       int out_w, int k_h, int k_w, int stride_h, int stride_w, int pad_t,
                       int pad_l, int dil_h, int dil_w) {
  const int plain2x2 = k_h == 2 && k_w == 2 && stride_h == 2 && stride_w == 2 && pad_t == 0 &&
                       pad_l == 0 && dil_h == 1 && dil_w == 1 && 2 * out_h <= in_h &&
                       2 * out_w <= in_w;
  for (int p = 0; p < planes; p++) {
    const float* xp = x + (size_t)p * in_h * in_w;
    float* yp = y + (size_t)p * out_h * out_w;
    if (plain2x2 && !cai_has_nan_or_negzero(xp, (size_t)in_h * in_w)) {
      /* the common 2x2 / stride 2 window, no NaN, no -0: plain max equals Math.max */
      for (int oh = 0; oh < out_h; oh++) {
        const float* r0 = xp + (size_t)(2 * oh) * in_w;
        const float* r1 = r0 + in_w;
        float* dst = yp + (size_t)oh * out_w;
        for (int ow = 0; ow < out_w; ow++) {
          dst[ow] = cai_plain_max(cai_plain_max(r0[2 * ow], r0[2 * ow + 1]),
                                  cai_plain_max(r1[2 * ow], r1[2 * ow + 1]));
        }
      }
      continue;
    }
    for (int oh = 0; oh < out_h; oh++) {
      const int h0 = oh * stride_h - pad_t;
      for (int ow = 0; ow < out_w; ow++) {
        const int w0 = ow * stride_w - pad_l;
        float best = -INFINITY;
        for (int kh = 0; kh < k_h; kh++) {
          const int h = h0 + kh * dil_h;
          if (h < 0 || h >= in_h) continue;
          for (int kw = 0; kw < k_w; kw++) {
            const int w = w0 + kw * dil_w;
            if (w >= 0 && w < in_w) best = cai_java_max(best, xp[(size_t)h * in_w + w]);
          }
        }
        yp[(size_t)oh * out_w + ow] = best;
      }
    }
  }
}

void cai_avgpool2d_f32(const float* x, float* y, int planes, int in_h, int in_w, int out_h,
                       int out_w, int k_h, int k_w, int stride_h, int stride_w, int pad_t,
                       int pad_l, int pad_b, int pad_r, int count_include_pad) {
  for (int p = 0; p < planes; p++) {
    const float* xp = x + (size_t)p * in_h * in_w;
    float* yp = y + (size_t)p * out_h * out_w;
    for (int oh = 0; oh < out_h; oh++) {
      const int h0 = oh * stride_h - pad_t;
      const int h1 = h0 + k_h < in_h + pad_b ? h0 + k_h : in_h + pad_b;
      const int hs = h0 > 0 ? h0 : 0;
      const int he = h1 < in_h ? h1 : in_h;
      for (int ow = 0; ow < out_w; ow++) {
        const int w0 = ow * stride_w - pad_l;
        const int w1 = w0 + k_w < in_w + pad_r ? w0 + k_w : in_w + pad_r;
        const int ws = w0 > 0 ? w0 : 0;
        const int we = w1 < in_w ? w1 : in_w;
        float sum = 0.0f; /* the Java loop's order: rows, then columns, one float add each */
        for (int h = hs; h < he; h++) {
          for (int w = ws; w < we; w++) {
            sum += xp[(size_t)h * in_w + w];
          }
        }
        const int count = count_include_pad ? (h1 - h0) * (w1 - w0) : (he - hs) * (we - ws);
        yp[(size_t)oh * out_w + ow] = count > 0 ? sum / (float)count : 0.0f;
      }
    }
  }
}

/* ------------------------------------------------------------------------------------------------
 * Depthwise convolution
 *
 * Each plane is first copied into scratch with its zero padding around it ([Hp, Wp], Hp = padT + H
 * + padB, Wp = padL + W + padR), so every tap reads in bounds and the inner loops have no branches;
 * one more row of Wp floats after it takes a stride-1 output row when stride_w > 1. An output row
 * is built 32 (then 8) columns at a time in registers over all kH x kW taps.
 * ---------------------------------------------------------------------------------------------- */
size_t cai_dwconv2d_scratch_floats(int in_h, int in_w, int k_w, int dil_w, int pad_t, int pad_b,
                                   int pad_l, int pad_r) {
  (void)k_w;
  (void)dil_w;
  size_t wp = (size_t)(pad_l + in_w + pad_r);
  return (size_t)(pad_t + in_h + pad_b) * wp + wp;
}

void cai_dwconv2d_f32_ref(const float* x, const float* w, const float* bias, float* y,
                          int planes, int channels, int in_h, int in_w, int out_h, int out_w,
                          int k_h, int k_w, int stride_h, int stride_w, int dil_h, int dil_w,
                          int pad_t, int pad_l, const int32_t* step_kinds,
                          const float* step_params, int steps) {
  for (int p = 0; p < planes; p++) {
    int c = p % channels;
    const float* xp = x + (size_t)p * in_h * in_w;
    const float* wc = w + (size_t)c * k_h * k_w;
    float* yp = y + (size_t)p * out_h * out_w;
    for (int oh = 0; oh < out_h; oh++) {
      for (int ow = 0; ow < out_w; ow++) {
        float sum = bias ? bias[c] : 0.0f;
        for (int kh = 0; kh < k_h; kh++) {
          int ih = oh * stride_h - pad_t + kh * dil_h;
          if (ih < 0 || ih >= in_h) {
            continue;
          }
          for (int kw = 0; kw < k_w; kw++) {
            int iw = ow * stride_w - pad_l + kw * dil_w;
            if (iw >= 0 && iw < in_w) {
              sum += wc[kh * k_w + kw] * xp[ih * in_w + iw];
            }
          }
        }
        yp[oh * out_w + ow] = sum;
      }
    }
    cai_steps_apply_ref(yp, (size_t)out_h * out_w, step_kinds, step_params, steps);
  }
}

#if CAI_FP32_X86
/*
 * One output row at horizontal stride 1, `width` outputs, over the padded copy starting at row0:
 * 32, then 8 columns at a time in registers over all taps, then single columns.
 */
CAI_F32_AVX2_INLINE void cai_dwconv_row_avx2(const float* row0, int wp, const float* wc, float b,
                                             float* dst, int width, int k_h, int k_w, int dil_h,
                                             int dil_w) {
  __m256 vb = _mm256_set1_ps(b);
  int ow = 0;
  for (; ow + 32 <= width; ow += 32) {
    __m256 a0 = vb, a1 = vb, a2 = vb, a3 = vb;
    for (int kh = 0; kh < k_h; kh++) {
      const float* row = row0 + (size_t)kh * dil_h * wp + ow;
      for (int kw = 0; kw < k_w; kw++) {
        __m256 t = _mm256_set1_ps(wc[kh * k_w + kw]);
        const float* s = row + kw * dil_w;
        a0 = _mm256_fmadd_ps(t, _mm256_loadu_ps(s), a0);
        a1 = _mm256_fmadd_ps(t, _mm256_loadu_ps(s + 8), a1);
        a2 = _mm256_fmadd_ps(t, _mm256_loadu_ps(s + 16), a2);
        a3 = _mm256_fmadd_ps(t, _mm256_loadu_ps(s + 24), a3);
      }
    }
    _mm256_storeu_ps(dst + ow, a0);
    _mm256_storeu_ps(dst + ow + 8, a1);
    _mm256_storeu_ps(dst + ow + 16, a2);
    _mm256_storeu_ps(dst + ow + 24, a3);
  }
  for (; ow + 8 <= width; ow += 8) {
    __m256 a0 = vb;
    for (int kh = 0; kh < k_h; kh++) {
      const float* row = row0 + (size_t)kh * dil_h * wp + ow;
      for (int kw = 0; kw < k_w; kw++) {
        a0 = _mm256_fmadd_ps(_mm256_set1_ps(wc[kh * k_w + kw]), _mm256_loadu_ps(row + kw * dil_w),
                             a0);
      }
    }
    _mm256_storeu_ps(dst + ow, a0);
  }
  for (; ow < width; ow++) {
    float sum = b;
    for (int kh = 0; kh < k_h; kh++) {
      const float* row = row0 + (size_t)kh * dil_h * wp + ow;
      for (int kw = 0; kw < k_w; kw++) {
        sum += wc[kh * k_w + kw] * row[kw * dil_w];
      }
    }
    dst[ow] = sum;
  }
}

/*
 * One plane over the padded copy. A horizontal stride s > 1 computes the row at stride 1 into
 * `line` ((out_w-1)*s+1 outputs, at most wp) and keeps every s-th: s times the FMAs, but in
 * vectors, which beats a scalar loop at s = 2.
 */
static CAI_F32_AVX2 void cai_dwconv_plane_avx2(const float* xp, int wp, const float* wc, float b,
                                               float* yp, float* line, int out_h, int out_w,
                                               int k_h, int k_w, int stride_h, int stride_w,
                                               int dil_h, int dil_w) {
  int width = (out_w - 1) * stride_w + 1;
  for (int oh = 0; oh < out_h; oh++) {
    const float* row0 = xp + (size_t)oh * stride_h * wp;
    float* yr = yp + (size_t)oh * out_w;
    if (stride_w == 1) {
      cai_dwconv_row_avx2(row0, wp, wc, b, yr, out_w, k_h, k_w, dil_h, dil_w);
    } else {
      cai_dwconv_row_avx2(row0, wp, wc, b, line, width, k_h, k_w, dil_h, dil_w);
      for (int ow = 0; ow < out_w; ow++) {
        yr[ow] = line[(size_t)ow * stride_w];
      }
    }
  }
}
#endif

void cai_dwconv2d_f32(const float* x, const float* w, const float* bias, float* y, float* scratch,
                      int planes, int channels, int in_h, int in_w, int out_h, int out_w, int k_h,
                      int k_w, int stride_h, int stride_w, int dil_h, int dil_w, int pad_t,
                      int pad_b, int pad_l, int pad_r, const int32_t* step_kinds,
                      const float* step_params, int steps) {
  int hp = pad_t + in_h + pad_b;
  int wp = pad_l + in_w + pad_r;
  if (!cai_fp32_isa_avx2()) {
    cai_dwconv2d_f32_ref(x, w, bias, y, planes, channels, in_h, in_w, out_h, out_w, k_h, k_w,
                         stride_h, stride_w, dil_h, dil_w, pad_t, pad_l, step_kinds, step_params,
                         steps);
    return;
  }
  cai_epilogue_form form = cai_epilogue_classify(step_kinds, step_params, steps);
  memset(scratch, 0, sizeof(float) * (size_t)hp * wp);
  for (int p = 0; p < planes; p++) {
    int c = p % channels;
    const float* xc = x + (size_t)p * in_h * in_w;
    for (int ih = 0; ih < in_h; ih++) {
      memcpy(scratch + (size_t)(ih + pad_t) * wp + pad_l, xc + (size_t)ih * in_w,
             sizeof(float) * (size_t)in_w);
    }
    const float* wc = w + (size_t)c * k_h * k_w;
    float b = bias ? bias[c] : 0.0f;
    float* yp = y + (size_t)p * out_h * out_w;
#if CAI_FP32_X86
    cai_dwconv_plane_avx2(scratch, wp, wc, b, yp, scratch + (size_t)hp * wp, out_h, out_w, k_h, k_w,
                          stride_h, stride_w, dil_h, dil_w);
    if (steps > 0) {
      cai_epilogue_apply_avx2(yp, (size_t)out_h * out_w, form, step_kinds, step_params, steps);
    }
#else
    (void)wc;
    (void)b;
    (void)yp;
#endif
  }
}

/* ------------------------------------------------------------------------------------------------
 * pa12 packing and gemm_pa12_f32
 * ---------------------------------------------------------------------------------------------- */
size_t cai_pack_pa12_floats(int m, int k) {
  return (size_t)((m + CAI_PA_MR - 1) / CAI_PA_MR) * CAI_PA_MR * (size_t)k;
}

void cai_pack_pa12_f32(const float* a, int m, int k, int lda, float* packed) {
  int panels = (m + CAI_PA_MR - 1) / CAI_PA_MR;
  for (int panel = 0; panel < panels; panel++) {
    float* dst = packed + (size_t)panel * k * CAI_PA_MR;
    for (int p = 0; p < k; p++) {
      for (int i = 0; i < CAI_PA_MR; i++) {
        int row = panel * CAI_PA_MR + i;
        dst[(size_t)p * CAI_PA_MR + i] = row < m ? a[(size_t)row * lda + p] : 0.0f;
      }
    }
  }
}

size_t cai_gemm_pa12_scratch_floats(int k) { return (size_t)k * CAI_PA_NR; }

void cai_gemm_pa12_f32_ref(const float* a_packed, const float* b, int ldb, const float* bias,
                           float* c, int ldc, int m, int n, int k, const int32_t* step_kinds,
                           const float* step_params, int steps) {
  for (int i = 0; i < m; i++) {
    const float* panel = a_packed + (size_t)(i / CAI_PA_MR) * k * CAI_PA_MR + i % CAI_PA_MR;
    for (int j = 0; j < n; j++) {
      float sum = 0.0f;
      for (int p = 0; p < k; p++) {
        sum += panel[(size_t)p * CAI_PA_MR] * b[(size_t)p * ldb + j];
      }
      c[(size_t)i * ldc + j] = sum + (bias ? bias[i] : 0.0f);
    }
    cai_steps_apply_ref(c + (size_t)i * ldc, (size_t)n, step_kinds, step_params, steps);
  }
}

#if CAI_FP32_X86
/*
 * The register tile: MR rows (MR <= 12, a compile-time constant after inlining) x 32 columns in
 * 2*MR zmm accumulators; per k two loads of the B panel, MR broadcasts of packed A, 2*MR FMAs.
 */
CAI_F32_AVX512_INLINE void cai_pa12_tile(const int mr, int k, const float* a, const float* b,
                                         float* c, int ldc, const float* bias, __mmask16 m0,
                                         __mmask16 m1, int nb, const int32_t* step_kinds,
                                         const float* step_params, int steps,
                                         cai_epilogue_form form) {
  __m512 c0[CAI_PA_MR];
  __m512 c1[CAI_PA_MR];
  for (int i = 0; i < mr; i++) {
    c0[i] = _mm512_setzero_ps();
    c1[i] = _mm512_setzero_ps();
  }
  for (int p = 0; p < k; p++) {
    __m512 b0 = _mm512_loadu_ps(b + (size_t)p * CAI_PA_NR);
    __m512 b1 = _mm512_loadu_ps(b + (size_t)p * CAI_PA_NR + 16);
    const float* ap = a + (size_t)p * CAI_PA_MR;
    for (int i = 0; i < mr; i++) {
      __m512 ai = _mm512_set1_ps(ap[i]);
      c0[i] = _mm512_fmadd_ps(ai, b0, c0[i]);
      c1[i] = _mm512_fmadd_ps(ai, b1, c1[i]);
    }
  }
  if (form.hswish_affine) {
    __m512 s = _mm512_set1_ps(form.s);
    __m512 t = _mm512_set1_ps(form.t);
    for (int i = 0; i < mr; i++) {
      __m512 bi = _mm512_set1_ps(bias ? bias[i] : 0.0f);
      float* ci = c + (size_t)i * ldc;
      _mm512_mask_storeu_ps(ci, m0, cai_hswish_affine16(_mm512_add_ps(c0[i], bi), s, t));
      _mm512_mask_storeu_ps(ci + 16, m1, cai_hswish_affine16(_mm512_add_ps(c1[i], bi), s, t));
    }
    return;
  }
  for (int i = 0; i < mr; i++) {
    __m512 bi = _mm512_set1_ps(bias ? bias[i] : 0.0f);
    float* ci = c + (size_t)i * ldc;
    _mm512_mask_storeu_ps(ci, m0, _mm512_add_ps(c0[i], bi));
    _mm512_mask_storeu_ps(ci + 16, m1, _mm512_add_ps(c1[i], bi));
  }
  /* Other chains: the tile is in L1 now, the steps read it back there, not from memory. */
  for (int i = 0; steps > 0 && i < mr; i++) {
    cai_steps_apply_avx2(c + (size_t)i * ldc, (size_t)nb, step_kinds, step_params, steps);
  }
}

static CAI_F32_AVX512 void cai_pa12_tile_dispatch(int mr, int k, const float* a, const float* b,
                                                  float* c, int ldc, const float* bias,
                                                  __mmask16 m0, __mmask16 m1, int nb,
                                                  const int32_t* step_kinds,
                                                  const float* step_params, int steps,
                                                  cai_epilogue_form form) {
  switch (mr) {
#define CAI_PA_CASE(R)                               \
  case R:                                            \
    cai_pa12_tile(R, k, a, b, c, ldc, bias, m0, m1, nb, step_kinds, step_params, steps, form); \
    break;
    CAI_PA_CASE(1)
    CAI_PA_CASE(2)
    CAI_PA_CASE(3)
    CAI_PA_CASE(4)
    CAI_PA_CASE(5)
    CAI_PA_CASE(6)
    CAI_PA_CASE(7)
    CAI_PA_CASE(8)
    CAI_PA_CASE(9)
    CAI_PA_CASE(10)
    CAI_PA_CASE(11)
    CAI_PA_CASE(12)
#undef CAI_PA_CASE
    default:
      break;
  }
}

static CAI_F32_AVX512 void cai_gemm_pa12_avx512(const float* a_packed, const float* b, int ldb,
                                                const float* bias, float* c, int ldc, int m, int n,
                                                int k, float* scratch, const int32_t* step_kinds,
                                                const float* step_params, int steps) {
  cai_epilogue_form form = cai_epilogue_classify(step_kinds, step_params, steps);
  for (int n0 = 0; n0 < n; n0 += CAI_PA_NR) {
    int nb = n - n0 < CAI_PA_NR ? n - n0 : CAI_PA_NR;
    __mmask16 m0 = nb >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << nb) - 1);
    __mmask16 m1 = nb >= 32 ? (__mmask16)0xFFFF : nb > 16 ? (__mmask16)((1u << (nb - 16)) - 1) : 0;
    /* B[:, n0 .. n0+nb) into a contiguous [k][32] panel, zero beyond nb. */
    for (int p = 0; p < k; p++) {
      const float* src = b + (size_t)p * ldb + n0;
      _mm512_storeu_ps(scratch + (size_t)p * CAI_PA_NR, _mm512_maskz_loadu_ps(m0, src));
      _mm512_storeu_ps(scratch + (size_t)p * CAI_PA_NR + 16, _mm512_maskz_loadu_ps(m1, src + 16));
    }
    for (int m0row = 0; m0row < m; m0row += CAI_PA_MR) {
      int mr = m - m0row < CAI_PA_MR ? m - m0row : CAI_PA_MR;
      cai_pa12_tile_dispatch(mr, k, a_packed + (size_t)m0row * k, scratch,
                             c + (size_t)m0row * ldc + n0, ldc, bias ? bias + m0row : NULL, m0, m1,
                             nb, step_kinds, step_params, steps, form);
    }
  }
}
#endif

void cai_gemm_pa12_f32(const float* a_packed, const float* b, int ldb, const float* bias, float* c,
                       int ldc, int m, int n, int k, float* scratch, const int32_t* step_kinds,
                       const float* step_params, int steps) {
#if CAI_FP32_X86
  if (cai_fp32_isa_avx512()) {
    cai_gemm_pa12_avx512(a_packed, b, ldb, bias, c, ldc, m, n, k, scratch, step_kinds, step_params,
                         steps);
    return;
  }
#endif
  (void)scratch;
  cai_gemm_pa12_f32_ref(a_packed, b, ldb, bias, c, ldc, m, n, k, step_kinds, step_params, steps);
}
