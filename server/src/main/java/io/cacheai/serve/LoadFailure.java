package io.cacheai.serve;

/**
 * A model version the repository found but does not serve, and why. {@code version} is the version
 * directory's name (or empty when the whole model directory was refused, e.g. a bad config).
 */
public record LoadFailure(String model, String version, String reason) {
  @Override
  public String toString() {
    return (version.isEmpty() ? model : model + "/" + version) + ": " + reason;
  }
}
