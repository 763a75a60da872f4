package io.cacheai.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.cacheai.client.InferRequest;
import io.cacheai.client.InferenceClient;
import io.cacheai.compress.Dataset;
import io.cacheai.serve.FileNameModelLoader;
import io.cacheai.serve.InferenceServer;
import io.cacheai.serve.ModelRepository;
import io.cacheai.serve.TestLoaders;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code cacheai compress} then {@code cacheai eval}, and the bundle served over loopback as {@code
 * model.cai} with the platform saying how it is compressed.
 */
class CompressCommandTest {
  private static final Path ROOT = Path.of(System.getProperty("user.dir")).getParent();
  private static final Path MNIST = ROOT.resolve("tools/mnist/data/t10k-images-idx3-ubyte.gz");

  @TempDir Path dir;
  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  private int run(String... args) {
    CommandLine commandLine = Main.commandLine(new ServeCommand(new TestLoaders()));
    commandLine.setOut(new PrintWriter(out, true));
    commandLine.setErr(new PrintWriter(err, true));
    return commandLine.execute(args);
  }

  private Path onnx(String model) throws Exception {
    Path file = dir.resolve(model + ".onnx");
    try (InputStream in =
        getClass().getResourceAsStream("/io/cacheai/models/" + model + "/1/model.onnx")) {
      Files.copy(in, file);
    }
    return file;
  }

  @Test
  void compressThenEvalThenServe_int8Cnn() throws Exception {
    Path onnx = onnx("mnist-cnn");
    Path repository = dir.resolve("repo");
    Path cai = Files.createDirectories(repository.resolve("digits/1")).resolve("model.cai");
    assertThat(
            run(
                "compress",
                onnx.toString(),
                "--calibration",
                MNIST.toString(),
                "--samples",
                "300",
                "--method",
                "int8",
                "--calibration-method",
                "mse",
                "--out",
                cai.toString()))
        .as("stderr: %s", err)
        .isZero();
    assertThat(out.toString()).contains("layer /0/Conv").contains("int8").contains("wrote " + cai);
    assertThat(err.toString()).contains("] calibrate 300/300"); // the progress bar

    out.getBuffer().setLength(0);
    assertThat(
            run(
                "eval",
                cai.toString(),
                "--data",
                MNIST.toString(),
                "--range",
                "9000:10000",
                "--reference",
                onnx.toString(),
                "--latency-runs",
                "20"))
        .as("stderr: %s", err)
        .isZero();
    assertThat(out.toString())
        .contains("platform=cai_int8")
        .contains("samples=1000")
        .containsPattern("top-1 agreement (99\\.[5-9]\\d|100\\.00)%")
        .containsPattern("size ratio 3\\.\\d\\dx smaller");

    Dataset digits = Dataset.read(MNIST).range(0, 20);
    try (ModelRepository repo = ModelRepository.load(repository, FileNameModelLoader.standard())) {
      InferenceServer server =
          InferenceServer.builder(repo).bind("127.0.0.1").port(0).build().start();
      try (InferenceClient client =
          InferenceClient.builder().target("127.0.0.1:" + server.port()).build()) {
        assertThat(client.modelMetadata("digits").platform()).isEqualTo("cai_int8");
        float[] logits =
            client
                .infer(
                    InferRequest.builder("digits")
                        .addFp32("input", digits.batchShape(20), digits.slice(0, 20))
                        .build())
                .asFloats("logits");
        int correct = 0;
        for (int i = 0; i < 20; i++) {
          int best = 0;
          for (int c = 1; c < 10; c++) {
            best = logits[i * 10 + c] > logits[i * 10 + best] ? c : best;
          }
          correct += best == digits.labels()[i] ? 1 : 0;
        }
        assertThat(correct).isGreaterThanOrEqualTo(19);
      } finally {
        server.stop();
      }
    }
  }

  @Test
  void compress_unknownMethod_failsNamingTheAcceptedValues() throws Exception {
    Path onnx = onnx("mnist-mlp");
    assertThat(
            run(
                "compress",
                onnx.toString(),
                "--calibration",
                MNIST.toString(),
                "--method",
                "int5",
                "--out",
                dir.resolve("x.cai").toString()))
        .isEqualTo(1);
    assertThat(err.toString()).contains("method 'int5' (accepted: int8, int4, mixed, cacheai)");
    assertThat(dir.resolve("x.cai")).doesNotExist();
  }

  @Test
  void eval_dataNeitherIdxNorRaw_failsNamingTheFile() throws Exception {
    Path onnx = onnx("mnist-mlp");
    Path junk = Files.writeString(dir.resolve("junk.bin"), "not data");
    assertThat(run("eval", onnx.toString(), "--data", junk.toString())).isEqualTo(1);
    assertThat(err.toString()).contains("data=" + junk).contains("CAIT");
  }

  @Test
  void compressThenEval_cacheaiCnn_printsLayerReportAndHitRates() throws Exception {
    Path onnx = onnx("mnist-cnn");
    Path cai = dir.resolve("cnn-cacheai.cai");
    assertThat(
            run(
                "compress",
                onnx.toString(),
                "--calibration",
                MNIST.toString(),
                "--samples",
                "300",
                "--method",
                "cacheai",
                "--seed",
                "3",
                "--out",
                cai.toString()))
        .as("stderr: %s", err)
        .isZero();
    assertThat(out.toString())
        .contains("layer /9/Gemm")
        // the default layer rule keeps 120->84 exact (C=2 at 10x) and says so
        .contains("kept exact /11/Gemm 120->84: w=60 leaves C=2 codebooks")
        .contains("fine-tuned /9/Gemm tables + [/11/Gemm, /13/Gemm], 6 epochs")
        .contains("key hit")
        .contains("NMSE")
        .contains("method=cacheai w=auto encoder=tree");
    out.getBuffer().setLength(0);
    assertThat(
            run(
                "eval",
                cai.toString(),
                "--data",
                MNIST.toString(),
                "--range",
                "1000:1500",
                "--reference",
                onnx.toString(),
                "--latency-runs",
                "5"))
        .as("stderr: %s", err)
        .isZero();
    assertThat(out.toString())
        .contains("platform=cai_cacheai")
        .containsPattern("cacheai layer /9/Gemm +key hit rate \\d+\\.\\d\\d%  layer NMSE 0\\.\\d+")
        .doesNotContain("cacheai layer /11/Gemm")
        .contains("top-1 agreement");
  }
}
