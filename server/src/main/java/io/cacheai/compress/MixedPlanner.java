package io.cacheai.compress;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * MIXED's choice of a precision per layer from a table measured once: for each layer, its options
 * from the most to the least precise, each with the layer's estimated bytes and its loss when it
 * alone is at that precision ({@link SensitivityProbe}). Losses are taken as additive across
 * layers, so the plan needs no model run at all; the compressor evaluates the chosen plan once.
 *
 * <p>Greedy, as the search it replaces (which measured every candidate on the whole model at every
 * step): from the first option everywhere, repeatedly take the demotion with the smallest added
 * loss per byte saved — or, once one demotion alone reaches the target, the one of those that adds
 * the least loss — until the estimated size is at most the target or nothing can go lower.
 */
final class MixedPlanner {
  /** Added losses below this count as this, so that byte savings still order free demotions. */
  static final double MIN_ADDED_LOSS = 1e-3;

  /**
   * One precision a layer can take.
   *
   * @param bytes the layer's estimated bytes at this precision
   * @param loss its loss (points, from the probes) with only this layer at this precision
   */
  record Option(LayerPrecision precision, long bytes, double loss) {}

  private MixedPlanner() {}

  /**
   * @param options per layer (by name, in graph order), most precise first; each list non-empty
   * @param otherBytes estimated bytes of everything but these layers
   * @return the chosen precision per layer
   */
  static Map<String, LayerPrecision> plan(
      Map<String, List<Option>> options, long otherBytes, long targetBytes) {
    Map<String, Integer> level = new LinkedHashMap<>();
    long size = otherBytes;
    for (Map.Entry<String, List<Option>> e : options.entrySet()) {
      if (e.getValue().isEmpty()) {
        throw new IllegalArgumentException("layer '" + e.getKey() + "' has no precision option");
      }
      level.put(e.getKey(), 0);
      size += e.getValue().get(0).bytes();
    }
    while (size > targetBytes) {
      String best = null;
      double bestCost = Double.MAX_VALUE;
      boolean bestReaches = false;
      long bestSaved = 0;
      for (Map.Entry<String, List<Option>> e : options.entrySet()) {
        int at = level.get(e.getKey());
        List<Option> chain = e.getValue();
        if (at + 1 >= chain.size()) {
          continue;
        }
        long saved = chain.get(at).bytes() - chain.get(at + 1).bytes();
        if (saved <= 0) {
          continue;
        }
        double added = Math.max(MIN_ADDED_LOSS, chain.get(at + 1).loss() - chain.get(at).loss());
        boolean reaches = size - saved <= targetBytes;
        double cost = reaches ? added : added / saved;
        if ((reaches && !bestReaches) || (reaches == bestReaches && cost < bestCost)) {
          best = e.getKey();
          bestCost = cost;
          bestReaches = reaches;
          bestSaved = saved;
        }
      }
      if (best == null) {
        break;
      }
      level.put(best, level.get(best) + 1);
      size -= bestSaved;
    }
    Map<String, LayerPrecision> chosen = new LinkedHashMap<>();
    level.forEach((name, at) -> chosen.put(name, options.get(name).get(at).precision()));
    return chosen;
  }
}
