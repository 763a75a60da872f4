package io.cacheai.kernels;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Name;
import org.bytedeco.javacpp.annotation.Platform;

/**
 * The one door to cacheai's C lookup kernels ({@code src/main/native/cai_lut.{h,c}}), compiled by
 * the JavaCPP Maven plugin into {@code libjniLutKernelsNative.so} during the build.
 *
 * <p>Nothing here checks anything: {@link LutKernels} validates every extent, byte order and
 * argument first. JavaCPP passes a direct buffer's address <em>plus its position</em>, so callers
 * pass buffers positioned at 0 (the lookup kernels' contract: operands start at index 0).
 */
@Platform(include = {"cai_lut.h", "cai_lut.c"})
final class LutKernelsNative {
  static {
    Loader.load();
  }

  private LutKernelsNative() {}

  @Name("cai_lut_isa_avx2")
  static native int isaAvx2();

  @Name("cai_lut_force_scalar")
  static native void forceScalar(int force);

  /** Returns -1, or the index of the first split dimension outside [0, width) (nothing written). */
  @Name("cai_lut_encode_tree")
  static native int encodeTree(
      @Cast("const float*") FloatBuffer x,
      int rows,
      int d,
      int codebooks,
      int width,
      @Cast("const int32_t*") IntBuffer splitDims,
      @Cast("const float*") FloatBuffer thresholds,
      @Cast("uint8_t*") ByteBuffer keys);

  @Name("cai_lut_encode_centroids")
  static native void encodeCentroids(
      @Cast("const float*") FloatBuffer x,
      int rows,
      int d,
      int codebooks,
      int width,
      @Cast("const float*") FloatBuffer centroids,
      @Cast("uint8_t*") ByteBuffer keys);

  @Name("cai_lut_accumulate_k16")
  static native void accumulate(
      @Cast("const uint8_t*") ByteBuffer keys,
      int rows,
      int codebooks,
      int m,
      @Cast("const int8_t*") ByteBuffer tables,
      @Cast("const float*") FloatBuffer scale,
      @Cast("const float*") FloatBuffer bias,
      FloatBuffer out);

  @Name("cai_lut_accumulate_k16_s4")
  static native void accumulateS4(
      @Cast("const uint8_t*") ByteBuffer keys,
      int rows,
      int codebooks,
      int m,
      @Cast("const uint8_t*") ByteBuffer tables,
      @Cast("const float*") FloatBuffer scale,
      @Cast("const float*") FloatBuffer bias,
      FloatBuffer out);

  /** As {@link #encodeTree} for a tree of {@code depth} levels (2..4, checked in Java). */
  @Name("cai_lut_encode_tree_depth")
  static native int encodeTreeDepth(
      @Cast("const float*") FloatBuffer x,
      int rows,
      int d,
      int codebooks,
      int width,
      int depth,
      @Cast("const int32_t*") IntBuffer splitDims,
      @Cast("const float*") FloatBuffer thresholds,
      @Cast("uint8_t*") ByteBuffer keys);

  @Name("cai_lut_encode_centroids_k")
  static native void encodeCentroidsK(
      @Cast("const float*") FloatBuffer x,
      int rows,
      int d,
      int codebooks,
      int width,
      int keysPerCodebook,
      @Cast("const float*") FloatBuffer centroids,
      @Cast("uint8_t*") ByteBuffer keys);

  @Name("cai_lut_accumulate")
  static native void accumulateK(
      @Cast("const uint8_t*") ByteBuffer keys,
      int rows,
      int codebooks,
      int keysPerCodebook,
      int m,
      @Cast("const int8_t*") ByteBuffer tables,
      @Cast("const float*") FloatBuffer scale,
      @Cast("const float*") FloatBuffer bias,
      FloatBuffer out);

  @Name("cai_lut_accumulate_s4")
  static native void accumulateS4K(
      @Cast("const uint8_t*") ByteBuffer keys,
      int rows,
      int codebooks,
      int keysPerCodebook,
      int m,
      @Cast("const uint8_t*") ByteBuffer tables,
      @Cast("const float*") FloatBuffer scale,
      @Cast("const float*") FloatBuffer bias,
      FloatBuffer out);

  /** Folded int8 tables s8 [C][K−1][m] (cai_lut.h): key k ≥ 1 reads row c·(K−1) + k − 1. */
  @Name("cai_lut_accumulate_folded")
  static native void accumulateFolded(
      @Cast("const uint8_t*") ByteBuffer keys,
      int rows,
      int codebooks,
      int keysPerCodebook,
      int m,
      @Cast("const int8_t*") ByteBuffer tables,
      @Cast("const float*") FloatBuffer scale,
      @Cast("const float*") FloatBuffer bias,
      FloatBuffer out);

  /** Folded 4-bit tables s4 [C][K−1][(m+1)/2 bytes]. */
  @Name("cai_lut_accumulate_s4_folded")
  static native void accumulateS4Folded(
      @Cast("const uint8_t*") ByteBuffer keys,
      int rows,
      int codebooks,
      int keysPerCodebook,
      int m,
      @Cast("const uint8_t*") ByteBuffer tables,
      @Cast("const float*") FloatBuffer scale,
      @Cast("const float*") FloatBuffer bias,
      FloatBuffer out);
}
