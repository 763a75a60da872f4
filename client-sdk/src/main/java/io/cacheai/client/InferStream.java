package io.cacheai.client;

import inference.GRPCInferenceServiceGrpc.GRPCInferenceServiceStub;
import inference.GrpcService.ModelInferRequest;
import inference.GrpcService.ModelStreamInferResponse;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One open ModelStreamInfer stream (Triton's streaming extension): many requests over one call,
 * each answered by one future.
 *
 * <pre>{@code
 * try (InferStream stream = client.openStream()) {
 *   CompletableFuture<InferResult> a = stream.send(requestA);
 *   CompletableFuture<InferResult> b = stream.send(requestB);
 *   float[] logits = a.join().asFloats("logits");
 * }
 * }</pre>
 *
 * <p>Responses are matched to requests by request id: a request without one gets a unique id
 * ({@code "stream-<n>"}); a response whose id matches no pending request completes the oldest
 * pending one (servers that answer in order without echoing ids). A request that fails on the
 * server ({@code error_message} set) fails its future with an {@link InferenceException} whose code
 * is parsed from the message ({@code "CODE: description"}) and the stream goes on; if the stream
 * itself fails (deadline, server gone), every pending future fails with that status.
 *
 * <p>{@link #send} may be called from several threads. {@link #close()} half-closes the stream and
 * waits, up to the client's close timeout, for the pending answers.
 */
public final class InferStream implements AutoCloseable {
  private final String context;
  private final Duration closeTimeout;
  private final Object lock = new Object();
  private final Map<String, CompletableFuture<InferResult>> byId = new HashMap<>();
  private final Deque<String> order = new ArrayDeque<>();
  private final AtomicLong nextId = new AtomicLong();
  private final CompletableFuture<Void> finished = new CompletableFuture<>();
  private final ClientCallStreamObserver<ModelInferRequest> requests;
  private boolean closed; // guarded by lock

  InferStream(GRPCInferenceServiceStub stub, Duration deadline, Duration closeTimeout) {
    this.context = "stream";
    this.closeTimeout = closeTimeout;
    CompletableFuture<ClientCallStreamObserver<ModelInferRequest>> requestSide =
        new CompletableFuture<>();
    GRPCInferenceServiceStub withDeadline =
        deadline == null ? stub : stub.withDeadlineAfter(deadline.toNanos(), TimeUnit.NANOSECONDS);
    withDeadline.modelStreamInfer(
        new ClientResponseObserver<ModelInferRequest, ModelStreamInferResponse>() {
          @Override
          public void beforeStart(ClientCallStreamObserver<ModelInferRequest> call) {
            requestSide.complete(call);
          }

          @Override
          public void onNext(ModelStreamInferResponse response) {
            answer(response);
          }

          @Override
          public void onError(Throwable t) {
            StatusRuntimeException e =
                t instanceof StatusRuntimeException s
                    ? s
                    : Status.fromThrowable(t).asRuntimeException();
            failAll(InferenceException.fromGrpc("ModelStreamInfer", context, e));
          }

          @Override
          public void onCompleted() {
            failAll(
                InferenceException.malformedResponse(
                    "ModelStreamInfer", context, "stream ended with requests unanswered"));
          }
        });
    this.requests = requestSide.join();
  }

  /**
   * Sends {@code request} on the stream; the future completes with its result or fails with an
   * {@link InferenceException}. A per-request deadline does not apply on a stream (the stream has
   * one deadline).
   *
   * @throws IllegalStateException when the stream is closed or has failed
   */
  public CompletableFuture<InferResult> send(InferRequest request) {
    ModelInferRequest proto = request.toProto();
    if (proto.getId().isEmpty()) {
      proto = proto.toBuilder().setId("stream-" + nextId.incrementAndGet()).build();
    }
    CompletableFuture<InferResult> result = new CompletableFuture<>();
    synchronized (lock) {
      if (closed || finished.isDone()) {
        throw new IllegalStateException("InferStream is closed; request not sent");
      }
      if (byId.putIfAbsent(proto.getId(), result) != null) {
        throw new IllegalArgumentException(
            "request id '" + proto.getId() + "' is already pending on this stream");
      }
      order.addLast(proto.getId());
      requests.onNext(proto);
    }
    return result;
  }

  /** How many requests wait for their answer. */
  public int pending() {
    synchronized (lock) {
      return byId.size();
    }
  }

  private void answer(ModelStreamInferResponse response) {
    String id = response.getInferResponse().getId();
    CompletableFuture<InferResult> target;
    String model = response.getInferResponse().getModelName();
    synchronized (lock) {
      target = byId.remove(id);
      if (target != null) {
        order.remove(id);
      } else {
        String oldest = order.pollFirst();
        target = oldest == null ? null : byId.remove(oldest);
      }
      if (byId.isEmpty() && closed) {
        finished.complete(null);
      }
    }
    if (target == null) {
      return; // an answer nobody waits for: nothing to complete
    }
    String where = "model=" + model;
    if (!response.getErrorMessage().isEmpty()) {
      target.completeExceptionally(streamError(where, response.getErrorMessage()));
      return;
    }
    try {
      target.complete(new InferResult(response.getInferResponse(), where));
    } catch (RuntimeException e) {
      target.completeExceptionally(e);
    }
  }

  /** Parses "CODE: description" (the form cacheai and Triton use) into an exception. */
  static InferenceException streamError(String where, String message) {
    Status.Code code = Status.Code.UNKNOWN;
    String description = message;
    int colon = message.indexOf(':');
    if (colon > 0) {
      try {
        code = Status.Code.valueOf(message.substring(0, colon).trim());
        description = message.substring(colon + 1).trim();
      } catch (IllegalArgumentException notACode) {
        // keep UNKNOWN and the whole message
      }
    }
    return new InferenceException(
        code, description, "ModelStreamInfer " + where + ": " + message, null);
  }

  private void failAll(InferenceException e) {
    List<CompletableFuture<InferResult>> pending;
    synchronized (lock) {
      pending = new ArrayList<>(byId.values());
      byId.clear();
      order.clear();
      finished.complete(null);
    }
    pending.forEach(f -> f.completeExceptionally(e));
  }

  /**
   * Half-closes the stream (no more requests) and waits up to the close timeout for the pending
   * answers; what is still pending then is cancelled with the stream. Safe to call twice.
   */
  @Override
  public void close() {
    synchronized (lock) {
      if (closed) {
        return;
      }
      closed = true;
      if (byId.isEmpty()) {
        finished.complete(null);
      }
    }
    requests.onCompleted();
    try {
      finished.get(closeTimeout.toNanos(), TimeUnit.NANOSECONDS);
    } catch (Exception timedOut) {
      requests.cancel("InferStream closed with answers pending", null);
      failAll(
          new InferenceException(
              Status.Code.CANCELLED,
              "closed with answers pending",
              "ModelStreamInfer: closed after " + closeTimeout + " with answers pending",
              null));
    }
  }
}
