package io.cacheai.runtime;

import io.cacheai.kernels.LutKernels;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;

/**
 * {@link LookupKernels} on our native AVX2 kernels ({@link LutKernels}, C in {@code cai_lut.c}),
 * which check every buffer's size in Java before any address crosses. Same results as {@link
 * ReferenceLookupKernels}, bit for bit ({@code NativeLookupKernelsTest}).
 */
final class NativeLookupKernels implements LookupKernels {
  static final NativeLookupKernels INSTANCE = new NativeLookupKernels();

  /** Whether the native library loaded (checked once). */
  static final boolean AVAILABLE = probe();

  private static boolean probe() {
    try {
      LutKernels.avx2();
      return true;
    } catch (LinkageError e) {
      System.err.println(
          "cacheai: native lookup kernels unavailable ("
              + e
              + "); Cache AI layers run on the Java reference");
      return false;
    }
  }

  private NativeLookupKernels() {}

  @Override
  public void encodeTree(
      FloatBuffer x,
      int rows,
      int d,
      int codebooks,
      int width,
      int depth,
      IntBuffer splitDims,
      FloatBuffer thresholds,
      ByteBuffer keys) {
    LutKernels.encodeTree(x, rows, d, codebooks, width, depth, splitDims, thresholds, keys);
  }

  @Override
  public void encodeCentroids(
      FloatBuffer x,
      int rows,
      int d,
      int codebooks,
      int width,
      int keysPerCodebook,
      FloatBuffer centroids,
      ByteBuffer keys) {
    LutKernels.encodeCentroids(x, rows, d, codebooks, width, keysPerCodebook, centroids, keys);
  }

  @Override
  public void accumulate(
      ByteBuffer keys,
      int rows,
      int codebooks,
      int keysPerCodebook,
      int m,
      ByteBuffer tables,
      FloatBuffer scale,
      FloatBuffer bias,
      FloatBuffer out) {
    LutKernels.accumulate(keys, rows, codebooks, keysPerCodebook, m, tables, scale, bias, out);
  }

  @Override
  public void accumulateS4(
      ByteBuffer keys,
      int rows,
      int codebooks,
      int keysPerCodebook,
      int m,
      ByteBuffer tables,
      FloatBuffer scale,
      FloatBuffer bias,
      FloatBuffer out) {
    LutKernels.accumulateS4(keys, rows, codebooks, keysPerCodebook, m, tables, scale, bias, out);
  }

  @Override
  public void accumulateFolded(
      ByteBuffer keys,
      int rows,
      int codebooks,
      int keysPerCodebook,
      int m,
      ByteBuffer tables,
      FloatBuffer scale,
      FloatBuffer bias,
      FloatBuffer out) {
    LutKernels.accumulateFolded(
        keys, rows, codebooks, keysPerCodebook, m, tables, scale, bias, out);
  }

  @Override
  public void accumulateS4Folded(
      ByteBuffer keys,
      int rows,
      int codebooks,
      int keysPerCodebook,
      int m,
      ByteBuffer tables,
      FloatBuffer scale,
      FloatBuffer bias,
      FloatBuffer out) {
    LutKernels.accumulateS4Folded(
        keys, rows, codebooks, keysPerCodebook, m, tables, scale, bias, out);
  }
}
