package io.cacheai.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.cacheai.onnx.OnnxImporter;
import java.nio.FloatBuffer;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;

/** Runs one ONNX model through ONNX Runtime and through {@link GraphModel} and compares. */
final class OrtComparison {
  private OrtComparison() {}

  static float[] random(Random random, int count) {
    float[] values = new float[count];
    for (int i = 0; i < values.length; i++) {
      values[i] = (float) random.nextGaussian();
    }
    return values;
  }

  /**
   * Asserts equal output shape and max |ours - ort| ≤ tolerance × max(1, max |ort|); returns the
   * max abs difference.
   */
  static float assertMatches(
      byte[] onnx, Map<String, float[]> inputs, Map<String, long[]> shapes, String output,
      float tolerance)
      throws Exception {
    OrtEnvironment environment = OrtEnvironment.getEnvironment();
    float[] expected;
    long[] expectedShape;
    try (OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        OrtSession session = environment.createSession(onnx, options)) {
      Map<String, OnnxTensor> feeds = new HashMap<>();
      try {
        for (var entry : inputs.entrySet()) {
          feeds.put(
              entry.getKey(),
              OnnxTensor.createTensor(
                  environment, FloatBuffer.wrap(entry.getValue()), shapes.get(entry.getKey())));
        }
        try (OrtSession.Result result = session.run(feeds)) {
          OnnxTensor tensor = (OnnxTensor) result.get(output).orElseThrow();
          expectedShape = tensor.getInfo().getShape();
          FloatBuffer buffer = tensor.getFloatBuffer();
          expected = new float[buffer.remaining()];
          buffer.get(expected);
        }
      } finally {
        feeds.values().forEach(OnnxTensor::close);
      }
    }
    Map<String, Tensor> request = new HashMap<>();
    inputs.forEach((name, values) -> request.put(name, Tensor.ofFloats(shapes.get(name), values)));
    Tensor ours;
    try (GraphModel model = new GraphModel(OnnxImporter.importBytes(onnx))) {
      ours = model.infer(request).get(output);
    }
    assertThat(ours.shape()).as("output shape").isEqualTo(expectedShape);
    float[] actual = ours.toFloatArray();
    float maxAbs = 1;
    float maxDiff = 0;
    for (int i = 0; i < expected.length; i++) {
      maxAbs = Math.max(maxAbs, Math.abs(expected[i]));
      maxDiff = Math.max(maxDiff, Math.abs(expected[i] - actual[i]));
    }
    assertThat(maxDiff).as("max abs diff vs ORT (max |ort| %s)", maxAbs)
        .isLessThanOrEqualTo(tolerance * maxAbs);
    return maxDiff;
  }
}
