package io.cacheai.runtime;

import io.cacheai.kernels.RequantParams;
import io.cacheai.kernels.Requantize;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;

/**
 * {@link Int8Gemm} on the native kernels: {@link io.cacheai.kernels.Int8Gemm#gemm} (u8×s8→s32, GEMV
 * for one row; weights read in place from the mapped bundle) into a per-thread s32 buffer, then
 * {@link Requantize#toF32} (+bias, ×scale). The native side checks every buffer's size before any
 * address crosses.
 */
final class NativeInt8Gemm implements Int8Gemm {
  static final NativeInt8Gemm INSTANCE = new NativeInt8Gemm();

  /** Whether the native library loaded (checked once). */
  static final boolean AVAILABLE = probe();

  private static boolean probe() {
    try {
      io.cacheai.kernels.IntKernels.avx2();
      return true;
    } catch (LinkageError e) {
      System.err.println(
          "cacheai: native integer kernels unavailable ("
              + e
              + "); int8 runs on the Java reference");
      return false;
    }
  }

  private static final ThreadLocal<IntBuffer[]> ACCUMULATORS =
      ThreadLocal.withInitial(() -> new IntBuffer[] {IntBuffer.allocate(0)});

  private NativeInt8Gemm() {}

  @Override
  public void run(
      int m,
      int n,
      int k,
      ByteBuffer a,
      ByteBuffer packedWeights,
      IntBuffer bias,
      FloatBuffer scale,
      FloatBuffer y) {
    run(m, n, k, a, packedWeights, bias, scale, y, false);
  }

  /** The ReLU in the output stage. */
  @Override
  public void run(
      int m,
      int n,
      int k,
      ByteBuffer a,
      ByteBuffer packedWeights,
      IntBuffer bias,
      FloatBuffer scale,
      FloatBuffer y,
      boolean relu) {
    IntBuffer acc = accumulate(m, n, k, a, packedWeights);
    Requantize.toF32(acc, m, n, params(bias, scale, relu), y.duplicate().clear());
  }

  /** The s32 product requantized straight into the transposed output; {@code tmp} is unused. */
  @Override
  public void runTransposed(
      int m,
      int n,
      int k,
      ByteBuffer a,
      ByteBuffer packedWeights,
      IntBuffer bias,
      FloatBuffer scale,
      FloatBuffer tmp,
      FloatBuffer yT,
      boolean relu) {
    IntBuffer acc = accumulate(m, n, k, a, packedWeights);
    io.cacheai.kernels.U8Activations.toF32Transposed(acc, m, n, params(bias, scale, relu), yT);
  }

  private static RequantParams params(IntBuffer bias, FloatBuffer scale, boolean relu) {
    return new RequantParams(bias.duplicate().clear(), scale.duplicate().clear(), 0, relu);
  }

  private static IntBuffer accumulate(int m, int n, int k, ByteBuffer a, ByteBuffer packedWeights) {
    IntBuffer[] holder = ACCUMULATORS.get();
    if (holder[0].capacity() < m * n || !holder[0].isDirect()) {
      holder[0] =
          ByteBuffer.allocateDirect(4 * Math.max(1, m * n))
              .order(ByteOrder.nativeOrder())
              .asIntBuffer();
    }
    IntBuffer acc = holder[0].duplicate().clear();
    ByteBuffer activations = a.duplicate().clear();
    ByteBuffer weights = packedWeights.duplicate().clear();
    if (m == 1) {
      io.cacheai.kernels.Int8Gemm.gemv(activations, k, weights, n, acc);
    } else {
      io.cacheai.kernels.Int8Gemm.gemm(activations, m, k, weights, n, acc);
    }
    return acc;
  }
}
