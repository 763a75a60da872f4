package io.cacheai.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.cacheai.bundle.Bundle;
import io.cacheai.bundle.BundleReader;
import io.cacheai.serve.FileNameModelLoader;
import io.cacheai.serve.ModelRepository;
import java.io.InputStream;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SIGKILL during {@code cacheai compress}: the real command in a child JVM on the MNIST CNN, killed
 * with {@code kill -9} at seeded random moments and the moment its bundle's temporary file appears
 * (mid-write). After every kill the {@code --out} path holds no partial bundle: it is absent, the
 * previous bundle byte for byte, or a complete new one that {@link BundleReader} verifies. Whatever
 * the killed writer left is a hidden {@code .model.cai.<hex>.tmp} that a model repository ignores,
 * and the next {@code compress} to the same path deletes it.
 */
class CompressKillTest {
  private static final Path ROOT = Path.of(System.getProperty("user.dir")).getParent();
  private static final Path MNIST = ROOT.resolve("tools/mnist/data/t10k-images-idx3-ubyte.gz");
  private static final Pattern TEMP = Pattern.compile("\\.model\\.cai\\.[0-9a-f]{1,16}\\.tmp");
  private static final long SEED = 20261129L;
  private static final int RANDOM_KILLS = 4;
  private static final int MID_WRITE_KILLS = 3;

  @TempDir Path dir;

  @Test
  void sigkillDuringCompress_neverAPartialBundle_leftoversHiddenThenCleaned() throws Exception {
    Path onnx = dir.resolve("mnist-cnn.onnx");
    try (InputStream in =
        getClass().getResourceAsStream("/io/cacheai/models/mnist-cnn/1/model.onnx")) {
      Files.copy(in, onnx);
    }
    Path versionDir = Files.createDirectories(dir.resolve("repo/digits/1"));
    Path out = versionDir.resolve(ModelRepository.BUNDLE_FILE);

    long startNs = System.nanoTime();
    Process first = compress(onnx, out);
    assertThat(first.waitFor(180, TimeUnit.SECONDS)).as("compress finished").isTrue();
    assertThat(first.exitValue()).as("exit code; output:\n%s", output()).isZero();
    long fullMs = (System.nanoTime() - startNs) / 1_000_000;
    assertComplete(out);
    byte[] previous = Files.readAllBytes(out);

    Random random = new Random(SEED);
    List<String> report = new ArrayList<>();
    int leftovers = 0;
    for (int round = 0; round < RANDOM_KILLS + MID_WRITE_KILLS; round++) {
      boolean keepPrevious = round % 2 == 1;
      if (!keepPrevious) {
        Files.deleteIfExists(out);
      } else if (!Files.exists(out)) {
        Files.write(out, previous); // the bundle an earlier compress left
      }
      boolean midWrite = round >= RANDOM_KILLS;
      Process child = compress(onnx, out);
      long killAtMs;
      if (midWrite) {
        killAtMs = killWhenTempAppears(child, versionDir);
      } else {
        killAtMs = 300 + random.nextInt((int) Math.max(1, fullMs));
        child.waitFor(killAtMs, TimeUnit.MILLISECONDS);
        child.destroyForcibly(); // SIGKILL on Linux
      }
      assertThat(child.waitFor(30, TimeUnit.SECONDS)).as("killed child gone").isTrue();

      String outcome;
      if (!Files.exists(out)) {
        assertThat(keepPrevious).as("a previous bundle disappeared (round %d)", round).isFalse();
        outcome = "absent";
      } else {
        assertComplete(out); // lengths and every CRC-32C
        outcome =
            keepPrevious && Arrays.equals(Files.readAllBytes(out), previous)
                ? "previous bundle (intact, or rewritten identically)"
                : "new complete bundle";
      }
      List<String> temps = temps(versionDir);
      leftovers += temps.size();
      assertThat(listing(versionDir))
          .as("only the bundle and hidden temps (round %d)", round)
          .allMatch(name -> name.equals("model.cai") || TEMP.matcher(name).matches());
      report.add(
          String.format(
              "round %d: %s at %d ms (exit %d): %s, hidden temps %s",
              round,
              midWrite ? "kill mid-write" : "kill",
              killAtMs,
              child.exitValue(),
              outcome,
              temps));
      if (Files.exists(out)) {
        previous = Files.readAllBytes(out);
      }
    }

    // A repository ignores the leftovers.
    if (Files.exists(out)) {
      try (ModelRepository repository =
          ModelRepository.load(dir.resolve("repo"), FileNameModelLoader.standard())) {
        assertThat(repository.failures()).isEmpty();
        assertThat(repository.find("digits", "").orElseThrow().model().platform())
            .isEqualTo("cai_int8");
      }
    }
    // The next compress to the same path cleans them up.
    Process last = compress(onnx, out);
    assertThat(last.waitFor(180, TimeUnit.SECONDS)).isTrue();
    assertThat(last.exitValue()).as("exit code; output:\n%s", output()).isZero();
    assertComplete(out);
    assertThat(listing(versionDir)).containsExactly("model.cai");

    System.out.printf(
        "compress kill: full run %d ms; leftover temps seen %d, all cleaned by the next run%n  %s%n",
        fullMs, leftovers, String.join("\n  ", report));
    assertThat(leftovers)
        .as("mid-write kills leave a temp (else the test missed the window)")
        .isPositive();
  }

  private Process compress(Path onnx, Path out) throws Exception {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    String cacheDir = System.getProperty("org.bytedeco.javacpp.cachedir");
    if (cacheDir != null) {
      command.add("-Dorg.bytedeco.javacpp.cachedir=" + cacheDir);
    }
    command.addAll(
        List.of(
            "-cp",
            System.getProperty("java.class.path"),
            Main.class.getName(),
            "compress",
            onnx.toString(),
            "--calibration",
            MNIST.toString(),
            "--samples",
            "200",
            "--method",
            "int8",
            "--out",
            out.toString()));
    return new ProcessBuilder(command)
        .redirectErrorStream(true)
        .redirectOutput(dir.resolve("compress-output.txt").toFile())
        .start();
  }

  /**
   * Waits (inotify, through a WatchService) for the writer's temporary file to be created, then
   * kills the child at once. Returns the ms from start to kill.
   */
  private static long killWhenTempAppears(Process child, Path versionDir) throws Exception {
    long startNs = System.nanoTime();
    try (WatchService watcher = FileSystems.getDefault().newWatchService()) {
      versionDir.register(watcher, StandardWatchEventKinds.ENTRY_CREATE);
      long endNs = startNs + TimeUnit.SECONDS.toNanos(180);
      outer:
      while (child.isAlive() && System.nanoTime() < endNs) {
        WatchKey key = watcher.poll(50, TimeUnit.MILLISECONDS);
        if (key == null) {
          continue;
        }
        for (WatchEvent<?> event : key.pollEvents()) {
          if (event.context() instanceof Path p && TEMP.matcher(p.toString()).matches()) {
            break outer;
          }
        }
        key.reset();
      }
      child.destroyForcibly();
    }
    return (System.nanoTime() - startNs) / 1_000_000;
  }

  private static void assertComplete(Path out) throws Exception {
    try (Bundle bundle = BundleReader.open(out)) { // checks lengths and every CRC-32C
      assertThat(bundle.producer().getCompression()).isEqualTo("int8");
      assertThat(bundle.producer().getSourceName()).isEqualTo("mnist-cnn.onnx");
    }
  }

  private static List<String> temps(Path directory) throws Exception {
    return listing(directory).stream().filter(n -> n.startsWith(".")).toList();
  }

  private static List<String> listing(Path directory) throws Exception {
    try (Stream<Path> files = Files.list(directory)) {
      return files.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  private String output() throws Exception {
    Path file = dir.resolve("compress-output.txt");
    return Files.exists(file) ? Files.readString(file) : "";
  }
}
