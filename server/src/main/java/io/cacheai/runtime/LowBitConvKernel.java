package io.cacheai.runtime;

import io.cacheai.graph.PackedTensor;
import io.cacheai.graph.Window2d;
import io.cacheai.kernels.Int8Conv;
import io.cacheai.kernels.Int8CropPool;
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

  /** The window's pads and patch window as the native patch builder takes them, made once. */
  private final int[] pads;

  private final int[] patchWindow;
  private final boolean relu;
  private final boolean pointwise;

  /** The MaxPool fused into the store, or null. */
  private final Window2d pool;

  /** The int8 direct kernel run per image with a dynamic scale (one scale per row), or null. */
  private final QLinearConvKernel twin;

  /**
   * Per output channel of {@link #twin}: the scale d_m of its int8 weights, bias / d_m in double
   * and Σ_k q — what {@link LowBitConv#dynamicStage} turns into the output stage of each image.
   */
  private final LowBitConv.TwinStage twinStage;

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
    this(conv, in, out, inShape, outShape, window, groups, weight, bias, relu, nativeKernels, null);
  }

  /**
   * As above, with the MaxPool {@code pool} (null: none) over this convolution's output fused into
   * its store: refused ({@link IllegalArgumentException}) unless a native path runs it. With one
   * weight scale per output channel the int8 direct kernel pools in its store ({@link #int8Twin});
   * otherwise the s4g32 product goes to scratch and {@link Int8CropPool#cropPool} writes the window
   * maxima (the unpooled output never reaches the arena, and the pool is not a kernel of its own).
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
      boolean nativeKernels,
      Window2d pool) {
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
    this.pads = window.padsTopBottomLeftRight();
    this.patchWindow = window.patchWindow();
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
    this.pool = pool;
    this.twin = s4 != null ? int8Twin(in, out, inShape, window, weight, relu, pool) : null;
    this.twinStage = twin == null ? null : twinStage(twinRowScales, twinRowSums, this.bias);
    if (pool != null && s4 == null) {
      throw new IllegalArgumentException(
          "LowBitConv: cannot fuse MaxPool (needs the native s4g32 or int8 direct kernels)");
    }
  }

  // set by int8Twin (constructor only)
  private int[] twinRowSums;
  private float[] twinRowScales;

  /**
   * How far the exact int8 codes of a one-group row are spread: q in −8..7 is stored as 15·q
   * (−120..105, inside the int8 kernels' ±127) with scale d/15, so the fp32 bias rounded onto the
   * accumulator's grid ({@link #twinStage}) errs 15 times less.
   */
  private static final int EXACT_SPREAD = 15;

  /**
   * K ≤ 32, one group per row: w = d_m · q, q in −8..7, written as int8 15·q into {@code panel}
   * (s8p16) with scale d_m/15 — the low-bit weight up to the rounding of that scale; false when a
   * scale is zero or not finite.
   */
  private static boolean exactRows(
      PackedTensor weight, ByteBuffer panel, int[] sums, float[] scales) {
    int n = weight.rows();
    int k = weight.rowLength();
    ByteBuffer blocks =
        weight.format() == PackedTensor.Format.Q4G32_BLOCKS
            ? weight.data()
            : LowBitWeights.toQ4g32Blocks(weight);
    if (blocks == null) {
      return false;
    }
    // q4g32 blocks, K ≤ 32: one 40-byte block per row | d0 f32 | d1 f32 | 16 B | 16 B |,
    // byte i of the first group = q4[i] | q4[i+16] << 4, w = d0 · (q4 − 8)
    for (int r = 0; r < n; r++) {
      int block = r * 40;
      float d = blocks.getFloat(block);
      if (!(d > 0f) || !Float.isFinite(d)) {
        return false;
      }
      scales[r] = d / EXACT_SPREAD;
      for (int c = 0; c < k; c++) {
        int codes = blocks.get(block + 8 + (c & 15)) & 0xff;
        int q = EXACT_SPREAD * ((c < 16 ? codes & 15 : codes >>> 4) - 8);
        panel.put(PackedTensor.panel16Offset(r, c, k), (byte) q);
        sums[r] += q;
      }
    }
    return true;
  }

  /**
   * K &gt; 32, a scale per group of 32: the expanded row w re-rounded to int8 per output channel,
   * s_m = max|w_m| / 127, q = rint(w / s_m) — an approximation of the low-bit weight, at most s_m/2
   * per weight (about 1/17 of an int4 step of the row's largest group); false when a row is zero.
   */
  private static boolean reroundedRows(
      PackedTensor weight, ByteBuffer panel, int[] sums, float[] scales) {
    int n = weight.rows();
    int k = weight.rowLength();
    FloatBuffer expanded = io.cacheai.kernels.FloatBuffers.allocate(Math.multiplyExact(n, k));
    LowBitWeights.dequantize(weight, expanded);
    for (int r = 0; r < n; r++) {
      float max = 0f;
      for (int c = 0; c < k; c++) {
        max = Math.max(max, Math.abs(expanded.get(r * k + c)));
      }
      float s = max / 127f;
      if (!(s > 0f) || !Float.isFinite(s)) {
        return false;
      }
      scales[r] = s;
      for (int c = 0; c < k; c++) {
        int q = (int) Math.max(-127, Math.min(127, Math.rint(expanded.get(r * k + c) / s)));
        panel.put(PackedTensor.panel16Offset(r, c, k), (byte) q);
        sums[r] += q;
      }
    }
    return true;
  }

  /**
   * The int8 direct kernel of this convolution when every output channel's weights share one scale
   * d_m (K ≤ 32: one group per row): then w = d_m · q with q in −8..7, exactly an int8 per-channel
   * weight, and {@link QLinearConvKernel}'s direct paths (kw-quad for few channels, pool fused into
   * the store) run it with the image's dynamic u8 scale; null when they do not take it (CPU, shape)
   * or a scale is zero or not finite.
   */
  private QLinearConvKernel int8Twin(
      int in,
      int out,
      long[] inShape,
      Window2d window,
      PackedTensor weight,
      boolean relu,
      Window2d pool) {
    int n = weight.rows();
    int k = weight.rowLength();
    ByteBuffer panel =
        ByteBuffer.allocateDirect(Math.toIntExact(PackedTensor.panel16LengthBytes(n, k)))
            .order(ByteOrder.LITTLE_ENDIAN);
    int[] sums = new int[n];
    float[] scales = new float[n];
    if (k <= 32
        ? !exactRows(weight, panel, sums, scales)
        : !reroundedRows(weight, panel, sums, scales)) {
      return null;
    }
    PackedTensor s8 =
        new PackedTensor(PackedTensor.Format.S8_PANEL16, weight.shape(), panel, scales, 0);
    Int8Gemm gemm = Int8Gemm.nativeKernels();
    if (!QLinearConvKernel.directAvailable(gemm)
        || pool != null
            && !QLinearConvKernel.fusablePool(
                pool, window, true, io.cacheai.kernels.Fp32Kernels.Epilogue.NONE)) {
      return null;
    }
    QLinearConvKernel kernel =
        new QLinearConvKernel(
            in,
            out,
            inShape,
            window,
            s8,
            null,
            1f,
            0,
            gemm,
            relu,
            io.cacheai.kernels.Fp32Kernels.Epilogue.NONE,
            pool);
    if (!kernel.perCallQuantization()) {
      return null;
    }
    twinRowSums = sums;
    twinRowScales = scales;
    return kernel;
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
    long unpooled = pool == null ? 0 : (long) channels * pixels; // the s4 path's planes
    return Math.max(
        Math.max(conv.scratchFloats(), unpooled), twin == null ? 0 : twin.scratchFloats());
  }

  @Override
  public void run(Frame frame) {
    if (pool != null) {
      if (!runNative(frame)) {
        runPooledReference(frame);
      }
      return;
    }
    if (s4 == null || !runNative(frame)) {
      runFp32(frame);
    }
  }

  /**
   * The constants of {@link #twin}'s per-image output stage, once per plan, in direct buffers: per
   * output channel the weight scale d_m, bias / d_m in double (none without a bias) and Σ_k q[m,k].
   * Per image, {@link LowBitConv#dynamicStage} makes of them (in C, the formulas this kernel's Java
   * loop used):
   *
   * <pre>
   *   scale'[m] = scale · d_m
   *   bias'[m]  = rint((bias[m] / d_m) / scale) − zeroPoint · Σ_k q[m,k]   (s32, in double)
   *   y         = relu?((acc + bias'[m]) · scale'[m])
   * </pre>
   *
   * The fp32 bias is rounded onto the accumulator's grid: at most scale'/2 more error per output.
   */
  private static LowBitConv.TwinStage twinStage(float[] scales, int[] sums, FloatBuffer bias) {
    return LowBitConv.TwinStage.of(scales, sums, bias == null ? null : bias.duplicate().clear());
  }

  /**
   * Image {@code b} through {@link #twin}: its dynamic quantization and output stage in one native
   * call, then the int8 direct kernel. Returns a {@link LowBitConv#dynamicStage} code; nothing is
   * written unless {@link LowBitConv#STAGE_OK}.
   */
  private int runTwinImage(Frame frame, FloatBuffer x, int imageLength, int b) {
    java.nio.IntBuffer stageBias = frame.stageBias(channels);
    FloatBuffer stageScale = frame.stageScale(channels + 2);
    FloatBuffer image = batch == 1 ? x : x.slice(b * imageLength, imageLength);
    int code = LowBitConv.dynamicStage(image, imageLength, twinStage, stageBias, stageScale);
    if (code == LowBitConv.STAGE_OK) {
      float scale = stageScale.get(channels);
      int zeroPoint = (int) stageScale.get(channels + 1);
      twin.runImage(
          frame,
          b,
          scale,
          zeroPoint,
          new io.cacheai.kernels.RequantParams(stageBias, stageScale, 0, relu));
    }
    return code;
  }

  /**
   * This convolution as a step of an {@link io.cacheai.kernels.Int8Sequence}: its int8 twin's step
   * (kw-quad or channels-in-lanes) quantizing its input per image in C, the stage constants and
   * ReLU of {@link #runTwinImage} — the same calls, so the same bits; null unless a batch-1 plan
   * runs the twin here.
   */
  io.cacheai.kernels.Int8Sequence.Step sequenceStep() {
    if (batch != 1 || twin == null) {
      return null;
    }
    io.cacheai.kernels.Int8Sequence.Step step = twin.sequenceStep();
    return step == null ? null : new io.cacheai.kernels.Int8Sequence.Dynamic(step, twinStage, relu);
  }

  /** The value id this kernel reads. */
  int input() {
    return in;
  }

  /** The native path; false (nothing usable written) when an image holds a non-finite value. */
  private boolean runNative(Frame frame) {
    int inPixels = window.inH() * window.inW();
    int imageLength = inChannels * inPixels;
    FloatBuffer x = frame.buffer(in);
    if (twin != null) {
      boolean all = true;
      for (int b = 0; b < batch && all; b++) {
        int code = runTwinImage(frame, x, imageLength, b);
        if (code == LowBitConv.STAGE_NOT_FINITE) {
          return false;
        }
        all = code == LowBitConv.STAGE_OK;
      }
      if (all || pool != null) {
        return all;
      }
    }
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
    FloatBuffer y = frame.buffer(out);
    for (int b = 0; b < batch; b++) {
      float lo = ranges[2 * b];
      float scale = dynamicScale(lo, ranges[2 * b + 1]);
      int zeroPoint = dynamicZeroPoint(lo, scale);
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
            patchWindow,
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
          pool == null
              ? y.slice(b * channels * pixels, channels * pixels)
              : frame.scratch().slice(0, channels * pixels));
      if (pool != null) { // the window maxima of the unpooled planes (scratch) into y
        int outputs = pool.outH() * pool.outW();
        Int8CropPool.cropPool(
            frame.scratch(),
            channels,
            pixels,
            window.outW(),
            window.outH(),
            window.outW(),
            pool.kernelH(),
            pool.strideH(),
            pool.outH(),
            pool.outW(),
            y.slice(b * channels * outputs, channels * outputs));
      }
    }
    return true;
  }

  /** The u8 step of an image whose values span [lo, hi] (lo ≤ 0 ≤ hi). */
  private static float dynamicScale(float lo, float hi) {
    float scale = (hi - lo) / 255f;
    // an all-zero (or all-tiny) image: every value quantizes to ~0
    return scale >= Float.MIN_NORMAL ? scale : Float.MIN_NORMAL;
  }

  /** The u8 code of real 0 at step {@code scale}. */
  private static int dynamicZeroPoint(float lo, float scale) {
    return (int) Math.min(255, Math.max(0, Math.rint(-lo / scale)));
  }

  /**
   * The pooled kernel's path for a batch the int8 kernel cannot take (a non-finite value, a tiny
   * scale): the convolution in Java on the expanded weights (double sums), bias, ReLU, then the
   * window maxima ({@link Math#max}, NaN wins as in {@link PoolKernel}). Rare and slow.
   */
  private void runPooledReference(Frame frame) {
    float[] w = expandedWeights();
    FloatBuffer x = frame.buffer(in);
    FloatBuffer y = frame.buffer(out);
    int inPixels = window.inH() * window.inW();
    int imageLength = inChannels * inPixels;
    int kH = window.kernelH();
    int kW = window.kernelW();
    int k = inChannels * kH * kW;
    float[] image = new float[imageLength];
    float[] plane = new float[pixels];
    int outputs = pool.outH() * pool.outW();
    for (int b = 0; b < batch; b++) {
      x.get(b * imageLength, image, 0, imageLength);
      for (int m = 0; m < channels; m++) {
        for (int oh = 0; oh < window.outH(); oh++) {
          for (int ow = 0; ow < window.outW(); ow++) {
            double sum = 0;
            for (int c = 0; c < inChannels; c++) {
              for (int i = 0; i < kH; i++) {
                int ih = oh * window.strideH() - window.padTop() + i * window.dilationH();
                for (int j = 0; j < kW; j++) {
                  int iw = ow * window.strideW() - window.padLeft() + j * window.dilationW();
                  if (ih >= 0 && ih < window.inH() && iw >= 0 && iw < window.inW()) {
                    sum +=
                        (double) w[m * k + (c * kH + i) * kW + j]
                            * image[c * inPixels + ih * window.inW() + iw];
                  }
                }
              }
            }
            float t = (float) sum + (bias == null ? 0f : bias.get(m));
            plane[oh * window.outW() + ow] = relu && t < 0f ? 0f : t;
          }
        }
        for (int ph = 0; ph < pool.outH(); ph++) {
          for (int pw = 0; pw < pool.outW(); pw++) {
            float best = Float.NEGATIVE_INFINITY;
            for (int i = 0; i < pool.kernelH(); i++) {
              for (int j = 0; j < pool.kernelW(); j++) {
                int h = ph * pool.strideH() + i;
                int v = pw * pool.strideW() + j;
                best = Math.max(best, plane[h * window.outW() + v]);
              }
            }
            y.put((b * channels + m) * outputs + ph * pool.outW() + pw, best);
          }
        }
      }
    }
  }

  /** The weight expanded to fp32 (once; racing threads expand alike). */
  private float[] expandedWeights() {
    FloatBuffer weights = expandedBuffer();
    float[] w = new float[weights.capacity()];
    weights.get(0, w);
    return w;
  }

  private FloatBuffer expandedBuffer() {
    FloatBuffer weights = expanded;
    if (weights == null) {
      weights =
          io.cacheai.kernels.FloatBuffers.allocate(
              Math.multiplyExact(weight.rows(), weight.rowLength()));
      LowBitWeights.dequantize(weight, weights);
      expanded = weights;
    }
    return weights;
  }

  /** The fp32 fallback: expanded weights into the frame, the fp32 convolution, bias, ReLU. */
  private void runFp32(Frame frame) {
    FloatBuffer weights = expandedBuffer();
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
