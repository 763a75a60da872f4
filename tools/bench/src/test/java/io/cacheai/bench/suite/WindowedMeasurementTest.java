package io.cacheai.bench.suite;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Iterator;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The stability rule on scripted windows (no clock involved). */
class WindowedMeasurementTest {
  private static final WindowedMeasurement.Settings SETTINGS =
      new WindowedMeasurement.Settings(0, 100, 3, 6, 0.10);

  /** A window of {@code calls} calls of {@code latencyUs} each, back to back. */
  private static Window window(int calls, long latencyUs) {
    long[] latencies = new long[calls];
    java.util.Arrays.fill(latencies, latencyUs * 1000);
    return new Window(latencies, calls, calls * latencyUs * 1000, 0, calls * latencyUs * 500);
  }

  private static WindowedMeasurement.Load scripted(List<Window> windows) {
    Iterator<Window> next = windows.iterator();
    return durationMs -> next.next();
  }

  @Test
  void measure_threeWindowsWithinSpread_stopsStable() throws Exception {
    WindowedMeasurement.Result r =
        WindowedMeasurement.measure(
            SETTINGS,
            scripted(List.of(window(10, 500), window(10, 100), window(10, 104), window(10, 98))));
    assertThat(r.stable()).isTrue();
    assertThat(r.windows()).isEqualTo(4);
    assertThat(r.p50Us()).isEqualTo(100);
    assertThat(r.itemsPerSecond()).isEqualTo(1e6 / 100);
    assertThat(r.calls()).isEqualTo(40);
    assertThat(r.cpuUsPerCall()).isEqualTo(50); // half of each call on this thread
  }

  @Test
  void measure_neverSettles_reportsLastThreeNotStable() throws Exception {
    WindowedMeasurement.Result r =
        WindowedMeasurement.measure(
            SETTINGS,
            scripted(
                List.of(
                    window(10, 100),
                    window(10, 200),
                    window(10, 100),
                    window(10, 200),
                    window(10, 100),
                    window(10, 300))));
    assertThat(r.stable()).isFalse();
    assertThat(r.windows()).isEqualTo(6);
    assertThat(r.p50Us()).isEqualTo(200); // median of 200, 100, 300
    assertThat(r.spreadPct()).isEqualTo(200);
  }

  @Test
  void window_percentiles_byNearestRank() {
    long[] ns = new long[100];
    for (int i = 0; i < 100; i++) {
      ns[i] = (100 - i) * 1000L;
    }
    Window w = new Window(ns, 100, 1_000_000_000L, 0, -1);
    assertThat(w.percentileUs(0.50)).isEqualTo(50);
    assertThat(w.percentileUs(0.99)).isEqualTo(99);
    assertThat(w.itemsPerSecond()).isEqualTo(100);
    assertThat(w.cpuUsPerCall()).isNaN();
  }

  @Test
  void settings_fewerThanThreeWindows_refusedNamingTheField() {
    assertThatThrownBy(() -> new WindowedMeasurement.Settings(0, 100, 2, 6, 0.1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("minWindows=2");
  }
}
