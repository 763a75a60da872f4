package io.cacheai.client;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A model's description as the server gives it: what to send and what comes back.
 *
 * @param name the model's name
 * @param versions the loaded versions
 * @param platform how the server executes it, e.g. {@code onnx_fp32}
 * @param inputs the model's inputs
 * @param outputs the model's outputs
 */
public record ModelMetadata(
    String name,
    List<String> versions,
    String platform,
    List<TensorMetadata> inputs,
    List<TensorMetadata> outputs) {

  public ModelMetadata {
    Objects.requireNonNull(name, "name");
    versions = List.copyOf(versions);
    Objects.requireNonNull(platform, "platform");
    inputs = List.copyOf(inputs);
    outputs = List.copyOf(outputs);
  }

  /** The input called {@code name}, if the model has one. */
  public Optional<TensorMetadata> input(String name) {
    return inputs.stream().filter(t -> t.name().equals(name)).findFirst();
  }

  /** The output called {@code name}, if the model has one. */
  public Optional<TensorMetadata> output(String name) {
    return outputs.stream().filter(t -> t.name().equals(name)).findFirst();
  }
}
