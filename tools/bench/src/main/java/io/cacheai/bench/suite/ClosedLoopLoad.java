package io.cacheai.bench.suite;

import inference.GRPCInferenceServiceGrpc;
import inference.GrpcService.ModelInferRequest;
import inference.GrpcService.ModelInferResponse;
import io.grpc.stub.StreamObserver;
import java.util.Arrays;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A closed-loop gRPC load: {@code concurrency} callers, each sending the next ModelInfer as soon as
 * its previous answer arrives, until the window's time is up (then the calls in flight finish).
 * Bounded in time and, through the per-call deadline, in how long a lost answer can hold a window.
 */
final class ClosedLoopLoad implements WindowedMeasurement.Load {
  static final long DEADLINE_MS = 10_000;

  private final GRPCInferenceServiceGrpc.GRPCInferenceServiceStub stub;
  private final ModelInferRequest request;
  private final int concurrency;

  ClosedLoopLoad(
      GRPCInferenceServiceGrpc.GRPCInferenceServiceStub stub,
      ModelInferRequest request,
      int concurrency) {
    if (concurrency < 1) {
      throw new IllegalArgumentException("concurrency=" + concurrency + " (>= 1)");
    }
    this.stub = stub;
    this.request = request;
    this.concurrency = concurrency;
  }

  @Override
  public Window run(long durationMs) throws InterruptedException {
    Recorder recorder = new Recorder(System.nanoTime() + durationMs * 1_000_000L, concurrency);
    for (int i = 0; i < concurrency; i++) {
      send(recorder);
    }
    if (!recorder.callers.await(durationMs + 2 * DEADLINE_MS, TimeUnit.MILLISECONDS)) {
      throw new IllegalStateException(
          "concurrency=" + concurrency + ": calls still open after the deadline");
    }
    return recorder.window();
  }

  private void send(Recorder recorder) {
    long startNs = System.nanoTime();
    stub.withDeadlineAfter(DEADLINE_MS, TimeUnit.MILLISECONDS)
        .modelInfer(
            request,
            new StreamObserver<ModelInferResponse>() {
              @Override
              public void onNext(ModelInferResponse response) {}

              @Override
              public void onError(Throwable error) {
                recorder.errors.incrementAndGet();
                next(recorder, System.nanoTime(), false, startNs);
              }

              @Override
              public void onCompleted() {
                next(recorder, System.nanoTime(), true, startNs);
              }
            });
  }

  private void next(Recorder recorder, long nowNs, boolean ok, long startNs) {
    if (ok) {
      recorder.add(nowNs - startNs, nowNs);
    }
    if (nowNs < recorder.endNs) {
      send(recorder);
    } else {
      recorder.callers.countDown();
    }
  }

  /** CPU time of the whole JVM (client and both servers), or -1 where the JVM cannot tell. */
  static long processCpuNs() {
    if (java.lang.management.ManagementFactory.getOperatingSystemMXBean()
        instanceof com.sun.management.OperatingSystemMXBean os) {
      return os.getProcessCpuTime();
    }
    return -1;
  }

  /** Latencies of one window, appended from the transport's threads. */
  private static final class Recorder {
    final long startNs = System.nanoTime();
    final long cpuStartNs = processCpuNs();
    final long endNs;
    final CountDownLatch callers;
    final AtomicLong errors = new AtomicLong();
    private long[] latenciesNs = new long[1024];
    private int count;
    private long lastNs;

    Recorder(long endNs, int concurrency) {
      this.endNs = endNs;
      this.callers = new CountDownLatch(concurrency);
    }

    synchronized void add(long latencyNs, long nowNs) {
      if (count == latenciesNs.length) {
        latenciesNs = Arrays.copyOf(latenciesNs, 2 * count);
      }
      latenciesNs[count++] = latencyNs;
      lastNs = Math.max(lastNs, nowNs);
    }

    synchronized Window window() {
      long elapsed = Math.max(1, (lastNs == 0 ? System.nanoTime() : lastNs) - startNs);
      long cpu = cpuStartNs < 0 ? -1 : processCpuNs() - cpuStartNs;
      return new Window(Arrays.copyOf(latenciesNs, count), count, elapsed, errors.get(), cpu);
    }
  }
}
