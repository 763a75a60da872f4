package io.cacheai.runtime;

import io.cacheai.graph.PackedTensor;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/**
 * {@code LowBitConv}: a convolution whose weight is stored 4- or 3-bit per group. The weight is
 * expanded to fp32 once when the kernel is built (4 bytes per weight in memory; the bundle keeps
 * the packed form), copied into the frame for each run, the fp32 {@link ConvKernel} runs on it
 * (weight id −1 = the frame's expanded weights), then the fp32 bias is added per channel.
 */
final class LowBitConvKernel implements Kernel {
  private final ConvKernel conv;
  private final PackedTensor weight;
  private final FloatBuffer bias;
  private final int out;
  private final int batch;
  private final int channels;
  private final int pixels;

  /** The weight expanded to fp32 once (the packed form stays in the bundle), copied per run. */
  private final FloatBuffer expanded;

  LowBitConvKernel(
      ConvKernel conv, int out, long[] outShape, PackedTensor weight, PackedTensor bias) {
    this.conv = conv;
    this.out = out;
    this.weight = weight;
    this.bias = bias == null ? null : bias.data().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
    this.batch = Math.toIntExact(outShape[0]);
    this.channels = Math.toIntExact(outShape[1]);
    this.pixels = Math.toIntExact(io.cacheai.graph.Shapes.product(outShape, 2, outShape.length));
    this.expanded =
        io.cacheai.kernels.FloatBuffers.allocate(
            Math.multiplyExact(weight.rows(), weight.rowLength()));
    LowBitWeights.dequantize(weight, expanded);
  }

  @Override
  public long scratchFloats() {
    return conv.scratchFloats();
  }

  @Override
  public void run(Frame frame) {
    int count = weight.rows() * weight.rowLength();
    frame.dequantized(count).put(0, expanded, 0, count);
    conv.run(frame);
    if (bias != null) {
      FloatBuffer y = frame.buffer(out);
      for (int b = 0; b < batch; b++) {
        for (int c = 0; c < channels; c++) {
          float v = bias.get(c);
          int base = (b * channels + c) * pixels;
          for (int p = 0; p < pixels; p++) {
            y.put(base + p, y.get(base + p) + v);
          }
        }
      }
    }
  }
}
