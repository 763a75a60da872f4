package io.cacheai.serve;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A request's hold on one model version: while open, the version is not closed even if a reload or
 * unload has replaced it. Closing is idempotent.
 */
final class ModelLease implements AutoCloseable {
  private final LoadedModel model;
  private final AtomicBoolean open = new AtomicBoolean(true);

  ModelLease(LoadedModel model) {
    this.model = model;
  }

  LoadedModel model() {
    return model;
  }

  ServedModel served() {
    return model.served();
  }

  @Override
  public void close() {
    if (open.compareAndSet(true, false)) {
      model.release();
    }
  }
}
