package io.cacheai.client;

/**
 * One entry of a server's model repository index (Triton's RepositoryIndex): a model version and
 * its state, {@code "READY"} when it serves, else e.g. {@code "UNAVAILABLE"} with the reason.
 * {@code version} is empty for a model with no loaded version.
 */
public record RepositoryModel(String name, String version, String state, String reason) {
  /** Whether this version serves requests. */
  public boolean isReady() {
    return "READY".equals(state);
  }
}
