package io.cacheai.serve;

import io.cacheai.runtime.Model;
import io.cacheai.runtime.Tensor;
import io.cacheai.runtime.TensorSpec;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Test double: returns each input unchanged as output {@code <name>_out}, so the decoding and
 * encoding of every datatype can be checked end to end without an executor.
 */
public class EchoModel implements Model {
  private final List<TensorSpec> inputs;

  public EchoModel(TensorSpec... inputs) {
    this.inputs = List.of(inputs);
  }

  @Override
  public String platform() {
    return "test_echo";
  }

  @Override
  public List<TensorSpec> inputs() {
    return inputs;
  }

  @Override
  public List<TensorSpec> outputs() {
    return inputs.stream()
        .map(s -> new TensorSpec(s.name() + "_out", s.dataType(), s.shape()))
        .collect(Collectors.toList());
  }

  @Override
  public Map<String, Tensor> infer(Map<String, Tensor> in) {
    Map<String, Tensor> out = new LinkedHashMap<>();
    for (TensorSpec spec : inputs) {
      out.put(spec.name() + "_out", in.get(spec.name()));
    }
    return out;
  }

  @Override
  public void close() {}
}
