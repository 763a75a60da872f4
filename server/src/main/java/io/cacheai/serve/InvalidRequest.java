package io.cacheai.serve;

import io.grpc.Status;
import io.grpc.StatusException;

/** Builders of the {@link Status} errors requests get; one place so codes stay consistent. */
final class InvalidRequest {
  private InvalidRequest() {}

  /** INVALID_ARGUMENT: the request does not fit the model; {@code message} says how. */
  static StatusException invalid(String message) {
    return Status.INVALID_ARGUMENT.withDescription(message).asException();
  }

  /** NOT_FOUND: the model or version the request names is not served. */
  static StatusException notFound(String message) {
    return Status.NOT_FOUND.withDescription(message).asException();
  }

  /** INTERNAL: the server or the model failed on a request it had accepted. */
  static StatusException internal(String message, Throwable cause) {
    return Status.INTERNAL.withDescription(message).withCause(cause).asException();
  }
}
