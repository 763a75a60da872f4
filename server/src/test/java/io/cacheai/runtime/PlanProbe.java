package io.cacheai.runtime;

import java.util.ArrayList;
import java.util.List;

/** Test access to a {@link GraphModel}'s plan from other packages: its kernels and steps. */
public final class PlanProbe {
  private PlanProbe() {}

  /**
   * The simple class name of each kernel of the plan for {@code shapes}; an {@link
   * Int8SequenceKernel} as {@code Int8SequenceKernel[Step, Step, ...]} with its steps' names.
   */
  public static List<String> kernels(GraphModel model, long[][] shapes) {
    List<String> names = new ArrayList<>();
    for (Kernel k : model.planFor(shapes).kernels()) {
      if (k instanceof Int8SequenceKernel s) {
        names.add(
            "Int8SequenceKernel"
                + s.sequence().steps().stream()
                    .map(
                        step ->
                            step instanceof io.cacheai.kernels.Int8Sequence.Dynamic d
                                ? "Dynamic(" + d.conv().getClass().getSimpleName() + ")"
                                : step.getClass().getSimpleName())
                    .toList());
      } else {
        names.add(k.getClass().getSimpleName());
      }
    }
    return names;
  }
}
