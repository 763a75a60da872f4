package io.cacheai.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.cacheai.data.MnistDataset;
import io.cacheai.onnx.OnnxImporter;
import java.io.InputStream;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The embedded MNIST models through cacheai's executor, checked against ONNX Runtime (logits and
 * argmax) and against the labels of the committed MNIST test set (accuracy).
 */
class MnistModelsTest {
  /** fp32 logits of O(10) magnitude after a few hundred-term sums, different summation order. */
  private static final float MAX_ABS_DIFF_VS_ORT = 1e-4f;

  private static final int IMAGE_FLOATS = 28 * 28;
  private static MnistDataset testSet;

  @BeforeAll
  static void readTestSet() throws Exception {
    testSet = MnistDataset.testSet(Path.of(System.getProperty("user.dir")).getParent());
    assertThat(testSet.count()).isEqualTo(10_000);
  }

  static byte[] embeddedModel(String name) throws Exception {
    try (InputStream in =
        MnistModelsTest.class.getResourceAsStream("/io/cacheai/models/" + name + "/1/model.onnx")) {
      assertThat(in).as("embedded model %s", name).isNotNull();
      return in.readAllBytes();
    }
  }

  @ParameterizedTest
  @CsvSource({"mnist-mlp", "mnist-cnn"})
  void logits_matchOnnxRuntimeOn1000Images(String name) throws Exception {
    byte[] onnx = embeddedModel(name);
    OrtEnvironment environment = OrtEnvironment.getEnvironment();
    int batch = 100;
    float maxDiff = 0;
    try (GraphModel model = new GraphModel(OnnxImporter.importBytes(onnx));
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        OrtSession session = environment.createSession(onnx, options)) {
      for (int from = 0; from < 1000; from += batch) {
        float[] pixels = testSet.slice(from, batch);
        long[] shape = {batch, 1, 28, 28};
        float[] ours =
            model
                .infer(Map.of("input", Tensor.ofFloats(shape, pixels)))
                .get("logits")
                .toFloatArray();
        float[] theirs;
        try (OnnxTensor input =
                OnnxTensor.createTensor(environment, FloatBuffer.wrap(pixels), shape);
            OrtSession.Result result = session.run(Map.of("input", input))) {
          FloatBuffer logits = ((OnnxTensor) result.get(0)).getFloatBuffer();
          theirs = new float[logits.remaining()];
          logits.get(theirs);
        }
        assertThat(ours).hasSameSizeAs(theirs);
        for (int i = 0; i < batch; i++) {
          assertThat(argmax(ours, i * 10))
              .as("image %d", from + i)
              .isEqualTo(argmax(theirs, i * 10));
        }
        for (int i = 0; i < ours.length; i++) {
          maxDiff = Math.max(maxDiff, Math.abs(ours[i] - theirs[i]));
        }
      }
    }
    System.out.printf("%s: max |cacheai - ORT| over 1000 images = %.3g%n", name, maxDiff);
    assertThat(maxDiff).isLessThanOrEqualTo(MAX_ABS_DIFF_VS_ORT);
  }

  @ParameterizedTest
  @CsvSource({"mnist-mlp, 0.980", "mnist-cnn, 0.990"})
  void accuracy_onFullTestSet_meetsTarget(String name, double target) throws Exception {
    int correct = 0;
    int batch = 500;
    try (GraphModel model = new GraphModel(OnnxImporter.importBytes(embeddedModel(name)))) {
      for (int from = 0; from < testSet.count(); from += batch) {
        float[] logits =
            model
                .infer(
                    Map.of(
                        "input",
                        Tensor.ofFloats(new long[] {batch, 1, 28, 28}, testSet.slice(from, batch))))
                .get("logits")
                .toFloatArray();
        for (int i = 0; i < batch; i++) {
          if (argmax(logits, i * 10) == testSet.labels()[from + i]) {
            correct++;
          }
        }
      }
    }
    double accuracy = correct / (double) testSet.count();
    System.out.printf(
        "%s: accuracy %.4f on %d MNIST test images%n", name, accuracy, testSet.count());
    assertThat(accuracy).isGreaterThanOrEqualTo(target);
  }

  static int argmax(float[] values, int offset) {
    int best = 0;
    for (int i = 1; i < 10; i++) {
      if (values[offset + i] > values[offset + best]) {
        best = i;
      }
    }
    return best;
  }
}
