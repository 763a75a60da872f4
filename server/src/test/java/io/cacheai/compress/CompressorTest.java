package io.cacheai.compress;

import static org.assertj.core.api.Assertions.assertThat;

import io.cacheai.graph.Graph;
import io.cacheai.graph.OpType;
import io.cacheai.onnx.OnnxImporter;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The layer policies and the accuracy-driven fallback, on the MLP with 200 calibration images. */
class CompressorTest {
  private static Graph mlp;
  private static Dataset calibration;

  @BeforeAll
  static void read() throws Exception {
    Path root = Path.of(System.getProperty("user.dir")).getParent();
    mlp =
        OnnxImporter.importFile(
            root.resolve("server/src/main/resources/io/cacheai/models/mnist-mlp/1/model.onnx"));
    calibration =
        Dataset.read(root.resolve("tools/mnist/data/t10k-images-idx3-ubyte.gz")).range(0, 200);
  }

  @Test
  void compress_firstAndLastLayerFp32_keepsThoseNodesUnquantized() {
    Compressor.Options defaults =
        Compressor.Options.of(Compressor.Method.INT8, CalibrationMethod.MINMAX, 200);
    Compressor.Options options =
        new Compressor.Options(
            defaults.method(), defaults.calibration(), 200, 0.3, 32, true, true, 0);
    Compressor.Result result = Compressor.compress(mlp, calibration, options, (p, d, t) -> {});
    assertThat(result.precisions().values())
        .containsExactly(LayerPrecision.FP32, LayerPrecision.INT8, LayerPrecision.FP32);
    assertThat(result.graph().graph().nodes().stream().map(n -> n.op()).toList())
        .containsExactly(
            OpType.FLATTEN,
            OpType.GEMM,
            OpType.RELU,
            OpType.QLINEAR_GEMM,
            OpType.RELU,
            OpType.GEMM);
    // the dropped fp32 weight of the middle layer is no longer a graph constant
    assertThat(result.graph().graph().constants()).doesNotContainKey("3.weight");
    assertThat(result.graph().packed()).containsKeys("3.weight.q8", "3.weight.bias.s32");
  }

  @Test
  void compress_impossibleBudget_promotesEveryLayerToFp32AndReportsEachStep() {
    Compressor.Options options =
        new Compressor.Options(
            Compressor.Method.INT4, CalibrationMethod.MINMAX, 200, -1.0, 32, false, false, 0);
    Compressor.Result result = Compressor.compress(mlp, calibration, options, (p, d, t) -> {});
    // a negative budget can never be met: a few samples off, the fallback first promotes the best
    // layer of each ranking (greedy, at most MAX_GREEDY_STEPS rankings), then bisects the rest
    assertThat(result.precisions().values()).containsOnly(LayerPrecision.FP32);
    assertThat(result.notes()).hasSizeBetween(3, 6);
    assertThat(result.notes())
        .allMatch(n -> n.matches("^/\\d/Gemm: \\S+ -> (int8|fp32) \\(score .*"));
    assertThat(result.notes().get(0)).containsPattern("^/\\d/Gemm: int4/q4g32 -> int8 \\(score");
    assertThat(result.notes().get(result.notes().size() - 1)).contains("with the top");
    assertThat(result.scorePct()).isEqualTo(result.fp32ScorePct());
  }

  @Test
  void resolvableBudget_finerThanOneSample_toleratesOneSample() {
    assertThat(Compressor.resolvableBudget(0.3, 16)).isEqualTo(6.25); // 16 OCR lines
    assertThat(Compressor.resolvableBudget(0.3, 1000)).isEqualTo(0.3); // MNIST: resolvable
    assertThat(Compressor.resolvableBudget(10, 16)).isEqualTo(10);
    assertThat(Compressor.resolvableBudget(-1, 16)).isEqualTo(-1); // never met, on purpose
  }
}
