package io.cacheai.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Clients in other languages, nobody here wrote their gRPC stack, against the real server on a
 * loopback port with the embedded models: {@code examples/python-client} (grpcio, stubs generated
 * from our proto) and {@code examples/node-client} (@grpc/grpc-js + @grpc/proto-loader). Each calls
 * ServerReady, ModelMetadata and ModelInfer typed and raw on the first 16 MNIST test digits, and
 * must get them all right with bit-identical typed and raw logits.
 *
 * <p>When python3 (with grpcio, grpcio-tools, numpy) or node (with {@code npm ci} run in the
 * example) is missing, the test is skipped with what to install; under CI ({@code CI} set) it fails
 * instead, since {@code .ci/run} installs them.
 */
class PolyglotClientsTest {
  /** The labels of the first 16 MNIST test digits (t10k-labels-idx1-ubyte). */
  private static final String DIGITS = "7 2 1 0 4 1 4 9 5 9 0 6 9 0 1 5";

  private static final long TIMEOUT_SECONDS = 120;
  private static final Path ROOT = Path.of(System.getProperty("user.dir")).getParent();

  private static ModelRepository repository;
  private static InferenceServer server;

  @BeforeAll
  static void startServer() throws Exception {
    repository = EmbeddedModels.load(FileNameModelLoader.standard());
    server = InferenceServer.builder(repository).bind("127.0.0.1").port(0).build().start();
  }

  @AfterAll
  static void stopServer() throws Exception {
    if (server != null) {
      server.stop();
    }
    if (repository != null) {
      repository.close();
    }
  }

  @Test
  void pythonClient_typedAndRaw_getsTheDigitsRight() throws Exception {
    Path dir = ROOT.resolve("examples/python-client");
    require(
        run(dir, List.of("python3", "-c", "import grpc, grpc_tools, numpy")).code == 0,
        "python3 with grpcio, grpcio-tools and numpy (pip install -r "
            + dir.resolve("requirements.txt")
            + ")");
    Result generate = run(dir, List.of("bash", "generate.sh"));
    assertThat(generate.code).as(generate.output).isZero();
    Result client = run(dir, clientArgs("python3", "client.py"));
    assertClientSucceeded(client, "ready=True", "typed == raw logits: True");
  }

  @Test
  void nodeClient_typedAndRaw_getsTheDigitsRight() throws Exception {
    Path dir = ROOT.resolve("examples/node-client");
    require(
        run(dir, List.of("node", "--version")).code == 0
            && Files.isDirectory(dir.resolve("node_modules/@grpc/grpc-js"))
            && Files.isDirectory(dir.resolve("node_modules/@grpc/proto-loader")),
        "node >= 18 and its packages (cd " + dir + " && npm ci)");
    Result client = run(dir, clientArgs("node", "client.js"));
    assertClientSucceeded(client, "ready=true", "typed == raw logits: true");
  }

  private static List<String> clientArgs(String interpreter, String script) {
    return List.of(
        interpreter,
        script,
        "--target",
        "127.0.0.1:" + server.port(),
        "--model",
        "mnist-cnn",
        "--count",
        "16",
        "--min-accuracy",
        "1.0");
  }

  private static void assertClientSucceeded(Result client, String ready, String sameLogits) {
    assertThat(client.code).as(client.output).isZero();
    assertThat(client.output)
        .contains(ready)
        .contains("input  input FP32 [-1, 1, 28, 28]")
        .contains("output logits FP32 [-1, 10]")
        .contains("predicted: " + DIGITS)
        .contains("labels:    " + DIGITS)
        .contains("accuracy 1.000 on 16 digits")
        .contains(sameLogits);
  }

  /** Skips (locally) or fails (CI set) when a tool is missing. */
  private static void require(boolean present, String what) {
    if (present) {
      return;
    }
    String message = "needs " + what;
    if (System.getenv("CI") != null) {
      fail(message + " (CI is set: .ci/run installs it)");
    }
    Assumptions.abort(message);
  }

  private record Result(int code, String output) {}

  /** Runs a command in {@code dir}, bounded in time; output is stdout and stderr together. */
  private static Result run(Path dir, List<String> command) throws Exception {
    Path log = Files.createTempFile("cacheai-polyglot-", ".log");
    try {
      Process process;
      try {
        process =
            new ProcessBuilder(new ArrayList<>(command))
                .directory(dir.toFile())
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
      } catch (IOException notInstalled) {
        return new Result(127, command.get(0) + ": " + notInstalled.getMessage());
      }
      if (!process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        fail(command + " still running after " + TIMEOUT_SECONDS + " s: " + read(log));
      }
      return new Result(process.exitValue(), read(log));
    } finally {
      Files.deleteIfExists(log);
    }
  }

  private static String read(Path log) throws IOException {
    return Files.readString(log, StandardCharsets.UTF_8);
  }
}
