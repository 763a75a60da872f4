package io.cacheai.serve;

import inference.GrpcService.ModelInferResponse;
import inference.GrpcService.ModelInferResponse.InferOutputTensor;
import io.cacheai.runtime.DataType;
import io.cacheai.runtime.Tensor;
import io.cacheai.runtime.TensorSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Builds the {@code ModelInferResponse} for a decoded request from what the model returned.
 *
 * <p>Only the requested outputs, in the requested order (all of them in model order when none was
 * requested). Contents follow the request, as Triton does: {@code raw_output_contents} when the
 * request used {@code raw_input_contents}, typed {@code contents} otherwise — except that an output
 * with no typed field (FP16) makes the whole response raw, since the protocol allows raw for every
 * output or for none.
 */
final class InferResponseEncoder {
  private InferResponseEncoder() {}

  /**
   * Encodes {@code results}.
   *
   * @throws IllegalStateException when the model did not produce a requested output or produced one
   *     of another datatype than it declares (a model bug, reported as INTERNAL)
   */
  static ModelInferResponse encode(DecodedRequest request, Map<String, Tensor> results) {
    ServedModel served = request.model();
    List<Tensor> outputs = new ArrayList<>();
    boolean raw = request.raw();
    for (String name : request.outputNames()) {
      Tensor tensor = results.get(name);
      if (tensor == null) {
        throw new IllegalStateException(
            "model '"
                + served.name()
                + "' produced no output '"
                + name
                + "'; it produced "
                + results.keySet());
      }
      DataType declared = declaredType(served, name);
      if (tensor.dataType() != declared) {
        throw new IllegalStateException(
            "model '"
                + served.name()
                + "' produced output '"
                + name
                + "' as "
                + tensor.dataType().wireName()
                + ", it declares "
                + declared.wireName());
      }
      raw |= TypedContents.fieldFor(tensor.dataType()) == null;
      outputs.add(tensor);
    }
    ModelInferResponse.Builder response =
        ModelInferResponse.newBuilder()
            .setModelName(served.name())
            .setModelVersion(served.versionString())
            .setId(request.id());
    for (int i = 0; i < outputs.size(); i++) {
      Tensor tensor = outputs.get(i);
      InferOutputTensor.Builder output =
          InferOutputTensor.newBuilder()
              .setName(request.outputNames().get(i))
              .setDatatype(tensor.dataType().wireName());
      for (long dim : tensor.shape()) {
        output.addShape(dim);
      }
      if (raw) {
        response.addRawOutputContents(RawContents.encode(tensor));
      } else {
        output.setContents(TypedContents.encode(tensor));
      }
      response.addOutputs(output);
    }
    return response.build();
  }

  private static DataType declaredType(ServedModel served, String name) {
    return served.model().outputs().stream()
        .filter(spec -> spec.name().equals(name))
        .map(TensorSpec::dataType)
        .findFirst()
        .orElseThrow();
  }
}
