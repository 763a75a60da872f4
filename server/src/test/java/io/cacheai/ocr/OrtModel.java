package io.cacheai.ocr;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import io.cacheai.runtime.DataType;
import io.cacheai.runtime.Model;
import io.cacheai.runtime.Tensor;
import io.cacheai.runtime.TensorSpec;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * ONNX Runtime behind our {@link Model} interface, for tests: the independent peer that runs a
 * model our executor does not (yet) import, so the code around the model is tested against the real
 * network now. FP32 inputs and outputs only; one intra-op thread, like our executor.
 */
public final class OrtModel implements Model {
  private final OrtEnvironment environment = OrtEnvironment.getEnvironment();
  private final OrtSession session;
  private final List<TensorSpec> inputs;
  private final List<TensorSpec> outputs;

  public OrtModel(byte[] onnx) throws OrtException {
    try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
      options.setIntraOpNumThreads(1);
      options.setInterOpNumThreads(1);
      session = environment.createSession(onnx, options);
    }
    inputs = specs(session.getInputInfo());
    outputs = specs(session.getOutputInfo());
  }

  private static List<TensorSpec> specs(Map<String, NodeInfo> infos) {
    List<TensorSpec> specs = new ArrayList<>();
    for (NodeInfo info : infos.values()) {
      TensorInfo tensor = (TensorInfo) info.getInfo();
      long[] shape = tensor.getShape().clone();
      for (int i = 0; i < shape.length; i++) {
        shape[i] = shape[i] < 0 ? TensorSpec.DYNAMIC : shape[i];
      }
      specs.add(new TensorSpec(info.getName(), DataType.FP32, shape));
    }
    return List.copyOf(specs);
  }

  @Override
  public String platform() {
    return "onnxruntime_fp32";
  }

  @Override
  public List<TensorSpec> inputs() {
    return inputs;
  }

  @Override
  public List<TensorSpec> outputs() {
    return outputs;
  }

  @Override
  public Map<String, Tensor> infer(Map<String, Tensor> request) {
    Map<String, OnnxTensor> feeds = new LinkedHashMap<>();
    try {
      for (Map.Entry<String, Tensor> entry : request.entrySet()) {
        Tensor t = entry.getValue();
        feeds.put(
            entry.getKey(),
            OnnxTensor.createTensor(environment, t.data().asFloatBuffer(), t.shape()));
      }
      try (OrtSession.Result result = session.run(feeds)) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (TensorSpec spec : outputs) {
          OnnxTensor tensor = (OnnxTensor) result.get(spec.name()).orElseThrow();
          FloatBuffer values = tensor.getFloatBuffer();
          out.put(spec.name(), Tensor.ofFloats(tensor.getInfo().getShape(), values));
        }
        return out;
      }
    } catch (OrtException e) {
      throw new IllegalStateException("onnxruntime: " + e.getMessage(), e);
    } finally {
      feeds.values().forEach(OnnxTensor::close);
    }
  }

  @Override
  public void close() {
    try {
      session.close();
    } catch (OrtException e) {
      throw new IllegalStateException(e);
    }
  }
}
