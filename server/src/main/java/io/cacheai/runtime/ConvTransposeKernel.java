package io.cacheai.runtime;

import io.cacheai.graph.ConvTransposeGeometry;
import io.cacheai.kernels.Fp32Blas;
import java.nio.FloatBuffer;

/**
 * ConvTranspose as sgemm + col2im, per image and group (weight [C, Mg, kH, kW]):
 *
 * <pre>
 *   cols[Mg·kH·kW, H·W]  = W_gᵀ · X_g            (scratch; W_g is [Cg, Mg·kH·kW])
 *   Y[m, oh, ow]         = bias[m] + Σ cols[(m, kh, kw), (ih, iw)]
 *                          over oh = ih·sH − padTop + kh·dH, ow = iw·sW − padLeft + kw·dW
 * </pre>
 */
final class ConvTransposeKernel implements Kernel {
  private final int in;
  private final int weight;
  private final int bias;
  private final int out;
  private final int batch;
  private final int inChannels;
  private final int outChannels;
  private final int groups;
  private final ConvTransposeGeometry g;

  ConvTransposeKernel(
      int in,
      int weight,
      int bias,
      int out,
      long[] inShape,
      long[] weightShape,
      int groups,
      ConvTransposeGeometry geometry) {
    this.in = in;
    this.weight = weight;
    this.bias = bias;
    this.out = out;
    this.batch = Math.toIntExact(inShape[0]);
    this.inChannels = Math.toIntExact(inShape[1]);
    this.outChannels = Math.toIntExact(weightShape[1] * groups);
    this.groups = groups;
    this.g = geometry;
  }

  private int colRows() {
    return outChannels / groups * g.kernelH() * g.kernelW();
  }

  @Override
  public long scratchFloats() {
    return (long) colRows() * g.inH() * g.inW();
  }

  @Override
  public void run(Frame frame) {
    FloatBuffer x = frame.buffer(in);
    FloatBuffer w = frame.buffer(weight);
    FloatBuffer y = frame.buffer(out);
    int groupIn = inChannels / groups;
    int groupOut = outChannels / groups;
    int rows = colRows();
    int inPixels = g.inH() * g.inW();
    int outPixels = g.outH() * g.outW();
    FloatBuffer cols = frame.scratch().slice(0, rows * inPixels);
    float[] colsHeap = frame.heap(0, rows * inPixels);
    float[] plane = frame.heap(1, groupOut * outPixels);
    int taps = g.kernelH() * g.kernelW();
    for (int n = 0; n < batch; n++) {
      for (int group = 0; group < groups; group++) {
        Fp32Blas.gemm(
            true,
            false,
            rows,
            inPixels,
            groupIn,
            1f,
            w.slice(group * groupIn * rows, groupIn * rows),
            rows,
            x.slice((n * inChannels + group * groupIn) * inPixels, groupIn * inPixels),
            inPixels,
            0f,
            cols,
            inPixels);
        cols.get(0, colsHeap, 0, rows * inPixels);
        for (int m = 0; m < groupOut; m++) {
          float b = bias >= 0 ? frame.buffer(bias).get(group * groupOut + m) : 0f;
          java.util.Arrays.fill(plane, m * outPixels, (m + 1) * outPixels, b);
          for (int kh = 0; kh < g.kernelH(); kh++) {
            for (int kw = 0; kw < g.kernelW(); kw++) {
              int row = (m * taps + kh * g.kernelW() + kw) * inPixels;
              for (int ih = 0; ih < g.inH(); ih++) {
                int oh = ih * g.strideH() - g.padTop() + kh * g.dilationH();
                if (oh < 0 || oh >= g.outH()) {
                  continue;
                }
                int dst = m * outPixels + oh * g.outW();
                for (int iw = 0; iw < g.inW(); iw++) {
                  int ow = iw * g.strideW() - g.padLeft() + kw * g.dilationW();
                  if (ow >= 0 && ow < g.outW()) {
                    plane[dst + ow] += colsHeap[row + ih * g.inW() + iw];
                  }
                }
              }
            }
          }
        }
        y.put((n * outChannels + group * groupOut) * outPixels, plane, 0, groupOut * outPixels);
      }
    }
  }
}
