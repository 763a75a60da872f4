package io.cacheai.serve;

import io.grpc.StatusException;

/** Finds the served model a request names, or the NOT_FOUND error that lists what is served. */
final class ModelResolver {
  private ModelResolver() {}

  /** The model {@code name} at {@code version} ("" = newest). */
  static ServedModel resolve(ModelRepository repository, String name, String version)
      throws StatusException {
    if (repository.versions(name).isEmpty()) {
      throw InvalidRequest.notFound(
          "model '" + name + "' is not served; served models: " + repository.names());
    }
    return repository
        .find(name, version)
        .orElseThrow(
            () ->
                InvalidRequest.notFound(
                    "model '"
                        + name
                        + "' has no version '"
                        + version
                        + "'; served versions: "
                        + repository.versions(name)));
  }
}
