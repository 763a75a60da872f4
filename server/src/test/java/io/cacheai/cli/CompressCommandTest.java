package io.cacheai.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.cacheai.bundle.Bundle;
import io.cacheai.bundle.BundleReader;
import io.cacheai.bundle.PackedTensors;
import io.cacheai.client.InferRequest;
import io.cacheai.client.InferenceClient;
import io.cacheai.compress.Dataset;
import io.cacheai.compress.Evaluation;
import io.cacheai.graph.OpType;
import io.cacheai.graph.PackedTensor;
import io.cacheai.runtime.Model;
import io.cacheai.serve.BundleModelLoader;
import io.cacheai.serve.FileNameModelLoader;
import io.cacheai.serve.InferenceServer;
import io.cacheai.serve.ModelRepository;
import io.cacheai.serve.TestLoaders;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
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
  void compress_budgetNoLayerCanMeet_failsInsteadOfWritingAnFp32Bundle() throws Exception {
    Path onnx = onnx("mnist-mlp");
    assertThat(
            run(
                "compress",
                onnx.toString(),
                "--calibration",
                MNIST.toString(),
                "--samples",
                "200",
                "--method",
                "int4",
                "--budget",
                "-1",
                "--out",
                dir.resolve("x.cai").toString()))
        .isEqualTo(1);
    assertThat(err.toString())
        .contains("method=int4 budget=-1.00 pt: no layer stays quantized")
        .contains("-> fp32");
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
        .contains(
            "kept exact /11/Gemm 120->84: w=30 leaves C=4 codebooks") // 4-bit tables by default
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

  /**
   * {@code --lut-rest int8}: the MLP's middle layer as tables, its first (784→256, 800 kB in fp32)
   * and last layers int8 calibrated on what the tables produce. Measured here: 235 055 bytes, 4.00×
   * smaller than the ONNX file (vs 1.12× with an fp32 rest), 76.40% vs 76.63% on images 1000..9999.
   */
  @Test
  void compressThenServe_cacheaiMlpLutRestInt8_tablesAndInt8Layers() throws Exception {
    Path onnx = onnx("mnist-mlp");
    Path repository = dir.resolve("repo");
    Path cai = Files.createDirectories(repository.resolve("digits/1")).resolve("model.cai");
    Path fp32Rest = dir.resolve("fp32-rest.cai");
    for (String[] rest : new String[][] {{"int8", cai.toString()}, {"fp32", fp32Rest.toString()}}) {
      assertThat(
              run(
                  "compress",
                  onnx.toString(),
                  "--calibration",
                  MNIST.toString(),
                  "--samples",
                  "1000",
                  "--method",
                  "cacheai",
                  "--lut-rest",
                  rest[0],
                  "--out",
                  rest[1]))
          .as("stderr: %s", err)
          .isZero();
    }
    assertThat(out.toString())
        .contains("other layers (--lut-rest int8; tables alone score")
        .containsPattern("layer /1/Gemm +int8")
        .containsPattern("layer /5/Gemm +int8")
        .contains("method=cacheai w=auto encoder=tree rest=int8")
        .contains("method=cacheai w=auto encoder=tree rest=fp32");

    try (Bundle bundle = BundleReader.open(cai)) {
      Map<String, OpType> ops = new HashMap<>();
      bundle.graph().nodes().forEach(n -> ops.put(n.name(), n.op()));
      assertThat(ops)
          .containsEntry("/1/Gemm", OpType.QLINEAR_GEMM)
          .containsEntry("/3/Gemm", OpType.LOOKUP_GEMM)
          .containsEntry("/5/Gemm", OpType.QLINEAR_GEMM)
          .doesNotContainValue(OpType.GEMM);
      assertThat(bundle.producer().getCompression()).isEqualTo("cacheai_int8");
      assertThat(bundle.manifest().getMetadataMap())
          .containsEntry("layers", "/1/Gemm=int8 /3/Gemm=lookup /5/Gemm=int8");
      // the tables (same seed) pass through the quantizer byte for byte
      try (Bundle tablesOnly = BundleReader.open(fp32Rest)) {
        Map<String, PackedTensor> tables = PackedTensors.read(tablesOnly);
        Map<String, PackedTensor> withInt8 = PackedTensors.read(bundle);
        assertThat(tables).isNotEmpty();
        tables.forEach(
            (name, t) -> {
              assertThat(withInt8).containsKey(name);
              assertThat(withInt8.get(name).data()).as(name).isEqualTo(t.data());
            });
      }
    }
    double ratio = (double) Files.size(onnx) / Files.size(cai);
    // 5.59x since dead-row pruning (3.28x before): /1/Gemm keeps the 144 of its 256 rows the
    // trees read (143 + 1 zero row), the centroids only the read columns (36 864 B, not 66 816 B)
    assertThat(ratio).as("whole-model ratio vs the ONNX file").isBetween(5.3, 5.9);
    assertThat((double) Files.size(onnx) / Files.size(fp32Rest)).isBetween(1.7, 2.0);

    Dataset test = Dataset.read(MNIST).range(1000, 10_000);
    Evaluation int8Rest;
    Evaluation fp32RestEval;
    try (Model a = new BundleModelLoader().load("digits", cai);
        Model b = new BundleModelLoader().load("digits", fp32Rest)) {
      assertThat(a.platform()).isEqualTo("cai_cacheai_int8");
      assertThat(b.platform()).isEqualTo("cai_cacheai");
      int8Rest = Evaluation.run(a, test, d -> {});
      fp32RestEval = Evaluation.run(b, test, d -> {});
    }
    System.out.printf(
        java.util.Locale.ROOT,
        "mnist-mlp cacheai: rest int8 %.2f%% (%d bytes, %.2fx), rest fp32 %.2f%% (%d bytes)%n",
        int8Rest.accuracyPct(),
        Files.size(cai),
        ratio,
        fp32RestEval.accuracyPct(),
        Files.size(fp32Rest));
    assertThat(int8Rest.accuracyPct())
        .as("int8 rest vs fp32 rest, images 1000..9999")
        .isCloseTo(fp32RestEval.accuracyPct(), within(0.5));
    assertThat(int8Rest.agreementPct(fp32RestEval)).isGreaterThanOrEqualTo(98.0);

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
        .contains("platform=cai_cacheai_int8")
        // its input pruned to the columns the trees read, the exact layer's NMSE is not measurable
        .containsPattern(
            "cacheai layer /3/Gemm +key hit rate \\d+\\.\\d\\d%  layer NMSE n/a \\(input pruned")
        .contains("top-1 agreement");

    Dataset digits = Dataset.read(MNIST).range(1000, 1020);
    try (ModelRepository repo = ModelRepository.load(repository, FileNameModelLoader.standard())) {
      InferenceServer server =
          InferenceServer.builder(repo).bind("127.0.0.1").port(0).build().start();
      try (InferenceClient client =
          InferenceClient.builder().target("127.0.0.1:" + server.port()).build()) {
        assertThat(client.modelMetadata("digits").platform()).isEqualTo("cai_cacheai_int8");
        float[] logits =
            client
                .infer(
                    InferRequest.builder("digits")
                        .addFp32("input", digits.batchShape(20), digits.slice(0, 20))
                        .build())
                .asFloats("logits");
        int[][] served = new int[20][];
        for (int i = 0; i < 20; i++) {
          int best = 0;
          for (int c = 1; c < 10; c++) {
            best = logits[i * 10 + c] > logits[i * 10 + best] ? c : best;
          }
          served[i] = new int[] {best};
        }
        // what the server answers is what the bundle computes in process
        assertThat(served).isDeepEqualTo(java.util.Arrays.copyOf(int8Rest.predictions(), 20));
      } finally {
        server.stop();
      }
    }
  }

  @Test
  void compress_lutRestUnknownOrWithoutCacheai_failsNamingTheValue() throws Exception {
    Path onnx = onnx("mnist-mlp");
    assertThat(
            run(
                "compress",
                onnx.toString(),
                "--calibration",
                MNIST.toString(),
                "--method",
                "cacheai",
                "--lut-rest",
                "int5",
                "--out",
                dir.resolve("x.cai").toString()))
        .isEqualTo(1);
    assertThat(err.toString()).contains("lut-rest 'int5' (accepted: fp32, int8, int4, mixed)");
    assertThat(dir.resolve("x.cai")).doesNotExist();

    assertThat(
            run(
                "compress",
                onnx.toString(),
                "--calibration",
                MNIST.toString(),
                "--method",
                "int8",
                "--lut-rest",
                "int8",
                "--out",
                dir.resolve("x.cai").toString()))
        .isEqualTo(1);
    assertThat(err.toString()).contains("lut-rest=int8 applies to --method cacheai only");
    assertThat(dir.resolve("x.cai")).doesNotExist();
  }

  @Test
  void compress_lutMixupNotAFraction_failsNamingTheValue() throws Exception {
    Path onnx = onnx("mnist-mlp");
    for (String bad : List.of("-0.5", "17", "half")) {
      assertThat(
              run(
                  "compress",
                  onnx.toString(),
                  "--calibration",
                  MNIST.toString(),
                  "--method",
                  "cacheai",
                  "--lut-mixup",
                  bad,
                  "--out",
                  dir.resolve("x.cai").toString()))
          .isEqualTo(1);
      assertThat(err.toString())
          .contains("lut-mixup=" + bad + " (auto, or a fraction of the fine-tune rows in 0..16)");
      assertThat(dir.resolve("x.cai")).doesNotExist();
    }
  }

  @Test
  void compress_lutDepthNotTwoToFour_failsNamingTheOption() throws Exception {
    Path onnx = onnx("mnist-mlp");
    for (String bad : List.of("1", "5", "deep")) {
      assertThat(
              run(
                  "compress",
                  onnx.toString(),
                  "--calibration",
                  MNIST.toString(),
                  "--method",
                  "cacheai",
                  "--lut-depth",
                  bad,
                  "--out",
                  dir.resolve("x.cai").toString()))
          .isEqualTo(1);
      assertThat(err.toString())
          .contains(
              "--lut-depth '" + bad + "' (accepted: auto, 2, 3, 4: trees of 4, 8 or 16 keys)");
      assertThat(dir.resolve("x.cai")).doesNotExist();
    }
  }

  @Test
  void compress_lutFoldNotAutoOnOff_failsNamingTheOption() throws Exception {
    Path onnx = onnx("mnist-mlp");
    for (String bad : List.of("yes", "1", "folded")) {
      assertThat(
              run(
                  "compress",
                  onnx.toString(),
                  "--calibration",
                  MNIST.toString(),
                  "--method",
                  "cacheai",
                  "--lut-fold",
                  bad,
                  "--out",
                  dir.resolve("x.cai").toString()))
          .isEqualTo(1);
      assertThat(err.toString())
          .contains(
              "--lut-fold '"
                  + bad
                  + "' (accepted: auto, on, off: key-0 table rows folded into the bias)");
      assertThat(dir.resolve("x.cai")).doesNotExist();
    }
  }

  @Test
  void compress_lutL2spNotAutoOrANumberInZeroOne_failsNamingTheOption() throws Exception {
    Path onnx = onnx("mnist-mlp");
    for (String bad : List.of("-0.001", "2", "on", "NaN")) {
      assertThat(
              run(
                  "compress",
                  onnx.toString(),
                  "--calibration",
                  MNIST.toString(),
                  "--method",
                  "cacheai",
                  "--lut-l2sp",
                  bad,
                  "--out",
                  dir.resolve("x.cai").toString()))
          .isEqualTo(1);
      assertThat(err.toString())
          .contains(
              "--lut-l2sp '"
                  + bad
                  + "' (accepted: auto, or a number in [0, 1.0]: the L2-SP weight L of the"
                  + " soft-key fine-tuning)");
      assertThat(dir.resolve("x.cai")).doesNotExist();
    }
  }
}
