package io.cacheai.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cacheai.client.InferenceClient;
import io.cacheai.client.InferenceException;
import io.cacheai.client.RepositoryModel;
import io.cacheai.data.MnistDataset;
import io.grpc.Status;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The model repository directory deleted under a running server (an operator's {@code rm -rf}, a
 * volume unmounted): the loaded models keep serving the same answers — the ONNX model lives on the
 * heap, the bundle's mapping outlives its unlinked file — RepositoryIndex still lists them,
 * RepositoryModelLoad says the repository is gone (FAILED_PRECONDITION, naming the directory),
 * unload still works, and once the directory is back a load works again. No restart.
 */
class RepositoryRemovedTest {
  private static final long[] EIGHT_DIGITS = {8, 1, 28, 28};

  @TempDir Path dir;

  @Test
  void repositoryDeleted_loadedModelsServe_loadSaysRepositoryIsGone_thenRecovers()
      throws Exception {
    Path repo = dir.resolve("repo");
    MnistFiles.copy(repo, "mnist-mlp", "mnist-mlp", "1");
    MnistFiles.bundle(repo, "mnist-cnn", "mnist-cnn", "1");
    MnistDataset digits = MnistFiles.digits();
    float[] pixels = digits.slice(0, 8);

    try (ModelRepository repository = ModelRepository.load(repo, FileNameModelLoader.standard());
        InferenceServer server =
            InferenceServer.builder(repository).bind("127.0.0.1").port(0).build().start();
        InferenceClient client =
            InferenceClient.builder().target("127.0.0.1:" + server.port()).build()) {
      float[] mlp = client.inferFloats("mnist-mlp", "input", EIGHT_DIGITS, pixels);
      float[] cnn = client.inferFloats("mnist-cnn", "input", EIGHT_DIGITS, pixels);

      deleteTree(repo);
      assertThat(repo).doesNotExist();

      assertThat(client.isServerReady()).isTrue();
      assertThat(client.inferFloats("mnist-mlp", "input", EIGHT_DIGITS, pixels))
          .containsExactly(mlp);
      assertThat(client.inferFloats("mnist-cnn", "input", EIGHT_DIGITS, pixels))
          .containsExactly(cnn);
      assertThat(client.repositoryIndex(false))
          .containsExactly(
              new RepositoryModel("mnist-cnn", "1", "READY", ""),
              new RepositoryModel("mnist-mlp", "1", "READY", ""));
      assertThatThrownBy(() -> client.loadModel("mnist-cnn"))
          .isInstanceOfSatisfying(
              InferenceException.class,
              e -> assertThat(e.code()).isEqualTo(Status.Code.FAILED_PRECONDITION))
          .hasMessageContaining("model repository " + repo + " is missing or not a directory")
          .hasMessageContaining("the loaded models keep serving: [mnist-cnn, mnist-mlp]");
      assertThat(client.inferFloats("mnist-cnn", "input", EIGHT_DIGITS, pixels))
          .containsExactly(cnn);

      // Unloading still works (and unmaps the deleted bundle).
      client.unloadModel("mnist-cnn");
      assertThat(client.isModelReady("mnist-cnn")).isFalse();
      assertThat(client.inferFloats("mnist-mlp", "input", EIGHT_DIGITS, pixels))
          .containsExactly(mlp);

      // The volume comes back: loads work again.
      MnistFiles.copy(repo, "mnist-cnn", "mnist-cnn", "1");
      client.loadModel("mnist-cnn");
      assertThat(client.inferFloats("mnist-cnn", "input", EIGHT_DIGITS, pixels))
          .as("the ONNX file computes what the bundle did")
          .containsExactly(cnn);
      assertThat(argmaxes(cnn)).containsExactly(Arrays.copyOf(digits.labels(), 8));
    }
  }

  private static void deleteTree(Path root) throws Exception {
    try (Stream<Path> paths = Files.walk(root)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }

  private static int[] argmaxes(float[] logits) {
    int[] best = new int[logits.length / 10];
    for (int row = 0; row < best.length; row++) {
      for (int c = 1; c < 10; c++) {
        best[row] = logits[row * 10 + c] > logits[row * 10 + best[row]] ? c : best[row];
      }
    }
    return best;
  }
}
