package io.cacheai.runtime;

import io.cacheai.graph.PackedTensor;
import io.cacheai.graph.Window2d;
import io.cacheai.kernels.ConvBody;
import io.cacheai.kernels.ConvInput;
import io.cacheai.kernels.Fp32Kernels;
import io.cacheai.kernels.Int8Conv;
import io.cacheai.kernels.Int8CropPool;
import io.cacheai.kernels.Int8DirectConv;
import io.cacheai.kernels.Int8KqConv;
import io.cacheai.kernels.Int8LanesConv;
import io.cacheai.kernels.RequantParams;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;

/**
 * {@code QLinearConv} (ungrouped): per image, x is quantized to u8, laid out as patch rows
 * ("im2row": one row of C·kH·kW u8 per output pixel, padding = the zero point, i.e. real 0),
 * multiplied by the int8 weight [M, C·kH·kW] through {@link Int8Gemm} into fp32 [P, M] scratch, and
 * transposed into y [M, P].
 *
 * <pre>
 *   rows[P, R]  u8   R = C·kH·kW, P = oH·oW    (frame bytes)
 *   tmp[P, M]   fp32 = int8gemm(rows, W)        (frame scratch)
 *   y[n, m, p]  ← tmp[p, m]
 * </pre>
 *
 * <p>On CPUs with AVX-512 VNNI and the native kernels, the product is computed the other way round
 * ({@link Int8Conv}): y[m, P] = W · X with X the u8 patches [R, P] in the u8c4 layout, straight
 * into NCHW with no transposes on either side (for 1×1 convolutions X is the quantized image
 * itself). Results are identical bit for bit.
 *
 * <p>A following ReLU ({@code relu}) and elementwise chain ({@code epilogue}, e.g. hard-swish) may
 * be fused: ReLU in the output stage, the chain applied to each image's output while it is in
 * cache.
 *
 * <p>Stride-1 convolutions of at least 4 input channels take the <b>direct</b> path on those CPUs
 * ({@link Int8DirectConv#conv}): no patch matrix at all — the padded image is quantized into
 * channel quads, every tap is a shifted 64-byte load of it, and the output is computed on "wide"
 * rows of the padded width into scratch, then cropped. A following MaxPool ({@code pool}, square,
 * no padding) may be fused: the crop step then takes the window maxima instead, so the unpooled
 * output never reaches the arena (exact: the same fp32 values, the same max). Convolutions of fewer
 * than 4 input channels (an image's first layer) take the <b>kw-quad</b> direct path instead
 * ({@link Int8KqConv#image}: quads of 4 consecutive kw taps gathered by one byte permute per 16
 * outputs), which wastes nothing on absent channels. A pooled direct convolution of at least 16
 * output channels computes 16 channels per vector instead ({@link Int8LanesConv#image}), only for
 * real outputs: the wide rows' scrap columns (kW − 1 per row) cost nothing.
 */
final class QLinearConvKernel implements Kernel {
  private final int in;
  private final int out;
  private final int batch;
  private final int channels;
  private final int outChannels;
  private final Window2d window;
  private final float xScale;
  private final int xZeroPoint;
  private final ByteBuffer weight;
  private final Int8OutputStage stage;
  private final Int8Gemm gemm;
  private final boolean pointwise;
  private final boolean relu;
  private final Fp32Kernels.Epilogue epilogue;
  private final boolean direct;
  private final RequantParams directParams;
  private final Window2d pool;
  private final boolean wide;
  private final boolean kq;
  private final boolean lanes;
  private final ByteBuffer lanesWeights;
  private final ByteBuffer kqWeights;
  private final ByteBuffer directWeights;
  private final int paddedH;
  private final int paddedW;
  private final int pixelStride;
  private final int wideLength;
  private final int[] pads;

  /** {@link Window2d#patchWindow}, made once. */
  private final int[] patchWindow;

  private final int[] poolArgs;

  QLinearConvKernel(
      int in,
      int out,
      long[] inShape,
      Window2d window,
      PackedTensor weight,
      PackedTensor bias,
      float xScale,
      int xZeroPoint,
      Int8Gemm gemm,
      boolean relu,
      Fp32Kernels.Epilogue epilogue) {
    this(in, out, inShape, window, weight, bias, xScale, xZeroPoint, gemm, relu, epilogue, null);
  }

  /**
   * As above, with the MaxPool {@code pool} (null: none) over this convolution's output fused into
   * its store; refused unless the native direct kernels run here, no epilogue is fused, and the
   * window is square, unpadded, undilated and inside the output.
   */
  QLinearConvKernel(
      int in,
      int out,
      long[] inShape,
      Window2d window,
      PackedTensor weight,
      PackedTensor bias,
      float xScale,
      int xZeroPoint,
      Int8Gemm gemm,
      boolean relu,
      Fp32Kernels.Epilogue epilogue,
      Window2d pool) {
    this.in = in;
    this.out = out;
    this.batch = Math.toIntExact(inShape[0]);
    this.channels = Math.toIntExact(inShape[1]);
    this.outChannels = weight.rows();
    this.window = window;
    this.xScale = xScale;
    this.xZeroPoint = xZeroPoint;
    this.weight = weight.data();
    this.stage = Int8OutputStage.of(weight, bias, xScale, xZeroPoint);
    this.gemm = gemm;
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
    this.relu = relu;
    this.epilogue = epilogue == null ? Fp32Kernels.Epilogue.NONE : epilogue;
    this.direct = gemm instanceof NativeInt8Gemm && Int8Conv.available();
    this.directParams = new RequantParams(stage.bias(), stage.scale(), 0, relu);
    this.pool = pool;
    if (pool != null && !fusablePool(pool, window, direct, this.epilogue)) {
      throw new IllegalArgumentException(
          "QLinearConv: cannot fuse MaxPool kernel="
              + pool.kernelH()
              + "x"
              + pool.kernelW()
              + " stride="
              + pool.strideH()
              + "x"
              + pool.strideW()
              + " into this convolution");
    }
    this.pads = window.padsTopBottomLeftRight();
    this.patchWindow = window.patchWindow();
    this.poolArgs =
        pool == null ? null : new int[] {pool.kernelH(), pool.strideH(), pool.outH(), pool.outW()};
    this.paddedH = window.inH() + window.padTop() + window.padBottom();
    this.paddedW = window.inW() + window.padLeft() + window.padRight();
    this.wide =
        direct
            && !pointwise
            && channels >= 4
            && window.strideH() == 1
            && window.strideW() == 1
            && window.dilationH() == 1
            && window.dilationW() == 1
            && window.outH() >= 1
            && window.outW() >= 1
            && window.outH() == paddedH - window.kernelH() + 1
            && window.outW() == paddedW - window.kernelW() + 1;
    this.kq =
        direct
            && !pointwise
            && channels < 4
            && Int8KqConv.available()
            && window.strideH() == 1
            && window.strideW() == 1
            && window.dilationH() == 1
            && window.dilationW() == 1
            && window.outH() >= 1
            && window.outW() >= 1
            && window.outH() == paddedH - window.kernelH() + 1
            && window.outW() == paddedW - window.kernelW() + 1;
    this.wideLength = wide || kq ? Int8DirectConv.wideLength(window.outH(), paddedW) : 0;
    this.pixelStride =
        wide
            ? Int8DirectConv.pixelStride(
                paddedH, paddedW, window.kernelH(), window.kernelW(), window.outH())
            : kq
                ? Int8KqConv.pixelStride(
                    paddedH, paddedW, window.kernelH(), window.kernelW(), window.outH())
                : 0;
    if (weight.rowLength() != patchLength()) {
      throw new IllegalArgumentException(
          "QLinearConv: weight row length "
              + weight.rowLength()
              + " != C·kH·kW="
              + patchLength()
              + " (grouped convolutions are not quantized)");
    }
    this.directWeights =
        wide
            ? Int8DirectConv.packWeights(
                this.weight.duplicate().clear(),
                outChannels,
                channels,
                window.kernelH(),
                window.kernelW())
            : null;
    // pooled with at least 16 output channels: channels in the lanes, no scrap columns
    this.lanes = wide && pool != null && outChannels >= 16;
    this.lanesWeights =
        lanes
            ? Int8LanesConv.packWeights(
                this.weight.duplicate().clear(),
                outChannels,
                channels,
                window.kernelH(),
                window.kernelW())
            : null;
    this.kqWeights =
        kq
            ? Int8KqConv.packWeights(
                this.weight.duplicate().clear(),
                outChannels,
                channels,
                window.kernelH(),
                window.kernelW())
            : null;
  }

  /**
   * Whether MaxPool {@code pool} can be fused into a convolution of {@code window}: the native
   * direct kernels run, no epilogue, and a square unpadded undilated window whose every position
   * lies inside the convolution's output (floor mode).
   */
  static boolean fusablePool(
      Window2d pool, Window2d window, boolean direct, Fp32Kernels.Epilogue epilogue) {
    return direct
        && epilogue.steps() == 0
        && pool.kernelH() == pool.kernelW()
        && pool.strideH() == pool.strideW()
        && pool.dilationH() == 1
        && pool.dilationW() == 1
        && pool.padTop() == 0
        && pool.padLeft() == 0
        && pool.padBottom() == 0
        && pool.padRight() == 0
        && pool.inH() == window.outH()
        && pool.inW() == window.outW()
        && pool.outH() >= 1
        && pool.outW() >= 1
        && (long) (pool.outH() - 1) * pool.strideH() + pool.kernelH() <= pool.inH()
        && (long) (pool.outW() - 1) * pool.strideW() + pool.kernelW() <= pool.inW();
  }

  /**
   * This convolution as a step of an {@link io.cacheai.kernels.Int8Sequence} (one native call for
   * several int8 layers), or null when it cannot be one: only a batch-1 plan's kw-quad or
   * channels-in-lanes direct path, without an epilogue, whose one-layer call is exactly the step.
   */
  io.cacheai.kernels.Int8Sequence.Step sequenceStep() {
    if (batch != 1 || epilogue.steps() != 0) {
      return null;
    }
    if (kq) {
      return new io.cacheai.kernels.Int8Sequence.KqConv(
          channels,
          window.inH(),
          window.inW(),
          pads,
          xScale,
          xZeroPoint,
          kqWeights,
          outChannels,
          window.kernelH(),
          window.kernelW(),
          pixelStride,
          directParams,
          poolArgs);
    }
    if (lanes) {
      return new io.cacheai.kernels.Int8Sequence.LanesConv(
          channels,
          window.inH(),
          window.inW(),
          pads,
          xScale,
          xZeroPoint,
          lanesWeights,
          outChannels,
          window.kernelH(),
          window.kernelW(),
          pixelStride,
          directParams,
          poolArgs);
    }
    return null;
  }

  /** The value id this kernel reads. */
  int input() {
    return in;
  }

  /** The value id this kernel writes. */
  int output() {
    return out;
  }

  /** Whether the native direct kernels would run a convolution here (pool fusion needs them). */
  static boolean directAvailable(Int8Gemm gemm) {
    return gemm instanceof NativeInt8Gemm && Int8Conv.available();
  }

  private int patchLength() {
    return channels * window.kernelH() * window.kernelW();
  }

  private int pixels() {
    return window.outH() * window.outW();
  }

  @Override
  public long scratchFloats() {
    if (lanes) { // the [pixels, channels] product before the pool
      return Int8LanesConv.productFloats(outChannels, window.outH(), window.outW());
    }
    if (wide || kq) {
      return (long) outChannels * wideLength; // the wide output planes before the crop
    }
    if (direct) {
      return pool == null ? 0 : (long) pixels() * outChannels; // the unpooled output
    }
    return (long) pixels() * outChannels; // the im2row path's [P, M] product
  }

  @Override
  public void run(Frame frame) {
    int inPixels = window.inH() * window.inW();
    int imageLength = channels * inPixels;
    int r = patchLength();
    int p = pixels();
    FloatBuffer x = frame.buffer(in);
    FloatBuffer y = frame.buffer(out);
    if (direct) {
      runDirect(frame, x, y, imageLength, r, p);
      return;
    }
    int rowsLength = p * r;
    ByteBuffer rows = frame.bytes(rowsLength);
    FloatBuffer tmp = frame.scratch();
    if (gemm instanceof NativeInt8Gemm) {
      runNative(frame, x, y, tmp, imageLength, r, p, rowsLength);
      return;
    }
    byte[] heap = frame.heapBytes(imageLength + rowsLength);
    for (int b = 0; b < batch; b++) {
      float[] image = frame.heapIn(Math.max(imageLength, p * outChannels));
      x.get(b * imageLength, image, 0, imageLength);
      if (pointwise) {
        quantizeTransposed(image, heap);
      } else {
        for (int i = 0; i < imageLength; i++) {
          heap[rowsLength + i] = (byte) U8Activations.quantize(image[i], xScale, xZeroPoint);
        }
        im2row(heap, rowsLength, heap);
      }
      rows.put(0, heap, 0, rowsLength);
      gemm.run(p, outChannels, r, rows, weight, stage.bias(), stage.scale(), tmp);
      float[] products = frame.heapOut(p * outChannels);
      tmp.get(0, products, 0, p * outChannels);
      float[] transposed = image; // the image is consumed: reuse its array
      for (int pixel = 0; pixel < p; pixel++) {
        for (int m = 0; m < outChannels; m++) {
          transposed[m * p + pixel] = products[pixel * outChannels + m];
        }
      }
      if (relu) {
        for (int i = 0; i < outChannels * p; i++) {
          transposed[i] = transposed[i] < 0f ? 0f : transposed[i];
        }
      }
      y.put(b * outChannels * p, transposed, 0, outChannels * p);
      applyEpilogue(y.slice(b * outChannels * p, outChannels * p));
    }
  }

  /** The fused chain on one image's output (in cache), natively. */
  private void applyEpilogue(FloatBuffer image) {
    if (epilogue.steps() > 0) {
      Fp32Kernels.applyEpilogue(image, image.capacity(), epilogue);
    }
  }

  /**
   * The NCHW product ({@link Int8Conv}): the image quantized into a padded u8 copy and its patches
   * laid out as u8c4 (or, for 1×1, quantized straight into u8c4), then one call computes y [M, P]
   * with the output stage (and ReLU) fused.
   */
  private void runDirect(Frame frame, FloatBuffer x, FloatBuffer y, int imageLength, int r, int p) {
    if (wide) {
      runWide(frame, x, y, imageLength);
      return;
    }
    if (kq) {
      runKq(frame, x, y, imageLength);
      return;
    }
    int ph = window.inH() + window.padTop() + window.padBottom();
    int pw = window.inW() + window.padLeft() + window.padRight();
    int paddedLength = pointwise ? 0 : Math.multiplyExact(channels, Math.multiplyExact(ph, pw));
    int patchesLength = Math.toIntExact(Int8Conv.u8c4Bytes(r, p));
    int paddedAt = (patchesLength + 63) / 64 * 64;
    ByteBuffer bytes = frame.bytes(paddedAt + paddedLength);
    ByteBuffer patches = bytes.slice(0, patchesLength);
    int outputs = pool == null ? p : pool.outH() * pool.outW();
    for (int b = 0; b < batch; b++) {
      FloatBuffer image = x.slice(b * imageLength, imageLength);
      FloatBuffer out = y.slice(b * outChannels * outputs, outChannels * outputs);
      if (!pointwise) { // one crossing: quantize, patches, product, (pool)
        Int8Conv.convImage(
            new ConvInput(image, channels, window.inH(), window.inW(), pads, xScale, xZeroPoint),
            weight,
            outChannels,
            patchWindow,
            directParams,
            bytes.slice(paddedAt, paddedLength),
            patches,
            pool == null ? null : frame.scratch().slice(0, outChannels * p),
            poolArgs,
            out);
        if (pool == null) {
          applyEpilogue(out);
        }
        continue;
      }
      Int8Conv.quantizeU8c4(image, channels, p, xScale, xZeroPoint, patches);
      if (pool == null) {
        Int8Conv.conv(weight, outChannels, r, patches, p, directParams, out, ConvBody.BEST);
        applyEpilogue(out);
      } else {
        FloatBuffer unpooled = frame.scratch().slice(0, outChannels * p);
        Int8Conv.conv(weight, outChannels, r, patches, p, directParams, unpooled, ConvBody.BEST);
        store(unpooled, p, window.outW(), y, b);
      }
    }
  }

  /**
   * The direct path: quantize into channel quads, one call over every tap into the wide planes
   * (scratch), then crop (or pool) into y.
   */
  private void runWide(Frame frame, FloatBuffer x, FloatBuffer y, int imageLength) {
    for (int b = 0; b < batch; b++) {
      wideImage(frame, x, y, imageLength, b, xScale, xZeroPoint, directParams);
      if (pool == null) {
        int outputs = pixels();
        applyEpilogue(y.slice(b * outChannels * outputs, outChannels * outputs));
      }
    }
  }

  /**
   * Whether {@link #runImage} can run this convolution (the wide and kw-quad direct paths) with a
   * quantization and output stage chosen per call — what a low-bit convolution with one weight
   * scale per output channel needs ({@link LowBitConvKernel}).
   */
  boolean perCallQuantization() {
    return (wide || kq) && epilogue.steps() == 0;
  }

  /**
   * Image {@code b} of the input through the wide or kw-quad direct path with activation scale
   * {@code scale}, zero point {@code zeroPoint} and output stage {@code params} instead of this
   * kernel's own; refused unless {@link #perCallQuantization()}.
   */
  void runImage(Frame frame, int b, float scale, int zeroPoint, RequantParams params) {
    if (!perCallQuantization()) {
      throw new IllegalStateException("QLinearConv: no per-call quantization on this path");
    }
    int imageLength = channels * window.inH() * window.inW();
    FloatBuffer x = frame.buffer(in);
    FloatBuffer y = frame.buffer(out);
    if (wide) {
      wideImage(frame, x, y, imageLength, b, scale, zeroPoint, params);
    } else {
      kqImage(frame, x, y, imageLength, b, scale, zeroPoint, params);
    }
  }

  private void wideImage(
      Frame frame,
      FloatBuffer x,
      FloatBuffer y,
      int imageLength,
      int b,
      float scale,
      int zeroPoint,
      RequantParams params) {
    int inputBytes = Math.toIntExact(Int8DirectConv.inputBytes(channels, pixelStride));
    int paddedLength = Math.multiplyExact(channels, paddedH * paddedW);
    int scratchAt = (inputBytes + 63) / 64 * 64;
    ByteBuffer bytes = frame.bytes(scratchAt + paddedLength);
    ByteBuffer x4 = bytes.slice(0, inputBytes);
    ByteBuffer padded = bytes.slice(scratchAt, paddedLength);
    int outputs = pool == null ? pixels() : pool.outH() * pool.outW();
    FloatBuffer out = y.slice(b * outChannels * outputs, outChannels * outputs);
    if (lanes) {
      FloatBuffer product =
          frame
              .scratch()
              .slice(
                  0,
                  Math.toIntExact(
                      Int8LanesConv.productFloats(outChannels, window.outH(), window.outW())));
      Int8LanesConv.image(
          new ConvInput(
              x.slice(b * imageLength, imageLength),
              channels,
              window.inH(),
              window.inW(),
              pads,
              scale,
              zeroPoint),
          lanesWeights,
          outChannels,
          window.kernelH(),
          window.kernelW(),
          pixelStride,
          params,
          padded,
          x4,
          product,
          poolArgs,
          out,
          ConvBody.BEST);
      return;
    }
    FloatBuffer planes = frame.scratch().slice(0, outChannels * wideLength);
    Int8DirectConv.image(
        new ConvInput(
            x.slice(b * imageLength, imageLength),
            channels,
            window.inH(),
            window.inW(),
            pads,
            scale,
            zeroPoint),
        directWeights,
        outChannels,
        window.kernelH(),
        window.kernelW(),
        pixelStride,
        params,
        padded,
        x4,
        planes,
        poolArgs,
        out);
  }

  /**
   * The kw-quad path for few input channels (an image's first layer): planes quantized and padded,
   * the product on wide rows into scratch, then crop (or pool) into y — one call per image.
   */
  private void runKq(Frame frame, FloatBuffer x, FloatBuffer y, int imageLength) {
    for (int b = 0; b < batch; b++) {
      kqImage(frame, x, y, imageLength, b, xScale, xZeroPoint, directParams);
      if (pool == null) {
        int outputs = pixels();
        applyEpilogue(y.slice(b * outChannels * outputs, outChannels * outputs));
      }
    }
  }

  private void kqImage(
      Frame frame,
      FloatBuffer x,
      FloatBuffer y,
      int imageLength,
      int b,
      float scale,
      int zeroPoint,
      RequantParams params) {
    ByteBuffer img =
        frame.bytes(Math.multiplyExact(channels, pixelStride)).slice(0, channels * pixelStride);
    FloatBuffer planes = frame.scratch().slice(0, outChannels * wideLength);
    int outputs = pool == null ? pixels() : pool.outH() * pool.outW();
    Int8KqConv.image(
        new ConvInput(
            x.slice(b * imageLength, imageLength),
            channels,
            window.inH(),
            window.inW(),
            pads,
            scale,
            zeroPoint),
        kqWeights,
        outChannels,
        window.kernelH(),
        window.kernelW(),
        pixelStride,
        params,
        img,
        planes,
        poolArgs,
        y.slice(b * outChannels * outputs, outChannels * outputs),
        ConvBody.BEST);
  }

  /** Image b's output planes (plane / row strides in floats) cropped or pooled into y. */
  private void store(FloatBuffer planes, int planeStride, int rowStride, FloatBuffer y, int b) {
    int outputs = pool == null ? pixels() : pool.outH() * pool.outW();
    Int8CropPool.cropPool(
        planes,
        outChannels,
        planeStride,
        rowStride,
        window.outH(),
        window.outW(),
        pool == null ? 0 : pool.kernelH(),
        pool == null ? 0 : pool.strideH(),
        pool == null ? 0 : pool.outH(),
        pool == null ? 0 : pool.outW(),
        y.slice(b * outChannels * outputs, outChannels * outputs));
  }

  /**
   * The same steps in C ({@link io.cacheai.kernels.U8Activations}): quantize (transposed for 1×1)
   * or quantize + im2row from the direct activation buffer, GEMM, and the output stage written
   * transposed into y — no heap copies and no Java loops.
   */
  private void runNative(
      Frame frame,
      FloatBuffer x,
      FloatBuffer y,
      FloatBuffer tmp,
      int imageLength,
      int r,
      int p,
      int rowsLength) {
    ByteBuffer bytes = frame.bytes(rowsLength + (pointwise ? 0 : imageLength));
    ByteBuffer rows = bytes.slice(0, rowsLength);
    int[] shape = {
      window.kernelH(),
      window.kernelW(),
      window.strideH(),
      window.strideW(),
      window.padTop(),
      window.padLeft(),
      window.dilationH(),
      window.dilationW(),
      window.outH(),
      window.outW()
    };
    for (int b = 0; b < batch; b++) {
      FloatBuffer image = x.slice(b * imageLength, imageLength);
      if (pointwise) {
        io.cacheai.kernels.U8Activations.quantizeTransposed(
            image, channels, p, xScale, xZeroPoint, rows);
      } else {
        ByteBuffer u8 = bytes.slice(rowsLength, imageLength);
        io.cacheai.kernels.U8Activations.quantize(image, imageLength, xScale, xZeroPoint, u8);
        io.cacheai.kernels.U8Activations.im2row(
            u8, channels, window.inH(), window.inW(), shape, xZeroPoint, rows);
      }
      FloatBuffer out = y.slice(b * outChannels * p, outChannels * p);
      gemm.runTransposed(
          p, outChannels, r, rows, weight, stage.bias(), stage.scale(), tmp, out, relu);
      applyEpilogue(out);
    }
  }

  /**
   * A 1×1 convolution with stride 1 and no padding (the pointwise half of a depthwise-separable
   * block): its patch rows are the image transposed, {@code rows[p][c] = q(x[c][p])}, made in one
   * pass without the u8 image in between.
   */
  private void quantizeTransposed(float[] image, byte[] rows) {
    int p = pixels();
    for (int c = 0; c < channels; c++) {
      int from = c * p;
      for (int pixel = 0, at = c; pixel < p; pixel++, at += channels) {
        rows[at] = (byte) U8Activations.quantize(image[from + pixel], xScale, xZeroPoint);
      }
    }
  }

  /** Patch rows of the u8 image at {@code image[imageAt..]} into {@code rows[0..P·R)}. */
  private void im2row(byte[] image, int imageAt, byte[] rows) {
    int inH = window.inH();
    int inW = window.inW();
    byte zero = (byte) xZeroPoint;
    int at = 0;
    for (int oh = 0; oh < window.outH(); oh++) {
      for (int ow = 0; ow < window.outW(); ow++) {
        for (int c = 0; c < channels; c++) {
          for (int kh = 0; kh < window.kernelH(); kh++) {
            int ih = oh * window.strideH() - window.padTop() + kh * window.dilationH();
            boolean rowInside = ih >= 0 && ih < inH;
            int base = imageAt + (c * inH + ih) * inW;
            for (int kw = 0; kw < window.kernelW(); kw++) {
              int iw = ow * window.strideW() - window.padLeft() + kw * window.dilationW();
              rows[at++] = rowInside && iw >= 0 && iw < inW ? image[base + iw] : zero;
            }
          }
        }
      }
    }
  }
}
