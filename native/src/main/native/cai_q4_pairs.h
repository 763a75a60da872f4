/*
 * q4g32p2: the q4g32 weights of a GEMV repacked once per plan into row pairs, so that one 512-bit
 * register carries two rows' 64 weights each and every vector instruction of the batch-1 product
 * serves two output rows (cai_gemv_q4g32p2_f32). Same integers, same fp32 operations per lane as
 * the 256-bit q4g32 bodies (cai_q4_gemm_body.inc), hence the same results bit for bit.
 *
 * One block per row pair p and column block b (80 bytes; 128 weights, 5 bits each as in q4g32):
 *
 *    0                                32                               64      68      72      76     80
 *   +--------------------------------+--------------------------------+-------+-------+-------+-------+
 *   | qs of row 2p's block b (32 B)  | qs of row 2p+1's block b (32 B)| d0 2p | d1 2p |d0 2p+1|d1 2p+1|
 *   +--------------------------------+--------------------------------+-------+-------+-------+-------+
 *
 * qs and d are copied from the q4g32 blocks (cai_block_q4g32x2: qs[h][i] = q[i] | q[i+16] << 4,
 * w = d[h] * (q - 8)). Blocks are stored pair-major: block (p, b) at index p * bpr + b, with
 * bpr = ceil(k / 64). An odd n gets a padding row (q = 8, d = 0: weight 0) whose output is never
 * written.
 */
#ifndef CAI_Q4_PAIRS_H
#define CAI_Q4_PAIRS_H

#include "cai_int8.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  uint8_t qs[2][QK4_G32];   /* [row in pair][the 32 nibble bytes of the row's block] */
  float d[4];                         /* d0, d1 of row 2p, then d0, d1 of row 2p+1 */
} cai_block_q4g32p2;
CAI_STATIC_ASSERT(sizeof(cai_block_q4g32p2) == 80, "q4g32p2 block (two rows x two groups) is 80 bytes");

/* Bytes of the q4g32p2 form of an [n, k] q4g32 matrix (k a multiple of 32): ceil(n/2) * bpr * 80. */
long long cai_q4g32p2_size(int n, int k);

/* Repacks q4g32 weights [n, k] (k a multiple of 32) into q4g32p2 (cai_q4g32p2_size bytes). */
void cai_pack_q4g32p2(const cai_block_q4g32x2* w, int n, int k, cai_block_q4g32p2* out);

/* 1 when the 512-bit body runs here (AVX-512 BW + VNNI, honouring the force flags). */
int cai_q4g32p2_available(void);

/*
 * y[n] = W x[k] (k a multiple of 32, x dense): x quantized per group of 32 as every q4g32 kernel
 * does, then the product on the pairs. use_ref = 1 (or no 512-bit body here): the scalar twin,
 * which repeats the vector body's per-lane operations (integer dot, fp32 convert, d * dx, fmaf,
 * the same horizontal sum) and so gives the same bits.
 */
void cai_gemv_q4g32p2_f32(const cai_block_q4g32p2* p, const float* x, float* y, int n, int k,
                          int use_ref);

#ifdef __cplusplus
}
#endif

#endif /* CAI_Q4_PAIRS_H */
