package io.cacheai.runtime;

import io.cacheai.graph.Window2d;

/**
 * Depthwise convolution (group = input channels = output channels, weight [C,1,kH,kW]) as direct
 * loops: each output plane starts at its bias and adds, per kernel tap, the tap weight times a
 * shifted row of the input plane. Per tap and output row the valid output columns are computed
 * once, so the inner loop has no bounds checks of its own and, at stride 1, vectorizes. Through
 * im2col + sgemm each channel would be a product with one output row, which BLAS runs poorly.
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
    int inPlane = inH * inW;
    int outPlane = outH * outW;
    int taps = kH * kW;
    float[] x = frame.heap(0, batch * channels * inPlane);
    float[] y = frame.heap(1, batch * channels * outPlane);
    float[] w = frame.heap(2, channels * taps);
    frame.buffer(in).get(0, x, 0, batch * channels * inPlane);
    frame.buffer(weight).get(0, w, 0, channels * taps);
    for (int n = 0; n < batch; n++) {
      for (int c = 0; c < channels; c++) {
        int xBase = (n * channels + c) * inPlane;
        int yBase = (n * channels + c) * outPlane;
        float b = bias >= 0 ? frame.buffer(bias).get(c) : 0f;
        java.util.Arrays.fill(y, yBase, yBase + outPlane, b);
        for (int kh = 0; kh < kH; kh++) {
          for (int kw = 0; kw < kW; kw++) {
            float tap = w[c * taps + kh * kW + kw];
            int shift = kw * window.dilationW() - window.padLeft();
            // Valid columns: 0 <= ow·strideW + shift < inW.
            int owStart = shift >= 0 ? 0 : (-shift + strideW - 1) / strideW;
            int owEnd = inW - shift <= 0 ? 0 : Math.min(outW, (inW - shift - 1) / strideW + 1);
            if (owStart >= owEnd) {
              continue;
            }
            for (int oh = 0; oh < outH; oh++) {
              int ih = oh * strideH - window.padTop() + kh * window.dilationH();
              if (ih < 0 || ih >= inH) {
                continue;
              }
              int src = xBase + ih * inW + shift;
              int dst = yBase + oh * outW;
              if (strideW == 1) {
                for (int ow = owStart; ow < owEnd; ow++) {
                  y[dst + ow] += tap * x[src + ow];
                }
              } else {
                for (int ow = owStart; ow < owEnd; ow++) {
                  y[dst + ow] += tap * x[src + ow * strideW];
                }
              }
            }
          }
        }
      }
    }
    frame.buffer(out).put(0, y, 0, batch * channels * outPlane);
  }
}
