package io.cacheai.serve;

import inference.GrpcService.InferParameter;
import inference.GrpcService.ModelInferRequest;
import inference.GrpcService.ModelInferRequest.InferInputTensor;
import inference.GrpcService.ModelInferRequest.InferRequestedOutputTensor;
import io.cacheai.runtime.DataType;
import io.cacheai.runtime.Tensor;
import io.cacheai.runtime.TensorSpec;
import io.grpc.StatusException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Checks a {@code ModelInferRequest} against the model it names and turns it into {@link Tensor}s,
 * before the model sees anything.
 *
 * <p>Checks, in order; the first failure is the answer:
 *
 * <ol>
 *   <li>(the caller has resolved the model and version, else NOT_FOUND);
 *   <li>raw contents are given for every input or for none ({@code raw_input_contents} count equals
 *       the input count), and never together with typed {@code contents} for an input;
 *   <li>each input: known name, not repeated, datatype equal to the model's, shape without negative
 *       dimensions, accepted by the model's shape, within {@code max_batch_size}, of a size that
 *       fits in memory;
 *   <li>every model input is present, except those the model lists as optional;
 *   <li>each requested output is a model output, not repeated;
 *   <li>each input's contents: the byte length of raw contents, or the typed field of the datatype
 *       (no other field) with exactly as many values as the shape holds.
 * </ol>
 *
 * Every failure is INVALID_ARGUMENT with a message naming the tensor, what was given and what was
 * expected. The decoder keeps no state between requests.
 */
final class InferRequestDecoder {
  /**
   * Output parameters of extensions this server does not implement, refused rather than ignored.
   */
  private static final String CLASSIFICATION = "classification";

  InferRequestDecoder() {}

  /** Checks and decodes {@code request} for {@code served}, the version it resolved to. */
  DecodedRequest decode(ModelInferRequest request, ServedModel served) throws StatusException {
    String modelName = "model '" + served.name() + "'";
    List<TensorSpec> specs = served.model().inputs();
    Map<String, TensorSpec> specsByName = new LinkedHashMap<>();
    specs.forEach(spec -> specsByName.put(spec.name(), spec));

    boolean raw = request.getRawInputContentsCount() > 0;
    checkRawLayout(request, raw);

    Map<String, long[]> shapes = new LinkedHashMap<>();
    Map<String, Integer> elementCounts = new LinkedHashMap<>();
    for (InferInputTensor input : request.getInputsList()) {
      String name = input.getName();
      TensorSpec spec = specsByName.get(name);
      if (spec == null) {
        throw InvalidRequest.invalid(
            "unknown input '"
                + name
                + "'; "
                + modelName
                + " expects inputs "
                + specsByName.keySet());
      }
      if (shapes.containsKey(name)) {
        throw InvalidRequest.invalid("input '" + name + "' is given more than once");
      }
      checkDatatype(input, spec);
      long[] shape = input.getShapeList().stream().mapToLong(Long::longValue).toArray();
      elementCounts.put(name, checkShape(name, shape, spec, served.config()));
      shapes.put(name, shape);
    }
    Set<String> optional = served.model().optionalInputs();
    for (TensorSpec spec : specs) {
      if (!shapes.containsKey(spec.name()) && !optional.contains(spec.name())) {
        throw InvalidRequest.invalid(
            "missing input '"
                + spec.name()
                + "' ("
                + spec.dataType().wireName()
                + spec.shapeString()
                + "); "
                + modelName
                + " expects inputs "
                + specsByName.keySet());
      }
    }
    List<String> outputNames = requestedOutputs(request, served);

    Map<String, Tensor> tensors = new LinkedHashMap<>();
    for (int i = 0; i < request.getInputsCount(); i++) {
      InferInputTensor input = request.getInputs(i);
      String name = input.getName();
      DataType type = specsByName.get(name).dataType();
      int elements = elementCounts.get(name);
      Tensor tensor =
          raw
              ? RawContents.decode(
                  name, i, type, shapes.get(name), elements, request.getRawInputContents(i))
              : TypedContents.decode(name, type, shapes.get(name), elements, input.getContents());
      tensors.put(name, tensor);
    }
    return new DecodedRequest(served, request.getId(), tensors, outputNames, raw);
  }

  private static void checkRawLayout(ModelInferRequest request, boolean raw)
      throws StatusException {
    if (!raw) {
      return;
    }
    if (request.getRawInputContentsCount() != request.getInputsCount()) {
      throw InvalidRequest.invalid(
          "raw_input_contents has "
              + request.getRawInputContentsCount()
              + " entries but the request has "
              + request.getInputsCount()
              + " inputs; give raw contents for every input, in input order, or for none");
    }
    for (InferInputTensor input : request.getInputsList()) {
      if (!TypedContents.nonEmptyFields(input.getContents()).isEmpty()) {
        throw InvalidRequest.invalid(
            "input '"
                + input.getName()
                + "': both contents and raw_input_contents are given; "
                + "use one of them");
      }
    }
  }

  private static void checkDatatype(InferInputTensor input, TensorSpec spec)
      throws StatusException {
    String expected = spec.dataType().wireName();
    Optional<DataType> given = DataType.fromWireName(input.getDatatype());
    if (given.isEmpty()) {
      throw InvalidRequest.invalid(
          "input '"
              + input.getName()
              + "': unknown datatype '"
              + input.getDatatype()
              + "', expected "
              + expected);
    }
    if (given.get() != spec.dataType()) {
      throw InvalidRequest.invalid(
          "input '"
              + input.getName()
              + "': datatype "
              + given.get().wireName()
              + " does not match model datatype "
              + expected);
    }
  }

  /** Checks {@code shape} and returns its element count, which fits an in-memory buffer. */
  private static int checkShape(String name, long[] shape, TensorSpec spec, ModelConfig config)
      throws StatusException {
    String where = "input '" + name + "': ";
    String shapeString = Tensor.shapeString(shape);
    for (long dim : shape) {
      if (dim < 0) {
        throw InvalidRequest.invalid(
            where + "shape " + shapeString + " has a negative dimension " + dim);
      }
    }
    if (!spec.accepts(shape)) {
      throw InvalidRequest.invalid(
          where + "shape " + shapeString + " does not match expected " + spec.shapeString());
    }
    long[] declared = spec.shape();
    if (config.limitsBatch()
        && declared.length > 0
        && declared[0] == TensorSpec.DYNAMIC
        && shape[0] > config.maxBatchSize()) {
      throw InvalidRequest.invalid(
          where
              + "batch size "
              + shape[0]
              + " (shape "
              + shapeString
              + ") exceeds max_batch_size="
              + config.maxBatchSize());
    }
    long elements;
    try {
      elements = Tensor.elementCount(shape);
    } catch (ArithmeticException e) {
      throw InvalidRequest.invalid(where + "shape " + shapeString + " overflows 64-bit size");
    }
    long bytesPerElement = Math.max(1, spec.dataType().sizeBytes());
    if (elements > Integer.MAX_VALUE / bytesPerElement) {
      throw InvalidRequest.invalid(
          where
              + "shape "
              + shapeString
              + " holds "
              + elements
              + " elements, more than one "
              + "tensor may hold ("
              + Integer.MAX_VALUE / bytesPerElement
              + " of "
              + spec.dataType().wireName()
              + ")");
    }
    return (int) elements;
  }

  private static List<String> requestedOutputs(ModelInferRequest request, ServedModel served)
      throws StatusException {
    List<String> modelOutputs =
        served.model().outputs().stream().map(TensorSpec::name).collect(Collectors.toList());
    if (request.getOutputsCount() == 0) {
      return modelOutputs;
    }
    List<String> names = new ArrayList<>();
    for (InferRequestedOutputTensor output : request.getOutputsList()) {
      String name = output.getName();
      if (!modelOutputs.contains(name)) {
        throw InvalidRequest.invalid(
            "unknown requested output '"
                + name
                + "'; model '"
                + served.name()
                + "' has outputs "
                + modelOutputs);
      }
      if (names.contains(name)) {
        throw InvalidRequest.invalid("requested output '" + name + "' is given more than once");
      }
      InferParameter classification = output.getParametersMap().get(CLASSIFICATION);
      if (classification != null) {
        throw InvalidRequest.invalid(
            "requested output '"
                + name
                + "': parameter '"
                + CLASSIFICATION
                + "' (classification extension) is not supported");
      }
      names.add(name);
    }
    return names;
  }
}
