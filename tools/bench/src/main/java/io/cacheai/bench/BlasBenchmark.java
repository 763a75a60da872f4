package io.cacheai.bench;

import io.cacheai.kernels.FloatBuffers;
import io.cacheai.kernels.Fp32Blas;
import java.nio.FloatBuffer;
import java.util.Random;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/** OpenBLAS through the Fp32Blas facade: the ceiling every fp32 model figure is read against. */
@State(Scope.Thread)
public class BlasBenchmark {
  static final int GEMM_SIZE = 512;
  static final int GEMV_SIZE = 4096;

  private FloatBuffer gemmA;
  private FloatBuffer gemmB;
  private FloatBuffer gemmC;
  private FloatBuffer gemvA;
  private FloatBuffer gemvX;
  private FloatBuffer gemvY;

  @Setup
  public void setUp() {
    Random random = new Random(1);
    gemmA = randomBuffer(random, GEMM_SIZE * GEMM_SIZE);
    gemmB = randomBuffer(random, GEMM_SIZE * GEMM_SIZE);
    gemmC = FloatBuffers.allocate(GEMM_SIZE * GEMM_SIZE);
    gemvA = randomBuffer(random, GEMV_SIZE * GEMV_SIZE);
    gemvX = randomBuffer(random, GEMV_SIZE);
    gemvY = FloatBuffers.allocate(GEMV_SIZE);
  }

  /** C = A·B at M=N=K=512: 2·512³ floating-point operations. */
  @Benchmark
  public FloatBuffer sgemm512() {
    int n = GEMM_SIZE;
    Fp32Blas.gemm(false, false, n, n, n, 1f, gemmA, n, gemmB, n, 0f, gemmC, n);
    return gemmC;
  }

  /** y = A·x with A 4096×4096: 2·4096² floating-point operations. */
  @Benchmark
  public FloatBuffer sgemv4096() {
    int n = GEMV_SIZE;
    Fp32Blas.gemv(false, n, n, 1f, gemvA, n, gemvX, 0f, gemvY);
    return gemvY;
  }

  private static FloatBuffer randomBuffer(Random random, int length) {
    FloatBuffer buffer = FloatBuffers.allocate(length);
    for (int i = 0; i < length; i++) {
      buffer.put(i, random.nextFloat() - 0.5f);
    }
    return buffer;
  }
}
