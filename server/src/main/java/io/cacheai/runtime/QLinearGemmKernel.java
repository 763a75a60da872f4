package io.cacheai.runtime;

import io.cacheai.graph.PackedTensor;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.util.List;

/**
 * {@code QLinearGemm} (see {@link io.cacheai.graph.OpType}): quantize x [M,K] to u8 with the
 * calibrated scale and zero point, then one {@link Int8Gemm} against the int8 weight [N,K] read in
 * place, its output stage producing fp32 y [M,N] directly (with a following ReLU fused when {@code
 * relu}).
 */
final class QLinearGemmKernel implements Kernel {
  private final int in;
  private final int out;
  private final int m;
  private final int n;
  private final int k;
  private final float xScale;
  private final int xZeroPoint;
  private final ByteBuffer weight;
  private final Int8OutputStage stage;
  private final Int8Gemm gemm;
  private final boolean relu;
  private final io.cacheai.kernels.RequantParams params;

  QLinearGemmKernel(
      int in,
      int out,
      long[] inShape,
      PackedTensor weight,
      PackedTensor bias,
      float xScale,
      int xZeroPoint,
      Int8Gemm gemm,
      boolean relu) {
    this.relu = relu;
    this.in = in;
    this.out = out;
    this.k = weight.rowLength();
    // every leading axis is a row: x [..., K] (a MatMul by a constant of rank 2)
    this.m = Math.toIntExact(io.cacheai.graph.Shapes.elementCount(inShape) / k);
    this.n = weight.rows();
    this.xScale = xScale;
    this.xZeroPoint = xZeroPoint;
    this.weight = weight.data();
    this.stage = Int8OutputStage.of(weight, bias, xScale, xZeroPoint);
    this.gemm = gemm;
    this.params = new io.cacheai.kernels.RequantParams(stage.bias(), stage.scale(), 0, relu);
  }

  /** This layer as a link of an {@link io.cacheai.kernels.Int8GemmChain} (native kernels only). */
  io.cacheai.kernels.Int8GemmChain.Layer chainLayer() {
    return new io.cacheai.kernels.Int8GemmChain.Layer(weight, k, n, xScale, xZeroPoint, params);
  }

  /**
   * This layer as a step of an {@link io.cacheai.kernels.Int8Sequence} (a chain of one layer: the
   * same C function as {@link #run}), or null off the native kernels.
   */
  io.cacheai.kernels.Int8Sequence.Step sequenceStep() {
    return runsNative()
        ? new io.cacheai.kernels.Int8Sequence.GemmChain(
            new io.cacheai.kernels.Int8GemmChain(List.of(chainLayer())), m)
        : null;
  }

  /** The value id this kernel writes. */
  int output() {
    return out;
  }

  /** Rows m of x [m, k]. */
  int rows() {
    return m;
  }

  /** The value id this kernel reads. */
  int input() {
    return in;
  }

  /** Whether the native kernels run this layer (a chain needs them). */
  boolean runsNative() {
    return gemm instanceof NativeInt8Gemm;
  }

  @Override
  public void run(Frame frame) {
    int length = m * k;
    ByteBuffer a = frame.bytes(length);
    FloatBuffer y = frame.buffer(out);
    if (gemm instanceof NativeInt8Gemm) {
      // one crossing into C straight from the direct activation buffer: quantize, product,
      // output stage (u8 activations, then s32 accumulators, in the frame's bytes)
      int accAt = (length + 63) / 64 * 64;
      ByteBuffer bytes = frame.bytes(accAt + 4 * m * n);
      io.cacheai.kernels.Int8Gemm.quantizedLayer(
          frame.buffer(in),
          m,
          k,
          xScale,
          xZeroPoint,
          weight,
          n,
          params,
          bytes.slice(0, length),
          bytes.slice(accAt, 4 * m * n).order(java.nio.ByteOrder.nativeOrder()).asIntBuffer(),
          y);
      return;
    }
    float[] x = frame.heapIn(length);
    byte[] q = frame.heapBytes(length);
    frame.buffer(in).get(0, x, 0, length);
    for (int i = 0; i < length; i++) {
      q[i] = (byte) U8Activations.quantize(x[i], xScale, xZeroPoint);
    }
    a.put(0, q, 0, length);
    gemm.run(m, n, k, a, weight, stage.bias(), stage.scale(), y, relu);
  }
}
