package io.cacheai.serve;

import inference.GRPCInferenceServiceGrpc;
import inference.GrpcService.ModelInferRequest;
import io.grpc.ForwardingServerCall.SimpleForwardingServerCall;
import io.grpc.ForwardingServerCallListener.SimpleForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.util.Objects;
import java.util.Optional;
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
 * <p>ModelStreamInfer is not measured here: its errors travel in-band, one response per request.
 */
final class MetricsInterceptor implements ServerInterceptor {
  private static final Logger log = Logger.getLogger(MetricsInterceptor.class.getName());
  private static final String MODEL_INFER =
      GRPCInferenceServiceGrpc.getModelInferMethod().getFullMethodName();

  private final ModelRepository repository;
  private final ServingMetrics metrics;

  MetricsInterceptor(ModelRepository repository, ServingMetrics metrics) {
    this.repository = Objects.requireNonNull(repository, "repository");
    this.metrics = Objects.requireNonNull(metrics, "metrics");
  }

  @Override
  public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(
      ServerCall<ReqT, RespT> call, Metadata headers, ServerCallHandler<ReqT, RespT> next) {
    if (!MODEL_INFER.equals(call.getMethodDescriptor().getFullMethodName())) {
      return next.startCall(call, headers);
    }
    Recording recording = new Recording(System.nanoTime());
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

  /** One call's labels and clock; {@link #finish} records once. */
  private final class Recording {
    private final long startNanos;
    private final AtomicBoolean finished = new AtomicBoolean();
    private volatile String model = "";
    private volatile String version = "";

    Recording(long startNanos) {
      this.startNanos = startNanos;
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
            "ModelInfer finished model="
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
