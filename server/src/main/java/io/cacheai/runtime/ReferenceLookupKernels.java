package io.cacheai.runtime;

import io.cacheai.kernels.LutKernels;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;

/**
 * {@link LookupKernels} in plain Java, scalar, one thread: the semantics every other implementation
 * must reproduce bit for bit. There is one such implementation, {@link LutKernels.Reference} beside
 * the native kernels (the yardstick of their tests); this adapter lets the runtime run it without
 * the native library. Every length is checked before the loops, and an error names the argument.
 */
final class ReferenceLookupKernels implements LookupKernels {
  static final ReferenceLookupKernels INSTANCE = new ReferenceLookupKernels();

  private ReferenceLookupKernels() {}

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
    LutKernels.Reference.encodeTree(
        x, rows, d, codebooks, width, depth, splitDims, thresholds, keys);
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
    LutKernels.Reference.encodeCentroids(
        x, rows, d, codebooks, width, keysPerCodebook, centroids, keys);
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
    LutKernels.Reference.accumulate(
        keys, rows, codebooks, keysPerCodebook, m, tables, scale, bias, out);
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
    LutKernels.Reference.accumulateS4(
        keys, rows, codebooks, keysPerCodebook, m, tables, scale, bias, out);
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
    LutKernels.Reference.accumulateFolded(
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
    LutKernels.Reference.accumulateS4Folded(
        keys, rows, codebooks, keysPerCodebook, m, tables, scale, bias, out);
  }
}
