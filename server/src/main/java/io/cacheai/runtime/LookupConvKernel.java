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
 *
 * <p>The tree encoder reads only 4 values of a sub-vector (one split dimension per level), so with
 * it the patches are never built: the kernel walks each codebook's tree on the image itself, the
 * patch column of each (codebook, level) resolved once per plan to a (channel, dy, dx) offset — 4·C
 * reads per output pixel instead of a C·w patch row (MNIST conv2: 56 instead of 406). The walk is
 * {@link LookupKernels#encodeTree}'s, comparison for comparison (x == threshold goes left, a value
 * in the padding is 0), so the keys are the same bytes; only the centroid encoder builds all the
 * patches (a sampled hit-rate run builds {@value #HIT_SAMPLE_PIXELS}).
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
   * Tree encoder, per (codebook c, level l) at c·4 + l: the split column's offset in the image
   * (channel·H·W + dy·W + dx), or -1 for a column of the zero padding to C·w; its dy and dx.
   */
  private final int[] splitOffset;

  private final int[] splitDy;
  private final int[] splitDx;
  private final float[] treeThresholds;

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
    int d = Im2Col.patchLength(channels, window);
    int levels = codebooks * LookupKernels.DEPTH;
    splitOffset = new int[tree ? levels : 0];
    splitDy = new int[splitOffset.length];
    splitDx = new int[splitOffset.length];
    treeThresholds = new float[tree ? codebooks * LookupKernels.TREE_NODES : 0];
    if (tree) {
      int kernelArea = window.kernelH() * window.kernelW();
      for (int i = 0; i < levels; i++) {
        int column = (i / LookupKernels.DEPTH) * width + splitDims.get(i);
        if (column >= d) {
          splitOffset[i] = -1;
          continue;
        }
        int channel = column / kernelArea;
        int ky = column % kernelArea / window.kernelW();
        int kx = column % window.kernelW();
        splitDy[i] = ky * window.dilationH();
        splitDx[i] = kx * window.dilationW();
        splitOffset[i] = (channel * window.inH() + splitDy[i]) * window.inW() + splitDx[i];
      }
      thresholds.get(0, treeThresholds, 0, treeThresholds.length);
    }
    if (d > codebooks * width) {
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
      if (tree) {
        byte[] treeKeys = frame.heapBytes(count);
        encodeTree(image, treeKeys);
        keys.put(0, treeKeys, 0, count);
        if (sample) {
          countKeyHits(image, cols, patches, padded, treeKeys, keys.slice(count, count));
        }
      } else {
        Im2Col.rows(image, 0, channels, window, cols, 0, padded);
        patches.put(0, cols, 0, patchFloats);
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

  /**
   * keys[p·C + c] of every output pixel p of one image [C,H,W]: the depth-4 walk of {@link
   * LookupKernels#encodeTree} on the split columns read straight from the image.
   */
  private void encodeTree(float[] image, byte[] keys) {
    int inH = window.inH();
    int inW = window.inW();
    int spanH = (window.kernelH() - 1) * window.dilationH();
    int spanW = (window.kernelW() - 1) * window.dilationW();
    for (int oy = 0; oy < window.outH(); oy++) {
      int y0 = oy * window.strideH() - window.padTop();
      for (int ox = 0; ox < window.outW(); ox++) {
        int x0 = ox * window.strideW() - window.padLeft();
        boolean inside = y0 >= 0 && y0 + spanH < inH && x0 >= 0 && x0 + spanW < inW;
        int base = y0 * inW + x0;
        int row = (oy * window.outW() + ox) * codebooks;
        for (int c = 0; c < codebooks; c++) {
          int node = 0;
          for (int l = 0; l < LookupKernels.DEPTH; l++) {
            int i = c * LookupKernels.DEPTH + l;
            int offset = splitOffset[i];
            float v;
            if (offset < 0) {
              v = 0f;
            } else if (inside) {
              v = image[base + offset];
            } else {
              int y = y0 + splitDy[i];
              int xx = x0 + splitDx[i];
              v = y >= 0 && y < inH && xx >= 0 && xx < inW ? image[base + offset] : 0f;
            }
            node = 2 * node + 1 + (v > treeThresholds[c * LookupKernels.TREE_NODES + node] ? 1 : 0);
          }
          keys[row + c] = (byte) (node - LookupKernels.TREE_NODES);
        }
      }
    }
  }

  /** Pixels of one image whose tree keys a sampled run compares with the exact keys, at most. */
  static final int HIT_SAMPLE_PIXELS = 16;

  /**
   * Compares the tree's keys of up to {@value #HIT_SAMPLE_PIXELS} evenly spaced pixels with the
   * exact nearest-centroid keys of their patches (only those patches are built: a sampled run of
   * all 100 conv2 pixels would cost ten times the layer).
   */
  private void countKeyHits(
      float[] image,
      float[] cols,
      FloatBuffer patches,
      int padded,
      byte[] treeKeys,
      ByteBuffer exact) {
    int sampled = Math.min(HIT_SAMPLE_PIXELS, pixels);
    for (int i = 0; i < sampled; i++) {
      Im2Col.patch(image, 0, channels, window, i * pixels / sampled, cols, i * padded, padded);
    }
    patches.put(0, cols, 0, sampled * padded);
    kernels.encodeCentroids(patches, sampled, padded, codebooks, width, centroids, exact);
    int hits = 0;
    for (int i = 0; i < sampled; i++) {
      int row = i * pixels / sampled * codebooks;
      for (int c = 0; c < codebooks; c++) {
        hits += treeKeys[row + c] == exact.get(i * codebooks + c) ? 1 : 0;
      }
    }
    hitCounter.record(hits, sampled * codebooks);
  }
}
