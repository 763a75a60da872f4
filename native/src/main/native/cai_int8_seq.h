/*
 * A sequence of int8 layers run in one call: the whole integer body of a small CNN (conv + pool ->
 * conv + pool -> Gemm chain) crosses from Java once per request instead of once per layer.
 *
 * Each step calls, unchanged, the one-layer function the runtime would otherwise call from Java
 * (cai_qconv_kq_f32, cai_qconv_direct_t_f32, cai_qgemm_chain_f32), so the results are the same bit
 * for bit; only the hand-offs change: a step's fp32 output lives in the caller's scratch and the
 * next step reads it there. Every size, offset and pointer in the descriptor is checked in Java
 * (io.cacheai.kernels.Int8Sequence) when the sequence is built; per call Java checks the lengths
 * of x, scratch and y.
 *
 * Descriptor, one per step (176 bytes, written once per plan by io.cacheai.kernels.Int8Sequence):
 *
 *     0    4    8   12   16     20     24     28     32    36   40    44    48        52     56
 *   +----+----+----+----+------+------+------+------+-----+----+-----+-----+---------+------+
 *   | op | c  | h  | w  | padT | padB | padL | padR | xZP | m  | kH  | kW  | pstride | relu |
 *   +----+----+----+----+------+------+------+------+-----+----+-----+-----+---------+------+
 *     56     60      64      68      72       76        80          88         96
 *   +------+-------+-------+-------+--------+---------+-----------+----------+----------+
 *   | wide | poolK | poolS | outH2 | outW2  | xScale  | weights * | bias *   | scale *  |
 *   +------+-------+-------+-------+--------+---------+-----------+----------+----------+
 *     104          112           120          128          136          144          152
 *   +------------+-------------+------------+------------+------------+------------+
 *   | in_at s64  | out_at s64  | s0_at s64  | s1_at s64  | s2_at s64  | weights2 * |
 *   +------------+-------------+------------+------------+------------+------------+
 *     152        160            168        172     176
 *   +----------+--------------+----------+-------+
 *   | stage *  | stage_at s64 | has_bias | (pad) |
 *   +----------+--------------+----------+-------+
 *
 * in_at / out_at: byte offsets of the step's fp32 input / output in scratch; -1 = x / y.
 * s0..s2_at: byte offsets of the step's own scratch regions.
 *   op 1, CAI_SEQ_KQ_CONV     cai_qconv_kq_f32:       s0 img (u8), s1 planes (fp32)
 *   op 2, CAI_SEQ_LANES_CONV  cai_qconv_direct_t_f32: s0 padded (u8), s1 x4 (u8), s2 t (fp32)
 *   op 3, CAI_SEQ_GEMM_CHAIN  cai_qgemm_chain_f32:    weights = the chain's layer descriptors,
 *                             c = layer count, h = rows m, w = max_n; s0 a (u8), s1 acc (s32),
 *                             s2 tmp (fp32)
 *   op 4, CAI_SEQ_KQ_CONV_QUADS  a KQ_CONV whose next step is op 5: cai_qconv_kq_quads writes the
 *                             next step's u8 channel quads (x4) at out_at, reading the next
 *                             step's pads, x_scale, x_zero_point and pstride; s0 img, then the
 *                             padded planes of the fallback; s1 planes; s2 the fallback's pooled
 *                             fp32 output, or the column image of the kqc path; weights2 the kqc
 *                             weights (cai_pack_conv_kqc) or NULL
 *   op 5, CAI_SEQ_LANES_CONV_QUADS  a LANES_CONV reading its x4 at in_at (cai_conv_direct_t_x4_f32):
 *                             s2 t (fp32)
 *   op 6, CAI_SEQ_Q4_CHAIN    cai_q4gemm_chain_f32: weights = the chain's layer descriptors
 *                             (cai_q4gemm_layer), c = layer count, h = rows m, w = max padded k,
 *                             s0 tmp (fp32, 2·m·w)
 *
 * stage != NULL (ops 1 and 2 only, a low-bit convolution's int8 twin): before the convolution,
 * cai_lb_dynamic_stage(in, c·h·w, m, stage, has_bias, ...) quantizes the step's input per image and
 * writes its output stage at stage_at: stage_bias s32[m], then at stage_at + align64(4·m)
 * stage_scale f32[m + 2]; the convolution then runs with x_scale = stage_scale[m], x_zero_point =
 * (int) stage_scale[m + 1], bias = stage_bias, scale = stage_scale instead of the descriptor's.
 * When the stage returns other than 1 (a NaN / infinity, an out-of-range stage) the sequence stops
 * and returns that code: the caller runs its per-layer path (nothing usable is in y).
 * ---------------------------------------------------------------------------------------------- */
#ifndef CAI_INT8_SEQ_H
#define CAI_INT8_SEQ_H

#include <stdint.h>

#include "cai_int8.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CAI_SEQ_KQ_CONV 1
#define CAI_SEQ_LANES_CONV 2
#define CAI_SEQ_GEMM_CHAIN 3
#define CAI_SEQ_KQ_CONV_QUADS 4
#define CAI_SEQ_LANES_CONV_QUADS 5
#define CAI_SEQ_Q4_CHAIN 6

typedef struct {
  int32_t op;
  int32_t c, h, w;
  int32_t pad_t, pad_b, pad_l, pad_r;
  int32_t x_zero_point;
  int32_t m, k_h, k_w;
  int32_t pstride;
  int32_t relu;
  int32_t wide;
  int32_t pool_k, pool_s, out_h2, out_w2;
  float x_scale;
  const void* weights;
  const int32_t* bias;
  const float* scale;
  int64_t in_at, out_at;
  int64_t s0_at, s1_at, s2_at;
  const void* weights2;
  const uint8_t* stage;
  int64_t stage_at;
  int32_t has_bias;
  int32_t pad_;
} cai_int8_step;
CAI_STATIC_ASSERT(sizeof(cai_int8_step) == 176, "int8 sequence step descriptor is 176 bytes");

/* Runs steps[0..count) on x into y; use_ref: the convolutions' scalar twins. Returns 1, or the code
 * of a dynamic stage that refused its input (0, -1; see above). */
int cai_int8_sequence_f32(const cai_int8_step* steps, int count, const float* x, uint8_t* scratch,
                           float* y, int use_ref);

#ifdef __cplusplus
}
#endif

#endif /* CAI_INT8_SEQ_H */
