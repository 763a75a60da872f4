package io.cacheai.runtime;

import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A loaded model, ready to run requests: what the serving layer holds for each model version.
 *
 * <p>Contract: {@link #infer} is safe to call from many threads at once. The caller has already
 * checked the inputs against {@link #inputs()} (names present, element types equal, shapes accepted
 * by {@link TensorSpec#accepts}); an implementation may still refuse a request with an {@link
 * IllegalArgumentException} whose message names the tensor and what was expected (for example a
 * value-dependent limit), and such a refusal must leave the model fully usable. {@link #close}
 * releases native and mapped memory; it is called once no request is running.
 */
public interface Model extends AutoCloseable {
  /** How the model executes, reported as the protocol's {@code platform}, e.g. "onnx_fp32". */
  String platform();

  /** The inputs a request must give, in declaration order. */
  List<TensorSpec> inputs();

  /** The outputs the model produces, in declaration order. */
  List<TensorSpec> outputs();

  /**
   * The names of inputs a request may leave out; none by default. A model with alternative inputs
   * (e.g. an encoded image or an already prepared tensor) lists them here and refuses, with an
   * {@link IllegalArgumentException}, a request that gives a combination it does not accept.
   */
  default Set<String> optionalInputs() {
    return Set.of();
  }

  /**
   * Runs one request. {@code inputs} maps every input name to its tensor; the result maps every
   * output name to its tensor, in {@link #outputs()} order.
   */
  Map<String, Tensor> infer(Map<String, Tensor> inputs);

  @Override
  void close();
}
