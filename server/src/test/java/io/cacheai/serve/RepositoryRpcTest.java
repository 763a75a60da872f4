package io.cacheai.serve;

import static io.cacheai.serve.TestLoaders.writeModel;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cacheai.client.InferRequest;
import io.cacheai.client.InferenceClient;
import io.cacheai.client.InferenceException;
import io.cacheai.client.RepositoryModel;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** RepositoryIndex, RepositoryModelLoad and RepositoryModelUnload over a directory repository. */
class RepositoryRpcTest {
  @TempDir Path dir;
  private final TestLoaders loader = new TestLoaders();
  private ModelRepository repository;
  private Server server;
  private ManagedChannel channel;
  private InferenceClient client;

  @BeforeEach
  void setUp() throws Exception {
    writeModel(dir, "a", "1", "affine");
    writeModel(dir, "a", "2", "affine");
    writeModel(dir, "broken", "1", "garbage");
    repository = ModelRepository.load(dir, loader);
    String name = InProcessServerBuilder.generateName();
    server =
        InProcessServerBuilder.forName(name)
            .addService(new InferenceService(repository, "test"))
            .build()
            .start();
    channel = InProcessChannelBuilder.forName(name).build();
    client = InferenceClient.builder().channel(channel).build();
  }

  @AfterEach
  void tearDown() throws Exception {
    client.close();
    channel.shutdownNow();
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    repository.close();
  }

  private float[] inferA(String version) {
    return client
        .infer(
            InferRequest.builder("a")
                .version(version)
                .addFp32("x", new long[] {1, 4}, new float[] {1, 2, 3, 4})
                .build())
        .asFloats("y");
  }

  private static void assertCode(Runnable call, Status.Code code) {
    assertThatThrownBy(call::run)
        .isInstanceOfSatisfying(
            InferenceException.class, e -> assertThat(e.code()).isEqualTo(code));
  }

  @Test
  void index_listsReadyVersionsAndFailures() {
    assertThat(client.repositoryIndex(false))
        .containsExactly(
            new RepositoryModel("a", "1", "READY", ""),
            new RepositoryModel("a", "2", "READY", ""),
            new RepositoryModel(
                "broken",
                "1",
                "UNAVAILABLE",
                "not a model: " + dir.resolve("broken/1/model.onnx") + " holds 'garbage'"));
    assertThat(client.repositoryIndex(true)).allMatch(RepositoryModel::isReady).hasSize(2);
  }

  @Test
  void unload_thenNotFound_loadServesAgain() {
    assertThat(inferA("")).containsExactly(3, 5, 7, 9);
    client.unloadModel("a");
    assertCode(() -> inferA(""), Status.Code.NOT_FOUND);
    assertThat(client.repositoryIndex(false))
        .contains(new RepositoryModel("a", "", "UNAVAILABLE", "unloaded"));
    assertThat(loader.loaded.subList(0, 2)).allMatch(m -> m.closeCount() == 1);
    client.unloadModel("a"); // unloading again: nothing to do, no error

    client.loadModel("a");
    assertThat(inferA("2")).containsExactly(3, 5, 7, 9);
    assertThat(client.repositoryIndex(true))
        .extracting(RepositoryModel::version)
        .containsExactly("1", "2");
  }

  @Test
  void loadAndUnload_unknownModel_notFound() {
    assertCode(() -> client.loadModel("nope"), Status.Code.NOT_FOUND);
    assertCode(() -> client.unloadModel("nope"), Status.Code.NOT_FOUND);
    assertCode(() -> client.loadModel("../a"), Status.Code.NOT_FOUND);
    assertCode(() -> client.loadModel(""), Status.Code.NOT_FOUND);
  }

  @Test
  void load_brokenNewVersion_invalidArgumentAndOldVersionsStay() throws Exception {
    writeModel(dir, "a", "3", "garbage");
    assertThatThrownBy(() -> client.loadModel("a"))
        .isInstanceOfSatisfying(
            InferenceException.class,
            e -> {
              assertThat(e.code()).isEqualTo(Status.Code.INVALID_ARGUMENT);
              assertThat(e.description()).contains("a/3: not a model").contains("stay served");
            });
    assertThat(repository.versions("a")).containsExactly(1L, 2L);
    assertThat(inferA("")).containsExactly(3, 5, 7, 9);

    writeModel(dir, "a", "3", "affine");
    client.loadModel("a");
    assertThat(repository.versions("a")).containsExactly(1L, 2L, 3L);
    assertThat(repository.find("a", "").orElseThrow().version()).isEqualTo(3);
    // Versions 1 and 2 did not change: kept as they were, not loaded again.
    assertThat(loader.loaded).hasSize(3);
    assertThat(loader.loaded).allMatch(m -> m.closeCount() == 0);
  }

  @Test
  void load_brokenFixedList_failedPrecondition() {
    try (ModelRepository given =
        ModelRepository.of(
            List.of(new ServedModel("m", 1, new AffineModel(), ModelConfig.DEFAULT)))) {
      assertThatThrownBy(() -> given.loadModel("m"))
          .isInstanceOfSatisfying(
              StatusException.class,
              e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION));
    }
  }

  @Test
  void reload_changedVersion_heldLeaseKeepsOldOpenUntilReleased() throws Exception {
    AffineModel oldV1 = loader.loaded.get(0);
    ModelLease lease = repository.acquire("a", "1").orElseThrow();
    Files.writeString(dir.resolve("a/1/model.onnx"), "affine\n\n");
    repository.loadModel("a");

    AffineModel newV1 = loader.loaded.get(loader.loaded.size() - 1);
    assertThat(repository.find("a", "1").orElseThrow().model()).isSameAs(newV1);
    assertThat(lease.served().model()).isSameAs(oldV1);
    assertThat(oldV1.closeCount()).isZero();
    lease.close();
    assertThat(oldV1.closeCount()).isEqualTo(1);
    lease.close();
    assertThat(oldV1.closeCount()).isEqualTo(1);
    assertThat(newV1.closeCount()).isZero();
  }
}
