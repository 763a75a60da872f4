package io.cacheai.runtime;

import java.util.Map;

/**
 * A model that answers some of its layers by key lookup instead of computing them reports, per such
 * layer, the fraction of lookups that found their key. The server exports it as the Prometheus
 * gauge {@code cacheai_lookup_key_hit_ratio{model,version,layer}}, read at each scrape; a model
 * that does not implement this interface exports nothing there.
 *
 * <p>This is only the hook: the serving side reads it, the runtime that does the lookups implements
 * it. The served {@link Model} itself must implement it (a wrapper that hides it hides the series).
 */
public interface LookupHitRatios {
  /**
   * Per layer name, hits ÷ lookups since the model was loaded, in [0, 1]; a layer not looked up yet
   * is left out. Called from the scrape thread while requests run: must be thread-safe and cheap.
   */
  Map<String, Double> lookupKeyHitRatios();
}
