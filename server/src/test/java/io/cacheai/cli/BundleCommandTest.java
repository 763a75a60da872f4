package io.cacheai.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.cacheai.bundle.Bundle;
import io.cacheai.bundle.BundleReader;
import io.cacheai.serve.TestLoaders;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code cacheai bundle MODEL.onnx --out MODEL.cai}. */
class BundleCommandTest {
  @TempDir Path dir;
  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  private int run(String... args) {
    CommandLine commandLine = Main.commandLine(new ServeCommand(new TestLoaders()));
    commandLine.setOut(new PrintWriter(out, true));
    commandLine.setErr(new PrintWriter(err, true));
    return commandLine.execute(args);
  }

  @Test
  void bundle_embeddedCnn_writesABundleRecordingItsSource() throws Exception {
    Path onnx = dir.resolve("mnist-cnn.onnx");
    try (InputStream in =
        getClass().getResourceAsStream("/io/cacheai/models/mnist-cnn/1/model.onnx")) {
      Files.copy(in, onnx);
    }
    Path cai = dir.resolve("mnist-cnn.cai");
    assertThat(run("bundle", onnx.toString(), "--out", cai.toString()))
        .as("stderr: %s", err)
        .isZero();
    assertThat(out.toString())
        .startsWith("cacheai: wrote " + cai + " (" + Files.size(cai) + " bytes,");
    try (Bundle bundle = BundleReader.open(cai)) {
      String sha256 =
          HexFormat.of()
              .formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(onnx)));
      assertThat(bundle.producer().getSourceSha256()).isEqualTo(sha256);
      assertThat(bundle.producer().getSourceName()).isEqualTo("mnist-cnn.onnx");
      assertThat(bundle.producer().getCompression()).isEqualTo("none");
      assertThat(bundle.producer().getCacheaiVersion()).isNotEmpty();
      assertThat(bundle.graph().nodes()).isNotEmpty();
    }
  }

  @Test
  void bundle_notAnOnnxFile_failsWithOneLineAndWritesNothing() throws Exception {
    Path notOnnx = Files.writeString(dir.resolve("x.onnx"), "hello");
    Path cai = dir.resolve("x.cai");
    assertThat(run("bundle", notOnnx.toString(), "--out", cai.toString())).isEqualTo(1);
    assertThat(err.toString()).startsWith("cacheai: bundle failed: ");
    assertThat(cai).doesNotExist();
  }

  @Test
  void bundle_missingOut_isAUsageError() {
    assertThat(run("bundle", "m.onnx")).isEqualTo(2);
    assertThat(err.toString()).contains("Missing required option: '--out=MODEL.cai'");
  }
}
