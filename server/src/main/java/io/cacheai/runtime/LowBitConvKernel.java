package io.cacheai.runtime;

import io.cacheai.graph.PackedTensor;
import io.cacheai.graph.Window2d;
import io.cacheai.kernels.Int8Conv;
import io.cacheai.kernels.LowBitConv;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/**
 * {@code LowBitConv}: a convolution whose weight is stored 4-, 3- or 2-bit per group, optionally
 * with the following ReLU fused ({@code relu}).
 *
 * <p><b>Native path</b> (ungrouped, groups of 32 along K = C·kH·kW or one per row, and the native
 * kernels with an AVX2 or AVX-512 VNNI body): the weight is transcoded once, exactly, at plan time
 * into q4g32 blocks ({@link LowBitWeights#toQ4g32Blocks}, the same as {@link LowBitGemmKernel}) and
 * from them into {@link LowBitConv}'s s4g32 form (1 byte per weight, fp32 scale per 32; the bundle
 * keeps its 2–4 bits on disk). Per image:
 *
 * <pre>
 *   lo, hi      = min(min x, 0), max(max x, 0)             (one native pass)
 *   xScale, zp  = (hi − lo)/255, rint(−lo/xScale)           dynamic u8, real 0 exact
 *   padded u8   ← x (border = zp), patches u8c4 ← padded     ({@link LowBitConv#patches})
 *   y[M, P]     = relu?(xScale · Σ_g d_g · (W_g · (X − zp)) + bias)   straight into NCHW
 * </pre>
 *
 * The only error beyond the weights' own is the rounding of x to u8: at most xScale per element
 * (xScale/2 inside the range), so per output Σ|w|·xScale.
 *
 * <p><b>Fallback</b> (anything else, and batches with a NaN or infinite value, which the fp32 path
 * propagates as the unquantized model does): the weight expanded to fp32 (once, on first need) is
 * copied into the frame and the fp32 {@link ConvKernel} runs on it (weight id −1 = the frame's
 * expanded weights), then the bias and the ReLU.
 */
final class LowBitConvKernel implements Kernel {
  private final ConvKernel conv;
  private final PackedTensor weight;
  private final FloatBuffer bias;
  private final int in;
  private final int out;
  private final int batch;
  private final int inChannels;
  private final int channels;
  private final int pixels;
  private final Window2d window;
  private final boolean relu;
  private final boolean pointwise;

  /** The s4g32 weights of the native path, or null when the fallback runs. */
  private final LowBitConv.Weights s4;

  /** The weight expanded to fp32 for the fallback, on first need (racing threads expand alike). */
  private volatile FloatBuffer expanded;

  /**
   * @param nativeKernels whether the native kernels may run (false: the fp32 reference path)
   */
  LowBitConvKernel(
      ConvKernel conv,
      int in,
      int out,
      long[] inShape,
      long[] outShape,
      Window2d window,
      int groups,
      PackedTensor weight,
      PackedTensor bias,
      boolean relu,
      boolean nativeKernels) {
    this.conv = conv;
    this.in = in;
    this.out = out;
    this.weight = weight;
    this.bias = bias == null ? null : copyDirect(bias);
    this.batch = Math.toIntExact(outShape[0]);
    this.inChannels = Math.toIntExact(inShape[1]);
    this.channels = Math.toIntExact(outShape[1]);
    this.pixels = Math.toIntExact(io.cacheai.graph.Shapes.product(outShape, 2, outShape.length));
    this.window = window;
    this.relu = relu;
    this.pointwise =
        window.kernelH() == 1
            && window.kernelW() == 1
            && window.strideH() == 1
            && window.strideW() == 1
            && window.padTop() == 0
            && window.padLeft() == 0
            && window.padBottom() == 0
            && window.padRight() == 0
            && window.outH() == window.inH()
            && window.outW() == window.inW();
    this.s4 = nativeKernels && groups == 1 && inShape.length == 4 ? s4Weights(weight) : null;
  }

  /** The s4g32 form when the weight's groups allow it and a fast body runs here; else null. */
  private LowBitConv.Weights s4Weights(PackedTensor weight) {
    if (weight.rowLength() != inChannels * window.kernelH() * window.kernelW()
        || weight.rows() != channels
        || LowBitConv.body() < 1) {
      return null;
    }
    ByteBuffer blocks =
        weight.format() == PackedTensor.Format.Q4G32_BLOCKS
            ? weight.data()
            : LowBitWeights.toQ4g32Blocks(weight);
    return blocks == null ? null : LowBitConv.fromQ4g32(blocks, weight.rows(), weight.rowLength());
  }

  private static FloatBuffer copyDirect(PackedTensor bias) {
    FloatBuffer source = bias.data().duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
    FloatBuffer copy = io.cacheai.kernels.FloatBuffers.allocate(source.remaining());
    copy.put(source).clear();
    return copy;
  }

  @Override
  public long scratchFloats() {
    return conv.scratchFloats();
  }

  @Override
  public void run(Frame frame) {
    if (s4 == null || !runNative(frame)) {
      runFp32(frame);
    }
  }

  /** The native path; false (nothing written) when an image holds a non-finite value. */
  private boolean runNative(Frame frame) {
    int inPixels = window.inH() * window.inW();
    int imageLength = inChannels * inPixels;
    FloatBuffer x = frame.buffer(in);
    float[] ranges = frame.heap(2, 2 * batch);
    float[] minMax = frame.heap(3, 2);
    for (int b = 0; b < batch; b++) {
      LowBitConv.minMax(x.slice(b * imageLength, imageLength), imageLength, minMax);
      float lo = Math.min(minMax[0], 0f);
      float hi = Math.max(minMax[1], 0f);
      if (!Float.isFinite(lo) || !Float.isFinite(hi) || !Float.isFinite(hi - lo)) {
        return false;
      }
      ranges[2 * b] = lo;
      ranges[2 * b + 1] = hi;
    }
    int k = s4.k();
    int ph = window.inH() + window.padTop() + window.padBottom();
    int pw = window.inW() + window.padLeft() + window.padRight();
    int paddedLength = pointwise ? 0 : Math.multiplyExact(inChannels, Math.multiplyExact(ph, pw));
    int patchesLength = Math.toIntExact(Int8Conv.u8c4Bytes(k, pixels));
    int paddedAt = (patchesLength + 63) / 64 * 64;
    ByteBuffer bytes = frame.bytes(paddedAt + paddedLength);
    ByteBuffer patches = bytes.slice(0, patchesLength);
    int[] shape = {
      window.kernelH(),
      window.kernelW(),
      window.strideH(),
      window.strideW(),
      window.dilationH(),
      window.dilationW(),
      window.outH(),
      window.outW()
    };
    int[] pads = {window.padTop(), window.padBottom(), window.padLeft(), window.padRight()};
    FloatBuffer y = frame.buffer(out);
    for (int b = 0; b < batch; b++) {
      float lo = ranges[2 * b];
      float scale = (ranges[2 * b + 1] - lo) / 255f;
      if (!(scale >= Float.MIN_NORMAL)) {
        scale = Float.MIN_NORMAL; // an all-zero (or all-tiny) image: every value quantizes to ~0
      }
      int zeroPoint = (int) Math.min(255, Math.max(0, Math.rint(-lo / scale)));
      FloatBuffer image = x.slice(b * imageLength, imageLength);
      if (pointwise) {
        Int8Conv.quantizeU8c4(image, inChannels, pixels, scale, zeroPoint, patches);
      } else {
        LowBitConv.patches(
            image,
            inChannels,
            window.inH(),
            window.inW(),
            pads,
            shape,
            scale,
            zeroPoint,
            bytes.slice(paddedAt, paddedLength),
            patches);
      }
      LowBitConv.conv(
          s4,
          patches,
          pixels,
          scale,
          zeroPoint,
          bias,
          relu,
          y.slice(b * channels * pixels, channels * pixels));
    }
    return true;
  }

  /** The fp32 fallback: expanded weights into the frame, the fp32 convolution, bias, ReLU. */
  private void runFp32(Frame frame) {
    FloatBuffer weights = expanded;
    if (weights == null) {
      weights =
          io.cacheai.kernels.FloatBuffers.allocate(
              Math.multiplyExact(weight.rows(), weight.rowLength()));
      LowBitWeights.dequantize(weight, weights);
      expanded = weights;
    }
    int count = weight.rows() * weight.rowLength();
    frame.dequantized(count).put(0, weights, 0, count);
    conv.run(frame);
    if (bias == null && !relu) {
      return;
    }
    FloatBuffer y = frame.buffer(out);
    float[] plane = frame.heapOut(pixels);
    for (int b = 0; b < batch; b++) {
      for (int c = 0; c < channels; c++) {
        float v = bias == null ? 0f : bias.get(c);
        int base = (b * channels + c) * pixels;
        y.get(base, plane, 0, pixels);
        for (int p = 0; p < pixels; p++) {
          float t = plane[p] + v;
          plane[p] = relu && t < 0f ? 0f : t;
        }
        y.put(base, plane, 0, pixels);
      }
    }
  }
}
