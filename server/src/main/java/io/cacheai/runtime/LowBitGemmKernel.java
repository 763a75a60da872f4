package io.cacheai.runtime;

import io.cacheai.graph.PackedTensor;
import io.cacheai.kernels.Fp32Blas;
import io.cacheai.kernels.Q4Gemm;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/**
 * {@code LowBitGemm}: y [M,N] = x [M,K] · Wᵀ + b with W stored 4-, 3- or 2-bit per group. With the
 * native kernels, q4g32 blocks run on {@link Q4Gemm} in place, and the 4/3/2-bit group formats are
 * transcoded once, exactly, into q4g32 blocks when the kernel is built ({@link
 * LowBitWeights#toQ4g32Blocks}). Reference path: W is expanded to fp32 in the frame for this run,
 * then one sgemm. A following ReLU may be fused ({@code relu}): applied with the bias, in the same
 * pass over y.
 */
final class LowBitGemmKernel implements Kernel {
  private final int in;
  private final int out;
  private final int m;
  private final int n;
  private final int k;
  private final PackedTensor weight;
  private final FloatBuffer bias;
  private final boolean relu;

  /** The bias on the heap (C2 vectorizes the add over an array, not over a mapped buffer). */
  private final float[] biasRow;

  /** The bias in a direct buffer for the native kernel (null: none). */
  private final FloatBuffer directBias;

  /** The weight in q4g32 blocks for the native kernel: in place, transcoded once, or null. */
  private final ByteBuffer blocks;

  LowBitGemmKernel(int in, int out, long[] inShape, PackedTensor weight, PackedTensor bias) {
    this(in, out, inShape, weight, bias, false);
  }

  LowBitGemmKernel(
      int in, int out, long[] inShape, PackedTensor weight, PackedTensor bias, boolean relu) {
    this(in, out, inShape, weight, bias, relu, nativeBlocks(weight));
  }

  /**
   * As above, on {@code blocks}: the weight's q4g32 blocks as {@link #nativeBlocks} gives them
   * (transcoded once by the caller and shared), or null for the reference path.
   */
  LowBitGemmKernel(
      int in,
      int out,
      long[] inShape,
      PackedTensor weight,
      PackedTensor bias,
      boolean relu,
      ByteBuffer blocks) {
    this.in = in;
    this.relu = relu;
    this.out = out;
    this.k = weight.rowLength();
    // every leading axis is a row: x [..., K] (a MatMul by a constant of rank 2)
    this.m = Math.toIntExact(io.cacheai.graph.Shapes.elementCount(inShape) / k);
    this.n = weight.rows();
    this.weight = weight;
    this.bias = bias == null ? null : bias.data().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
    this.biasRow = this.bias == null ? null : new float[n];
    if (biasRow != null) {
      this.bias.get(0, biasRow, 0, n);
    }
    this.directBias = biasRow == null ? null : io.cacheai.kernels.FloatBuffers.allocate(n);
    if (directBias != null) {
      directBias.put(0, biasRow);
    }
    this.blocks = blocks;
  }

  /**
   * The weight as q4g32 blocks for the native kernel: in place, or transcoded exactly from the
   * 4/3/2-bit group formats ({@link LowBitWeights#toQ4g32Blocks}); null without the native kernels
   * or when the format cannot be transcoded.
   */
  static ByteBuffer nativeBlocks(PackedTensor weight) {
    return !NativeInt8Gemm.AVAILABLE
        ? null
        : weight.format() == PackedTensor.Format.Q4G32_BLOCKS
            ? weight.data()
            : LowBitWeights.toQ4g32Blocks(weight);
  }

  /** Rows m of x [m, k]. */
  int rows() {
    return m;
  }

  /** The value id this kernel reads. */
  int input() {
    return in;
  }

  /** Whether the native q4g32 kernel runs this layer (a chain needs it, and k ≥ 1). */
  boolean runsNative() {
    return blocks != null && k > 0;
  }

  /** This layer as a link of a {@link io.cacheai.kernels.Q4GemmChain}. */
  io.cacheai.kernels.Q4GemmChain.Layer chainLayer() {
    return new io.cacheai.kernels.Q4GemmChain.Layer(
        blocks.duplicate().clear(), k, n, directBias, relu);
  }

  @Override
  public void run(Frame frame) {
    if (blocks != null) {
      runNative(frame);
      return;
    }
    FloatBuffer w = frame.dequantized(n * k);
    LowBitWeights.dequantize(weight, w);
    FloatBuffer y = frame.buffer(out);
    float beta = 0f;
    if (bias != null) {
      for (int i = 0; i < m; i++) {
        y.put(i * n, bias, 0, n);
      }
      beta = 1f;
    }
    Fp32Blas.gemm(false, true, m, n, k, 1f, frame.buffer(in), k, w, k, beta, y, n);
    if (relu) {
      float[] row = frame.heapOut(n);
      for (int i = 0; i < m; i++) {
        y.get(i * n, row, 0, n);
        for (int j = 0; j < n; j++) {
          row[j] = row[j] < 0f ? 0f : row[j];
        }
        y.put(i * n, row, 0, n);
      }
    }
  }

  /**
   * q4g32 blocks on the native kernel ({@link Q4Gemm}: activations quantized per group of 32 on the
   * fly, exact integer dot products, weights read in place); x is copied into a zero-padded row
   * when K is not a multiple of 32; then the bias.
   */
  private void runNative(Frame frame) {
    int kPadded = (k + 31) / 32 * 32;
    FloatBuffer x = frame.buffer(in);
    if (kPadded != k) {
      FloatBuffer padded = frame.dequantized(m * kPadded);
      float[] line = frame.heapIn(kPadded);
      java.util.Arrays.fill(line, k, kPadded, 0f);
      for (int i = 0; i < m; i++) {
        x.get(i * k, line, 0, k);
        padded.put(i * kPadded, line, 0, kPadded);
      }
      x = padded;
    }
    FloatBuffer y = frame.buffer(out);
    if (k == 0) { // no product: y = bias (ReLU'd) in Java
      for (int i = 0; i < m; i++) {
        for (int j = 0; j < n; j++) {
          float t = biasRow == null ? 0f : biasRow[j];
          y.put(i * n + j, relu && t < 0f ? 0f : t);
        }
      }
      return;
    }
    Q4Gemm.gemmBias(
        blocks,
        n,
        kPadded,
        x.duplicate().clear(),
        m,
        directBias,
        relu,
        y.duplicate().clear()); // bias and ReLU in the same crossing
  }
}
