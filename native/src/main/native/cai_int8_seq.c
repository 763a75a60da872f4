/* A sequence of int8 layers in one call (contracts and the descriptor: cai_int8_seq.h). */
#include "cai_int8_seq.h"

#include "cai_lowbit_conv.h"

/* Op 1 or 2 of descriptor d (a dynamic step's copy with its per-image stage filled in). */
static void cai_int8_seq_conv(const cai_int8_step* s, const float* in, uint8_t* scratch, float* out,
                              int use_ref) {
  if (s->op == CAI_SEQ_KQ_CONV) {
    cai_qconv_kq_f32(in, s->c, s->h, s->w, s->pad_t, s->pad_b, s->pad_l, s->pad_r, s->x_scale,
                     s->x_zero_point, (const int8_t*)s->weights, s->m, s->k_h, s->k_w, s->pstride,
                     s->bias, s->scale, s->relu, scratch + s->s0_at, (float*)(scratch + s->s1_at),
                     s->wide, s->pool_k, s->pool_s, s->out_h2, s->out_w2, out, use_ref);
  } else {
    cai_qconv_direct_t_f32(in, s->c, s->h, s->w, s->pad_t, s->pad_b, s->pad_l, s->pad_r,
                           s->x_scale, s->x_zero_point, (const int8_t*)s->weights, s->m, s->k_h,
                           s->k_w, s->pstride, s->bias, s->scale, s->relu, scratch + s->s0_at,
                           scratch + s->s1_at, (float*)(scratch + s->s2_at), s->pool_k, s->pool_s,
                           s->out_h2, s->out_w2, out, use_ref);
  }
}

int cai_int8_sequence_f32(const cai_int8_step* steps, int count, const float* x, uint8_t* scratch,
                          float* y, int use_ref) {
  for (int i = 0; i < count; i++) {
    const cai_int8_step* s = &steps[i];
    const float* in = s->in_at < 0 ? x : (const float*)(scratch + s->in_at);
    float* out = s->out_at < 0 ? y : (float*)(scratch + s->out_at);
    if (s->stage != NULL) { /* a low-bit convolution's twin: its per-image quantization first */
      int32_t* stage_bias = (int32_t*)(scratch + s->stage_at);
      float* stage_scale = (float*)(scratch + s->stage_at + (4 * (int64_t)s->m + 63) / 64 * 64);
      int code = cai_lb_dynamic_stage(in, s->c * s->h * s->w, s->m, s->stage, s->has_bias,
                                      stage_bias, stage_scale);
      if (code != 1) {
        return code;
      }
      cai_int8_step d = *s;
      d.x_scale = stage_scale[s->m];
      d.x_zero_point = (int32_t)stage_scale[s->m + 1];
      d.bias = stage_bias;
      d.scale = stage_scale;
      cai_int8_seq_conv(&d, in, scratch, out, use_ref);
      continue;
    }
    switch (s->op) {
      case CAI_SEQ_KQ_CONV:
        cai_qconv_kq_f32(in, s->c, s->h, s->w, s->pad_t, s->pad_b, s->pad_l, s->pad_r, s->x_scale,
                         s->x_zero_point, (const int8_t*)s->weights, s->m, s->k_h, s->k_w,
                         s->pstride, s->bias, s->scale, s->relu, scratch + s->s0_at,
                         (float*)(scratch + s->s1_at), s->wide, s->pool_k, s->pool_s, s->out_h2,
                         s->out_w2, out, use_ref);
        break;
      case CAI_SEQ_LANES_CONV:
        cai_qconv_direct_t_f32(in, s->c, s->h, s->w, s->pad_t, s->pad_b, s->pad_l, s->pad_r,
                               s->x_scale, s->x_zero_point, (const int8_t*)s->weights, s->m,
                               s->k_h, s->k_w, s->pstride, s->bias, s->scale, s->relu,
                               scratch + s->s0_at, scratch + s->s1_at,
                               (float*)(scratch + s->s2_at), s->pool_k, s->pool_s, s->out_h2,
                               s->out_w2, out, use_ref);
        break;
      case CAI_SEQ_GEMM_CHAIN:
        cai_qgemm_chain_f32((const cai_qgemm_layer*)s->weights, s->c, in, s->h,
                            scratch + s->s0_at, (int32_t*)(scratch + s->s1_at),
                            (float*)(scratch + s->s2_at), s->w, out);
        break;
      case CAI_SEQ_KQ_CONV_QUADS: { /* the next step is CAI_SEQ_LANES_CONV_QUADS (checked in Java) */
        const cai_int8_step* n = &steps[i + 1];
        cai_qconv_kq_quads(in, s->c, s->h, s->w, s->pad_t, s->pad_b, s->pad_l, s->pad_r,
                           s->x_scale, s->x_zero_point, (const int8_t*)s->weights, s->m, s->k_h,
                           s->k_w, s->pstride, s->bias, s->scale, s->relu, scratch + s->s0_at,
                           (float*)(scratch + s->s1_at), s->wide, s->pool_k, s->pool_s, s->out_h2,
                           s->out_w2, (float*)(scratch + s->s2_at), n->pad_t, n->pad_b, n->pad_l,
                           n->pad_r, n->x_scale, n->x_zero_point, n->pstride, scratch + s->s0_at,
                           scratch + s->out_at, (const int8_t*)s->weights2,
                           scratch + s->s2_at, use_ref);
        break;
      }
      case CAI_SEQ_LANES_CONV_QUADS:
        cai_conv_direct_t_x4_f32(scratch + s->in_at, s->c, s->h, s->w, s->pad_t, s->pad_b,
                                 s->pad_l, s->pad_r, (const int8_t*)s->weights, s->m, s->k_h,
                                 s->k_w, s->pstride, s->bias, s->scale, s->relu,
                                 (float*)(scratch + s->s2_at), s->pool_k, s->pool_s, s->out_h2,
                                 s->out_w2, out, use_ref);
        break;
      case CAI_SEQ_Q4_CHAIN:
        cai_q4gemm_chain_f32((const cai_q4gemm_layer*)s->weights, s->c, in, s->h,
                             (float*)(scratch + s->s0_at), s->w, out);
        break;
      default:
        return 1; /* refused in Java: never reached */
    }
  }
  return 1;
}
