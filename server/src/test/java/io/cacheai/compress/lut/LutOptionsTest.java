package io.cacheai.compress.lut;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cacheai.compress.Dataset;
import io.cacheai.graph.Graph;
import io.cacheai.onnx.OnnxImporter;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@link LutOptions}' tree depth: {@code --lut-depth} values, and the auto width and groups it
 * gives the MNIST MLP's 256→128 layer (131 584 fp32 bytes, so at most 13 158 B at 10×).
 */
class LutOptionsTest {
  @Test
  void parseFold_autoOnOff_elseRefusedNamingTheOption() {
    assertThat(LutOptions.Fold.parse("auto")).isEqualTo(LutOptions.Fold.AUTO);
    assertThat(LutOptions.Fold.parse("on")).isEqualTo(LutOptions.Fold.ON);
    assertThat(LutOptions.Fold.parse("OFF")).isEqualTo(LutOptions.Fold.OFF);
    for (String bad : new String[] {"yes", "1", "", "folded"}) {
      assertThatThrownBy(() -> LutOptions.Fold.parse(bad))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("--lut-fold '" + bad + "' (accepted: auto, on, off");
    }
    assertThat(LutOptions.defaults().fold()).isEqualTo(LutOptions.Fold.AUTO);
  }

  @Test
  void parseL2sp_autoOrANumberInZeroOne_elseRefusedNamingTheOption() {
    assertThat(LutOptions.parseL2sp("auto")).isEqualTo(LutOptions.AUTO_L2SP);
    assertThat(LutOptions.parseL2sp("AUTO")).isEqualTo(LutOptions.AUTO_L2SP);
    assertThat(LutOptions.parseL2sp("0.0003")).isEqualTo(0.0003);
    assertThat(LutOptions.parseL2sp("1e-4")).isEqualTo(1e-4);
    assertThat(LutOptions.parseL2sp("0")).isZero();
    assertThat(LutOptions.parseL2sp("1")).isEqualTo(1.0);
    for (String bad : new String[] {"-0.001", "1.5", "NaN", "Infinity", "", "on", "3e-4x"}) {
      assertThatThrownBy(() -> LutOptions.parseL2sp(bad))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining(
              "--lut-l2sp '" + bad + "' (accepted: auto, or a number in [0, 1.0]");
    }
    assertThat(LutOptions.defaults().l2sp()).isEqualTo(LutOptions.AUTO_L2SP);
    for (double bad : new double[] {-0.5, Double.NaN, 2.0}) {
      assertThatThrownBy(() -> LutOptions.defaults().withL2sp(bad))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("lut-l2sp=" + bad);
    }
  }

  @Test
  void layerL2sp_autoIsDefaultOnlyOnFoldedSoftKeyLayers_aNumberWhereverSoftKeysRun() {
    LutOptions auto = LutOptions.defaults();
    // auto: 0.0003 where the soft keys run and the tables are folded (depth < 4 by default)
    assertThat(auto.withDepth(2).layerL2sp(true)).isEqualTo(0.0003);
    assertThat(auto.withDepth(3).layerL2sp(true)).isEqualTo(0.0003);
    assertThat(auto.withFold(LutOptions.Fold.ON).withDepth(4).layerL2sp(true)).isEqualTo(0.0003);
    // ... 0 on unfolded layers (the default depth 4: those bundles stay as they were) ...
    assertThat(auto.layerL2sp(true)).isZero();
    assertThat(auto.withDepth(4).layerL2sp(true)).isZero();
    assertThat(auto.withFold(LutOptions.Fold.OFF).withDepth(2).layerL2sp(true)).isZero();
    // ... and where the soft keys do not run (e.g. the MNIST CNN's flattened pooling)
    assertThat(auto.withDepth(2).layerL2sp(false)).isZero();
    // a number: wherever the soft keys run, folded or not
    assertThat(auto.withL2sp(0.001).layerL2sp(true)).isEqualTo(0.001);
    assertThat(auto.withL2sp(0.001).withDepth(2).layerL2sp(true)).isEqualTo(0.001);
    assertThat(auto.withL2sp(0.001).layerL2sp(false)).isZero();
    assertThat(auto.withL2sp(0).withDepth(2).layerL2sp(true)).isZero();
  }

  @Test
  void layerL2sp_theMnistModelsLayers_foldedMlpGemmOnly() throws Exception {
    Path root = Path.of(System.getProperty("user.dir")).getParent();
    Path models = root.resolve("server/src/main/resources/io/cacheai/models");
    long[] shape =
        Dataset.read(root.resolve("tools/mnist/data/t10k-images-idx3-ubyte.gz"))
            .range(0, 1)
            .batchShape(1);
    LutOptions depth2 = LutOptions.defaults().withDepth(2);
    // the MLP's /3/Gemm reads Relu(Gemm): auto depth 4, unfolded, no L2-SP; depth 2: folded, 0.0003
    Graph mlp = OnnxImporter.importFile(models.resolve("mnist-mlp/1/model.onnx"));
    LutCandidates.Candidate gemm =
        LutCandidates.list(mlp, shape).stream()
            .filter(c -> c.name().equals("/3/Gemm"))
            .findFirst()
            .orElseThrow();
    LutOptions mlpAuto = LutCompressor.layerOptions(mlp, gemm, LutOptions.defaults());
    assertThat(mlpAuto.layerDepth()).isEqualTo(4);
    assertThat(mlpAuto.layerFold()).isFalse();
    assertThat(mlpAuto.layerL2sp(true)).isZero();
    LutOptions mlpDepth2 = LutCompressor.layerOptions(mlp, gemm, depth2);
    assertThat(mlpDepth2.layerFold()).isTrue();
    assertThat(mlpDepth2.layerL2sp(true)).isEqualTo(0.0003);
    // the CNN's /9/Gemm reads a flattened pooling: auto stays depth 4, unfolded, no L2-SP, so the
    // embedded default bundle (mnist-cnn-cacheai) is built as before
    Graph cnnGraph = OnnxImporter.importFile(models.resolve("mnist-cnn/1/model.onnx"));
    LutCandidates.Candidate cnnGemm =
        LutCandidates.list(cnnGraph, shape).stream()
            .filter(c -> c.name().equals("/9/Gemm"))
            .findFirst()
            .orElseThrow();
    LutOptions cnnAuto = LutCompressor.layerOptions(cnnGraph, cnnGemm, LutOptions.defaults());
    assertThat(cnnAuto.layerDepth()).isEqualTo(4);
    assertThat(cnnAuto.layerFold()).isFalse();
    assertThat(cnnAuto.layerL2sp(true)).isZero();
    // the CNN's k×k Conv tables are never folded: auto gives 0 even when depth 2 is asked
    Graph cnn = OnnxImporter.importFile(models.resolve("mnist-cnn/1/model.onnx"));
    List<LutCandidates.Candidate> convs =
        LutCandidates.list(cnn, shape).stream()
            .filter(c -> c.form() == LutCandidates.Form.NCHW_PATCHES)
            .toList();
    assertThat(convs).isNotEmpty();
    for (LutCandidates.Candidate conv : convs) {
      assertThat(LutCompressor.layerOptions(cnn, conv, depth2).layerL2sp(true)).isZero();
    }
  }

  @Test
  void layerFold_autoOnBelowDepthFour_offAtDepthFour() {
    LutOptions auto = LutOptions.defaults();
    assertThat(auto.layerFold()).isFalse(); // auto depth = 4: the default bundles as they were
    assertThat(auto.withDepth(4).layerFold()).isFalse();
    assertThat(auto.withDepth(3).layerFold()).isTrue();
    assertThat(auto.withDepth(2).layerFold()).isTrue();
    assertThat(auto.withFold(LutOptions.Fold.ON).withDepth(4).layerFold()).isTrue();
    assertThat(auto.withFold(LutOptions.Fold.OFF).withDepth(2).layerFold()).isFalse();
  }

  @Test
  void widthFor_folded_moreCodebooksInTheSameBytes() {
    // folded: (K − 1)·16 B of rows + 4·(L + K − 1) B of tree per codebook: 152 B at depth 3, 68 B
    // at depth 2, within 13 158 B − 1 024 B of scale and bias
    LutOptions folded = LutOptions.defaults().withFold(LutOptions.Fold.ON);
    assertThat(folded.withDepth(3).widthFor(256, 128, 4)).isEqualTo(14); // 4 × 19 (unfolded 4 × 18)
    assertThat(folded.withDepth(2).widthFor(256, 128, 4)).isEqualTo(6); // 4 × 43 (unfolded 4 × 32)
    assertThat(LutOptions.defaults().withDepth(2).widthFor(256, 128, 4)).isEqualTo(6); // auto = on
    assertThat(folded.withDepth(4).widthFor(256, 128, 4)).isEqualTo(29); // 4 × 9 either way
    // C·(K − 1)·⌈(M/G)/2⌉ + 8M + C·(L + K − 1)·4
    assertThat(LutLayerBuilder.lookupBytes(172, 128, 6, LutOptions.Encoder.TREE, 4, 4, 2, true))
        .isEqualTo(172 * 3 * 16 + 8 * 128 + 172 * (2 + 3) * 4)
        .isLessThanOrEqualTo(13158);
    assertThat(LutLayerBuilder.lookupBytes(172, 128, 6, LutOptions.Encoder.TREE, 4, 4, 2, false))
        .isEqualTo(172 * 4 * 16 + 8 * 128 + 172 * (2 + 3) * 4)
        .isGreaterThan(13158);
    // one narrower (w = 5, 4 × 52) would not fit even folded
    assertThat(LutLayerBuilder.lookupBytes(208, 128, 5, LutOptions.Encoder.TREE, 4, 4, 2, true))
        .isGreaterThan(13158);
    // int8 rows: C·(K − 1)·M/G
    assertThat(LutLayerBuilder.lookupBytes(10, 128, 6, LutOptions.Encoder.TREE, 8, 4, 3, true))
        .isEqualTo(10 * 7 * 32 + 8 * 128 + 10 * (3 + 7) * 4);
    // which layers become tables and their groups are judged unfolded at depth 4
    assertThat(folded.withDepth(2).groupsFor(256, 128)).isEqualTo(4);
  }

  @Test
  void parseDepth_autoAndTwoToFour_elseRefusedNamingTheOption() {
    assertThat(LutOptions.parseDepth("auto")).isEqualTo(LutOptions.AUTO_DEPTH);
    assertThat(LutOptions.parseDepth("2")).isEqualTo(2);
    assertThat(LutOptions.parseDepth("3")).isEqualTo(3);
    assertThat(LutOptions.parseDepth("4")).isEqualTo(4);
    for (String bad : new String[] {"1", "5", "0", "two", ""}) {
      assertThatThrownBy(() -> LutOptions.parseDepth(bad))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("--lut-depth '" + bad + "'");
    }
    assertThatThrownBy(() -> LutOptions.defaults().withDepth(5))
        .hasMessageContaining("lut-depth=5");
    assertThat(LutOptions.defaults().depth()).isEqualTo(LutOptions.AUTO_DEPTH);
    assertThat(LutOptions.defaults().keys()).isEqualTo(16);
    assertThat(LutOptions.defaults().withDepth(2).keys()).isEqualTo(4);
  }

  @Test
  void widthAndGroups_shallowerTrees_moreCodebooksInTheSameBytes() {
    // the groups rule is judged at 16 keys (11 codebooks < 16): 4 groups at every depth
    for (int depth = 2; depth <= 4; depth++) {
      assertThat(LutOptions.defaults().withDepth(depth).groupsFor(256, 128)).isEqualTo(4);
    }
    // unfolded: K·16 B of 4-bit rows + 4·(L + K − 1) B of tree per codebook: 332, 168, 84 B
    LutOptions unfolded = LutOptions.defaults().withFold(LutOptions.Fold.OFF);
    assertThat(unfolded.withDepth(4).widthFor(256, 128, 4)).isEqualTo(29); // 4 × 9
    assertThat(unfolded.withDepth(3).widthFor(256, 128, 4)).isEqualTo(15); // 4 × 18
    assertThat(unfolded.withDepth(2).widthFor(256, 128, 4)).isEqualTo(8); // 4 × 32
    assertThat(LutLayerBuilder.lookupBytes(128, 128, 8, LutOptions.Encoder.TREE, 4, 4, 2))
        .isEqualTo(128 * 4 * 16 + 8 * 128 + 128 * (2 + 3) * 4);
    // the 16-key overload is the depth-4 formula
    assertThat(LutLayerBuilder.lookupBytes(36, 128, 29, LutOptions.Encoder.TREE, 4, 4))
        .isEqualTo(LutLayerBuilder.lookupBytes(36, 128, 29, LutOptions.Encoder.TREE, 4, 4, 4))
        .isEqualTo(36 * 16 * 16 + 1024 + 36 * 19 * 4);
  }
}
