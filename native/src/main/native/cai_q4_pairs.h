/*
 * q4g32p2: the q4g32 weights of a GEMV repacked once per plan into row pairs, so that one 512-bit
 * register carries two rows' 64 weights each and every vector instruction of the batch-1 product
 * serves two output rows (cai_gemv_q4g32p2_f32). Same integers, same fp32 operations per lane as
 * the 256-bit q4g32 bodies (cai_q4_gemm_body.inc), hence the same results bit for bit.
 *
 * Two planes of blocks (pair p, column block b), bpr = ceil(k / 64). The pairs are cut into panels
 * of CAI_Q4P2_PANEL (the last one shorter: np pairs), which the product computes together in one
 * pass over the activations; a panel starting at pair p0 is stored block by block with its pairs
 * side by side, so a pass reads its weights front to back (the product streams them from L2):
 *
 *   at = p0 * bpr + b * np + (p - p0)
 *
 * Every 64-byte load of nibbles is one whole cache line when the buffer is 64-byte aligned.
 *
 *   nibbles, 64 bytes per block at at * 64:
 *   +--------------------------------+--------------------------------+
 *   | qs of row 2p's block b (32 B)  | qs of row 2p+1's block b (32 B)|
 *   +--------------------------------+--------------------------------+
 *   scales, 16 bytes per block at pairs * bpr * 64 + at * 16:
 *   +---------+---------+-----------+-----------+
 *   | d0 (2p) | d1 (2p) | d0 (2p+1) | d1 (2p+1) |   fp32
 *   +---------+---------+-----------+-----------+
 *
 * qs and d are copied from the q4g32 blocks (cai_block_q4g32x2: qs[h][i] = q[i] | q[i+16] << 4,
 * w = d[h] * (q - 8)). An odd n gets a padding row (q = 8, d = 0: weight 0) whose output is never
 * written. 80 bytes per 128 weights, as q4g32.
 */
#ifndef CAI_Q4_PAIRS_H
#define CAI_Q4_PAIRS_H

#include "cai_int8.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CAI_Q4P2_QS_BYTES 64    /* nibble bytes per block (two rows x 64 weights) */
#define CAI_Q4P2_BLOCK_BYTES 80 /* with the block's four fp32 scales */
#define CAI_Q4P2_PANEL 6        /* pairs (12 rows) per panel: one pass over the activations */

/* Bytes of the q4g32p2 form of an [n, k] q4g32 matrix (k a multiple of 32): ceil(n/2) * bpr * 80. */
long long cai_q4g32p2_size(int n, int k);

/* Repacks q4g32 weights [n, k] (k a multiple of 32) into q4g32p2 (cai_q4g32p2_size bytes). */
void cai_pack_q4g32p2(const cai_block_q4g32x2* w, int n, int k, uint8_t* out);

/* 1 when the 512-bit body runs here (AVX-512 BW + VNNI, honouring the force flags). */
int cai_q4g32p2_available(void);

/*
 * y[n] = W x[k] (k a multiple of 32, x dense): x quantized per group of 32 as every q4g32 kernel
 * does, then the product on the pairs. use_ref = 1 (or no 512-bit body here): the scalar twin,
 * which repeats the vector body's per-lane operations (integer dot, fp32 convert, d * dx, fmaf,
 * the same horizontal sum) and so gives the same bits.
 */
void cai_gemv_q4g32p2_f32(const uint8_t* p, const float* x, float* y, int n, int k, int use_ref);

#ifdef __cplusplus
}
#endif

#endif /* CAI_Q4_PAIRS_H */
