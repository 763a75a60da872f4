package io.cacheai.compress;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** MIXED's plan from a table of probed losses: cheapest loss per byte first, target respected. */
class MixedPlannerTest {
  private static final LayerPrecision INT4 = LayerPrecision.int4(32);
  private static final LayerPrecision INT3 = LayerPrecision.int3(64);
  private static final LayerPrecision INT2 = LayerPrecision.int2(32);

  private static List<MixedPlanner.Option> chain(long b4, double l3, long b3, double l2, long b2) {
    return List.of(
        new MixedPlanner.Option(INT4, b4, 0),
        new MixedPlanner.Option(INT3, b3, l3),
        new MixedPlanner.Option(INT2, b2, l2));
  }

  @Test
  void plan_demotesTheLeastLossPerByteFirst() {
    Map<String, List<MixedPlanner.Option>> table = new LinkedHashMap<>();
    table.put("sensitive", chain(1000, 5.0, 750, 20.0, 500));
    table.put("robust", chain(1000, 0.1, 750, 0.3, 500));
    table.put("small", chain(100, 0.0, 75, 0.0, 50));
    // 2100 -> 1800: 300 bytes to save; robust int3 (250 at 0.1) plus something more
    Map<String, LayerPrecision> plan = MixedPlanner.plan(table, 0, 1800);
    assertThat(plan.get("sensitive")).isEqualTo(INT4);
    assertThat(plan.get("robust")).isNotEqualTo(INT4);
    long size = 0;
    for (Map.Entry<String, List<MixedPlanner.Option>> e : table.entrySet()) {
      size +=
          e.getValue().stream()
              .filter(o -> o.precision().equals(plan.get(e.getKey())))
              .findFirst()
              .orElseThrow()
              .bytes();
    }
    assertThat(size).isLessThanOrEqualTo(1800);
  }

  @Test
  void plan_aStepThatReachesTheTargetIsJudgedByItsLossAlone() {
    Map<String, List<MixedPlanner.Option>> table = new LinkedHashMap<>();
    table.put("big", chain(1000, 1.0, 500, 9.0, 250)); // 500 bytes at 1.0 pt: reaches
    table.put("tiny", chain(20, 0.0, 10, 0.0, 5)); // free, but saves too little to reach
    Map<String, LayerPrecision> plan = MixedPlanner.plan(table, 0, 600);
    assertThat(plan).containsEntry("big", INT3).containsEntry("tiny", INT4);
  }

  @Test
  void plan_targetOutOfReach_everythingAtTheBottom() {
    Map<String, List<MixedPlanner.Option>> table = new LinkedHashMap<>();
    table.put("a", chain(100, 1, 80, 2, 60));
    table.put("b", chain(100, 1, 80, 2, 60));
    assertThat(MixedPlanner.plan(table, 1000, 10).values()).containsOnly(INT2);
  }

  @Test
  void plan_alreadyUnderTarget_keepsTheFirstOptions() {
    Map<String, List<MixedPlanner.Option>> table = new LinkedHashMap<>();
    table.put("a", chain(100, 1, 80, 2, 60));
    assertThat(MixedPlanner.plan(table, 0, 100)).containsEntry("a", INT4);
  }
}
