package io.cacheai.serve;

import inference.GRPCInferenceServiceGrpc;
import inference.GrpcService.ModelInferRequest;
import inference.GrpcService.ModelStreamInferResponse;
import io.grpc.ForwardingServerCall.SimpleForwardingServerCall;
import io.grpc.ForwardingServerCallListener.SimpleForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.util.Objects;
import java.util.Optional;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Measures each ModelInfer call from the outside, so {@link InferenceService} stays free of
 * metrics: the clock starts when the call arrives, the model is resolved from the request message
 * (its served name and numeric version become the labels; a request naming no served model gets
 * empty labels), and the call is recorded exactly once, when its status is sent or, if the client
 * cancels first, as CANCELLED. Each finished call is also logged at FINE (never at INFO: nothing is
 * logged per request at INFO).
 *
 * <p>ModelStreamInfer is measured per request, as if each were a ModelInfer call: the clock of a
 * request starts when its message arrives, and stops when its answer is sent. The service answers a
 * stream's requests in request order (see {@link InferenceService#modelStreamInfer}), so the n-th
 * answer sent closes the n-th request's recording; an answer carrying {@code error_message} ("CODE:
 * description") is recorded with that code. Requests still unanswered when the stream ends are
 * recorded with the stream's status (CANCELLED when the client went away).
 */
final class MetricsInterceptor implements ServerInterceptor {
  private static final Logger log = Logger.getLogger(MetricsInterceptor.class.getName());
  private static final String MODEL_INFER =
      GRPCInferenceServiceGrpc.getModelInferMethod().getFullMethodName();
  private static final String MODEL_STREAM_INFER =
      GRPCInferenceServiceGrpc.getModelStreamInferMethod().getFullMethodName();

  private final ModelRepository repository;
  private final ServingMetrics metrics;

  MetricsInterceptor(ModelRepository repository, ServingMetrics metrics) {
    this.repository = Objects.requireNonNull(repository, "repository");
    this.metrics = Objects.requireNonNull(metrics, "metrics");
  }

  @Override
  public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(
      ServerCall<ReqT, RespT> call, Metadata headers, ServerCallHandler<ReqT, RespT> next) {
    String method = call.getMethodDescriptor().getFullMethodName();
    if (MODEL_STREAM_INFER.equals(method)) {
      return interceptStream(call, headers, next);
    }
    if (!MODEL_INFER.equals(method)) {
      return next.startCall(call, headers);
    }
    Recording recording = new Recording(System.nanoTime(), "ModelInfer");
    metrics.requestStarted();
    ServerCall<ReqT, RespT> recorded =
        new SimpleForwardingServerCall<>(call) {
          @Override
          public void close(Status status, Metadata trailers) {
            recording.finish(status.getCode());
            super.close(status, trailers);
          }
        };
    ServerCall.Listener<ReqT> listener;
    try {
      listener = next.startCall(recorded, headers);
    } catch (RuntimeException e) {
      recording.finish(Status.Code.INTERNAL);
      throw e;
    }
    return new SimpleForwardingServerCallListener<>(listener) {
      @Override
      public void onMessage(ReqT message) {
        if (message instanceof ModelInferRequest request) {
          recording.resolve(request);
        }
        super.onMessage(message);
      }

      @Override
      public void onCancel() {
        recording.finish(Status.Code.CANCELLED);
        super.onCancel();
      }
    };
  }

  private <ReqT, RespT> ServerCall.Listener<ReqT> interceptStream(
      ServerCall<ReqT, RespT> call, Metadata headers, ServerCallHandler<ReqT, RespT> next) {
    Queue<Recording> unanswered = new ConcurrentLinkedQueue<>();
    ServerCall<ReqT, RespT> recorded =
        new SimpleForwardingServerCall<>(call) {
          @Override
          public void sendMessage(RespT message) {
            Recording recording = unanswered.poll();
            if (recording != null) {
              recording.finish(codeOf(message));
            }
            super.sendMessage(message);
          }

          @Override
          public void close(Status status, Metadata trailers) {
            finishAll(unanswered, status.isOk() ? Status.Code.CANCELLED : status.getCode());
            super.close(status, trailers);
          }
        };
    ServerCall.Listener<ReqT> listener = next.startCall(recorded, headers);
    return new SimpleForwardingServerCallListener<>(listener) {
      @Override
      public void onMessage(ReqT message) {
        Recording recording = new Recording(System.nanoTime(), "ModelStreamInfer request");
        metrics.requestStarted();
        if (message instanceof ModelInferRequest request) {
          recording.resolve(request);
        }
        unanswered.add(recording);
        super.onMessage(message);
      }

      @Override
      public void onCancel() {
        finishAll(unanswered, Status.Code.CANCELLED);
        super.onCancel();
      }
    };
  }

  private static void finishAll(Queue<Recording> unanswered, Status.Code code) {
    for (Recording recording = unanswered.poll();
        recording != null;
        recording = unanswered.poll()) {
      recording.finish(code);
    }
  }

  /** OK, or the code an in-band stream error starts with ("CODE: description"). */
  static Status.Code codeOf(Object message) {
    if (!(message instanceof ModelStreamInferResponse response)
        || response.getErrorMessage().isEmpty()) {
      return Status.Code.OK;
    }
    String error = response.getErrorMessage();
    int colon = error.indexOf(':');
    try {
      return Status.Code.valueOf(colon < 0 ? error : error.substring(0, colon));
    } catch (IllegalArgumentException e) {
      return Status.Code.UNKNOWN;
    }
  }

  /** One request's labels and clock; {@link #finish} records once. */
  private final class Recording {
    private final long startNanos;
    private final String method;
    private final AtomicBoolean finished = new AtomicBoolean();
    private volatile String model = "";
    private volatile String version = "";

    Recording(long startNanos, String method) {
      this.startNanos = startNanos;
      this.method = method;
    }

    void resolve(ModelInferRequest request) {
      Optional<ServedModel> served =
          repository.find(request.getModelName(), request.getModelVersion());
      if (served.isPresent()) {
        model = served.get().name();
        version = served.get().versionString();
      }
    }

    void finish(Status.Code code) {
      if (!finished.compareAndSet(false, true)) {
        return;
      }
      long durationNanos = System.nanoTime() - startNanos;
      metrics.requestFinished(model, version, code, durationNanos);
      if (log.isLoggable(Level.FINE)) {
        log.fine(
            method
                + " finished model="
                + model
                + " version="
                + version
                + " code="
                + code
                + " durationUs="
                + durationNanos / 1000);
      }
    }
  }
}
