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
  void compress_impossibleBudget_promotesEveryLayerToFp32AndReportsEach() {
    Compressor.Options options =
        new Compressor.Options(
            Compressor.Method.INT4, CalibrationMethod.MINMAX, 200, -1.0, 32, false, false, 0);
    Compressor.Result result = Compressor.compress(mlp, calibration, options, (p, d, t) -> {});
    // a negative budget can never be met: all three one step up (int8) miss it, so the round
    // sends the ranked layers straight to fp32, all of them (the bisection has nothing to halve)
    assertThat(result.precisions().values()).containsOnly(LayerPrecision.FP32);
    assertThat(result.notes()).hasSize(3);
    assertThat(result.notes().get(0))
        .containsPattern("^/\\d/Gemm: int4/q4g32 -> fp32 \\(score .* with the top 3 of 3");
    assertThat(result.scorePct()).isEqualTo(result.fp32ScorePct());
  }
}
