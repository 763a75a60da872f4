package io.cacheai.serve;

import io.cacheai.runtime.Tensor;
import java.util.List;
import java.util.Map;

/**
 * A request that passed every check: the model it runs on, its inputs keyed by name (every model
 * input present, types and shapes accepted), the output names to return in order, and whether the
 * client used {@code raw_input_contents} (then the response uses {@code raw_output_contents}).
 */
record DecodedRequest(
    ServedModel model,
    String id,
    Map<String, Tensor> inputs,
    List<String> outputNames,
    boolean raw) {}
