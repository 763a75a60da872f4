package io.cacheai.runtime;

import io.cacheai.graph.Window2d;
import io.cacheai.kernels.Fp32Blas;
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
 */
final class ConvKernel implements Kernel {
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

  ConvKernel(
      int in,
      int weight,
      int bias,
      int out,
      long[] inShape,
      long[] weightShape,
      int groups,
      Window2d window) {
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
  }

  private int patchRows() {
    return inChannels / groups * window.kernelH() * window.kernelW();
  }

  private int outPixels() {
    return window.outH() * window.outW();
  }

  @Override
  public long scratchFloats() {
    return pointwise ? 0 : (long) patchRows() * outPixels();
  }

  @Override
  public void run(Frame frame) {
    FloatBuffer x = frame.buffer(in);
    FloatBuffer w = frame.buffer(weight);
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
          im2col(x, inOffset, groupIn, cols);
          patches = cols;
        }
        int outOffset = (n * outChannels + g * groupOut) * pixels;
        FloatBuffer target = y.slice(outOffset, groupOut * pixels);
        float beta = 0f;
        if (bias >= 0) {
          FloatBuffer b = frame.buffer(bias);
          for (int m = 0; m < groupOut; m++) {
            float value = b.get(g * groupOut + m);
            for (int p = 0; p < pixels; p++) {
              target.put(m * pixels + p, value);
            }
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

  /** Writes the [groupIn·kH·kW, oH·oW] patch matrix of one image's group into {@code cols}. */
  private void im2col(FloatBuffer x, int inOffset, int groupIn, FloatBuffer cols) {
    int inH = window.inH();
    int inW = window.inW();
    int outH = window.outH();
    int outW = window.outW();
    int row = 0;
    for (int c = 0; c < groupIn; c++) {
      int channelOffset = inOffset + c * inH * inW;
      for (int kh = 0; kh < window.kernelH(); kh++) {
        for (int kw = 0; kw < window.kernelW(); kw++) {
          int base = row * outH * outW;
          for (int oh = 0; oh < outH; oh++) {
            int ih = oh * window.strideH() - window.padTop() + kh * window.dilationH();
            boolean rowInside = ih >= 0 && ih < inH;
            for (int ow = 0; ow < outW; ow++) {
              int iw = ow * window.strideW() - window.padLeft() + kw * window.dilationW();
              cols.put(
                  base + oh * outW + ow,
                  rowInside && iw >= 0 && iw < inW ? x.get(channelOffset + ih * inW + iw) : 0f);
            }
          }
          row++;
        }
      }
    }
  }
}
