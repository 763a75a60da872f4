package io.cacheai.serve;

import io.cacheai.runtime.Model;
import java.util.Objects;

/**
 * One version of one model as the server serves it: the name and version a request uses, the loaded
 * model and its repository config. The {@link ModelRepository} owns the model and closes it.
 */
public record ServedModel(String name, long version, Model model, ModelConfig config) {
  public ServedModel {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(model, "model");
    Objects.requireNonNull(config, "config");
    if (version < 0) {
      throw new IllegalArgumentException("version=" + version + " must be >= 0");
    }
  }

  /** The version as the protocol spells it, e.g. "1". */
  public String versionString() {
    return Long.toString(version);
  }

  @Override
  public String toString() {
    return name + "/" + version;
  }
}
