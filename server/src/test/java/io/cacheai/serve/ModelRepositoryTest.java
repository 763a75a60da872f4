package io.cacheai.serve;

import static io.cacheai.serve.TestLoaders.writeModel;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Loading the Triton-like directory layout. */
class ModelRepositoryTest {
  @TempDir Path dir;
  private final TestLoaders loader = new TestLoaders();

  @Test
  void load_versions_newestIsDefault() throws IOException {
    writeModel(dir, "m", "1", "affine");
    writeModel(dir, "m", "3", "affine");
    writeModel(dir, "m", "20", "affine");
    writeModel(dir, "other", "5", "affine");

    try (ModelRepository repository = ModelRepository.load(dir, loader)) {
      assertThat(repository.names()).containsExactly("m", "other");
      assertThat(repository.versions("m")).containsExactly(1L, 3L, 20L);
      assertThat(repository.find("m", "").orElseThrow().version()).isEqualTo(20);
      assertThat(repository.find("m", "3").orElseThrow().version()).isEqualTo(3);
      assertThat(repository.find("m", "2")).isEmpty();
      assertThat(repository.find("m", "abc")).isEmpty();
      assertThat(repository.find("nope", "")).isEmpty();
      assertThat(repository.failures()).isEmpty();
      assertThat(loader.loaded).hasSize(4);
    }
    assertThat(loader.loaded).allSatisfy(m -> assertThat(m.closeCount()).isEqualTo(1));
  }

  @Test
  void close_twice_closesModelsOnce() throws IOException {
    writeModel(dir, "m", "1", "affine");
    ModelRepository repository = ModelRepository.load(dir, loader);
    repository.close();
    repository.close();
    assertThat(loader.loaded.get(0).closeCount()).isEqualTo(1);
  }

  @Test
  void load_modelThatFailsToLoad_isSkippedAndReported() throws IOException {
    writeModel(dir, "good", "1", "affine");
    writeModel(dir, "broken", "1", "garbage");
    writeModel(dir, "half", "1", "affine");
    writeModel(dir, "half", "2", "garbage");
    Files.createDirectories(dir.resolve("empty").resolve("1"));

    try (ModelRepository repository = ModelRepository.load(dir, loader)) {
      assertThat(repository.names()).containsExactly("good", "half");
      assertThat(repository.versions("half")).containsExactly(1L);
      assertThat(repository.failures())
          .extracting(LoadFailure::toString)
          .containsExactly(
              "broken/1: not a model: " + dir.resolve("broken/1/model.onnx") + " holds 'garbage'",
              "empty/1: no model.onnx or model.cai in " + dir.resolve("empty/1"),
              "half/2: not a model: " + dir.resolve("half/2/model.onnx") + " holds 'garbage'");
    }
  }

  @Test
  void load_nonNumericAndHiddenDirectories_areSkipped() throws IOException {
    writeModel(dir, "m", "1", "affine");
    writeModel(dir, "m", "latest", "affine");
    writeModel(dir, ".hidden", "1", "affine");
    Files.writeString(dir.resolve("README"), "not a model");

    try (ModelRepository repository = ModelRepository.load(dir, loader)) {
      assertThat(repository.names()).containsExactly("m");
      assertThat(repository.versions("m")).containsExactly(1L);
      assertThat(repository.failures()).isEmpty();
    }
  }

  @Test
  void load_sameVersionSpelledTwice_secondIsReported() throws IOException {
    writeModel(dir, "m", "1", "affine");
    writeModel(dir, "m", "01", "affine");
    try (ModelRepository repository = ModelRepository.load(dir, loader)) {
      assertThat(repository.versions("m")).containsExactly(1L);
      assertThat(repository.failures())
          .extracting(LoadFailure::toString)
          .containsExactly("m/1: version 1 given twice");
    }
  }

  @Test
  void load_config_appliesMaxBatchSize() throws IOException {
    writeModel(dir, "m", "1", "affine");
    Files.writeString(
        dir.resolve("m/config.properties"), "# limits\nmax_batch_size = 8\nplatform=test_affine\n");
    try (ModelRepository repository = ModelRepository.load(dir, loader)) {
      ModelConfig config = repository.find("m", "").orElseThrow().config();
      assertThat(config.maxBatchSize()).isEqualTo(8);
      assertThat(config.platform()).contains("test_affine");
    }
  }

  @Test
  void load_configUnknownKey_modelRefusedWithAcceptedKeys() throws IOException {
    writeModel(dir, "m", "1", "affine");
    writeModel(dir, "ok", "1", "affine");
    Files.writeString(dir.resolve("m/config.properties"), "max_batch=8\n");
    try (ModelRepository repository = ModelRepository.load(dir, loader)) {
      assertThat(repository.names()).containsExactly("ok");
      assertThat(repository.failures())
          .extracting(LoadFailure::toString)
          .containsExactly(
              "m: invalid config: "
                  + dir.resolve("m/config.properties")
                  + ": unknown key(s) [max_batch]; accepted keys: [batch_threads, dictionary,"
                  + " dynamic_batching, kind, max_batch_size, max_concurrent_requests,"
                  + " max_queue_delay_us, max_queue_size, max_width, platform,"
                  + " request_timeout_ms]");
    }
  }

  @Test
  void load_configBadValue_modelRefused() throws IOException {
    writeModel(dir, "m", "1", "affine");
    Files.writeString(dir.resolve("m/config.properties"), "max_batch_size=-3\n");
    try (ModelRepository repository = ModelRepository.load(dir, loader)) {
      assertThat(repository.isEmpty()).isTrue();
      assertThat(repository.failures().get(0).reason())
          .endsWith("max_batch_size=-3 is not an integer >= 0");
    }
  }

  @Test
  void load_configPlatformDiffers_versionRefusedAndClosed() throws IOException {
    writeModel(dir, "m", "1", "affine");
    Files.writeString(dir.resolve("m/config.properties"), "platform=onnx_fp32\n");
    try (ModelRepository repository = ModelRepository.load(dir, loader)) {
      assertThat(repository.isEmpty()).isTrue();
      assertThat(repository.failures())
          .extracting(LoadFailure::toString)
          .containsExactly(
              "m/1: platform=test_affine of the loaded model differs from platform=onnx_fp32 in"
                  + " config.properties");
    }
    assertThat(loader.loaded.get(0).closeCount()).isEqualTo(1);
  }

  @Test
  void load_configKindErrors_modelRefusedNamingKey() throws IOException {
    String[][] cases = {
      {"kind=ocr_recognizer\n", "kind=ocr_recognizer needs key dictionary"},
      {"dictionary=keys.txt\n", "key dictionary does not apply to kind=onnx"},
      {"kind=bogus\n", "kind=bogus is not one of [onnx, ocr_recognizer]"},
    };
    for (String[] c : cases) {
      Path repo = Files.createDirectories(dir.resolve("r" + c[0].hashCode()));
      writeModel(repo, "m", "1", "affine");
      Files.writeString(repo.resolve("m/config.properties"), c[0]);
      try (ModelRepository repository = ModelRepository.load(repo, loader)) {
        assertThat(repository.isEmpty()).isTrue();
        assertThat(repository.failures().get(0).reason()).as(c[0]).endsWith(c[1]);
      }
    }
  }

  @Test
  void load_ocrKindAroundAModelThatIsNoRecognizer_versionRefusedAndClosed() throws IOException {
    writeModel(dir, "m", "1", "affine");
    Files.writeString(dir.resolve("m/1/keys.txt"), "a\nb\n");
    Files.writeString(
        dir.resolve("m/config.properties"), "kind=ocr_recognizer\ndictionary=keys.txt\n");
    try (ModelRepository repository = ModelRepository.load(dir, loader)) {
      assertThat(repository.isEmpty()).isTrue();
      assertThat(repository.failures())
          .extracting(LoadFailure::toString)
          .containsExactly(
              "m/1: OCR recognizer input x:FP32[-1,4] does not accept FP32 [N,3,48,W]");
    }
    assertThat(loader.loaded.get(0).closeCount()).isEqualTo(1);
  }

  @Test
  void load_ocrKindDictionaryOutsideVersionDir_versionRefusedAndClosed() throws IOException {
    writeModel(dir, "m", "1", "affine");
    Files.writeString(dir.resolve("keys.txt"), "a\n");
    Files.writeString(
        dir.resolve("m/config.properties"), "kind=ocr_recognizer\ndictionary=../../keys.txt\n");
    try (ModelRepository repository = ModelRepository.load(dir, loader)) {
      assertThat(repository.failures().get(0).reason())
          .isEqualTo(
              "dictionary=../../keys.txt must be a plain file name in the version directory"
                  + " ([A-Za-z0-9._-])");
    }
    assertThat(loader.loaded.get(0).closeCount()).isEqualTo(1);
  }

  @Test
  void load_ocrKindMissingDictionaryOrBadWidth_versionRefused() throws IOException {
    writeModel(dir, "m", "1", "affine");
    Files.writeString(
        dir.resolve("m/config.properties"), "kind=ocr_recognizer\ndictionary=keys.txt\n");
    writeModel(dir, "w", "1", "affine");
    Files.writeString(dir.resolve("w/1/keys.txt"), "a\n");
    Files.writeString(
        dir.resolve("w/config.properties"),
        "kind=ocr_recognizer\ndictionary=keys.txt\nmax_width=wide\n");
    try (ModelRepository repository = ModelRepository.load(dir, loader)) {
      assertThat(repository.failures())
          .extracting(LoadFailure::toString)
          .containsExactly(
              "m/1: dictionary=keys.txt: no such file " + dir.resolve("m/1/keys.txt"),
              "w/1: max_width=wide is not an integer in [8,16384]");
    }
  }

  @Test
  void load_notADirectory_throws() {
    assertThatThrownBy(() -> ModelRepository.load(dir.resolve("missing"), loader))
        .isInstanceOf(IOException.class)
        .hasMessage("model repository " + dir.resolve("missing") + " is not a directory");
  }

  @Test
  void of_sameVersionTwice_throws() {
    assertThatThrownBy(
            () ->
                ModelRepository.of(
                    List.of(
                        new ServedModel("m", 1, new AffineModel(), ModelConfig.DEFAULT),
                        new ServedModel("m", 1, new AffineModel(), ModelConfig.DEFAULT))))
        .hasMessage("model m/1 given twice");
  }
}
