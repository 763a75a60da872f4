package io.cacheai.serve;

import static org.assertj.core.api.Assertions.assertThat;

import io.cacheai.bundle.BundleWriter;
import io.cacheai.client.InferRequest;
import io.cacheai.client.InferenceClient;
import io.cacheai.client.ModelMetadata;
import io.cacheai.data.MnistDataset;
import io.cacheai.onnx.OnnxImporter;
import io.cacheai.proto.v1.Producer;
import io.cacheai.runtime.GraphModel;
import io.cacheai.runtime.Tensor;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A repository of {@code model.cai} bundles, loaded by the standard loader, served by the Netty
 * server on loopback and called through the Java client SDK: the answers are the ONNX model's, bit
 * for bit.
 */
class BundleServingTest {
  @TempDir static Path repositoryDir;
  private static ModelRepository repository;
  private static InferenceServer server;
  private static InferenceClient client;
  private static MnistDataset digits;

  @BeforeAll
  static void start() throws Exception {
    // mnist-cnn: a bundle only. mnist-mlp: onnx and bundle side by side (the bundle wins).
    writeBundle("mnist-cnn", "none", repositoryDir.resolve("mnist-cnn/1"));
    Path mlp = repositoryDir.resolve("mnist-mlp/1");
    writeBundle("mnist-mlp", "none", mlp);
    Files.write(mlp.resolve(ModelRepository.MODEL_FILE), onnx("mnist-mlp"));
    // Refused, each for its own reason; the others are served.
    Path corrupt = Files.createDirectories(repositoryDir.resolve("corrupt/1"));
    Files.write(corrupt.resolve(ModelRepository.BUNDLE_FILE), new byte[] {'C', 'A', 'I', 'B'});
    writeBundle("mnist-mlp", "int8", repositoryDir.resolve("quantized/1"));

    repository = ModelRepository.load(repositoryDir, FileNameModelLoader.standard());
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

  @Test
  void metadata_reportsTheBundlePlatformAndShapes() {
    for (String model : new String[] {"mnist-cnn", "mnist-mlp"}) {
      ModelMetadata metadata = client.modelMetadata(model);
      assertThat(metadata.platform()).as(model).isEqualTo(BundleModelLoader.PLATFORM_FP32);
      assertThat(metadata.input("input").orElseThrow().shape()).containsExactly(-1, 1, 28, 28);
      assertThat(metadata.output("logits").orElseThrow().shape()).containsExactly(-1, 10);
    }
  }

  @Test
  void infer_overLoopback_bitIdenticalToTheOnnxModel() throws Exception {
    int count = 100;
    long[] shape = {count, 1, 28, 28};
    float[] pixels = digits.slice(0, count);
    for (String model : new String[] {"mnist-cnn", "mnist-mlp"}) {
      float[] served =
          client
              .infer(InferRequest.builder(model).addFp32("input", shape, pixels).build())
              .asFloats("logits");
      float[] expected;
      try (GraphModel reference = new GraphModel(OnnxImporter.importBytes(onnx(model)))) {
        expected =
            reference
                .infer(Map.of("input", Tensor.ofFloats(shape, pixels)))
                .get("logits")
                .toFloatArray();
      }
      assertThat(served).as(model).containsExactly(expected);
      int correct = 0;
      for (int i = 0; i < count; i++) {
        int best = 0;
        for (int c = 1; c < 10; c++) {
          best = served[i * 10 + c] > served[i * 10 + best] ? c : best;
        }
        correct += best == digits.labels()[i] ? 1 : 0;
      }
      assertThat(correct).as("%s correct of %d", model, count).isGreaterThanOrEqualTo(98);
    }
  }

  @Test
  void load_corruptAndQuantizedBundles_reportedWhileOthersServe() {
    assertThat(repository.names()).containsExactly("mnist-cnn", "mnist-mlp");
    assertThat(repository.failures())
        .extracting(LoadFailure::toString)
        .anySatisfy(
            f ->
                assertThat(f)
                    .startsWith("corrupt/1: bundle ")
                    .contains("fileLength=4 is shorter than the 64-byte header"))
        .anySatisfy(
            f ->
                assertThat(f)
                    .startsWith("quantized/1: ")
                    .contains("compression=int8; this loader serves fp32 bundles only"));
  }

  private static void writeBundle(String model, String compression, Path versionDir)
      throws Exception {
    Files.createDirectories(versionDir);
    new BundleWriter(OnnxImporter.importBytes(onnx(model)))
        .producer(Producer.newBuilder().setSourceName(model).setCompression(compression).build())
        .write(versionDir.resolve(ModelRepository.BUNDLE_FILE));
  }

  private static byte[] onnx(String model) throws Exception {
    try (InputStream in =
        BundleServingTest.class.getResourceAsStream(
            "/io/cacheai/models/" + model + "/1/model.onnx")) {
      return in.readAllBytes();
    }
  }
}
