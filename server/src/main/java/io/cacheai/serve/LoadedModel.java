package io.cacheai.serve;

import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * One served model version with what serving it needs: its scheduler (direct or batching), its
 * statistics, its concurrency limit, and a reference count that decides when it is closed.
 *
 * <p>Lifetime, which is what makes hot reload safe:
 *
 * <pre>
 *  new ──► refs = 1 (the repository's own reference)
 *  each request: tryRetain() ──► refs + 1 ... lease.close() ──► refs − 1
 *  reload / unload: the repository publishes the replacement first, then retire() ──► refs − 1
 *  refs reaches 0 ──► scheduler closed, model closed (once, on whichever thread got there)
 * </pre>
 *
 * A request that read the old snapshot just before the switch either retains the old version before
 * it is retired (and runs on it; the close waits for it) or fails to retain it (refs already 0) and
 * looks the model up again, finding the replacement. Nothing runs on a closed model.
 */
final class LoadedModel {
  private static final Logger log = Logger.getLogger(LoadedModel.class.getName());

  private final ServedModel served;
  private final Object fingerprint;
  private final StatisticsRecorder stats = new StatisticsRecorder();
  private final Scheduler scheduler;
  private final Semaphore slots;
  private final AtomicInteger refs = new AtomicInteger(1);
  private final AtomicBoolean retired = new AtomicBoolean();

  /**
   * @param fingerprint what the version was loaded from (file size and time, config), compared on
   *     reload to keep unchanged versions; null when not loaded from files
   */
  LoadedModel(ServedModel served, Object fingerprint) {
    this.served = served;
    this.fingerprint = fingerprint;
    this.scheduler = Scheduler.create(served, stats);
    SchedulingConfig scheduling = served.config().scheduling();
    this.slots =
        scheduling.limitsConcurrency() ? new Semaphore(scheduling.maxConcurrentRequests()) : null;
  }

  ServedModel served() {
    return served;
  }

  Object fingerprint() {
    return fingerprint;
  }

  StatisticsRecorder stats() {
    return stats;
  }

  Scheduler scheduler() {
    return scheduler;
  }

  /** Takes one of the {@code max_concurrent_requests} slots; false when none is free. */
  boolean tryTakeSlot() {
    return slots == null || slots.tryAcquire();
  }

  /** Gives back a slot taken by {@link #tryTakeSlot}. */
  void returnSlot() {
    if (slots != null) {
      slots.release();
    }
  }

  /** One more reference, unless the version is already closing (then false). */
  boolean tryRetain() {
    while (true) {
      int n = refs.get();
      if (n == 0) {
        return false;
      }
      if (refs.compareAndSet(n, n + 1)) {
        return true;
      }
    }
  }

  /** Drops one reference; the last one closes the version. */
  void release() {
    int n = refs.decrementAndGet();
    if (n == 0) {
      closeNow();
    } else if (n < 0) {
      throw new IllegalStateException("model " + served + " released more often than retained");
    }
  }

  /** Drops the repository's own reference (once): the version closes when its requests are done. */
  void retire() {
    if (retired.compareAndSet(false, true)) {
      release();
    }
  }

  /**
   * References held now: 1 (the repository's) plus one per request holding a lease; 0 once closed.
   * A count that stays above 1 with no request running is a leaked lease.
   */
  int references() {
    return refs.get();
  }

  /** Free {@code max_concurrent_requests} slots; -1 when the model has no such limit. */
  int freeSlots() {
    return slots == null ? -1 : slots.availablePermits();
  }

  /** Whether the version has been closed. */
  boolean isClosed() {
    return refs.get() == 0;
  }

  private void closeNow() {
    try {
      scheduler.close();
    } catch (RuntimeException e) {
      log.log(Level.WARNING, "closing the scheduler of " + served + " failed", e);
    }
    try {
      served.model().close();
    } catch (RuntimeException e) {
      log.log(Level.WARNING, "closing model " + served + " failed", e);
    }
    log.fine("model " + served + " closed");
  }
}
