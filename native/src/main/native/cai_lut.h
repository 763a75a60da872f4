/*
 * cacheai lookup kernels: a layer y = W x computed as table lookups (product quantization,
 * MADDNESS / LUT-NN style). Java API: io.cacheai.kernels.LutKernels (which checks every argument).
 *
 * Shapes. An input row has d floats, split into C codebooks of width w floats (d == C * w). Each
 * sub-vector is encoded to a key in 0..15 (K = 16), and the output is the sum over codebooks of one
 * precomputed table row per codebook:
 *
 *   x       f32 [rows][d]            row r, codebook c = x[r*d + c*w .. r*d + c*w + w-1]
 *   keys    u8  [rows][C]            keys[r*C + c] in 0..15
 *   tables  s8  [C][16][m]           m contiguous: the row for (c, key) starts at (c*16 + key)*m
 *   scale   f32 [m], bias f32 [m] or NULL
 *   out     f32 [rows][m]            out[r*m + j] = bias[j] + scale[j] * (float) S(r, j)
 *                                    S(r, j) = sum_c tables[(c*16 + keys[r*C + c])*m + j]  (exact)
 *
 * Encoders:
 *   tree       MADDNESS balanced binary tree of depth 4, no multiplications. Per codebook c:
 *              split_dims s32 [C][4] (one dimension per level, each in [0, w)),
 *              thresholds f32 [C][15] in heap order (root 0, children of n: 2n+1 (<=), 2n+2 (>)):
 *                node = 0; for l in 0..3: node = 2*node + 1 + (x[c*w + split_dims[c*4+l]] > t[node])
 *                key = node - 15
 *              x == threshold goes left; NaN goes left (an ordered > comparison is false).
 *   centroids  exact nearest of 16 centroids f32 [C][16][w]: squared L2 distance summed in
 *              dimension order 0..w-1 in fp32 (no fused multiply-add), ties -> lowest key,
 *              key 0 when the distance to centroid 0 is NaN, NaN distances never win.
 *
 * Exactness. Every kernel equals its scalar _ref twin (and the Java reference) bit for bit: the
 * integer sums are exact, the float operations are the same IEEE operations in the same order, and
 * this file's vector bodies are compiled for AVX2 *without* FMA so no multiply-add is contracted.
 *
 * Accumulation. Table entries are s8 (-128..127). The AVX2 body sums them in s16 lanes and widens
 * to s32 every CAI_LUT_S16_CODEBOOKS codebooks: 256 * -128 = -32768 and 256 * 127 = 32512 both fit
 * in s16, so no partial sum can wrap. Totals fit s32 for any C below 2^24.
 *
 * Keys. accumulate reads keys & 15, so a corrupt key byte can never index outside its codebook's
 * 16 rows (the encoders only write 0..15).
 *
 * All callers are expected to have validated sizes: these functions do not check them.
 * This file is valid C11 and C++11: JavaCPP compiles it inside its generated C++ JNI unit.
 */
#ifndef CAI_LUT_H
#define CAI_LUT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CAI_LUT_KEYS 16         /* K, keys per codebook */
#define CAI_LUT_DEPTH 4         /* tree depth, log2 K */
#define CAI_LUT_NODES 15        /* internal tree nodes (thresholds) per codebook, K - 1 */
#define CAI_LUT_S16_CODEBOOKS 256 /* codebooks summed in s16 before widening to s32 */

/* 1 when the AVX2 bodies run, 0 when the scalar _ref twins do. */
int cai_lut_isa_avx2(void);
/* Forces the scalar twins (nonzero) or restores CPU detection (0): for tests and benchmarks. */
void cai_lut_force_scalar(int force);

/* Returns -1, or the index of the first split dimension outside [0, width) — checked before x is
 * read or any key written (nothing is written then). Checking here costs ~30 ns for 800 ints where
 * a Java loop over the IntBuffer cost ~300 ns, a third of the whole encode of a 200-codebook row. */
int cai_lut_encode_tree(const float* x, int rows, int d, int codebooks, int width,
                        const int32_t* split_dims, const float* thresholds, uint8_t* keys);
/* Index of the first of split_dims[0..count) outside [0, width), or -1. */
int cai_lut_check_split_dims(const int32_t* split_dims, int count, int width);
void cai_lut_encode_tree_ref(const float* x, int rows, int d, int codebooks, int width,
                             const int32_t* split_dims, const float* thresholds, uint8_t* keys);

void cai_lut_encode_centroids(const float* x, int rows, int d, int codebooks, int width,
                              const float* centroids, uint8_t* keys);
void cai_lut_encode_centroids_ref(const float* x, int rows, int d, int codebooks, int width,
                                  const float* centroids, uint8_t* keys);

void cai_lut_accumulate_k16(const uint8_t* keys, int rows, int codebooks, int m,
                            const int8_t* tables, const float* scale, const float* bias,
                            float* out);
void cai_lut_accumulate_k16_ref(const uint8_t* keys, int rows, int codebooks, int m,
                                const int8_t* tables, const float* scale, const float* bias,
                                float* out);

/*
 * 4-bit tables, layout "lut16x4" (bundle: INT4_GROUP [C,16,M] with layout "lut16x4"). Entries are
 * signed 4-bit, two's complement, the full range -8..7 (every nibble is a valid entry: a table can
 * never hold a value the kernel cannot sum). Two entries per byte along m, low nibble first; each
 * (c, key) row is padded to a whole byte, RB = (m + 1) / 2 bytes:
 *
 *   byte  (c*16 + key)*RB + b  =  T[c][key][2b] & 15  |  (T[c][key][2b+1] & 15) << 4
 *
 *         bit  7   6   5   4   3   2   1   0
 *            [ entry 2b+1 (s4) | entry 2b (s4)  ]    (m odd: the last byte's high nibble is
 *                                                     padding, written 0, never read)
 *
 *   out[r*m + j] = bias[j] + scale[j] * (float) S4(r, j),  S4(r, j) = sum_c T[c][keys[r*C+c]][j]
 *
 * The AVX2 body sums the entries offset by 8 (nibble ^ 8 = entry + 8, 0..15) in u8 lanes for
 * CAI_LUT4_U8_CODEBOOKS codebooks (16 * 15 = 240 fits a byte), widens them into s16 lanes
 * (CAI_LUT4_S16_CODEBOOKS * 15 = 30720 fits), and subtracts 8 per codebook when it widens to s32:
 * the same exact integer as the scalar sum of the signed entries.
 */
#define CAI_LUT4_U8_CODEBOOKS 16
#define CAI_LUT4_S16_CODEBOOKS 2048

/* Bytes of one (c, key) row of a 4-bit table with m outputs. */
static inline size_t cai_lut4_row_bytes(int m) { return ((size_t)m + 1) / 2; }

void cai_lut_accumulate_k16_s4(const uint8_t* keys, int rows, int codebooks, int m,
                               const uint8_t* tables, const float* scale, const float* bias,
                               float* out);
void cai_lut_accumulate_k16_s4_ref(const uint8_t* keys, int rows, int codebooks, int m,
                                   const uint8_t* tables, const float* scale, const float* bias,
                                   float* out);

#ifdef __cplusplus
}
#endif

#endif /* CAI_LUT_H */
