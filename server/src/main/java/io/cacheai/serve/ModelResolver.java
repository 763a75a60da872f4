package io.cacheai.serve;

import io.grpc.StatusException;

/** Finds the served model a request names, or the NOT_FOUND error that lists what is served. */
final class ModelResolver {
  private ModelResolver() {}

  /** The model {@code name} at {@code version} ("" = newest). */
  static ServedModel resolve(ModelRepository repository, String name, String version)
      throws StatusException {
    return repository.find(name, version).orElseThrow(() -> notFound(repository, name, version));
  }

  /** A lease on model {@code name} at {@code version} ("" = newest); close it when done. */
  static ModelLease acquire(ModelRepository repository, String name, String version)
      throws StatusException {
    return repository.acquire(name, version).orElseThrow(() -> notFound(repository, name, version));
  }

  private static StatusException notFound(ModelRepository repository, String name, String version) {
    if (repository.versions(name).isEmpty()) {
      return InvalidRequest.notFound(
          "model '" + name + "' is not served; served models: " + repository.names());
    }
    return InvalidRequest.notFound(
        "model '"
            + name
            + "' has no version '"
            + version
            + "'; served versions: "
            + repository.versions(name));
  }
}
