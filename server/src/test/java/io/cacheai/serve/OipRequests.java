package io.cacheai.serve;

import com.google.protobuf.ByteString;
import inference.GrpcService.InferTensorContents;
import inference.GrpcService.ModelInferRequest;
import inference.GrpcService.ModelInferRequest.InferInputTensor;
import inference.GrpcService.ModelInferResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Builders of protocol requests and readers of responses, shared by the serve tests. */
final class OipRequests {
  private OipRequests() {}

  static InferInputTensor.Builder input(String name, String datatype, long... shape) {
    InferInputTensor.Builder input =
        InferInputTensor.newBuilder().setName(name).setDatatype(datatype);
    for (long dim : shape) {
      input.addShape(dim);
    }
    return input;
  }

  static InferTensorContents fp32(float... values) {
    InferTensorContents.Builder contents = InferTensorContents.newBuilder();
    for (float v : values) {
      contents.addFp32Contents(v);
    }
    return contents.build();
  }

  static ByteString rawFloats(float... values) {
    ByteBuffer bytes = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    for (float v : values) {
      bytes.putFloat(v);
    }
    return ByteString.copyFrom(bytes.array());
  }

  static float[] floats(ByteString raw) {
    float[] values = new float[raw.size() / 4];
    raw.asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(values);
    return values;
  }

  /** Typed request for the affine model: x of shape [values/4, 4]. */
  static ModelInferRequest.Builder affineTyped(String version, float... values) {
    return ModelInferRequest.newBuilder()
        .setModelName("affine")
        .setModelVersion(version)
        .addInputs(input("x", "FP32", values.length / 4, 4).setContents(fp32(values)));
  }

  /** Raw request for the affine model: x of shape [values/4, 4]. */
  static ModelInferRequest.Builder affineRaw(String version, float... values) {
    return ModelInferRequest.newBuilder()
        .setModelName("affine")
        .setModelVersion(version)
        .addInputs(input("x", "FP32", values.length / 4, 4))
        .addRawInputContents(rawFloats(values));
  }

  /** The fp32 contents of typed output {@code index}. */
  static float[] typedOutput(ModelInferResponse response, int index) {
    var list = response.getOutputs(index).getContents().getFp32ContentsList();
    float[] values = new float[list.size()];
    for (int i = 0; i < values.length; i++) {
      values[i] = list.get(i);
    }
    return values;
  }
}
