package io.cacheai.runtime;

import io.cacheai.graph.Window2d;
import io.cacheai.kernels.Fp32Blas;
import io.cacheai.kernels.Fp32Kernels;
import java.nio.FloatBuffer;

/**
 * Convolution as im2col + sgemm, per image and group:
 *
 * <pre>
 *   cols[Cg·kH·kW, oH·oW]   ← the input patches of the group's Cg channels (scratch)
 *   Y[Mg, oH·oW]            = W_g[Mg, Cg·kH·kW] · cols + bias
 * </pre>
 *
 * A 1×1 kernel with stride 1 and no padding reads the input directly instead of copying it.
 *
 * <p>The product runs on {@link Fp32Kernels#gemm} (AVX-512, weights packed once on first use, bias
 * added in its epilogue) when the CPU has AVX-512, the convolution is ungrouped and its weights are
 * known when the plan is built; otherwise on OpenBLAS sgemm. On the 2-core EPYC build machine the
 * packed kernel runs PP-OCRv4's 1×1 layers at ~250 GFLOP/s, OpenBLAS 0.3.31 at ~130.
 */
final class ConvKernel implements Kernel {
  /** Scratch bound for the batched path: 256 K floats (1 MiB, stays in L2/L3). */
  private static final long MAX_CHUNK_FLOATS = 256L << 10;

  private final int in;
  private final int weight;
  private final int bias;
  private final int out;
  private final int batch;
  private final int inChannels;
  private final int outChannels;
  private final int groups;
  private final Window2d window;
  private final boolean pointwise;
  private final boolean packedProduct;
  private volatile Fp32Kernels.PackedWeights packed;
  private final Fp32Kernels.Epilogue epilogue;

  /** As the full constructor, with weights that may change per run (never packed). */
  ConvKernel(
      int in,
      int weight,
      int bias,
      int out,
      long[] inShape,
      long[] weightShape,
      int groups,
      Window2d window) {
    this(in, weight, bias, out, inShape, weightShape, groups, window, false, null);
  }

  /**
   * @param constantWeights the weight value is the same on every run of this plan (a graph constant
   *     or a value folded at plan time), so it may be packed once
   */
  ConvKernel(
      int in,
      int weight,
      int bias,
      int out,
      long[] inShape,
      long[] weightShape,
      int groups,
      Window2d window,
      boolean constantWeights,
      Fp32Kernels.Epilogue epilogue) {
    this.in = in;
    this.weight = weight;
    this.bias = bias;
    this.out = out;
    this.batch = Math.toIntExact(inShape[0]);
    this.inChannels = Math.toIntExact(inShape[1]);
    this.outChannels = Math.toIntExact(weightShape[0]);
    this.groups = groups;
    this.window = window;
    this.pointwise =
        window.kernelH() == 1
            && window.kernelW() == 1
            && window.strideH() == 1
            && window.strideW() == 1
            && window.padTop() == 0
            && window.padLeft() == 0
            && window.padBottom() == 0
            && window.padRight() == 0;
    this.packedProduct =
        constantWeights
            && weight >= 0
            && groups == 1
            && window.outH() * window.outW() >= MIN_PACKED_COLUMNS
            && Fp32Kernels.packedGemmAvailable();
    if (epilogue != null && !packedProduct) {
      throw new IllegalArgumentException("an epilogue needs the packed product");
    }
    this.epilogue = epilogue == null ? Fp32Kernels.Epilogue.NONE : epilogue;
  }

  /** True when the product runs on {@link Fp32Kernels#gemm}, which can fuse an epilogue. */
  boolean runsPacked() {
    return packedProduct;
  }

  /** Below this many output pixels per image the product is a thin gemv-like call: OpenBLAS. */
  private static final int MIN_PACKED_COLUMNS = 16;

  /** The weights packed for {@link Fp32Kernels#gemm}, on first use (racing threads pack alike). */
  private Fp32Kernels.PackedWeights packed(Frame frame) {
    Fp32Kernels.PackedWeights p = packed;
    if (p == null) {
      p = Fp32Kernels.pack(weights(frame), outChannels, patchRows(), patchRows());
      packed = p;
    }
    return p;
  }

  /** Where the packed product's B panel lives in scratch: after the kernel's own scratch. */
  private long ownScratchFloats() {
    if (groups == 1 && !direct()) {
      return (long) imagesPerChunk() * ((long) patchRows() + outChannels) * outPixels();
    }
    return pointwise ? 0 : (long) patchRows() * outPixels();
  }

  /**
   * The weights: a graph value, or (weight id −1) the frame's {@link Frame#dequantized} buffer a
   * {@link LowBitConvKernel} has just filled.
   */
  private FloatBuffer weights(Frame frame) {
    return weight >= 0 ? frame.buffer(weight) : frame.dequantized(0);
  }

  private int patchRows() {
    return inChannels / groups * window.kernelH() * window.kernelW();
  }

  private int outPixels() {
    return window.outH() * window.outW();
  }

  @Override
  public long scratchFloats() {
    return ownScratchFloats() + (packedProduct ? Fp32Kernels.gemmScratchFloats(patchRows()) : 0);
  }

  /** The B panel scratch of the packed product. */
  private FloatBuffer panel(Frame frame) {
    int from = Math.toIntExact(ownScratchFloats());
    return frame.scratch().slice(from, Math.toIntExact(Fp32Kernels.gemmScratchFloats(patchRows())));
  }

  /**
   * A pointwise convolution over one image or many pixels multiplies the input in place, one sgemm
   * per image, with no copies; batching images pays only when each has few pixels.
   */
  private boolean direct() {
    return pointwise && (batch == 1 || outPixels() >= 256);
  }

  /**
   * Images whose patch matrices go side by side into one sgemm (ungrouped convolutions only): one
   * wide product runs several times faster than many narrow ones, and the chunk bounds the scratch.
   */
  private int imagesPerChunk() {
    long perImage = ((long) patchRows() + outChannels) * outPixels();
    return (int) Math.max(1, Math.min(batch, MAX_CHUNK_FLOATS / Math.max(1, perImage)));
  }

  @Override
  public void run(Frame frame) {
    if (groups == 1 && !direct()) {
      runBatched(frame);
      return;
    }
    FloatBuffer x = frame.buffer(in);
    FloatBuffer w = weights(frame);
    FloatBuffer y = frame.buffer(out);
    int groupIn = inChannels / groups;
    int groupOut = outChannels / groups;
    int rows = patchRows();
    int pixels = outPixels();
    int inPixels = window.inH() * window.inW();
    FloatBuffer cols = frame.scratch();
    for (int n = 0; n < batch; n++) {
      for (int g = 0; g < groups; g++) {
        int inOffset = (n * inChannels + g * groupIn) * inPixels;
        FloatBuffer patches;
        if (pointwise) {
          patches = x.slice(inOffset, groupIn * inPixels);
        } else {
          im2col(frame, x, inOffset, groupIn, cols, 0, pixels);
          patches = cols;
        }
        int outOffset = (n * outChannels + g * groupOut) * pixels;
        FloatBuffer target = y.slice(outOffset, groupOut * pixels);
        if (packedProduct) {
          Fp32Kernels.gemm(
              packed(frame),
              patches,
              pixels,
              bias >= 0 ? frame.buffer(bias) : null,
              target,
              pixels,
              pixels,
              panel(frame),
              epilogue);
          continue;
        }
        float beta = 0f;
        if (bias >= 0) {
          FloatBuffer b = frame.buffer(bias);
          float[] row = frame.heapOut(pixels);
          for (int m = 0; m < groupOut; m++) {
            java.util.Arrays.fill(row, 0, pixels, b.get(g * groupOut + m));
            target.put(m * pixels, row, 0, pixels);
          }
          beta = 1f;
        }
        Fp32Blas.gemm(
            false,
            false,
            groupOut,
            pixels,
            rows,
            1f,
            w.slice(g * groupOut * rows, groupOut * rows),
            rows,
            patches,
            pixels,
            beta,
            target,
            pixels);
      }
    }
  }

  /**
   * Ungrouped convolution of a chunk of c images as one product:
   *
   * <pre>
   *   cols[rows, c·P]  (image i's patches in columns i·P .. i·P+P−1)
   *   tmp[M, c·P]      = W[M, rows] · cols (+ bias)
   *   Y[n+i, m, :]     ← tmp[m, i·P .. i·P+P−1]
   * </pre>
   */
  private void runBatched(Frame frame) {
    FloatBuffer x = frame.buffer(in);
    FloatBuffer w = weights(frame);
    FloatBuffer y = frame.buffer(out);
    int rows = patchRows();
    int pixels = outPixels();
    int inPixels = window.inH() * window.inW();
    int chunk = imagesPerChunk();
    for (int first = 0; first < batch; first += chunk) {
      int images = Math.min(chunk, batch - first);
      int width = images * pixels;
      FloatBuffer cols = frame.scratch().slice(0, rows * width);
      // One image: its [M, P] product is already Y's layout, so the sgemm writes Y directly.
      FloatBuffer tmp =
          images == 1
              ? y.slice(first * outChannels * pixels, outChannels * pixels)
              : frame.scratch().slice(rows * chunk * pixels, outChannels * width);
      for (int i = 0; i < images; i++) {
        int inOffset = (first + i) * inChannels * inPixels;
        if (pointwise) {
          for (int c = 0; c < inChannels; c++) {
            cols.put(c * width + i * pixels, x, inOffset + c * inPixels, pixels);
          }
        } else {
          im2col(frame, x, inOffset, inChannels, cols, i * pixels, width);
        }
      }
      if (packedProduct) {
        Fp32Kernels.gemm(
            packed(frame),
            cols,
            width,
            bias >= 0 ? frame.buffer(bias) : null,
            tmp,
            width,
            width,
            panel(frame),
            epilogue);
      } else {
        blasProduct(frame, w, cols, tmp, rows, width);
      }
      for (int i = 0; images > 1 && i < images; i++) {
        for (int m = 0; m < outChannels; m++) {
          y.put(((first + i) * outChannels + m) * pixels, tmp, m * width + i * pixels, pixels);
        }
      }
    }
  }

  /** tmp[M, width] = W · cols (+ bias) through OpenBLAS. */
  private void blasProduct(
      Frame frame, FloatBuffer w, FloatBuffer cols, FloatBuffer tmp, int rows, int width) {
    float beta = 0f;
    if (bias >= 0) {
      FloatBuffer b = frame.buffer(bias);
      float[] row = frame.heapOut(width);
      for (int m = 0; m < outChannels; m++) {
        java.util.Arrays.fill(row, 0, width, b.get(m));
        tmp.put(m * width, row, 0, width);
      }
      beta = 1f;
    }
    Fp32Blas.gemm(
        false, false, outChannels, width, rows, 1f, w, rows, cols, width, beta, tmp, width);
  }

  /**
   * Writes one image's [groupIn·kH·kW, oH·oW] patch matrix into {@code cols}, row r at {@code
   * colsBase + r·rowStride}. The image is copied to the heap once and each patch row is built there
   * and copied out whole: element-wise access to direct buffers costs several times more.
   */
  private void im2col(
      Frame frame,
      FloatBuffer x,
      int inOffset,
      int groupIn,
      FloatBuffer cols,
      int colsBase,
      int rowStride) {
    int inH = window.inH();
    int inW = window.inW();
    int outH = window.outH();
    int outW = window.outW();
    int strideH = window.strideH();
    int strideW = window.strideW();
    float[] image = frame.heapIn(groupIn * inH * inW);
    x.get(inOffset, image, 0, groupIn * inH * inW);
    float[] line = frame.heapOut(outH * outW);
    int row = 0;
    for (int c = 0; c < groupIn; c++) {
      int channelOffset = c * inH * inW;
      for (int kh = 0; kh < window.kernelH(); kh++) {
        for (int kw = 0; kw < window.kernelW(); kw++) {
          int iw0 = kw * window.dilationW() - window.padLeft();
          for (int oh = 0; oh < outH; oh++) {
            int ih = oh * strideH - window.padTop() + kh * window.dilationH();
            int dst = oh * outW;
            if (ih < 0 || ih >= inH) {
              java.util.Arrays.fill(line, dst, dst + outW, 0f);
              continue;
            }
            int src = channelOffset + ih * inW;
            for (int ow = 0; ow < outW; ow++) {
              int iw = iw0 + ow * strideW;
              line[dst + ow] = iw >= 0 && iw < inW ? image[src + iw] : 0f;
            }
          }
          cols.put(colsBase + row * rowStride, line, 0, outH * outW);
          row++;
        }
      }
    }
  }
}
