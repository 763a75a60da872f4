package io.cacheai.serve;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;

/**
 * A bounded closed-loop load generator: {@code concurrency} threads each run {@link Call}s back to
 * back until {@code duration} has passed (or a per-thread cap of calls is reached), recording every
 * call's latency and outcome. Closed loop, like Triton's perf_analyzer at a fixed concurrency: a
 * thread sends its next request when the previous answer is in, so the offered load adapts to the
 * server and no queue grows without bound.
 *
 * <p>A call reports a wrong answer by returning a description (null means correct) or by throwing;
 * both count as errors, and the first {@value #KEPT_ERRORS} descriptions are kept for the report.
 * Memory is fixed (a {@link LatencyHistogram}, counters, at most {@value #KEPT_ERRORS} strings), so
 * a long run measures the server's memory, not the generator's.
 */
final class LoadGenerator {
  static final int KEPT_ERRORS = 20;

  /** One request and the check of its answer. */
  @FunctionalInterface
  interface Call {
    /**
     * Sends request number {@code sequence} of thread {@code worker} and checks the answer.
     *
     * @return null when the answer is right, else what is wrong with it
     */
    String run(int worker, long sequence) throws Exception;
  }

  /** What a run measured. */
  record Result(
      int concurrency,
      long calls,
      long errors,
      List<String> firstErrors,
      double seconds,
      LatencyHistogram latency) {
    double callsPerSecond() {
      return calls / seconds;
    }

    double p50Ms() {
      return latency.quantileNanos(0.50) / 1e6;
    }

    double p99Ms() {
      return latency.quantileNanos(0.99) / 1e6;
    }

    double maxMs() {
      return latency.quantileNanos(1.0) / 1e6;
    }
  }

  private LoadGenerator() {}

  /**
   * Runs {@code call} from {@code concurrency} threads for {@code duration}, each thread making at
   * most {@code maxCallsPerWorker} calls. Returns after every thread has finished its last call.
   */
  static Result run(int concurrency, Duration duration, long maxCallsPerWorker, Call call)
      throws InterruptedException {
    return run(concurrency, duration, maxCallsPerWorker, () -> false, call);
  }

  /**
   * As {@link #run(int, Duration, long, Call)}, each thread also stopping once {@code stop} says
   * so.
   */
  static Result run(
      int concurrency, Duration duration, long maxCallsPerWorker, BooleanSupplier stop, Call call)
      throws InterruptedException {
    LatencyHistogram latency = new LatencyHistogram();
    AtomicLong calls = new AtomicLong();
    AtomicLong errors = new AtomicLong();
    AtomicInteger kept = new AtomicInteger();
    AtomicInteger threadNumber = new AtomicInteger();
    Queue<String> firstErrors = new ConcurrentLinkedQueue<>();
    CountDownLatch start = new CountDownLatch(1);
    ExecutorService workers =
        Executors.newFixedThreadPool(
            concurrency,
            r -> {
              Thread t = new Thread(r, "load-" + threadNumber.getAndIncrement());
              t.setDaemon(true);
              return t;
            });
    long[] window = new long[2];
    List<Future<?>> running = new ArrayList<>();
    try {
      for (int w = 0; w < concurrency; w++) {
        int worker = w;
        running.add(
            workers.submit(
                () -> {
                  start.await();
                  long endNanos = window[1];
                  for (long seq = 0; seq < maxCallsPerWorker; seq++) {
                    long t0 = System.nanoTime();
                    if (t0 >= endNanos || stop.getAsBoolean()) {
                      break;
                    }
                    String wrong;
                    try {
                      wrong = call.run(worker, seq);
                    } catch (Exception | AssertionError e) {
                      wrong = "worker " + worker + " call " + seq + ": " + e;
                    }
                    latency.record(System.nanoTime() - t0);
                    calls.incrementAndGet();
                    if (wrong != null) {
                      errors.incrementAndGet();
                      if (kept.getAndIncrement() < KEPT_ERRORS) {
                        firstErrors.add(wrong);
                      }
                    }
                  }
                  return null;
                }));
      }
      window[0] = System.nanoTime();
      window[1] = window[0] + duration.toNanos();
      start.countDown(); // publishes window[] to the workers (happens-before via the latch)
      for (Future<?> f : running) {
        try {
          f.get(duration.toMillis() + 120_000, TimeUnit.MILLISECONDS);
        } catch (ExecutionException | TimeoutException e) {
          throw new IllegalStateException("load worker did not finish: " + e, e);
        }
      }
    } finally {
      workers.shutdownNow();
    }
    double seconds = (System.nanoTime() - window[0]) / 1e9;
    return new Result(
        concurrency, calls.get(), errors.get(), List.copyOf(firstErrors), seconds, latency);
  }
}
