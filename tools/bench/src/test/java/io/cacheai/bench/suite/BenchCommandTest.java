package io.cacheai.bench.suite;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The suite end to end on the MNIST MLP with tiny counts: real bundles written by the real {@code
 * cacheai bundle/compress} commands, real ONNX Runtime, a CSV with the expected rows and columns
 * and sane values. Not a timing test: latencies are only checked to be positive.
 */
class BenchCommandTest {
  @TempDir Path out;

  @Test
  void run_mnistMlp_writesCsvRowsPerFormWithSaneValues() throws Exception {
    Path root = Path.of(System.getProperty("user.dir")).resolve("../..").normalize();
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    BenchCommand command = new BenchCommand(new PrintStream(log, true, StandardCharsets.UTF_8));
    new CommandLine(command)
        .parseArgs(
            "--models=mnist-mlp",
            "--forms=ort-fp32,fp32,int8,no-such-method",
            "--root=" + root,
            "--out=" + out,
            "--calibration-samples=200",
            "--eval-samples=500",
            "--batch=4",
            "--warmup-ms=20",
            "--window-ms=20",
            "--max-windows=3",
            "--skip-grpc");
    BenchCommand.Run run = command.run();

    List<String> lines = Files.readAllLines(out.resolve("models.csv"));
    assertThat(lines.get(0).split(",")).containsExactlyElementsOf(CsvReport.MODEL_COLUMNS);
    Map<String, Map<String, String>> rows = new HashMap<>();
    for (String line : lines.subList(1, lines.size())) {
      String[] cells = line.split(",(?=(?:[^\"]*\"[^\"]*\")*[^\"]*$)", -1);
      assertThat(cells).hasSize(CsvReport.MODEL_COLUMNS.size());
      Map<String, String> row = new HashMap<>();
      for (int i = 0; i < cells.length; i++) {
        row.put(CsvReport.MODEL_COLUMNS.get(i), cells[i]);
      }
      assertThat(row.get("model")).isEqualTo("mnist-mlp");
      rows.put(row.get("form"), row);
    }
    assertThat(rows).containsOnlyKeys("ort-fp32", "fp32", "int8", "no-such-method");

    for (String form : List.of("ort-fp32", "fp32", "int8")) {
      Map<String, String> row = rows.get(form);
      assertThat(row.get("status")).as(form).isEqualTo("ok");
      assertThat(Long.parseLong(row.get("size_bytes"))).as(form).isPositive();
      assertThat(Double.parseDouble(row.get("accuracy_pct"))).as(form).isGreaterThan(90);
      assertThat(Double.parseDouble(row.get("agreement_pct"))).as(form).isGreaterThan(95);
      assertThat(row.get("cer_pct")).as(form).isEmpty();
      assertThat(row.get("batch")).isEqualTo("4");
      for (String column :
          List.of(
              "b1_p50_us", "b1_p99_us", "b1_cpu_us", "bn_p50_us", "bn_items_per_s", "bn_cpu_us")) {
        assertThat(Double.parseDouble(row.get(column))).as(form + " " + column).isPositive();
      }
      assertThat(Double.parseDouble(row.get("b1_p99_us")))
          .isGreaterThanOrEqualTo(Double.parseDouble(row.get("b1_p50_us")));
    }
    assertThat(Double.parseDouble(rows.get("ort-fp32").get("agreement_pct"))).isEqualTo(100);
    assertThat(Double.parseDouble(rows.get("ort-fp32").get("size_vs_ort"))).isEqualTo(1);
    // int8 weights: about 4x smaller than the fp32 ONNX file
    assertThat(Double.parseDouble(rows.get("int8").get("size_vs_ort"))).isGreaterThan(3);
    assertThat(rows.get("no-such-method").get("status")).isEqualTo("skipped");
    assertThat(rows.get("no-such-method").get("reason")).contains("no-such-method");

    assertThat(run.markdown()).contains("| mnist-mlp | ours int8 |", "skipped:");
    String svg = Files.readString(out.resolve("chart.svg"));
    assertThat(svg).startsWith("<svg").endsWith("</svg>\n").contains("ours int8");
    assertThat(Files.exists(out.resolve("grpc.csv"))).isFalse();
    assertThat(run.models()).hasSize(4);
    assertThat(Arrays.asList(new String(log.toByteArray(), StandardCharsets.UTF_8).split("\n")))
        .anyMatch(l -> l.contains("SKIPPED"));
  }
}
