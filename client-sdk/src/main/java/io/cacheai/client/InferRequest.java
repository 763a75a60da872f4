package io.cacheai.client;

import com.google.protobuf.ByteString;
import inference.GrpcService.InferTensorContents;
import inference.GrpcService.ModelInferRequest;
import inference.GrpcService.ModelInferRequest.InferInputTensor;
import inference.GrpcService.ModelInferRequest.InferRequestedOutputTensor;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * One inference request: named input tensors, the outputs wanted, and how to encode them.
 *
 * <p>The request is encoded once, when {@link Builder#build()} runs, and is immutable afterwards:
 * the caller may reuse or mutate its arrays freely, and the same request can be sent many times (a
 * benchmark loop) without re-encoding.
 *
 * <p>Two encodings, chosen by {@link Builder#rawInputs(boolean)}:
 *
 * <ul>
 *   <li><b>typed</b> (the default here): elements in {@code InferTensorContents} ({@code
 *       fp32_contents}, {@code int64_contents}, {@code bytes_contents}) — what every v2 server
 *       accepts;
 *   <li><b>raw</b>: elements as little-endian bytes in {@code raw_input_contents} (layout in {@link
 *       RawContents}) — cheaper to encode and decode, and what the float helpers of {@link
 *       InferenceClient} use.
 * </ul>
 */
public final class InferRequest {
  static final String FP32 = "FP32";
  static final String INT64 = "INT64";
  static final String BYTES = "BYTES";

  private final ModelInferRequest proto;
  private final Duration deadline;

  private InferRequest(ModelInferRequest proto, Duration deadline) {
    this.proto = proto;
    this.deadline = deadline;
  }

  /** Starts a request for {@code modelName} (newest version unless {@link Builder#version}). */
  public static Builder builder(String modelName) {
    return new Builder(modelName);
  }

  public String modelName() {
    return proto.getModelName();
  }

  /** The model version asked for; empty means the server's newest. */
  public String modelVersion() {
    return proto.getModelVersion();
  }

  /** The input names in the order they are sent. */
  public List<String> inputNames() {
    return proto.getInputsList().stream().map(InferInputTensor::getName).toList();
  }

  /** The outputs asked for; empty means all of the model's outputs. */
  public List<String> requestedOutputs() {
    return proto.getOutputsList().stream().map(InferRequestedOutputTensor::getName).toList();
  }

  /** Whether the inputs travel in {@code raw_input_contents}. */
  public boolean rawInputs() {
    return proto.getRawInputContentsCount() > 0;
  }

  /** This request's own deadline, overriding the client's default when present. */
  public Optional<Duration> deadline() {
    return Optional.ofNullable(deadline);
  }

  /** The encoded protobuf message. */
  ModelInferRequest toProto() {
    return proto;
  }

  /** Collects inputs and options; {@link #build()} validates and encodes them. */
  public static final class Builder {
    private final String modelName;
    private String version = "";
    private String id = "";
    private boolean raw;
    private Duration deadline;
    private final List<Input> inputs = new ArrayList<>();
    private final List<String> outputs = new ArrayList<>();

    private Builder(String modelName) {
      this.modelName = Objects.requireNonNull(modelName, "modelName");
      if (modelName.isEmpty()) {
        throw new IllegalArgumentException("modelName must not be empty");
      }
    }

    /** The model version; empty (the default) lets the server choose its newest. */
    public Builder version(String version) {
      this.version = Objects.requireNonNull(version, "version");
      return this;
    }

    /** An identifier the server echoes in the response. */
    public Builder id(String id) {
      this.id = Objects.requireNonNull(id, "id");
      return this;
    }

    /** Send the inputs as little-endian {@code raw_input_contents} instead of typed contents. */
    public Builder rawInputs(boolean raw) {
      this.raw = raw;
      return this;
    }

    /** A deadline for this request only, overriding the client's default. */
    public Builder deadline(Duration deadline) {
      this.deadline = InferenceClient.requirePositive(deadline, "deadline");
      return this;
    }

    /** Adds an FP32 input; {@code values} is row-major and must hold exactly the shape's count. */
    public Builder addFp32(String name, long[] shape, float[] values) {
      inputs.add(new Input(name, FP32, shape.clone(), values.length, values.clone()));
      return this;
    }

    /** Adds an INT64 input (token ids, indices, ...). */
    public Builder addInt64(String name, long[] shape, long[] values) {
      inputs.add(new Input(name, INT64, shape.clone(), values.length, values.clone()));
      return this;
    }

    /** Adds a BYTES input: one byte string per element (text, encoded images, ...). */
    public Builder addBytes(String name, long[] shape, List<byte[]> values) {
      List<byte[]> copy = values.stream().map(byte[]::clone).toList();
      inputs.add(new Input(name, BYTES, shape.clone(), copy.size(), copy));
      return this;
    }

    /** Asks for one output by name; ask for none to get all of them. */
    public Builder requestOutput(String name) {
      Objects.requireNonNull(name, "name");
      if (outputs.contains(name)) {
        throw new IllegalArgumentException("output '" + name + "' requested twice");
      }
      outputs.add(name);
      return this;
    }

    /**
     * Validates (at least one input, unique names, element counts matching shapes) and encodes.
     *
     * @throws IllegalArgumentException naming the input and what did not match
     */
    public InferRequest build() {
      if (inputs.isEmpty()) {
        throw new IllegalArgumentException("model=" + modelName + ": request has no inputs");
      }
      ModelInferRequest.Builder b =
          ModelInferRequest.newBuilder().setModelName(modelName).setModelVersion(version).setId(id);
      Set<String> seen = new HashSet<>();
      for (Input input : inputs) {
        if (!seen.add(input.name)) {
          throw new IllegalArgumentException(
              "model=" + modelName + ": input '" + input.name + "' given twice");
        }
        input.validate();
        InferInputTensor.Builder t =
            InferInputTensor.newBuilder().setName(input.name).setDatatype(input.datatype);
        for (long d : input.shape) {
          t.addShape(d);
        }
        if (raw) {
          b.addRawInputContents(input.raw());
        } else {
          t.setContents(input.typed());
        }
        b.addInputs(t);
      }
      for (String output : outputs) {
        b.addOutputs(InferRequestedOutputTensor.newBuilder().setName(output));
      }
      return new InferRequest(b.build(), deadline);
    }
  }

  /** One input as given, before encoding. */
  private record Input(String name, String datatype, long[] shape, int count, Object values) {
    Input {
      Objects.requireNonNull(name, "name");
      if (name.isEmpty()) {
        throw new IllegalArgumentException("input name must not be empty");
      }
    }

    void validate() {
      int expected = Shapes.elementCount("input '" + name + "'", shape);
      if (expected != count) {
        throw new IllegalArgumentException(
            "input '"
                + name
                + "': shape "
                + Arrays.toString(shape)
                + " holds "
                + expected
                + " elements but "
                + count
                + " values were given");
      }
    }

    @SuppressWarnings("unchecked")
    ByteString raw() {
      return switch (datatype) {
        case FP32 -> RawContents.encodeFloats((float[]) values);
        case INT64 -> RawContents.encodeLongs((long[]) values);
        case BYTES -> RawContents.encodeBytes((List<byte[]>) values);
        default -> throw new IllegalStateException("datatype=" + datatype);
      };
    }

    @SuppressWarnings("unchecked")
    InferTensorContents typed() {
      InferTensorContents.Builder c = InferTensorContents.newBuilder();
      switch (datatype) {
        case FP32 -> {
          for (float v : (float[]) values) {
            c.addFp32Contents(v);
          }
        }
        case INT64 -> {
          for (long v : (long[]) values) {
            c.addInt64Contents(v);
          }
        }
        case BYTES -> {
          for (byte[] v : (List<byte[]>) values) {
            c.addBytesContents(ByteString.copyFrom(v));
          }
        }
        default -> throw new IllegalStateException("datatype=" + datatype);
      }
      return c.build();
    }
  }
}
