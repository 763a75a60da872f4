package io.cacheai.serve;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The models shipped as classpath resources. */
class EmbeddedModelsTest {
  @TempDir Path classpath;

  @Test
  void readIndex_shippedIndex_listsCacheAiDefaultFirst() throws IOException {
    assertThat(EmbeddedModels.readIndex(EmbeddedModels.class.getClassLoader()))
        .containsExactly("mnist-cnn-cacheai/1", "mnist-cnn/1", "mnist-mlp/1");
  }

  @Test
  void load_indexedResources_servedThroughLoaderAndTempDirDeletedOnClose() throws IOException {
    Path root = Files.createDirectories(classpath.resolve("io/cacheai/models"));
    Files.writeString(root.resolve("index.txt"), "# demo\nalpha/1\nalpha/2\nbeta/1\ngone/1\n");
    TestLoaders.writeModel(root, "alpha", "1", "affine");
    TestLoaders.writeModel(root, "alpha", "2", "affine");
    TestLoaders.writeModel(root, "beta", "1", "garbage");
    Files.writeString(root.resolve("alpha/config.properties"), "max_batch_size=16\n");
    TestLoaders loader = new TestLoaders();
    Path[] extracted = new Path[1];
    ModelLoader recording =
        (name, file) -> {
          extracted[0] = file;
          return loader.load(name, file);
        };

    try (URLClassLoader classLoader =
            new URLClassLoader(new URL[] {classpath.toUri().toURL()}, null);
        ModelRepository repository = EmbeddedModels.load(recording, classLoader)) {
      assertThat(repository.names()).containsExactly("alpha");
      assertThat(repository.versions("alpha")).containsExactly(1L, 2L);
      assertThat(repository.find("alpha", "").orElseThrow().config().maxBatchSize()).isEqualTo(16);
      assertThat(repository.failures())
          .extracting(LoadFailure::toString)
          .containsExactly(
              "gone/1: embedded resource io/cacheai/models/gone/1/model.onnx not found",
              "beta/1: not a model: " + extracted[0] + " holds 'garbage'");
      assertThat(extracted[0]).exists();
      repository.close();
      assertThat(extracted[0]).doesNotExist();
    }
  }
}
