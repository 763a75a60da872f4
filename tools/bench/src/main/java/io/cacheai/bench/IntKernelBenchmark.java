package io.cacheai.bench;

import io.cacheai.kernels.FloatBuffers;
import io.cacheai.kernels.Fp32Blas;
import io.cacheai.kernels.Int8Gemm;
import io.cacheai.kernels.IntKernels;
import io.cacheai.kernels.Q4Gemm;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * cacheai's integer kernels against OpenBLAS fp32 on the same shapes, single thread, same run: a
 * weight matrix W [N=4096, K=4096] (as a layer stores it) times M=64 activation rows (GEMM) or one
 * (GEMV). Ratios are the figures to read: int8 GEMM vs sgemm (target ≥ 2.5×), int8 and 4-bit GEMV
 * vs sgemv (target ≥ 3×).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class IntKernelBenchmark {
  static final int M = 64;
  static final int N = 4096;
  static final int K = 4096;

  private FloatBuffer weightsF32; // [N, K]
  private FloatBuffer activationsF32; // [M, K]
  private FloatBuffer outF32; // [M, N]
  private ByteBuffer weightsS8Packed;
  private ByteBuffer activationsU8; // [M, K]
  private IntBuffer outS32; // [M, N]
  private ByteBuffer weightsQ4;

  /**
   * Thread CPU time per call of each benchmark method (median of {@code rounds}), for a machine
   * shared with other work: wall-clock JMH figures there measure the neighbours as much as the
   * kernel. Usage: {@code java -cp benchmarks.jar io.cacheai.bench.IntKernelBenchmark [rounds]}.
   */
  public static void main(String[] args) {
    int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 15;
    IntKernelBenchmark bench = new IntKernelBenchmark();
    bench.setUp();
    java.lang.management.ThreadMXBean threads =
        java.lang.management.ManagementFactory.getThreadMXBean();
    java.util.Map<String, Runnable> kernels = new java.util.LinkedHashMap<>();
    kernels.put("sgemmM64", bench::sgemmM64);
    kernels.put("int8GemmM64", bench::int8GemmM64);
    kernels.put("int8GemmM64Avx2", bench::int8GemmM64Avx2);
    kernels.put("sgemv", bench::sgemv);
    kernels.put("int8Gemv", bench::int8Gemv);
    kernels.put("int8GemvAvx2", bench::int8GemvAvx2);
    kernels.put("q4Gemv", bench::q4Gemv);
    java.util.Map<String, Double> medianUs = new java.util.LinkedHashMap<>();
    for (var kernel : kernels.entrySet()) {
      int callsPerRound = kernel.getKey().contains("M64") ? 2 : 40;
      for (int i = 0; i < 3 * callsPerRound; i++) {
        kernel.getValue().run(); // warm-up: JIT, caches, page faults
      }
      double[] us = new double[rounds];
      for (int r = 0; r < rounds; r++) {
        long start = threads.getCurrentThreadCpuTime();
        for (int i = 0; i < callsPerRound; i++) {
          kernel.getValue().run();
        }
        us[r] = (threads.getCurrentThreadCpuTime() - start) / 1e3 / callsPerRound;
      }
      java.util.Arrays.sort(us);
      medianUs.put(kernel.getKey(), us[rounds / 2]);
    }
    double gemmOps = 2.0 * M * N * K;
    double gemvOps = 2.0 * N * K;
    System.out.println(
        "| kernel (1 thread, thread CPU time) | µs/call | G(FL)OP/s | vs OpenBLAS |");
    System.out.println("|---|---:|---:|---:|");
    String isa = IntKernels.vnni() ? "VNNI" : "AVX2";
    String[][] rows = {
      {"sgemmM64", "OpenBLAS sgemm M=64, K=N=4096", "sgemmM64"},
      {"int8GemmM64", "int8 GEMM M=64, K=N=4096 (" + isa + ")", "sgemmM64"},
      {"int8GemmM64Avx2", "int8 GEMM M=64, K=N=4096 (AVX2, VNNI off)", "sgemmM64"},
      {"sgemv", "OpenBLAS sgemv K=N=4096", "sgemv"},
      {"int8Gemv", "int8 GEMV K=N=4096 (" + isa + ")", "sgemv"},
      {"int8GemvAvx2", "int8 GEMV K=N=4096 (AVX2, VNNI off)", "sgemv"},
      {"q4Gemv", "q4g32 GEMV K=N=4096", "sgemv"},
    };
    for (String[] row : rows) {
      double us = medianUs.get(row[0]);
      double ops = row[0].contains("M64") ? gemmOps : gemvOps;
      System.out.printf(
          java.util.Locale.ROOT,
          "| %s | %.1f | %.1f | %.2f× |%n",
          row[1],
          us,
          ops / us / 1e3,
          medianUs.get(row[2]) / us);
    }
  }

  @Setup
  public void setUp() {
    if (!IntKernels.avx2()) {
      throw new IllegalStateException("AVX2 kernels are not active on this CPU");
    }
    Random random = new Random(1);
    weightsF32 = FloatBuffers.allocate(N * K);
    for (int i = 0; i < N * K; i++) {
      weightsF32.put(i, random.nextFloat() - 0.5f);
    }
    activationsF32 = FloatBuffers.allocate(M * K);
    for (int i = 0; i < M * K; i++) {
      activationsF32.put(i, random.nextFloat() - 0.5f);
    }
    outF32 = FloatBuffers.allocate(M * N);

    ByteBuffer weightsS8 = ByteBuffer.allocateDirect(N * K);
    for (int i = 0; i < N * K; i++) {
      weightsS8.put(i, (byte) (random.nextInt(255) - 127));
    }
    weightsS8Packed = ByteBuffer.allocateDirect((int) Int8Gemm.packedSizeBytes(N, K));
    Int8Gemm.pack(weightsS8, N, K, weightsS8Packed);
    activationsU8 = ByteBuffer.allocateDirect(M * K);
    for (int i = 0; i < M * K; i++) {
      activationsU8.put(i, (byte) random.nextInt(256));
    }
    outS32 =
        ByteBuffer.allocateDirect(M * N * Integer.BYTES)
            .order(ByteOrder.nativeOrder())
            .asIntBuffer();

    weightsQ4 = ByteBuffer.allocateDirect((int) Q4Gemm.sizeBytes(N, K));
    Q4Gemm.quantize(weightsF32, N, K, weightsQ4);
  }

  /** OpenBLAS: C[64,4096] = X[64,4096] · Wᵀ. */
  @Benchmark
  public FloatBuffer sgemmM64() {
    Fp32Blas.gemm(false, true, M, N, K, 1f, activationsF32, K, weightsF32, K, 0f, outF32, N);
    return outF32;
  }

  /** cacheai: the same product on u8 activations and packed s8 weights, exact s32 output. */
  @Benchmark
  public IntBuffer int8GemmM64() {
    Int8Gemm.gemm(activationsU8, M, K, weightsS8Packed, N, outS32);
    return outS32;
  }

  /** The same int8 GEMM with the AVX-512 VNNI body turned off: the AVX2 body, for comparison. */
  @Benchmark
  public IntBuffer int8GemmM64Avx2() {
    IntKernels.forceNoVnni(true);
    try {
      return int8GemmM64();
    } finally {
      IntKernels.forceNoVnni(false);
    }
  }

  /** The int8 GEMV on the AVX2 body (VNNI off). */
  @Benchmark
  public IntBuffer int8GemvAvx2() {
    IntKernels.forceNoVnni(true);
    try {
      return int8Gemv();
    } finally {
      IntKernels.forceNoVnni(false);
    }
  }

  /** OpenBLAS: y[4096] = W · x. */
  @Benchmark
  public FloatBuffer sgemv() {
    Fp32Blas.gemv(false, N, K, 1f, weightsF32, K, activationsF32, 0f, outF32);
    return outF32;
  }

  /** cacheai: y = W · x, u8 x, packed s8 W. */
  @Benchmark
  public IntBuffer int8Gemv() {
    Int8Gemm.gemv(activationsU8, K, weightsS8Packed, N, outS32);
    return outS32;
  }

  /** cacheai: y = W · x, fp32 x, q4g32 W (5 bits per weight). */
  @Benchmark
  public FloatBuffer q4Gemv() {
    Q4Gemm.gemv(weightsQ4, N, K, activationsF32, outF32);
    return outF32;
  }
}
