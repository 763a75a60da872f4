package io.cacheai.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cacheai.client.InferRequest;
import io.cacheai.client.InferResult;
import io.cacheai.client.InferenceClient;
import io.cacheai.client.InferenceException;
import io.cacheai.client.ModelMetadata;
import io.cacheai.data.MnistDataset;
import io.grpc.Status;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The real thing end to end: the embedded models (two ONNX files and the Cache AI bundle of the
 * CNN) loaded as {@code serve} loads them, served by the Netty server on a loopback socket, called
 * through the Java client SDK.
 */
class EndToEndTest {
  private static final long[] ONE_DIGIT = {1, 1, 28, 28};
  private static ModelRepository repository;
  private static InferenceServer server;
  private static InferenceClient client;
  private static MnistDataset digits;

  @BeforeAll
  static void start() throws Exception {
    repository = EmbeddedModels.load(FileNameModelLoader.standard());
    assertThat(repository.failures()).isEmpty();
    server = InferenceServer.builder(repository).bind("127.0.0.1").port(0).build().start();
    client = InferenceClient.builder().target("127.0.0.1:" + server.port()).build();
    digits = MnistDataset.testSet(Path.of(System.getProperty("user.dir")).getParent());
  }

  @AfterAll
  static void stop() throws Exception {
    client.close();
    server.stop();
    repository.close();
  }

  @ParameterizedTest
  @ValueSource(strings = {"mnist-mlp", "mnist-cnn"})
  void metadataAndHealth_describeTheRealModel(String model) {
    assertThat(client.isServerLive()).isTrue();
    assertThat(client.isServerReady()).isTrue();
    assertThat(client.isModelReady(model)).isTrue();
    assertThat(client.serverMetadata().name()).isEqualTo("cacheai");
    ModelMetadata metadata = client.modelMetadata(model);
    assertThat(metadata.platform()).isEqualTo("onnx_fp32");
    assertThat(metadata.versions()).containsExactly("1");
    assertThat(metadata.input("input").orElseThrow().datatype()).isEqualTo("FP32");
    assertThat(metadata.input("input").orElseThrow().shape()).containsExactly(-1, 1, 28, 28);
    assertThat(metadata.output("logits").orElseThrow().shape()).containsExactly(-1, 10);
  }

  @Test
  void metadata_cacheAiDefault_saysHowItIsCompressed() {
    ModelMetadata metadata = client.modelMetadata("mnist-cnn-cacheai");
    assertThat(metadata.platform()).startsWith("cai_cacheai");
    assertThat(metadata.versions()).containsExactly("1");
    assertThat(metadata.input("input").orElseThrow().shape()).containsExactly(-1, 1, 28, 28);
    assertThat(metadata.output("logits").orElseThrow().shape()).containsExactly(-1, 10);
  }

  @ParameterizedTest
  @ValueSource(strings = {"mnist-mlp", "mnist-cnn", "mnist-cnn-cacheai"})
  void infer_typedAndRaw_readDigitsIdentically(String model) {
    int count = 200;
    long[] shape = {count, 1, 28, 28};
    float[] pixels = digits.slice(0, count);
    InferResult typed =
        client.infer(InferRequest.builder(model).addFp32("input", shape, pixels).build());
    InferResult raw =
        client.infer(
            InferRequest.builder(model).rawInputs(true).addFp32("input", shape, pixels).build());
    assertThat(typed.rawOutputs()).isFalse();
    assertThat(raw.rawOutputs()).isTrue();
    float[] logits = typed.asFloats("logits");
    assertThat(raw.asFloats("logits")).containsExactly(logits);
    assertThat(typed.shape("logits")).containsExactly(count, 10);
    int correct = 0;
    for (int i = 0; i < count; i++) {
      int best = 0;
      for (int c = 1; c < 10; c++) {
        if (logits[i * 10 + c] > logits[i * 10 + best]) {
          best = c;
        }
      }
      correct += best == digits.labels()[i] ? 1 : 0;
    }
    assertThat(correct).as("correct digits of %d", count).isGreaterThanOrEqualTo(196);
  }

  @ParameterizedTest
  @ValueSource(strings = {"mnist-mlp", "mnist-cnn", "mnist-cnn-cacheai"})
  void badRequests_getClearStatus_andNextRequestSucceeds(String model) {
    float[] digit = digits.slice(0, 1);
    assertThatThrownBy(() -> client.inferFloats(model, "input", new long[] {1, 28, 28}, digit))
        .isInstanceOfSatisfying(
            InferenceException.class,
            e -> assertThat(e.code()).isEqualTo(Status.Code.INVALID_ARGUMENT))
        .hasMessageContaining("input 'input'")
        .hasMessageContaining("[-1,1,28,28]");
    assertThatThrownBy(() -> client.inferFloats(model, "pixels", ONE_DIGIT, digit))
        .isInstanceOfSatisfying(
            InferenceException.class,
            e -> assertThat(e.code()).isEqualTo(Status.Code.INVALID_ARGUMENT))
        .hasMessageContaining("pixels");
    assertThatThrownBy(() -> client.inferFloats(model + "-nope", "input", ONE_DIGIT, digit))
        .isInstanceOfSatisfying(
            InferenceException.class, e -> assertThat(e.code()).isEqualTo(Status.Code.NOT_FOUND));
    float[] logits = client.inferFloats(model, "input", ONE_DIGIT, digit);
    assertThat(logits).hasSize(10);
    int best = 0;
    for (int c = 1; c < 10; c++) {
      best = logits[c] > logits[best] ? c : best;
    }
    assertThat(best).isEqualTo(digits.labels()[0]);
  }
}
