package io.cacheai.runtime;

import io.cacheai.graph.Im2Col;
import io.cacheai.graph.PackedTensor;
import io.cacheai.graph.Window2d;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;

/**
 * {@code LookupConv}: a k×k Conv (group 1, any stride, padding, dilation) as table lookups — the
 * {@link LookupGemmKernel}'s three steps on the conv's im2col rows, one image at a time:
 *
 * <pre>
 *   x [N,C,H,W] ─ image n ─► patches [P, C·w] (P = oH·oW; {@link Im2Col}, zero padded)   scratch
 *              ─ encode  ─► keys [P, C] (tree or nearest centroid)                        frame bytes
 *              ─ gather  ─► rows [P, M] = bias + scale · Σ_c T[c][key][·]                 scratch
 *              ─ transpose ─► y[n] [M, oH, oW]                                            NCHW
 * </pre>
 *
 * The same {@link LookupKernels} (native AVX2 when loaded) and stored tensors as a LookupGemm, read
 * in place; int8 ({@code lut16}) or 4-bit ({@code lut16x4}) tables by the stored layout. Scratch:
 * P·(C·w + M) floats. With a tree encoder and stored centroids it feeds the layer's live {@link
 * KeyHitCounter} on sampled runs, as the LookupGemm does.
 */
final class LookupConvKernel implements Kernel {
  private final int in;
  private final int out;
  private final int batch;
  private final int channels;
  private final Window2d window;
  private final int pixels;
  private final int m;
  private final int codebooks;
  private final int width;
  private final boolean tree;
  private final boolean s4Tables;
  private final ByteBuffer tables;
  private final FloatBuffer scale;
  private final FloatBuffer bias;
  private final IntBuffer splitDims;
  private final FloatBuffer thresholds;
  private final FloatBuffer centroids;
  private final LookupKernels kernels;
  private final KeyHitCounter hitCounter;

  /**
   * @param inShape the input's [N,C,H,W]
   * @param window the conv geometry, resolved for that input
   * @param stored the node's tensors, already checked against its weight_shape and width
   */
  LookupConvKernel(
      int in,
      int out,
      long[] inShape,
      Window2d window,
      int width,
      boolean tree,
      LookupGemmKernel.Tables stored,
      LookupKernels kernels,
      KeyHitCounter hitCounter) {
    long[] tableShape = stored.tables().shape();
    this.in = in;
    this.out = out;
    this.batch = Math.toIntExact(inShape[0]);
    this.channels = Math.toIntExact(inShape[1]);
    this.window = window;
    this.pixels = Im2Col.pixels(window);
    this.codebooks = Math.toIntExact(tableShape[0]);
    this.m = Math.toIntExact(tableShape[2]);
    this.width = width;
    this.tree = tree;
    this.s4Tables = stored.tables().format() == PackedTensor.Format.S4_LUT16;
    this.tables = stored.tables().data();
    this.scale = floats(stored.scale());
    this.bias = stored.bias() == null ? null : floats(stored.bias());
    this.splitDims =
        stored.splitDims() == null
            ? null
            : stored.splitDims().data().order(ByteOrder.LITTLE_ENDIAN).asIntBuffer();
    this.thresholds = stored.thresholds() == null ? null : floats(stored.thresholds());
    this.centroids = stored.centroids() == null ? null : floats(stored.centroids());
    this.kernels = kernels;
    this.hitCounter = tree && centroids != null ? hitCounter : null;
    if (Im2Col.patchLength(channels, window) > codebooks * width) {
      throw new IllegalArgumentException(
          "LookupConv: patch of "
              + Im2Col.patchLength(channels, window)
              + " values exceeds codebooks="
              + codebooks
              + " x width="
              + width);
    }
  }

  private static FloatBuffer floats(PackedTensor tensor) {
    return tensor.data().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
  }

  private int padded() {
    return codebooks * width;
  }

  @Override
  public long scratchFloats() {
    return (long) pixels * (padded() + m);
  }

  @Override
  public void run(Frame frame) {
    int padded = padded();
    int imageFloats = channels * window.inH() * window.inW();
    int patchFloats = pixels * padded;
    int outFloats = pixels * m;
    FloatBuffer x = frame.buffer(in);
    FloatBuffer y = frame.buffer(out);
    FloatBuffer patches = frame.scratch().slice(0, patchFloats);
    FloatBuffer rows = frame.scratch().slice(patchFloats, outFloats);
    float[] image = frame.heap(0, imageFloats);
    float[] cols = frame.heap(1, patchFloats);
    float[] rowMajor = frame.heap(2, outFloats);
    float[] nchw = frame.heap(3, outFloats);
    int count = pixels * codebooks;
    ByteBuffer keys = frame.bytes(hitCounter == null ? count : 2 * count);
    boolean sample = hitCounter != null && hitCounter.sampleThisRun();
    for (int n = 0; n < batch; n++) {
      x.get(n * imageFloats, image, 0, imageFloats);
      Im2Col.rows(image, 0, channels, window, cols, 0, padded);
      patches.put(0, cols, 0, patchFloats);
      if (tree) {
        kernels.encodeTree(patches, pixels, padded, codebooks, width, splitDims, thresholds, keys);
        if (sample) {
          countKeyHits(patches, padded, keys, keys.slice(count, count));
        }
      } else {
        kernels.encodeCentroids(patches, pixels, padded, codebooks, width, centroids, keys);
      }
      if (s4Tables) {
        kernels.accumulateS4(keys, pixels, codebooks, m, tables, scale, bias, rows);
      } else {
        kernels.accumulate(keys, pixels, codebooks, m, tables, scale, bias, rows);
      }
      rows.get(0, rowMajor, 0, outFloats);
      for (int p = 0; p < pixels; p++) {
        for (int j = 0; j < m; j++) {
          nchw[j * pixels + p] = rowMajor[p * m + j];
        }
      }
      y.put(n * outFloats, nchw, 0, outFloats);
    }
  }

  /** Compares the tree's keys with the exact nearest-centroid keys of the same patches. */
  private void countKeyHits(FloatBuffer x, int padded, ByteBuffer treeKeys, ByteBuffer exact) {
    int count = pixels * codebooks;
    kernels.encodeCentroids(x, pixels, padded, codebooks, width, centroids, exact);
    int hits = 0;
    for (int i = 0; i < count; i++) {
      hits += treeKeys.get(i) == exact.get(i) ? 1 : 0;
    }
    hitCounter.record(hits, count);
  }
}
