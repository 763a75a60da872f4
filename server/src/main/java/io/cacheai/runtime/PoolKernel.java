package io.cacheai.runtime;

import io.cacheai.graph.Window2d;
import java.nio.FloatBuffer;

/**
 * MaxPool and AveragePool over [N, C, H, W]. Padding never wins a max. For the average, the divisor
 * follows ONNX Runtime: with {@code count_include_pad} it counts the window's positions inside the
 * padded input (not those past it, which ceil_mode can create); without, only real input positions.
 */
final class PoolKernel implements Kernel {
  private final int in;
  private final int out;
  private final int planes;
  private final Window2d window;
  private final boolean max;
  private final boolean countIncludePad;

  PoolKernel(
      int in, int out, long[] inShape, Window2d window, boolean max, boolean countIncludePad) {
    this.in = in;
    this.out = out;
    this.planes = Math.toIntExact(inShape[0] * inShape[1]);
    this.window = window;
    this.max = max;
    this.countIncludePad = countIncludePad;
  }

  /** Whether the native fp32 kernels load here (checked once); else MaxPool stays in Java. */
  private static final boolean NATIVE = probe();

  private static boolean probe() {
    try {
      io.cacheai.kernels.Fp32Kernels.packedGemmAvailable();
      return true;
    } catch (LinkageError e) {
      return false;
    }
  }

  @Override
  public void run(Frame frame) {
    FloatBuffer x = frame.buffer(in);
    FloatBuffer y = frame.buffer(out);
    if (max && NATIVE) {
      // in C, reading the direct buffers in place (same rule: Math.max, padding never wins)
      io.cacheai.kernels.Fp32Kernels.maxPool2d(
          x,
          y,
          planes,
          window.inH(),
          window.inW(),
          window.outH(),
          window.outW(),
          new int[] {
            window.kernelH(),
            window.kernelW(),
            window.strideH(),
            window.strideW(),
            window.padTop(),
            window.padLeft(),
            window.dilationH(),
            window.dilationW()
          });
      return;
    }
    if (!max && NATIVE && window.dilationH() == 1 && window.dilationW() == 1) {
      io.cacheai.kernels.Fp32Kernels.avgPool2d(
          x,
          y,
          planes,
          window.inH(),
          window.inW(),
          window.outH(),
          window.outW(),
          new int[] {
            window.kernelH(),
            window.kernelW(),
            window.strideH(),
            window.strideW(),
            window.padTop(),
            window.padLeft(),
            window.padBottom(),
            window.padRight()
          },
          countIncludePad);
      return;
    }
    runJava(x, y, frame);
  }

  /** The Java loops (without the native kernels; AveragePool with dilation). */
  void runJava(FloatBuffer x, FloatBuffer y, Frame frame) {
    int inH = window.inH();
    int inW = window.inW();
    int outH = window.outH();
    int outW = window.outW();
    float[] source = frame.heapIn(inH * inW);
    float[] target = frame.heapOut(outH * outW);
    for (int plane = 0; plane < planes; plane++) {
      x.get(plane * inH * inW, source, 0, inH * inW);
      for (int oh = 0; oh < outH; oh++) {
        int h0 = oh * window.strideH() - window.padTop();
        for (int ow = 0; ow < outW; ow++) {
          int w0 = ow * window.strideW() - window.padLeft();
          target[oh * outW + ow] = max ? max(source, h0, w0) : average(source, h0, w0);
        }
      }
      y.put(plane * outH * outW, target, 0, outH * outW);
    }
  }

  private float max(float[] x, int h0, int w0) {
    float best = Float.NEGATIVE_INFINITY;
    for (int kh = 0; kh < window.kernelH(); kh++) {
      int h = h0 + kh * window.dilationH();
      if (h < 0 || h >= window.inH()) {
        continue;
      }
      for (int kw = 0; kw < window.kernelW(); kw++) {
        int w = w0 + kw * window.dilationW();
        if (w >= 0 && w < window.inW()) {
          best = Math.max(best, x[h * window.inW() + w]);
        }
      }
    }
    return best;
  }

  private float average(float[] x, int h0, int w0) {
    int h1 = Math.min(h0 + window.kernelH(), window.inH() + window.padBottom());
    int w1 = Math.min(w0 + window.kernelW(), window.inW() + window.padRight());
    int paddedCount = (h1 - h0) * (w1 - w0);
    int hStart = Math.max(h0, 0);
    int wStart = Math.max(w0, 0);
    int hEnd = Math.min(h1, window.inH());
    int wEnd = Math.min(w1, window.inW());
    float sum = 0f;
    for (int h = hStart; h < hEnd; h++) {
      for (int w = wStart; w < wEnd; w++) {
        sum += x[h * window.inW() + w];
      }
    }
    int count = countIncludePad ? paddedCount : (hEnd - hStart) * (wEnd - wStart);
    return count > 0 ? sum / count : 0f;
  }
}
