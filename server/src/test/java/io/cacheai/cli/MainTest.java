package io.cacheai.cli;

import static org.assertj.core.api.Assertions.assertThat;

import inference.GRPCInferenceServiceGrpc;
import inference.GrpcService.ModelReadyRequest;
import inference.GrpcService.ServerLiveRequest;
import io.cacheai.serve.InferenceServer;
import io.cacheai.serve.ModelLoader;
import io.cacheai.serve.TestLoaders;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code cacheai serve} end to end, with a test loader standing in for the ONNX executor. */
class MainTest {
  private static final Pattern LISTENING =
      Pattern.compile("cacheai: listening on 127\\.0\\.0\\.1:(\\d+)\\R");

  @TempDir Path dir;
  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  private int run(ServeCommand serve, String... args) {
    CommandLine commandLine = Main.commandLine(serve);
    commandLine.setOut(new PrintWriter(out, true));
    commandLine.setErr(new PrintWriter(err, true));
    return commandLine.execute(args);
  }

  @Test
  void serve_portZero_printsOneListeningLineServesAndExitsZeroOnStop() throws Exception {
    TestLoaders.writeModel(dir, "affine", "1", "affine");
    TestLoaders.writeModel(dir, "broken", "1", "garbage");
    CompletableFuture<InferenceServer> started = new CompletableFuture<>();
    ServeCommand serve = new ServeCommand(new TestLoaders(), started::complete);
    ExecutorService runner = Executors.newSingleThreadExecutor();
    try {
      Future<Integer> exitCode =
          runner.submit(
              () ->
                  run(
                      serve,
                      "serve",
                      "--port",
                      "0",
                      "--metrics-port",
                      "0",
                      "--model-repository",
                      dir.toString()));
      InferenceServer server = started.get(30, TimeUnit.SECONDS);

      Matcher line = LISTENING.matcher(out.toString());
      assertThat(line.matches()).as("stdout: %s", out).isTrue();
      int port = Integer.parseInt(line.group(1));
      assertThat(port).isEqualTo(server.port()).isPositive();
      assertThat(err.toString())
          .contains("cacheai: serving affine/1 platform=test_affine inputs [x:FP32[-1,4]]")
          .contains("cacheai: not serving broken/1: not a model:");

      ManagedChannel channel =
          NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
      try {
        var stub = GRPCInferenceServiceGrpc.newBlockingStub(channel);
        assertThat(stub.serverLive(ServerLiveRequest.getDefaultInstance()).getLive()).isTrue();
        assertThat(
                stub.modelReady(ModelReadyRequest.newBuilder().setName("affine").build())
                    .getReady())
            .isTrue();
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }

      server.stop();
      assertThat(exitCode.get(30, TimeUnit.SECONDS)).isZero();
      assertThat(out.toString().lines()).hasSize(1);
    } finally {
      runner.shutdownNow();
    }
  }

  @Test
  void serve_noLoadableModel_exitsOne() throws IOException {
    TestLoaders.writeModel(dir, "broken", "1", "garbage");
    int code =
        run(
            new ServeCommand(new TestLoaders()),
            "serve",
            "--port",
            "0",
            "--model-repository",
            dir.toString());
    assertThat(code).isEqualTo(1);
    assertThat(out.toString()).isEmpty();
    assertThat(err.toString()).contains("cacheai: no model could be loaded from " + dir);
  }

  @Test
  void serve_missingRepository_exitsOneWithMessage() {
    Path missing = dir.resolve("nope");
    int code =
        run(
            new ServeCommand(new TestLoaders()),
            "serve",
            "--port",
            "0",
            "--model-repository",
            missing.toString());
    assertThat(code).isEqualTo(1);
    assertThat(err.toString())
        .contains("cacheai: serve failed: model repository " + missing + " is not a directory");
  }

  @Test
  void serve_embeddedModelsWithFailingLoader_reportsEachAndExitsOne() {
    ModelLoader failing =
        (name, file) -> {
          throw new IOException("refused by test");
        };
    int code = run(new ServeCommand(failing), "serve", "--port", "0");
    assertThat(code).isEqualTo(1);
    assertThat(err.toString())
        .contains("cacheai: not serving mnist-mlp/1: ")
        .contains("cacheai: not serving mnist-cnn/1: ")
        .contains("cacheai: no model could be loaded from the embedded models");
  }

  @Test
  void serve_usageErrors_exitTwo() {
    ServeCommand serve = new ServeCommand(new TestLoaders());
    assertThat(run(serve, "serve", "--no-such-option")).isEqualTo(2);
    assertThat(run(new ServeCommand(new TestLoaders()), "serve", "--port", "x")).isEqualTo(2);
    assertThat(run(new ServeCommand(new TestLoaders()), "serve", "--port", "70000")).isEqualTo(2);
    assertThat(run(new ServeCommand(new TestLoaders()), "serve", "--blas-threads", "0"))
        .isEqualTo(2);
    assertThat(err.toString()).contains("--port=70000 must be in [0,65535]");
    assertThat(run(new ServeCommand(new TestLoaders()), "serve", "--response-cache-mib", "-1"))
        .isEqualTo(2);
    assertThat(err.toString()).contains("--response-cache-mib=-1 must be in [0,65536]");
  }

  @Test
  void main_noSubcommand_exitTwo() {
    assertThat(run(new ServeCommand(new TestLoaders()))).isEqualTo(2);
    assertThat(err.toString()).contains("missing subcommand");
  }

  @Test
  void main_help_exitZeroAndListsServe() {
    assertThat(run(new ServeCommand(new TestLoaders()), "--help")).isZero();
    assertThat(out.toString()).contains("serve");
  }
}
