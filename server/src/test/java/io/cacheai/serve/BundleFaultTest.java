package io.cacheai.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cacheai.bundle.Bundle;
import io.cacheai.bundle.BundleDescriptor;
import io.cacheai.bundle.BundleReader;
import io.cacheai.client.InferenceClient;
import io.cacheai.client.InferenceException;
import io.cacheai.client.RepositoryModel;
import io.cacheai.data.MnistDataset;
import io.cacheai.proto.v1.Section;
import io.grpc.Status;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Damaged {@code .cai} bundles, while served and while loading, on a loopback server.
 *
 * <p>The contract tested: a served bundle is a mapping of the file as it was verified at load. A
 * deploy that replaces the file — renamed over, as {@link io.cacheai.bundle.BundleWriter} and any
 * atomic deploy do, so the new bytes are a new inode — cannot touch that mapping; a reload then
 * verifies the new file and, if it is damaged (flipped bits, truncated copy, garbage, gone), is
 * refused with INVALID_ARGUMENT naming the file and the check that failed, and the verified version
 * keeps serving the same answers. A bundle damaged before it is loaded makes its version
 * UNAVAILABLE in RepositoryIndex with the reason; the other models serve.
 *
 * <p>Not tested, because it is outside what any reader of a mapped file can survive: truncating or
 * rewriting the served file in place (same inode). Reading a page past the new end of a truncated
 * mapping raises SIGBUS, which kills the JVM inside native kernels. The README makes a read-only
 * repository volume (or rename-only updates) a deployment requirement.
 */
class BundleFaultTest {
  private static final long[] EIGHT_DIGITS = {8, 1, 28, 28};

  @TempDir Path dir;

  @Test
  void reload_bundleReplacedByDamagedFile_refusedWithReasonAndVerifiedMappingServes()
      throws Exception {
    Path repo = dir.resolve("repo");
    Path cnn = MnistFiles.bundle(repo, "mnist-cnn", "mnist-cnn", "1");
    MnistFiles.bundle(repo, "mnist-mlp", "mnist-mlp", "1");
    byte[] good = Files.readAllBytes(cnn);
    MnistDataset digits = MnistFiles.digits();
    float[] pixels = digits.slice(0, 8);

    Map<String, byte[]> damaged = new LinkedHashMap<>();
    damaged.put("(corrupt data)", flipped(good, weightByteOffset(cnn)));
    damaged.put("(truncated)", Arrays.copyOf(good, good.length / 2));
    damaged.put("(corrupt header)", flipped(good, BundleDescriptor.SECTION_COUNT_OFFSET));
    damaged.put("(corrupt manifest)", flipped(good, good.length - 1));
    damaged.put("shorter than the 64-byte header", new byte[0]);

    ExecutorService background = Executors.newSingleThreadExecutor();
    AtomicBoolean stop = new AtomicBoolean();
    try (ModelRepository repository = ModelRepository.load(repo, FileNameModelLoader.standard());
        InferenceServer server =
            InferenceServer.builder(repository).bind("127.0.0.1").port(0).build().start();
        InferenceClient client =
            InferenceClient.builder()
                .target("127.0.0.1:" + server.port())
                .defaultDeadline(Duration.ofSeconds(20))
                .build()) {
      float[] verified = client.inferFloats("mnist-cnn", "input", EIGHT_DIGITS, pixels);
      assertThat(argmaxes(verified)).containsExactly(Arrays.copyOf(digits.labels(), 8));
      // Requests keep flowing through every fault, each answer checked bit for bit.
      Future<LoadGenerator.Result> load =
          background.submit(
              () ->
                  LoadGenerator.run(
                      4,
                      Duration.ofSeconds(60),
                      50_000,
                      stop::get,
                      (worker, seq) -> {
                        float[] got =
                            client.inferFloats("mnist-cnn", "input", EIGHT_DIGITS, pixels);
                        return Arrays.equals(got, verified) ? null : "logits changed";
                      }));

      for (Map.Entry<String, byte[]> fault : damaged.entrySet()) {
        replace(cnn, fault.getValue());
        assertThatThrownBy(() -> client.loadModel("mnist-cnn"))
            .as(fault.getKey())
            .isInstanceOfSatisfying(
                InferenceException.class,
                e -> assertThat(e.code()).isEqualTo(Status.Code.INVALID_ARGUMENT))
            .hasMessageContaining("bundle " + cnn)
            .hasMessageContaining(fault.getKey())
            .hasMessageContaining("versions [1] stay served");
        assertThat(client.inferFloats("mnist-cnn", "input", EIGHT_DIGITS, pixels))
            .as("served after %s", fault.getKey())
            .containsExactly(verified);
      }
      Files.delete(cnn);
      assertThatThrownBy(() -> client.loadModel("mnist-cnn"))
          .hasMessageContaining("no model.onnx or model.cai in " + cnn.getParent())
          .hasMessageContaining("versions [1] stay served");
      assertThat(client.inferFloats("mnist-cnn", "input", EIGHT_DIGITS, pixels))
          .containsExactly(verified);

      // A good bundle again (a new file): the reload takes it.
      MnistFiles.bundle(repo, "mnist-cnn", "mnist-cnn", "1");
      client.loadModel("mnist-cnn");
      assertThat(client.inferFloats("mnist-cnn", "input", EIGHT_DIGITS, pixels))
          .containsExactly(verified);
      assertThat(client.repositoryIndex(false))
          .containsExactly(
              new RepositoryModel("mnist-cnn", "1", "READY", ""),
              new RepositoryModel("mnist-mlp", "1", "READY", ""));

      stop.set(true);
      LoadGenerator.Result result = load.get(60, TimeUnit.SECONDS);
      System.out.printf(
          "bundle faults: %d checked calls during the faults, %d errors%n",
          result.calls(), result.errors());
      assertThat(result.firstErrors()).isEmpty();
      assertThat(result.calls()).isPositive();
    } finally {
      stop.set(true);
      background.shutdownNow();
    }
  }

  @Test
  void load_damagedBundlesAtStart_unavailableWithReason_othersServe() throws Exception {
    Path repo = dir.resolve("repo");
    MnistFiles.bundle(repo, "mnist-mlp", "mnist-mlp", "1");
    Path cnn = MnistFiles.bundle(repo, "mnist-cnn", "mnist-cnn", "1");
    replace(cnn, flipped(Files.readAllBytes(cnn), weightByteOffset(cnn)));
    Path half = MnistFiles.bundle(repo, "mnist-mlp", "half", "1");
    replace(half, Arrays.copyOf(Files.readAllBytes(half), (int) Files.size(half) / 2));
    MnistDataset digits = MnistFiles.digits();
    float[] pixels = digits.slice(0, 8);

    try (ModelRepository repository = ModelRepository.load(repo, FileNameModelLoader.standard());
        InferenceServer server =
            InferenceServer.builder(repository).bind("127.0.0.1").port(0).build().start();
        InferenceClient client =
            InferenceClient.builder().target("127.0.0.1:" + server.port()).build()) {
      List<RepositoryModel> index = client.repositoryIndex(false);
      assertThat(index).hasSize(3);
      assertThat(index.get(0).name()).isEqualTo("half");
      assertThat(index.get(0).state()).isEqualTo("UNAVAILABLE");
      assertThat(index.get(0).reason())
          .startsWith("bundle " + half)
          .contains("in the header but the file has")
          .contains("(truncated)");
      assertThat(index.get(1).name()).isEqualTo("mnist-cnn");
      assertThat(index.get(1).state()).isEqualTo("UNAVAILABLE");
      assertThat(index.get(1).reason())
          .startsWith("bundle " + cnn)
          .contains("crc32c=")
          .contains("(corrupt data)");
      assertThat(index.get(2)).isEqualTo(new RepositoryModel("mnist-mlp", "1", "READY", ""));

      assertThat(argmaxes(client.inferFloats("mnist-mlp", "input", EIGHT_DIGITS, pixels)))
          .containsExactly(Arrays.copyOf(digits.labels(), 8));
      assertThatThrownBy(() -> client.inferFloats("mnist-cnn", "input", EIGHT_DIGITS, pixels))
          .isInstanceOfSatisfying(
              InferenceException.class, e -> assertThat(e.code()).isEqualTo(Status.Code.NOT_FOUND));

      // Repaired on disk, loaded without a restart.
      MnistFiles.bundle(repo, "mnist-cnn", "mnist-cnn", "1");
      client.loadModel("mnist-cnn");
      assertThat(argmaxes(client.inferFloats("mnist-cnn", "input", EIGHT_DIGITS, pixels)))
          .containsExactly(Arrays.copyOf(digits.labels(), 8));
      assertThat(client.repositoryIndex(true))
          .extracting(RepositoryModel::name)
          .containsExactly("mnist-cnn", "mnist-mlp");
    }
  }

  /** Replaces {@code file} by {@code bytes} as a deploy would: a new file renamed over it. */
  static void replace(Path file, byte[] bytes) throws Exception {
    Path temp = file.resolveSibling("." + file.getFileName() + ".deploy.tmp");
    Files.write(temp, bytes);
    Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }

  /** The offset of the middle byte of {@code bundle}'s largest section (a weight, not padding). */
  private static int weightByteOffset(Path bundle) throws Exception {
    try (Bundle open = BundleReader.open(bundle)) {
      Section largest =
          open.manifest().getSectionsList().stream()
              .max(Comparator.comparingLong(Section::getLengthBytes))
              .orElseThrow();
      return (int) (largest.getOffset() + largest.getLengthBytes() / 2);
    }
  }

  private static byte[] flipped(byte[] bytes, int offset) {
    byte[] copy = bytes.clone();
    copy[offset] ^= 0x10;
    return copy;
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
