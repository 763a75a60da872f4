package io.cacheai.serve;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Samples this process's resident set size ({@code VmRSS} of {@code /proc/self/status}, what the
 * kernel and a container's memory limit count) at a fixed period, on a daemon thread.
 */
final class RssSampler implements AutoCloseable {
  private static final Path STATUS = Path.of("/proc/self/status");

  private final List<Long> samplesKb = new ArrayList<>(); // guarded by this
  private final ScheduledExecutorService timer =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "rss-sampler");
            t.setDaemon(true);
            return t;
          });

  /** Starts sampling now and every {@code periodMs}. */
  RssSampler(long periodMs) {
    timer.scheduleAtFixedRate(this::sample, 0, periodMs, TimeUnit.MILLISECONDS);
  }

  /** Whether this platform exposes {@code /proc/self/status} (Linux). */
  static boolean available() {
    return Files.isReadable(STATUS);
  }

  /** The current VmRSS in KiB. */
  static long rssKb() {
    try {
      for (String line : Files.readAllLines(STATUS)) {
        if (line.startsWith("VmRSS:")) {
          return Long.parseLong(line.replaceAll("[^0-9]", ""));
        }
      }
    } catch (IOException e) {
      throw new IllegalStateException("cannot read " + STATUS + ": " + e.getMessage(), e);
    }
    throw new IllegalStateException(STATUS + " has no VmRSS line");
  }

  private void sample() {
    long kb = rssKb();
    synchronized (this) {
      samplesKb.add(kb);
    }
  }

  /** The samples so far, oldest first, in KiB. */
  synchronized List<Long> samplesKb() {
    return List.copyOf(samplesKb);
  }

  /** Stops sampling. */
  @Override
  public void close() {
    timer.shutdownNow();
  }
}
