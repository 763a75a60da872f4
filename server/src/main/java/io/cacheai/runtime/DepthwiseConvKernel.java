package io.cacheai.runtime;

import io.cacheai.graph.Window2d;
import java.nio.FloatBuffer;

/**
 * Depthwise convolution (group = input channels = output channels, weight [C,1,kH,kW]) as direct
 * loops, per channel:
 *
 * <pre>
 *   xp[Hp, Wp]        the input plane with its zero padding around it (heap)
 *   acc[run]          all output rows at stride 1, in the padded width:
 *                     bias + Σ_taps w[kh,kw] · xp[kh·dH·Wp + kw·dW ..]
 *   y[oh, ow]         ← acc[oh·sH·Wp + ow·sW]
 * </pre>
 *
 * Each tap's input segment is first copied to offset 0 of a scratch array: C2 vectorizes {@code
 * acc[i] += w · seg[i]} but not the same loop reading the plane at a shifted offset (measured 3–5×
 * slower). Through im2col + sgemm each channel would be a product with one output row, which BLAS
 * runs poorly.
 */
final class DepthwiseConvKernel implements Kernel {
  private final int in;
  private final int weight;
  private final int bias;
  private final int out;
  private final int batch;
  private final int channels;
  private final Window2d window;

  DepthwiseConvKernel(int in, int weight, int bias, int out, long[] inShape, Window2d window) {
    this.in = in;
    this.weight = weight;
    this.bias = bias;
    this.out = out;
    this.batch = Math.toIntExact(inShape[0]);
    this.channels = Math.toIntExact(inShape[1]);
    this.window = window;
  }

  @Override
  public void run(Frame frame) {
    int inH = window.inH();
    int inW = window.inW();
    int outH = window.outH();
    int outW = window.outW();
    int kH = window.kernelH();
    int kW = window.kernelW();
    int strideH = window.strideH();
    int strideW = window.strideW();
    int dilationH = window.dilationH();
    int dilationW = window.dilationW();
    int padTop = window.padTop();
    int padLeft = window.padLeft();
    int paddedH = inH + padTop + window.padBottom();
    int paddedW = inW + padLeft + window.padRight();
    int taps = kH * kW;
    // All output rows are one run over the padded plane's rows (columns past the last output column
    // and, with
    // strideH > 1, the rows between output rows are computed and discarded: long loops win); the
    // last tap's run reaches (kW-1)·dW past the plane, hence the zero tail.
    int rowStep = strideH * paddedW;
    int run = (outH - 1) * rowStep + paddedW;
    int planeFloats = paddedH * paddedW + (kW - 1) * dilationW;
    float[] xp = frame.heap(0, planeFloats);
    float[] w = frame.heap(1, channels * taps);
    float[] acc = frame.heap(2, run);
    float[] segment = frame.heap(3, run);
    java.util.Arrays.fill(xp, 0, planeFloats, 0f);
    FloatBuffer x = frame.buffer(in);
    FloatBuffer y = frame.buffer(out);
    frame.buffer(weight).get(0, w, 0, channels * taps);
    for (int n = 0; n < batch; n++) {
      for (int c = 0; c < channels; c++) {
        int xBase = (n * channels + c) * inH * inW;
        int yBase = (n * channels + c) * outH * outW;
        for (int ih = 0; ih < inH; ih++) {
          x.get(xBase + ih * inW, xp, (ih + padTop) * paddedW + padLeft, inW);
        }
        float b = bias >= 0 ? frame.buffer(bias).get(c) : 0f;
        accumulate(xp, paddedW, w, c * taps, b, acc, segment, run);
        for (int oh = 0; oh < outH; oh++) {
          store(y, yBase + oh * outW, acc, oh * rowStep, outW, strideW);
        }
      }
    }
  }

  /** acc[0..run) = bias + Σ_taps w · xp[kh·dH·Wp + kw·dW ..]. */
  private void accumulate(
      float[] xp,
      int paddedW,
      float[] w,
      int wBase,
      float bias,
      float[] acc,
      float[] segment,
      int run) {
    java.util.Arrays.fill(acc, 0, run, bias);
    for (int kh = 0; kh < window.kernelH(); kh++) {
      int rowStart = kh * window.dilationH() * paddedW;
      for (int kw = 0; kw < window.kernelW(); kw++) {
        float tap = w[wBase + kh * window.kernelW() + kw];
        System.arraycopy(xp, rowStart + kw * window.dilationW(), segment, 0, run);
        for (int i = 0; i < run; i++) {
          acc[i] += tap * segment[i];
        }
      }
    }
  }

  /** Writes one output row: acc[from], acc[from + strideW], ... */
  private static void store(FloatBuffer y, int at, float[] acc, int from, int outW, int strideW) {
    if (strideW == 1) {
      y.put(at, acc, from, outW);
    } else {
      for (int ow = 0; ow < outW; ow++) {
        y.put(at + ow, acc[from + ow * strideW]);
      }
    }
  }
}
