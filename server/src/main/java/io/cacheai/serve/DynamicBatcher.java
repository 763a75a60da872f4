package io.cacheai.serve;

import io.cacheai.runtime.Model;
import io.cacheai.runtime.TensorSpec;
import io.grpc.Status;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.stream.Stream;

/**
 * Dynamic batching for one model version: concurrent requests wait in a bounded queue and run
 * together, concatenated along their first dimension, in one execution.
 *
 * <pre>
 *  gRPC threads          queue (max_queue_size)        batch threads (batch_threads)
 *  submit ──offer──► [ j5 j4 j3 j2 ] ──gather──► [j1 j2 j3] ──► BatchRunner.run ──► answers
 *     full? RESOURCE_EXHAUSTED at once
 * </pre>
 *
 * <p>A batch thread gathers a batch under one lock: it takes the oldest job, then keeps taking jobs
 * until the batch holds {@code max_batch_size} rows or {@code max_queue_delay_us} has passed since
 * the oldest job arrived; jobs already queued are taken without waiting. While it runs the batch,
 * the next thread (or itself, afterwards) gathers the next one, so requests arriving during an
 * execution are merged into the following one: the busier the model, the larger the batches. A job
 * that would overflow the batch, or whose shape after the first dimension differs, opens the next
 * batch. A job whose client has cancelled or whose deadline (client's or {@code
 * request_timeout_ms}) has passed is failed when it is taken, and never runs.
 */
final class DynamicBatcher implements Scheduler {
  private static final Logger log = Logger.getLogger(DynamicBatcher.class.getName());
  private static final AtomicInteger INSTANCES = new AtomicInteger();
  private static final long IDLE_POLL_MS = 500;

  private final ServedModel served;
  private final BatchRunner runner;
  private final long maxBatchRows;
  private final long maxDelayNs;
  private final int maxQueueSize;
  private final ArrayBlockingQueue<InferJob> queue;
  private final ReentrantLock gatherLock = new ReentrantLock();
  private final ExecutorService threads;
  private final ThreadLocal<Boolean> ownThread = ThreadLocal.withInitial(() -> false);
  private InferJob holdover; // guarded by gatherLock: taken from the queue, opens the next batch
  private volatile boolean closed;

  DynamicBatcher(ServedModel served, BatchRunner runner) {
    this.served = served;
    this.runner = runner;
    SchedulingConfig scheduling = served.config().scheduling();
    this.maxBatchRows = served.config().maxBatchSize();
    this.maxDelayNs = TimeUnit.MICROSECONDS.toNanos(scheduling.maxQueueDelayUs());
    this.maxQueueSize = scheduling.maxQueueSize();
    this.queue = new ArrayBlockingQueue<>(maxQueueSize);
    int count = scheduling.batchThreads();
    String prefix = "cacheai-batch-" + served + "-" + INSTANCES.incrementAndGet() + "-";
    AtomicInteger n = new AtomicInteger();
    this.threads =
        Executors.newFixedThreadPool(
            count,
            r -> {
              Thread t = new Thread(r, prefix + n.incrementAndGet());
              t.setDaemon(true);
              return t;
            });
    for (int i = 0; i < count; i++) {
      threads.execute(this::loop);
    }
  }

  /** Whether every input and output of {@code model} has a dynamic first dimension. */
  static boolean canBatch(Model model) {
    return Stream.concat(model.inputs().stream(), model.outputs().stream())
        .allMatch(spec -> spec.shape().length > 0 && spec.shape()[0] == TensorSpec.DYNAMIC);
  }

  @Override
  public void submit(InferJob job) {
    if (closed) {
      runner.fail(
          job, Status.UNAVAILABLE.withDescription("model '" + served + "' is being unloaded"));
      return;
    }
    if (!queue.offer(job)) {
      runner.fail(
          job,
          Status.RESOURCE_EXHAUSTED.withDescription(
              "model '"
                  + served
                  + "': batching queue is full ("
                  + SchedulingConfig.MAX_QUEUE_SIZE
                  + "="
                  + maxQueueSize
                  + ")"));
    }
  }

  @Override
  public int queuedJobs() {
    return queue.size();
  }

  private void loop() {
    ownThread.set(true);
    while (!closed) {
      List<InferJob> batch;
      try {
        batch = gather();
      } catch (InterruptedException e) {
        break;
      }
      if (!batch.isEmpty()) {
        try {
          runner.run(batch);
        } catch (RuntimeException | Error e) {
          log.log(Level.SEVERE, "batch of model " + served + " escaped its runner", e);
        }
      }
    }
  }

  /** The next batch: live, mergeable jobs of at most max_batch_size rows; empty when idle. */
  private List<InferJob> gather() throws InterruptedException {
    gatherLock.lockInterruptibly();
    try {
      InferJob first = holdover;
      holdover = null;
      while (first == null || !runner.keepIfLive(first)) {
        first = queue.poll(IDLE_POLL_MS, TimeUnit.MILLISECONDS);
        if (first == null) {
          return List.of();
        }
      }
      List<InferJob> batch = new ArrayList<>();
      batch.add(first);
      long rows = first.batchSize;
      long closeAtNs = first.arrivalNanos + first.decodeNs + maxDelayNs;
      while (rows < maxBatchRows) {
        long waitNs = closeAtNs - System.nanoTime();
        InferJob next = waitNs > 0 ? queue.poll(waitNs, TimeUnit.NANOSECONDS) : queue.poll();
        if (next == null) {
          break;
        }
        if (!runner.keepIfLive(next)) {
          continue;
        }
        if (rows + next.batchSize > maxBatchRows || !first.mergeableWith(next)) {
          holdover = next;
          break;
        }
        batch.add(next);
        rows += next.batchSize;
      }
      return batch;
    } finally {
      gatherLock.unlock();
    }
  }

  /**
   * Stops the batch threads after their current batch; anything still queued fails. Called from a
   * batch thread itself (the last answer released the model), it does not wait for the threads.
   */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    threads.shutdownNow();
    if (ownThread.get()) {
      failQueued();
      return;
    }
    try {
      if (!threads.awaitTermination(10, TimeUnit.SECONDS)) {
        log.warning("batch threads of model " + served + " did not stop within 10 s");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    failQueued();
  }

  private void failQueued() {
    List<InferJob> left = new ArrayList<>();
    queue.drainTo(left);
    if (holdover != null) {
      left.add(holdover);
      holdover = null;
    }
    Status unavailable = Status.UNAVAILABLE.withDescription("model '" + served + "' was unloaded");
    left.forEach(job -> runner.fail(job, unavailable));
  }
}
