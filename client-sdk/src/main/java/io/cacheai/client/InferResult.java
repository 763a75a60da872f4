package io.cacheai.client;

import com.google.protobuf.ByteString;
import inference.GrpcService.InferTensorContents;
import inference.GrpcService.ModelInferResponse;
import inference.GrpcService.ModelInferResponse.InferOutputTensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The outputs of one inference, decoded on demand by name.
 *
 * <p>A server may answer with {@code raw_output_contents} (one little-endian byte entry per output,
 * in the order of {@code outputs}) or with typed contents; the accessors read whichever was sent,
 * so callers never care. A response whose element count or byte length does not match its declared
 * shape raises {@link InferenceException} with code {@code INTERNAL}.
 */
public final class InferResult {
  private final ModelInferResponse proto;
  private final Map<String, Integer> indexByName = new LinkedHashMap<>();
  private final String context;

  /** {@code context} names the request ({@code model=... version=...}) for error messages. */
  InferResult(ModelInferResponse proto, String context) {
    this.proto = proto;
    this.context = context;
    int raw = proto.getRawOutputContentsCount();
    if (raw != 0 && raw != proto.getOutputsCount()) {
      throw InferenceException.malformedResponse(
          "ModelInfer",
          context,
          "raw_output_contents has "
              + raw
              + " entries for "
              + proto.getOutputsCount()
              + " outputs");
    }
    for (int i = 0; i < proto.getOutputsCount(); i++) {
      String name = proto.getOutputs(i).getName();
      if (indexByName.put(name, i) != null) {
        throw InferenceException.malformedResponse(
            "ModelInfer", context, "output '" + name + "' appears twice");
      }
    }
  }

  /** The model that answered. */
  public String modelName() {
    return proto.getModelName();
  }

  /** The model version that answered. */
  public String modelVersion() {
    return proto.getModelVersion();
  }

  /** The request id the server echoed. */
  public String id() {
    return proto.getId();
  }

  /** The output names in the server's order. */
  public List<String> outputNames() {
    return new ArrayList<>(indexByName.keySet());
  }

  /** Whether the server answered with {@code raw_output_contents}. */
  public boolean rawOutputs() {
    return proto.getRawOutputContentsCount() > 0;
  }

  /** The datatype of output {@code name}, e.g. {@code FP32}. */
  public String datatype(String name) {
    return tensor(name).getDatatype();
  }

  /** The shape of output {@code name}, batch dimension first. */
  public long[] shape(String name) {
    return tensor(name).getShapeList().stream().mapToLong(Long::longValue).toArray();
  }

  /** The elements of FP32 output {@code name}, row-major. */
  public float[] asFloats(String name) {
    int index = index(name);
    InferOutputTensor t = requireDatatype(index, InferRequest.FP32);
    int count = count(t);
    if (rawOutputs()) {
      ByteString raw = proto.getRawOutputContents(index);
      float[] out = RawContents.decodeFloats(raw, count);
      if (out == null) {
        throw rawLengthMismatch(t, raw, count * (long) RawContents.FP32_SIZE_BYTES);
      }
      return out;
    }
    InferTensorContents c = t.getContents();
    checkTypedCount(t, c.getFp32ContentsCount(), count);
    float[] out = new float[count];
    for (int i = 0; i < count; i++) {
      out[i] = c.getFp32Contents(i);
    }
    return out;
  }

  /** The elements of INT64 output {@code name}, row-major. */
  public long[] asLongs(String name) {
    int index = index(name);
    InferOutputTensor t = requireDatatype(index, InferRequest.INT64);
    int count = count(t);
    if (rawOutputs()) {
      ByteString raw = proto.getRawOutputContents(index);
      long[] out = RawContents.decodeLongs(raw, count);
      if (out == null) {
        throw rawLengthMismatch(t, raw, count * (long) RawContents.INT64_SIZE_BYTES);
      }
      return out;
    }
    InferTensorContents c = t.getContents();
    checkTypedCount(t, c.getInt64ContentsCount(), count);
    long[] out = new long[count];
    for (int i = 0; i < count; i++) {
      out[i] = c.getInt64Contents(i);
    }
    return out;
  }

  /** The elements of BYTES output {@code name}, one byte array per element. */
  public List<byte[]> asBytes(String name) {
    int index = index(name);
    InferOutputTensor t = requireDatatype(index, InferRequest.BYTES);
    int count = count(t);
    if (rawOutputs()) {
      List<byte[]> out = RawContents.decodeBytes(proto.getRawOutputContents(index), count);
      if (out == null) {
        throw InferenceException.malformedResponse(
            "ModelInfer",
            context,
            "output '" + name + "': raw BYTES contents do not hold " + count + " elements");
      }
      return out;
    }
    InferTensorContents c = t.getContents();
    checkTypedCount(t, c.getBytesContentsCount(), count);
    List<byte[]> out = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      out.add(c.getBytesContents(i).toByteArray());
    }
    return out;
  }

  /** The underlying protobuf response, for fields this class does not expose. */
  public ModelInferResponse toProto() {
    return proto;
  }

  private int index(String name) {
    Integer index = indexByName.get(name);
    if (index == null) {
      throw new IllegalArgumentException(
          "output '" + name + "' is not in the response; outputs=" + indexByName.keySet());
    }
    return index;
  }

  private InferOutputTensor tensor(String name) {
    return proto.getOutputs(index(name));
  }

  private InferOutputTensor requireDatatype(int index, String datatype) {
    InferOutputTensor t = proto.getOutputs(index);
    if (!t.getDatatype().equals(datatype)) {
      throw new IllegalArgumentException(
          "output '"
              + t.getName()
              + "' has datatype "
              + t.getDatatype()
              + ", not the "
              + datatype
              + " this accessor reads");
    }
    return t;
  }

  private int count(InferOutputTensor t) {
    long[] shape = t.getShapeList().stream().mapToLong(Long::longValue).toArray();
    try {
      return Shapes.elementCount("output '" + t.getName() + "'", shape);
    } catch (IllegalArgumentException e) {
      throw InferenceException.malformedResponse("ModelInfer", context, e.getMessage());
    }
  }

  private void checkTypedCount(InferOutputTensor t, int actual, int expected) {
    if (actual != expected) {
      throw InferenceException.malformedResponse(
          "ModelInfer",
          context,
          "output '"
              + t.getName()
              + "': shape "
              + t.getShapeList()
              + " holds "
              + expected
              + " elements but contents hold "
              + actual);
    }
  }

  private InferenceException rawLengthMismatch(
      InferOutputTensor t, ByteString raw, long expectedBytes) {
    return InferenceException.malformedResponse(
        "ModelInfer",
        context,
        "output '"
            + t.getName()
            + "': shape "
            + t.getShapeList()
            + " needs "
            + expectedBytes
            + " raw bytes but "
            + raw.size()
            + " were sent");
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder("InferResult{").append(context);
    for (InferOutputTensor t : proto.getOutputsList()) {
      sb.append(", ")
          .append(t.getName())
          .append(' ')
          .append(t.getDatatype())
          .append(' ')
          .append(Arrays.toString(t.getShapeList().toArray()));
    }
    return sb.append('}').toString();
  }
}
