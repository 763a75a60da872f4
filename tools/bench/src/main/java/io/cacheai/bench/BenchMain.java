package io.cacheai.bench;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * Runs every benchmark in one JMH run and prints the README's table: medians (p50 of sampled times)
 * with cacheai and its peer side by side, and the ratio between them.
 *
 * <p>Usage: {@code java -jar tools/bench/target/benchmarks.jar [iterations]} (default 5 measured
 * iterations of 2 s after 3 warm-up iterations, one fork).
 */
public final class BenchMain {
  private BenchMain() {}

  public static void main(String[] args) throws RunnerException {
    int iterations = args.length > 0 ? Integer.parseInt(args[0]) : 5;
    Options options =
        new OptionsBuilder()
            .include(ModelBenchmark.class.getName())
            .include(BlasBenchmark.class.getName())
            .include(IntKernelBenchmark.class.getName())
            .mode(Mode.SampleTime)
            .timeUnit(TimeUnit.MICROSECONDS)
            .warmupIterations(3)
            .warmupTime(TimeValue.seconds(1))
            .measurementIterations(iterations)
            .measurementTime(TimeValue.seconds(2))
            .forks(1)
            .threads(1)
            .jvmArgsAppend("-Dcacheai.blas.threads=1")
            .build();
    Collection<RunResult> results = new Runner(options).run();
    System.out.println();
    System.out.print(table(results));
  }

  static String table(Collection<RunResult> results) {
    StringBuilder out = new StringBuilder();
    out.append("| model | batch | cacheai p50 (µs) | ONNX Runtime p50 (µs) | cacheai / ORT |\n");
    out.append("|---|---:|---:|---:|---:|\n");
    for (String model : List.of("mnist-mlp", "mnist-cnn")) {
      for (String batch : List.of("1", "64")) {
        double ours = median(results, "cacheai", model, batch);
        double peer = median(results, "onnxRuntime", model, batch);
        out.append(
            String.format(
                Locale.ROOT,
                "| %s | %s | %.1f | %.1f | %.2f |%n",
                model,
                batch,
                ours,
                peer,
                ours / peer));
      }
    }
    out.append("\n| OpenBLAS kernel (1 thread) | p50 (µs) | GFLOP/s |\n|---|---:|---:|\n");
    double gemm = median(results, "sgemm512", null, null);
    double gemv = median(results, "sgemv4096", null, null);
    double gemmFlops = 2.0 * Math.pow(BlasBenchmark.GEMM_SIZE, 3);
    double gemvFlops = 2.0 * Math.pow(BlasBenchmark.GEMV_SIZE, 2);
    out.append(
        String.format(
            Locale.ROOT, "| sgemm M=N=K=512 | %.1f | %.1f |%n", gemm, gemmFlops / gemm / 1e3));
    out.append(
        String.format(
            Locale.ROOT, "| sgemv 4096×4096 | %.1f | %.1f |%n", gemv, gemvFlops / gemv / 1e3));
    out.append(intKernelTable(results));
    return out.toString();
  }

  /** cacheai's integer kernels next to OpenBLAS fp32 on the same shapes (IntKernelBenchmark). */
  static String intKernelTable(Collection<RunResult> results) {
    StringBuilder out = new StringBuilder();
    out.append("\n| kernel (1 thread) | cacheai p50 (µs) | OpenBLAS fp32 p50 (µs) | speed-up |\n");
    out.append("|---|---:|---:|---:|\n");
    double sgemm = median(results, "sgemmM64", null, null);
    double sgemv = median(results, "sgemv", null, null);
    String[][] rows = {
      {"int8 GEMM M=64, K=N=4096 vs sgemm", "int8GemmM64", "gemm"},
      {"int8 GEMV K=N=4096 vs sgemv", "int8Gemv", "gemv"},
      {"q4g32 GEMV K=N=4096 vs sgemv", "q4Gemv", "gemv"},
    };
    for (String[] row : rows) {
      double ours = median(results, row[1], null, null);
      double peer = row[2].equals("gemm") ? sgemm : sgemv;
      out.append(
          String.format(
              Locale.ROOT, "| %s | %.1f | %.1f | %.2f× |%n", row[0], ours, peer, peer / ours));
    }
    return out.toString();
  }

  /** The p50 in µs of the benchmark method {@code method} with the given parameters. */
  private static double median(
      Collection<RunResult> results, String method, String model, String batch) {
    List<Double> found = new ArrayList<>();
    for (RunResult result : results) {
      var params = result.getParams();
      if (!params.getBenchmark().endsWith("." + method)) {
        continue;
      }
      if (model != null
          && !(model.equals(params.getParam("model")) && batch.equals(params.getParam("batch")))) {
        continue;
      }
      found.add(result.getPrimaryResult().getStatistics().getPercentile(50));
    }
    if (found.size() != 1) {
      throw new IllegalStateException(
          "expected one result for " + method + " " + model + " " + batch + ", got " + found);
    }
    return found.get(0);
  }
}
