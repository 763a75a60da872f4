package io.cacheai.cli;

import static org.assertj.core.api.Assertions.assertThat;

import ai.onnxruntime.OrtException;
import io.cacheai.data.MnistDataset;
import io.cacheai.ocr.OrtModel;
import io.cacheai.ocr.PpOcrModels;
import io.cacheai.ocr.TextLineRenderer;
import io.cacheai.serve.EmbeddedModels;
import io.cacheai.serve.InferenceServer;
import io.cacheai.serve.ModelLoader;
import io.cacheai.serve.ModelRepository;
import io.cacheai.serve.OnnxModelLoader;
import io.cacheai.serve.TestLoaders;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code cacheai infer} against a loopback server serving the OCR model (ONNX Runtime recognizer
 * until our executor imports PP-OCRv4) and the embedded MNIST CNN (our executor).
 */
class InferCommandTest {
  @TempDir static Path repositoryDir;
  @TempDir Path dir;
  private static ModelRepository repository;
  private static InferenceServer server;
  private static MnistDataset digits;
  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  @BeforeAll
  static void start() throws Exception {
    PpOcrModels.writeRepositoryModel(repositoryDir, "ppocr-rec", "");
    Path cnn = Files.createDirectories(repositoryDir.resolve("mnist-cnn/1"));
    try (InputStream in =
        EmbeddedModels.class
            .getClassLoader()
            .getResourceAsStream(EmbeddedModels.ROOT + "mnist-cnn/1/model.onnx")) {
      Files.write(cnn.resolve("model.onnx"), in.readAllBytes());
    }
    ModelLoader onnx = new OnnxModelLoader();
    ModelLoader loader =
        (name, file) -> {
          if (!name.equals("ppocr-rec")) {
            return onnx.load(name, file);
          }
          try {
            return new OrtModel(Files.readAllBytes(file));
          } catch (OrtException e) {
            throw new IOException(e);
          }
        };
    repository = ModelRepository.load(repositoryDir, loader);
    assertThat(repository.failures()).isEmpty();
    server = InferenceServer.builder(repository).bind("127.0.0.1").port(0).build().start();
    digits = MnistDataset.testSet(Path.of(System.getProperty("user.dir")).getParent());
  }

  @AfterAll
  static void stop() throws Exception {
    server.stop();
    repository.close();
  }

  private int run(String... args) {
    var commandLine = Main.commandLine(new ServeCommand(new TestLoaders()));
    commandLine.setOut(new PrintWriter(out, true));
    commandLine.setErr(new PrintWriter(err, true));
    return commandLine.execute(args);
  }

  private String port() {
    return Integer.toString(server.port());
  }

  @Test
  void infer_directoryOfLineImages_printsFileTextConfidenceSorted() throws IOException {
    List<String> lines = List.of("Amoxicillin 500mg", "Rx #30", "2026-11-29");
    TextLineRenderer renderer = new TextLineRenderer(11);
    for (int i = 0; i < lines.size(); i++) {
      Files.write(dir.resolve("line" + i + ".png"), renderer.render(lines.get(i)).png());
    }
    Files.writeString(dir.resolve("notes.txt"), "not an image");

    int code = run("infer", "--model", "ppocr-rec", "--port", port(), dir.toString());

    assertThat(code).as("stderr: %s", err).isZero();
    List<String> printed = out.toString().lines().toList();
    assertThat(printed).hasSize(3);
    for (int i = 0; i < lines.size(); i++) {
      String[] fields = printed.get(i).split("\t");
      assertThat(fields).hasSize(3);
      assertThat(fields[0]).isEqualTo(dir.resolve("line" + i + ".png").toString());
      assertThat(fields[1]).isEqualTo(lines.get(i));
      assertThat(Float.parseFloat(fields[2])).isBetween(0.8f, 1f);
    }
  }

  @Test
  void infer_oneBadImage_reportedOthersReadExitOne() throws IOException {
    Path good = Files.write(dir.resolve("a.png"), new TextLineRenderer(3).render("Qty: 90").png());
    Path bad = Files.write(dir.resolve("b.png"), new byte[] {(byte) 0x89, 'P', 'N', 'G', 1, 2});

    int code =
        run("infer", "--model", "ppocr-rec", "--port", port(), good.toString(), bad.toString());

    assertThat(code).isEqualTo(1);
    assertThat(out.toString()).startsWith(good + "\tQty");
    assertThat(err.toString())
        .contains("cacheai: infer: " + bad + ": ")
        .contains("INVALID_ARGUMENT")
        .contains("input 'image'[0]");
  }

  @Test
  void infer_mnistDigitImages_printTopClass() throws IOException {
    int count = 10;
    Path[] files = new Path[count];
    for (int i = 0; i < count; i++) {
      float[] pixels = digits.slice(i, 1);
      BufferedImage image = new BufferedImage(28, 28, BufferedImage.TYPE_BYTE_GRAY);
      for (int p = 0; p < 28 * 28; p++) {
        image.getRaster().setSample(p % 28, p / 28, 0, Math.round(pixels[p] * 255));
      }
      files[i] = Files.write(dir.resolve("digit" + i + ".png"), TextLineRenderer.png(image));
    }
    String[] all =
        Arrays.copyOf(new String[] {"infer", "--model", "mnist-cnn", "--port", port()}, 5 + count);
    for (int i = 0; i < count; i++) {
      all[5 + i] = files[i].toString();
    }

    assertThat(run(all)).as("stderr: %s", err).isZero();

    List<String> printed = out.toString().lines().toList();
    assertThat(printed).hasSize(count);
    for (int i = 0; i < count; i++) {
      String[] fields = printed.get(i).split("\t");
      assertThat(fields[0]).isEqualTo(files[i].toString());
      assertThat(Integer.parseInt(fields[1])).as("digit %d", i).isEqualTo(digits.labels()[i]);
    }
  }

  @Test
  void infer_rawTensor_printsEveryOutput() throws IOException {
    float[] pixels = digits.slice(0, 1);
    ByteBuffer bytes = ByteBuffer.allocate(pixels.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    bytes.asFloatBuffer().put(pixels);
    Path raw = Files.write(dir.resolve("digit.f32"), bytes.array());

    int code =
        run(
            "infer",
            "--model",
            "mnist-cnn",
            "--port",
            port(),
            "--raw-tensor",
            raw.toString(),
            "--shape",
            "1,1,28,28");

    assertThat(code).as("stderr: %s", err).isZero();
    String[] fields = out.toString().strip().split("\t");
    assertThat(fields[0]).isEqualTo("logits");
    assertThat(fields[1]).isEqualTo("FP32");
    assertThat(fields[2]).isEqualTo("[1, 10]");
    float[] logits = new float[10];
    String[] values = fields[3].split(" ");
    assertThat(values).hasSize(10);
    int best = 0;
    for (int c = 0; c < 10; c++) {
      logits[c] = Float.parseFloat(values[c]);
      best = logits[c] > logits[best] ? c : best;
    }
    assertThat(best).isEqualTo(digits.labels()[0]);
  }

  @Test
  void infer_rawTensorOfWrongSize_exitOneNamingFile() throws IOException {
    Path raw = Files.write(dir.resolve("short.f32"), new byte[12]);
    int code =
        run(
            "infer",
            "--model",
            "mnist-cnn",
            "--port",
            port(),
            "--raw-tensor",
            raw.toString(),
            "--shape",
            "1,1,28,28");
    assertThat(code).isEqualTo(1);
    assertThat(err.toString())
        .contains("--raw-tensor " + raw + " has 12 bytes, --shape [1, 1, 28, 28] needs 3136");
  }

  @Test
  void infer_usageErrors_exitTwo() {
    assertThat(run("infer", "--model", "m", "--raw-tensor", "x.f32")).isEqualTo(2);
    assertThat(err.toString()).contains("--raw-tensor needs --shape");
    assertThat(run("infer", "--model", "m")).isEqualTo(2);
    assertThat(err.toString()).contains("give at least one image file or directory");
    assertThat(run("infer", "some.png")).isEqualTo(2);
  }

  @Test
  void infer_unknownModelOrMissingFile_exitOne() {
    assertThat(run("infer", "--model", "nope", "--port", port(), "x.png")).isEqualTo(1);
    assertThat(err.toString()).contains("NOT_FOUND");
    Path missing = dir.resolve("missing.png");
    assertThat(run("infer", "--model", "ppocr-rec", "--port", port(), missing.toString()))
        .isEqualTo(1);
    assertThat(err.toString()).contains("no such file or directory: " + missing);
  }
}
