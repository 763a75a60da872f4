package io.cacheai.runtime;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Per-kernel wall time of a {@link GraphModel}, for finding where a model's latency goes. Off
 * unless the JVM runs with {@code -Dcacheai.profile=true} ({@link #ENABLED}): then every kernel of
 * every plan is wrapped in a timer ({@code System.nanoTime} around {@link Kernel#run}, ~25 ns per
 * kernel) and its time is added under the kernel's label (node op, node name, kernel class); the
 * last {@value #SAMPLES} times of each kernel are kept too, so that the tables report the
 * <em>median</em> per kernel: on a shared machine a few preempted runs make means meaningless. Read
 * it with {@link GraphModel#profile()} (or {@link #all()} for every model of the JVM) and {@link
 * #table}; {@link #reset} after a warm-up.
 */
public final class NodeProfile {
  /** Whether kernels are timed ({@code -Dcacheai.profile=true}); read once. */
  public static final boolean ENABLED = Boolean.getBoolean("cacheai.profile");

  private static final List<NodeProfile> ALL = new java.util.concurrent.CopyOnWriteArrayList<>();

  private final String model;
  private final Map<String, Entry> entries = new ConcurrentHashMap<>();
  private final LongAdder requests = new LongAdder();

  /** Times kept per kernel for its median. */
  static final int SAMPLES = 4096;

  private record Entry(
      int order,
      LongAdder nanos,
      LongAdder calls,
      long[] samples,
      java.util.concurrent.atomic.AtomicInteger next) {
    void add(long took) {
      nanos.add(took);
      calls.increment();
      samples[Math.floorMod(next.getAndIncrement(), SAMPLES)] = took;
    }

    long median() {
      int n = (int) Math.min(SAMPLES, calls.sum());
      if (n == 0) {
        return 0;
      }
      long[] sorted = java.util.Arrays.copyOf(samples, n);
      java.util.Arrays.sort(sorted);
      return sorted[n / 2];
    }
  }

  NodeProfile(String model) {
    this.model = model;
    if (ENABLED) {
      ALL.add(this);
    }
  }

  /** Profiles of every model built in this JVM while profiling is on. */
  public static List<NodeProfile> all() {
    return List.copyOf(ALL);
  }

  /**
   * Wraps {@code kernel} so its runs are timed under {@code label}; itself when profiling is off.
   */
  Kernel wrap(String label, Kernel kernel) {
    if (!ENABLED) {
      return kernel;
    }
    Entry entry =
        entries.computeIfAbsent(
            label,
            k ->
                new Entry(
                    entries.size(),
                    new LongAdder(),
                    new LongAdder(),
                    new long[SAMPLES],
                    new java.util.concurrent.atomic.AtomicInteger()));
    return new Kernel() {
      @Override
      public void run(Frame frame) {
        long start = System.nanoTime();
        kernel.run(frame);
        entry.add(System.nanoTime() - start);
      }

      @Override
      public long scratchFloats() {
        return kernel.scratchFloats();
      }
    };
  }

  /** Leaves {@link #all()} (the model closed). */
  void close() {
    ALL.remove(this);
  }

  void requestDone() {
    requests.increment();
  }

  /** Forgets the times so far (call after a warm-up). */
  public void reset() {
    entries
        .values()
        .forEach(
            e -> {
              e.nanos.reset();
              e.calls.reset();
            });
    requests.reset();
  }

  /**
   * The profile as a Markdown table in plan order: each kernel's median µs per run (one run per
   * request), its share of the sum of medians, and its mean (preemptions included).
   */
  public String table() {
    List<Map.Entry<String, Entry>> rows = new ArrayList<>(entries.entrySet());
    rows.sort(java.util.Comparator.comparingInt(e -> e.getValue().order()));
    long total = rows.stream().mapToLong(e -> e.getValue().median()).sum();
    StringBuilder out = new StringBuilder();
    out.append(String.format(Locale.ROOT, "profile of %s, %d requests%n", model, requests.sum()));
    out.append("| kernel | median µs | share | mean µs |\n|---|---:|---:|---:|\n");
    for (Map.Entry<String, Entry> row : rows) {
      Entry entry = row.getValue();
      long calls = entry.calls.sum();
      if (calls == 0) {
        continue;
      }
      out.append(
          String.format(
              Locale.ROOT,
              "| %s | %.2f | %.1f%% | %.2f |%n",
              row.getKey(),
              entry.median() / 1e3,
              100.0 * entry.median() / Math.max(1, total),
              entry.nanos.sum() / 1e3 / calls));
    }
    out.append(String.format(Locale.ROOT, "| sum of medians | %.2f | 100%% | |%n", total / 1e3));
    return out.toString();
  }

  /** The medians summed by kernel class (e.g. all ElementwiseChainKernel runs), largest first. */
  public String byKind() {
    Map<String, Long> sums = new java.util.TreeMap<>();
    entries.forEach(
        (label, entry) -> {
          int open = label.lastIndexOf('[');
          String kind = open < 0 ? label : label.substring(open);
          sums.merge(kind, entry.median(), Long::sum);
        });
    long total = sums.values().stream().mapToLong(Long::longValue).sum();
    StringBuilder out = new StringBuilder("| kernel class | µs (sum of medians) | share |\n");
    out.append("|---|---:|---:|\n");
    sums.entrySet().stream()
        .sorted(Map.Entry.<String, Long>comparingByValue().reversed())
        .forEach(
            e ->
                out.append(
                    String.format(
                        Locale.ROOT,
                        "| %s | %.2f | %.1f%% |%n",
                        e.getKey(),
                        e.getValue() / 1e3,
                        100.0 * e.getValue() / Math.max(1, total))));
    return out.toString();
  }
}
