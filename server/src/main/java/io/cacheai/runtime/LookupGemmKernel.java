package io.cacheai.runtime;

import io.cacheai.graph.PackedTensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;

/**
 * {@code LookupGemm}: y [N,M] from x [N,D] by table lookups instead of multiplications (semantics
 * in {@link LookupKernels}). Each row is zero-padded to C·w when D is not a multiple of w (a copy
 * into the frame), encoded to C keys of one byte (tree or nearest centroid) into the frame's direct
 * bytes, then the tables — int8 ({@code lut16}) or 4-bit ({@code lut16x4}, two entries a byte), as
 * the stored tensor's layout says, read in place from the mapped bundle — are gathered and summed
 * per output. The kernel keeps only views of the stored tensors. With a tree encoder and stored
 * centroids it also feeds the layer's live {@link KeyHitCounter} on sampled runs.
 */
final class LookupGemmKernel implements Kernel {
  private final int in;
  private final int out;
  private final int rows;
  private final int d;
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

  /** The tensors of one node, already checked against each other by the factory. */
  record Tables(
      PackedTensor tables,
      PackedTensor scale,
      PackedTensor bias,
      PackedTensor splitDims,
      PackedTensor thresholds,
      PackedTensor centroids) {}

  LookupGemmKernel(
      int in,
      int out,
      long[] inShape,
      int width,
      boolean tree,
      Tables stored,
      LookupKernels kernels,
      KeyHitCounter hitCounter) {
    long[] tableShape = stored.tables().shape();
    this.in = in;
    this.out = out;
    this.rows = Math.toIntExact(inShape[0]);
    this.d = Math.toIntExact(inShape[1]);
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
  }

  private static FloatBuffer floats(PackedTensor tensor) {
    return tensor.data().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
  }

  @Override
  public void run(Frame frame) {
    int padded = codebooks * width;
    FloatBuffer x = frame.buffer(in);
    if (padded != d) {
      FloatBuffer wide = frame.dequantized(rows * padded);
      float[] line = frame.heapIn(padded);
      java.util.Arrays.fill(line, d, padded, 0f);
      for (int r = 0; r < rows; r++) {
        x.get(r * d, line, 0, d);
        wide.put(r * padded, line, 0, padded);
      }
      x = wide;
    }
    int count = rows * codebooks;
    // With a hit counter the frame's bytes hold the exact keys too, after the tree's.
    ByteBuffer keys = frame.bytes(hitCounter == null ? count : 2 * count);
    if (tree) {
      kernels.encodeTree(x, rows, padded, codebooks, width, splitDims, thresholds, keys);
      if (hitCounter != null && hitCounter.sampleThisRun()) {
        countKeyHits(x, padded, keys, keys.slice(count, count));
      }
    } else {
      kernels.encodeCentroids(x, rows, padded, codebooks, width, centroids, keys);
    }
    if (s4Tables) {
      kernels.accumulateS4(keys, rows, codebooks, m, tables, scale, bias, frame.buffer(out));
    } else {
      kernels.accumulate(keys, rows, codebooks, m, tables, scale, bias, frame.buffer(out));
    }
  }

  /** Compares the tree's keys with the exact nearest-centroid keys of the same rows. */
  private void countKeyHits(FloatBuffer x, int padded, ByteBuffer treeKeys, ByteBuffer exact) {
    int count = rows * codebooks;
    kernels.encodeCentroids(x, rows, padded, codebooks, width, centroids, exact);
    int hits = 0;
    for (int i = 0; i < count; i++) {
      hits += treeKeys.get(i) == exact.get(i) ? 1 : 0;
    }
    hitCounter.record(hits, count);
  }
}
