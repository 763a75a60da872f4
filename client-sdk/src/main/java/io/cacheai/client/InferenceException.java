package io.cacheai.client;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;

/**
 * A failed call to an inference server, keeping the gRPC status code so callers can branch on it
 * ({@code NOT_FOUND} for an unknown model, {@code INVALID_ARGUMENT} for a malformed request, {@code
 * DEADLINE_EXCEEDED}, {@code UNAVAILABLE}, ...) without parsing messages.
 *
 * <p>The message names the rpc, the context the caller gave (model and version) and the server's
 * own description, e.g. {@code ModelInfer model=mnist-cnn version=: INVALID_ARGUMENT: input 'x' is
 * not an input of the model}. A response the client cannot decode (a protocol violation by the
 * server) is reported with code {@link Status.Code#INTERNAL}.
 */
public final class InferenceException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final Status.Code code;
  private final String description;

  /**
   * @param code the gRPC status code
   * @param description the server's description of the failure (may be empty)
   * @param message the full message with context
   * @param cause the underlying gRPC exception, or null
   */
  public InferenceException(Status.Code code, String description, String message, Throwable cause) {
    super(message, cause);
    this.code = code;
    this.description = description == null ? "" : description;
  }

  /** Wraps a gRPC failure of {@code rpc}; {@code context} is {@code key=value} pairs or empty. */
  static InferenceException fromGrpc(String rpc, String context, StatusRuntimeException e) {
    Status status = e.getStatus();
    String description = status.getDescription() == null ? "" : status.getDescription();
    String message =
        rpc
            + (context.isEmpty() ? "" : " " + context)
            + ": "
            + status.getCode()
            + (description.isEmpty() ? "" : ": " + description);
    return new InferenceException(status.getCode(), description, message, e);
  }

  /** A response the client could not decode: the server broke the protocol. */
  static InferenceException malformedResponse(String rpc, String context, String problem) {
    String message =
        rpc + (context.isEmpty() ? "" : " " + context) + ": malformed response: " + problem;
    return new InferenceException(Status.Code.INTERNAL, problem, message, null);
  }

  /** The gRPC status code of the failure. */
  public Status.Code code() {
    return code;
  }

  /** The server's own description of the failure, without the client's context; may be empty. */
  public String description() {
    return description;
  }
}
