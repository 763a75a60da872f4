/*
 * cacheai lookup kernels: a layer y = W x computed as table lookups (product quantization,
 * MADDNESS / LUT-NN style). Java API: io.cacheai.kernels.LutKernels (which checks every argument).
 *
 * Shapes. An input row has d floats, split into C codebooks of width w floats (d == C * w). Each
 * sub-vector is encoded to a key in 0..K-1, K keys per codebook = 4, 8 or 16 (a tree of depth
 * L = log2 K = 2, 3 or 4; the _k16 / depth-less entry points are K = 16, L = 4), and the output is
 * the sum over codebooks of one precomputed table row per codebook:
 *
 *   x       f32 [rows][d]            row r, codebook c = x[r*d + c*w .. r*d + c*w + w-1]
 *   keys    u8  [rows][C]            keys[r*C + c] in 0..K-1
 *   tables  s8  [C][K][m]            m contiguous: the row for (c, key) starts at (c*K + key)*m
 *   scale   f32 [m], bias f32 [m] or NULL
 *   out     f32 [rows][m]            out[r*m + j] = bias[j] + scale[j] * (float) S(r, j)
 *                                    S(r, j) = sum_c tables[(c*K + keys[r*C + c])*m + j]  (exact)
 *
 * Encoders:
 *   tree       MADDNESS balanced binary tree of depth L, no multiplications. Per codebook c:
 *              split_dims s32 [C][L] (one dimension per level, each in [0, w)),
 *              thresholds f32 [C][K-1] in heap order (root 0, children of n: 2n+1 (<=), 2n+2 (>)):
 *                node = 0
 *                for l in 0..L-1: node = 2*node + 1 + (x[c*w + split_dims[c*L+l]] > t[node])
 *                key = node - (K-1)
 *              x == threshold goes left; NaN goes left (an ordered > comparison is false).
 *   centroids  exact nearest of K centroids f32 [C][K][w]: squared L2 distance summed in
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
 * Keys. accumulate reads keys & (K-1) (K a power of two), so a corrupt key byte can never index
 * outside its codebook's K rows. The encoders only write 0..K-1: the tree walk of L levels ends on
 * a leaf node in [K-1, 2K-2], and the argmin runs over k < K; the mask is what guarantees the
 * bounds whatever the keys buffer holds (a caller may pass keys it did not encode).
 *
 * K and L: every function taking keys_per_codebook needs K in {4, 8, 16}, every one taking depth
 * needs L in {2, 3, 4} (io.cacheai.kernels.LutKernels refuses anything else before the call; a
 * K above 16 would overrun the centroid encoder's distance array, a K not a power of two would
 * make the key mask wrong).
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
/* The same for a tree of `depth` levels (2..4): split_dims [C][depth], thresholds
 * [C][2^depth - 1]. cai_lut_encode_tree is this with depth 4. */
int cai_lut_encode_tree_depth(const float* x, int rows, int d, int codebooks, int width,
                              int depth, const int32_t* split_dims, const float* thresholds,
                              uint8_t* keys);
void cai_lut_encode_tree_depth_ref(const float* x, int rows, int d, int codebooks, int width,
                                   int depth, const int32_t* split_dims, const float* thresholds,
                                   uint8_t* keys);
/* Index of the first of split_dims[0..count) outside [0, width), or -1. */
int cai_lut_check_split_dims(const int32_t* split_dims, int count, int width);
void cai_lut_encode_tree_ref(const float* x, int rows, int d, int codebooks, int width,
                             const int32_t* split_dims, const float* thresholds, uint8_t* keys);

void cai_lut_encode_centroids(const float* x, int rows, int d, int codebooks, int width,
                              const float* centroids, uint8_t* keys);
void cai_lut_encode_centroids_ref(const float* x, int rows, int d, int codebooks, int width,
                                  const float* centroids, uint8_t* keys);
/* Nearest of K = keys_per_codebook centroids [C][K][w]; K = 16 runs cai_lut_encode_centroids
 * (AVX2 for widths 4 and 8), K = 4 and 8 the scalar cai_lut_encode_centroids_k_ref. */
void cai_lut_encode_centroids_k(const float* x, int rows, int d, int codebooks, int width,
                                int keys_per_codebook, const float* centroids, uint8_t* keys);
void cai_lut_encode_centroids_k_ref(const float* x, int rows, int d, int codebooks, int width,
                                    int keys_per_codebook, const float* centroids,
                                    uint8_t* keys);

void cai_lut_accumulate_k16(const uint8_t* keys, int rows, int codebooks, int m,
                            const int8_t* tables, const float* scale, const float* bias,
                            float* out);
void cai_lut_accumulate_k16_ref(const uint8_t* keys, int rows, int codebooks, int m,
                                const int8_t* tables, const float* scale, const float* bias,
                                float* out);
/* tables s8 [C][K][m], K = keys_per_codebook; the _k16 functions are these with K = 16. */
void cai_lut_accumulate(const uint8_t* keys, int rows, int codebooks, int keys_per_codebook,
                        int m, const int8_t* tables, const float* scale, const float* bias,
                        float* out);
void cai_lut_accumulate_ref(const uint8_t* keys, int rows, int codebooks, int keys_per_codebook,
                            int m, const int8_t* tables, const float* scale, const float* bias,
                            float* out);

/*
 * 4-bit tables, layout "lut16x4" (bundle: INT4_GROUP [C,K,M] with layout "lut16x4"). Entries are
 * signed 4-bit, two's complement, the full range -8..7 (every nibble is a valid entry: a table can
 * never hold a value the kernel cannot sum). Two entries per byte along m, low nibble first; each
 * (c, key) row is padded to a whole byte, RB = (m + 1) / 2 bytes:
 *
 *   byte  (c*K + key)*RB + b  =  T[c][key][2b] & 15  |  (T[c][key][2b+1] & 15) << 4
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
/* 4-bit tables s4 [C][K][RB], K = keys_per_codebook; the _k16 functions are these with K = 16. */
void cai_lut_accumulate_s4(const uint8_t* keys, int rows, int codebooks, int keys_per_codebook,
                           int m, const uint8_t* tables, const float* scale, const float* bias,
                           float* out);
void cai_lut_accumulate_s4_ref(const uint8_t* keys, int rows, int codebooks,
                               int keys_per_codebook, int m, const uint8_t* tables,
                               const float* scale, const float* bias, float* out);

/*
 * Folded tables (LookupGemm fold_key0 = 1): every codebook's key-0 row is zero and NOT stored (the
 * compressor shifted all K rows by row 0 and moved the shift into the bias), so a codebook holds
 * K - 1 rows, keys 1..K-1; key k = key_byte & (K-1) of codebook c reads stored row c*(K-1) + k - 1
 * and key 0 adds nothing:
 *
 *   int8   tables s8 [C][K-1][m]      row (c, k >= 1) starts at byte (c*(K-1) + k - 1)*m
 *   4-bit  tables s4 [C][K-1][RB]     row (c, k >= 1) starts at byte (c*(K-1) + k - 1)*RB (lut16x4)
 *
 *          codebook c:  [ row key 1 | row key 2 | ... | row key K-1 ]     (no row for key 0)
 *
 *   out[r*m + j] = bias[j] + scale[j] * (float) sum_{c: k_rc != 0} T[c][k_rc - 1][j]   (exact sum)
 *
 * Same parameters as cai_lut_accumulate / cai_lut_accumulate_s4 (K = keys_per_codebook, 4, 8 or
 * 16: the count of keys, not of stored rows). The AVX2 bodies gather only the rows of non-zero
 * keys, so fewer rows are summed; a row whose keys are all 0 still writes bias + scale * 0.
 */
void cai_lut_accumulate_folded(const uint8_t* keys, int rows, int codebooks,
                               int keys_per_codebook, int m, const int8_t* tables,
                               const float* scale, const float* bias, float* out);
void cai_lut_accumulate_folded_ref(const uint8_t* keys, int rows, int codebooks,
                                   int keys_per_codebook, int m, const int8_t* tables,
                                   const float* scale, const float* bias, float* out);
void cai_lut_accumulate_s4_folded(const uint8_t* keys, int rows, int codebooks,
                                  int keys_per_codebook, int m, const uint8_t* tables,
                                  const float* scale, const float* bias, float* out);
void cai_lut_accumulate_s4_folded_ref(const uint8_t* keys, int rows, int codebooks,
                                      int keys_per_codebook, int m, const uint8_t* tables,
                                      const float* scale, const float* bias, float* out);

#ifdef __cplusplus
}
#endif

#endif /* CAI_LUT_H */
