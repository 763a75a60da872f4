package io.cacheai.client;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import inference.GRPCInferenceServiceGrpc.GRPCInferenceServiceImplBase;
import inference.GrpcService.InferTensorContents;
import inference.GrpcService.ModelInferRequest;
import inference.GrpcService.ModelInferRequest.InferInputTensor;
import inference.GrpcService.ModelInferRequest.InferRequestedOutputTensor;
import inference.GrpcService.ModelInferResponse;
import inference.GrpcService.ModelInferResponse.InferOutputTensor;
import inference.GrpcService.ModelMetadataRequest;
import inference.GrpcService.ModelMetadataResponse;
import inference.GrpcService.ModelReadyRequest;
import inference.GrpcService.ModelReadyResponse;
import inference.GrpcService.ServerLiveRequest;
import inference.GrpcService.ServerLiveResponse;
import inference.GrpcService.ServerMetadataRequest;
import inference.GrpcService.ServerMetadataResponse;
import inference.GrpcService.ServerReadyRequest;
import inference.GrpcService.ServerReadyResponse;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * A small v2 server written for the client tests: it records what it received (request, deadline)
 * and answers from three tiny models, decoding inputs the way a real server must (raw or typed).
 *
 * <ul>
 *   <li>{@code affine}: input {@code x} FP32 [-1,3] → {@code y} = 2x+1 [-1,3] and {@code sum} = row
 *       sums [-1,1];
 *   <li>{@code echo}: returns every input as an output of the same name, datatype and shape;
 *   <li>{@code slow}: never answers before the call is cancelled (deadline tests);
 *   <li>{@code broken}: answers raw contents one byte short (malformed-response tests).
 * </ul>
 */
final class FakeInferenceService extends GRPCInferenceServiceImplBase {
  /** How the fake encodes outputs. */
  enum ResponseMode {
    /** Raw when the request was raw, typed otherwise (what the spec suggests). */
    LIKE_REQUEST,
    FORCE_TYPED,
    FORCE_RAW
  }

  static final Set<String> MODELS = Set.of("affine", "echo", "slow", "broken");

  volatile ResponseMode responseMode = ResponseMode.LIKE_REQUEST;
  volatile boolean ready = true;
  volatile ModelInferRequest lastInfer;
  volatile ModelReadyRequest lastModelReady;
  volatile ModelMetadataRequest lastModelMetadata;

  /** The deadline the last call carried, in remaining nanoseconds when it arrived; -1 if none. */
  volatile long lastDeadlineRemainingNanos = -1;

  private void recordDeadline() {
    Deadline d = Context.current().getDeadline();
    lastDeadlineRemainingNanos = d == null ? -1 : d.timeRemaining(TimeUnit.NANOSECONDS);
  }

  @Override
  public void serverLive(ServerLiveRequest request, StreamObserver<ServerLiveResponse> out) {
    recordDeadline();
    out.onNext(ServerLiveResponse.newBuilder().setLive(true).build());
    out.onCompleted();
  }

  @Override
  public void serverReady(ServerReadyRequest request, StreamObserver<ServerReadyResponse> out) {
    recordDeadline();
    out.onNext(ServerReadyResponse.newBuilder().setReady(ready).build());
    out.onCompleted();
  }

  @Override
  public void modelReady(ModelReadyRequest request, StreamObserver<ModelReadyResponse> out) {
    recordDeadline();
    lastModelReady = request;
    if (!MODELS.contains(request.getName())) {
      out.onError(notFound(request.getName()));
      return;
    }
    boolean versionOk = request.getVersion().isEmpty() || request.getVersion().equals("1");
    out.onNext(ModelReadyResponse.newBuilder().setReady(versionOk).build());
    out.onCompleted();
  }

  @Override
  public void serverMetadata(
      ServerMetadataRequest request, StreamObserver<ServerMetadataResponse> out) {
    recordDeadline();
    out.onNext(
        ServerMetadataResponse.newBuilder()
            .setName("fake")
            .setVersion("0.0.1")
            .addExtensions("model_repository")
            .addExtensions("statistics")
            .build());
    out.onCompleted();
  }

  @Override
  public void modelMetadata(
      ModelMetadataRequest request, StreamObserver<ModelMetadataResponse> out) {
    recordDeadline();
    lastModelMetadata = request;
    if (!request.getName().equals("affine")) {
      out.onError(notFound(request.getName()));
      return;
    }
    out.onNext(
        ModelMetadataResponse.newBuilder()
            .setName("affine")
            .addVersions("1")
            .setPlatform("fake_fp32")
            .addInputs(meta("x", "FP32", -1, 3))
            .addOutputs(meta("y", "FP32", -1, 3))
            .addOutputs(meta("sum", "FP32", -1, 1))
            .build());
    out.onCompleted();
  }

  @Override
  public void modelInfer(ModelInferRequest request, StreamObserver<ModelInferResponse> out) {
    recordDeadline();
    lastInfer = request;
    boolean raw = request.getRawInputContentsCount() > 0;
    boolean rawOut =
        switch (responseMode) {
          case LIKE_REQUEST -> raw;
          case FORCE_TYPED -> false;
          case FORCE_RAW -> true;
        };
    switch (request.getModelName()) {
      case "affine" -> affine(request, raw, rawOut, out);
      case "echo" -> echo(request, raw, rawOut, out);
      case "slow" -> slow(out);
      case "broken" -> broken(request, out);
      default -> out.onError(notFound(request.getModelName()));
    }
  }

  private void affine(
      ModelInferRequest request,
      boolean raw,
      boolean rawOut,
      StreamObserver<ModelInferResponse> out) {
    if (request.getInputsCount() != 1 || !request.getInputs(0).getName().equals("x")) {
      String given = request.getInputsCount() == 0 ? "" : request.getInputs(0).getName();
      out.onError(
          Status.INVALID_ARGUMENT
              .withDescription(
                  "input '" + given + "' is not an input of model 'affine'; inputs=[x]")
              .asRuntimeException());
      return;
    }
    InferInputTensor x = request.getInputs(0);
    if (x.getShapeCount() != 2 || x.getShape(1) != 3) {
      out.onError(
          Status.INVALID_ARGUMENT
              .withDescription("input 'x': shape " + x.getShapeList() + " is not [-1,3]")
              .asRuntimeException());
      return;
    }
    int rows = (int) x.getShape(0);
    float[] v = raw ? floatsLe(request.getRawInputContents(0)) : floatsTyped(x.getContents());
    float[] y = new float[v.length];
    float[] sum = new float[rows];
    for (int i = 0; i < v.length; i++) {
      y[i] = 2 * v[i] + 1;
      sum[i / 3] += v[i];
    }
    List<String> wanted =
        request.getOutputsList().stream().map(InferRequestedOutputTensor::getName).toList();
    ModelInferResponse.Builder r =
        ModelInferResponse.newBuilder().setModelName("affine").setModelVersion("1");
    r.setId(request.getId());
    if (wanted.isEmpty() || wanted.contains("y")) {
      addFloatOutput(r, "y", new long[] {rows, 3}, y, rawOut);
    }
    if (wanted.isEmpty() || wanted.contains("sum")) {
      addFloatOutput(r, "sum", new long[] {rows, 1}, sum, rawOut);
    }
    out.onNext(r.build());
    out.onCompleted();
  }

  private void echo(
      ModelInferRequest request,
      boolean raw,
      boolean rawOut,
      StreamObserver<ModelInferResponse> out) {
    if (raw != rawOut) {
      out.onError(
          Status.UNIMPLEMENTED
              .withDescription("echo answers like the request")
              .asRuntimeException());
      return;
    }
    ModelInferResponse.Builder r =
        ModelInferResponse.newBuilder().setModelName("echo").setModelVersion("1");
    for (int i = 0; i < request.getInputsCount(); i++) {
      InferInputTensor in = request.getInputs(i);
      InferOutputTensor.Builder t =
          InferOutputTensor.newBuilder()
              .setName(in.getName())
              .setDatatype(in.getDatatype())
              .addAllShape(in.getShapeList());
      if (raw) {
        r.addRawOutputContents(request.getRawInputContents(i));
      } else {
        t.setContents(in.getContents());
      }
      r.addOutputs(t);
    }
    out.onNext(r.build());
    out.onCompleted();
  }

  private void slow(StreamObserver<ModelInferResponse> out) {
    long endNanos = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (!Context.current().isCancelled() && System.nanoTime() < endNanos) {
      try {
        Thread.sleep(5);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    out.onError(Status.CANCELLED.withDescription("slow model gave up").asRuntimeException());
  }

  private void broken(ModelInferRequest request, StreamObserver<ModelInferResponse> out) {
    ModelInferResponse.Builder r = ModelInferResponse.newBuilder().setModelName("broken");
    r.addOutputs(
        InferOutputTensor.newBuilder().setName("y").setDatatype("FP32").addShape(1).addShape(2));
    r.addRawOutputContents(ByteString.copyFrom(new byte[7]));
    out.onNext(r.build());
    out.onCompleted();
  }

  private static void addFloatOutput(
      ModelInferResponse.Builder r, String name, long[] shape, float[] values, boolean raw) {
    InferOutputTensor.Builder t = InferOutputTensor.newBuilder().setName(name).setDatatype("FP32");
    for (long d : shape) {
      t.addShape(d);
    }
    if (raw) {
      ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
      for (float v : values) {
        b.putFloat(v);
      }
      r.addRawOutputContents(UnsafeByteOperations.unsafeWrap(b.array()));
    } else {
      InferTensorContents.Builder c = InferTensorContents.newBuilder();
      for (float v : values) {
        c.addFp32Contents(v);
      }
      t.setContents(c);
    }
    r.addOutputs(t);
  }

  static float[] floatsLe(ByteString raw) {
    ByteBuffer b = raw.asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
    float[] v = new float[raw.size() / 4];
    for (int i = 0; i < v.length; i++) {
      v[i] = b.getFloat();
    }
    return v;
  }

  private static float[] floatsTyped(InferTensorContents c) {
    List<Float> list = new ArrayList<>(c.getFp32ContentsList());
    float[] v = new float[list.size()];
    for (int i = 0; i < v.length; i++) {
      v[i] = list.get(i);
    }
    return v;
  }

  private static ModelMetadataResponse.TensorMetadata meta(
      String name, String type, long... shape) {
    ModelMetadataResponse.TensorMetadata.Builder b =
        ModelMetadataResponse.TensorMetadata.newBuilder().setName(name).setDatatype(type);
    for (long d : shape) {
      b.addShape(d);
    }
    return b.build();
  }

  private static RuntimeException notFound(String model) {
    return Status.NOT_FOUND
        .withDescription("model '" + model + "' is not in the repository")
        .asRuntimeException();
  }
}
