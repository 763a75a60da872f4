package io.cacheai.runtime;

import io.cacheai.kernels.Fp32Blas;
import java.nio.FloatBuffer;

/**
 * numpy matmul: [..., M, K] × [..., K, N] → [..., M, N] with broadcast batch axes (1-D operands
 * promoted). When B has no batch of its own, A's batch and M rows fold into one sgemm.
 */
final class MatMulKernel implements Kernel {
  private final int a;
  private final int b;
  private final int out;
  private final int m;
  private final int n;
  private final int k;
  private final int batches;
  private final long[] batchShape;
  private final long[] batchStridesA;
  private final long[] batchStridesB;
  private final boolean foldBatch;

  MatMulKernel(int a, int b, int out, long[] shapeA, long[] shapeB) {
    this.a = a;
    this.b = b;
    this.out = out;
    long[] a2 = shapeA.length == 1 ? new long[] {1, shapeA[0]} : shapeA;
    long[] b2 = shapeB.length == 1 ? new long[] {shapeB[0], 1} : shapeB;
    this.m = Math.toIntExact(a2[a2.length - 2]);
    this.k = Math.toIntExact(a2[a2.length - 1]);
    this.n = Math.toIntExact(b2[b2.length - 1]);
    long[] batchA = java.util.Arrays.copyOf(a2, a2.length - 2);
    long[] batchB = java.util.Arrays.copyOf(b2, b2.length - 2);
    this.batchShape = io.cacheai.graph.Shapes.broadcast(batchA, batchB);
    this.batches = Math.toIntExact(io.cacheai.graph.Shapes.elementCount(batchShape));
    this.batchStridesA = Broadcast.strides(batchA, batchShape);
    this.batchStridesB = Broadcast.strides(batchB, batchShape);
    this.foldBatch =
        io.cacheai.graph.Shapes.elementCount(batchB) == 1
            && io.cacheai.graph.Shapes.elementCount(batchA) == batches;
  }

  @Override
  public void run(Frame frame) {
    FloatBuffer x = frame.buffer(a);
    FloatBuffer w = frame.buffer(b);
    FloatBuffer y = frame.buffer(out);
    if (foldBatch) {
      Fp32Blas.gemm(false, false, batches * m, n, k, 1f, x, k, w, n, 0f, y, n);
      return;
    }
    for (int batch = 0; batch < batches; batch++) {
      long offsetA = 0;
      long offsetB = 0;
      int rest = batch;
      for (int axis = batchShape.length - 1; axis >= 0; axis--) {
        int index = (int) (rest % batchShape[axis]);
        rest /= (int) batchShape[axis];
        offsetA += index * batchStridesA[axis];
        offsetB += index * batchStridesB[axis];
      }
      Fp32Blas.gemm(
          false,
          false,
          m,
          n,
          k,
          1f,
          x.slice((int) (offsetA * m * k), m * k),
          k,
          w.slice((int) (offsetB * k * n), k * n),
          n,
          0f,
          y.slice(batch * m * n, m * n),
          n);
    }
  }
}
