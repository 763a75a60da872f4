package io.cacheai.compress.lut;

import static org.assertj.core.api.Assertions.assertThat;

import io.cacheai.compress.Dataset;
import io.cacheai.compress.QuantizedGraph;
import io.cacheai.graph.Graph;
import io.cacheai.graph.Node;
import io.cacheai.graph.OpType;
import io.cacheai.graph.PackedTensor;
import io.cacheai.onnx.OnnxImporter;
import io.cacheai.runtime.LookupKernels;
import java.nio.ByteOrder;
import java.nio.IntBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Grouped tables ({@code --lut-groups}, {@link LutOptions#groups}) on the real MNIST MLP's 256→128
 * layer, built from the first committed test images (a test of the mechanics, not of accuracy:
 * {@link MnistLutTrainTest} measures that on the training set): the layout and the size at 10×,
 * that each group's trees read other dimensions than the groups before, that the fine-tuning keeps
 * every codebook to its group's outputs, that the runtime's keys on the written model are the soft
 * keys' training keys, and the same bytes for a seed.
 */
class GroupedTablesTest {
  private static final int GROUPS = 4;
  private static Graph graph;
  private static Dataset data;

  @BeforeAll
  static void read() throws Exception {
    Path root = Path.of(System.getProperty("user.dir")).getParent();
    graph =
        OnnxImporter.importFile(
            root.resolve("server/src/main/resources/io/cacheai/models/mnist-mlp/1/model.onnx"));
    data = Dataset.read(root.resolve("tools/mnist/data/t10k-images-idx3-ubyte.gz")).range(0, 300);
  }

  private static LutCompressor.Result compress(LutOptions options, LutFineTune.Options tune) {
    return LutCompressor.compress(graph, data, options, tune, (p, d, t) -> {});
  }

  private static LutOptions options() {
    return options(LutOptions.FULL_DEPTH);
  }

  private static LutOptions options(int depth) {
    // the layout as built (DeadRowPruningTest covers the pruned one)
    return LutOptions.defaults()
        .withShiftRadiusPx(0)
        .withSamples(300)
        .withGroups(GROUPS)
        .withPrune(false)
        .withDepth(depth);
  }

  private static LutOptions options(int depth, boolean fold) {
    return options(depth).withFold(fold ? LutOptions.Fold.ON : LutOptions.Fold.OFF);
  }

  private static Node table(QuantizedGraph q) {
    return q.graph().nodes().stream()
        .filter(n -> n.op() == OpType.LOOKUP_GEMM)
        .findFirst()
        .orElseThrow();
  }

  /**
   * Depth L and folding, then the auto width at 10× and the codebooks per group it gives the
   * 256→128 layer in 4 groups: per codebook K rows (K − 1 folded) of 16 bytes (32 four-bit entries)
   * + a tree of L dims and K − 1 thresholds, 4 B each, within 131 584 / 10 B with scale and bias (1
   * 024 B).
   */
  @ParameterizedTest(name = "depth {0} fold {1}: w={2}, {3} codebooks a group")
  @CsvSource({
    "4, false, 29, 9",
    "3, false, 15, 18",
    "2, false, 8, 32",
    "4, true, 29, 9",
    "3, true, 14, 19",
    "2, true, 6, 43"
  })
  void build_mlpMiddleLayer_groupedLayoutAtTenTimes(
      int depth, boolean fold, int width, int perGroup) {
    int keys = 1 << depth;
    int stored = fold ? keys - 1 : keys;
    LutCompressor.Result r =
        compress(
            options(depth, fold),
            LutFineTune.Options.defaults().withEpochs(0).withSoftKeyEpochs(0));
    Node table = table(r.graph());
    assertThat(table.name()).isEqualTo("/3/Gemm");
    assertThat(table.attributes().getLong("groups", 1)).isEqualTo(GROUPS);
    // the runtime's default is 16 keys: the attribute is written only for other depths
    assertThat(table.attributes().has("keys")).isEqualTo(depth != LookupKernels.DEPTH);
    assertThat(TableKeys.keys(table)).isEqualTo(keys);
    // fold_key0 written only when folded (absent = 0, every earlier bundle)
    assertThat(table.attributes().has("fold_key0")).isEqualTo(fold);
    assertThat(TableKeys.folded(table)).isEqualTo(fold);
    // 4 groups of ceil(256/w) codebooks, rows of 128/4 = 32 four-bit entries
    assertThat(table.attributes().getLong("width", 0)).isEqualTo(width);
    assertThat((256 + width - 1) / width).isEqualTo(perGroup);
    int codebooks = GROUPS * perGroup;
    PackedTensor tables = r.graph().packed().get(table.attributes().getString("tables", ""));
    assertThat(tables.shape()).containsExactly(codebooks, stored, 32);
    assertThat(tables.data().remaining()).isEqualTo(codebooks * stored * 16);
    assertThat(r.graph().packed().get(table.attributes().getString("split_dims", "")).shape())
        .containsExactly(codebooks, depth);
    assertThat(r.graph().packed().get(table.attributes().getString("thresholds", "")).shape())
        .containsExactly(codebooks, keys - 1);
    LutLayerReport report = r.layers().get(0);
    assertThat(report.keys()).isEqualTo(keys);
    assertThat(report.fold()).isEqualTo(fold);
    assertThat(report.line().contains(" fold ")).isEqualTo(fold);
    // tables C·(K − fold)·16 + scale and bias 1024 + trees C x (L dims + K − 1 thresholds) x 4 B
    long bytes = (long) codebooks * stored * 16 + 1024 + (long) codebooks * (depth + keys - 1) * 4;
    assertThat(report.lookupBytes()).isEqualTo(bytes);
    assertThat(
            LutLayerBuilder.lookupBytes(
                codebooks, 128, width, LutOptions.Encoder.TREE, 4, GROUPS, depth, fold))
        .isEqualTo(bytes);
    assertThat(report.ratio()).isGreaterThanOrEqualTo(10.0);
    // the smallest w: one narrower would not reach 10x
    int narrower = GROUPS * ((256 + width - 2) / (width - 1));
    assertThat(
            LutLayerBuilder.lookupBytes(
                    narrower, 128, width - 1, LutOptions.Encoder.TREE, 4, GROUPS, depth, fold)
                * 10)
        .isGreaterThan(4L * (128 * 256 + 128));

    // the groups' trees in one sub-vector read different dimensions while w >= 4 groups x L
    // levels; narrower (depth 2 folded: w = 6 < 8) a group may reuse an earlier group's
    // dimension only once all w dimensions are taken (the compressor notes it)
    IntBuffer dims =
        r.graph()
            .packed()
            .get(table.attributes().getString("split_dims", ""))
            .data()
            .order(ByteOrder.LITTLE_ENDIAN)
            .asIntBuffer();
    for (int part = 0; part < perGroup; part++) {
      Set<Integer> earlier = new HashSet<>();
      for (int g = 0; g < GROUPS; g++) {
        Set<Integer> mine = new HashSet<>();
        for (int l = 0; l < depth; l++) {
          mine.add(dims.get((g * perGroup + part) * depth + l));
        }
        if (earlier.size() < width) { // a dimension left free: the tree reads only free ones
          assertThat(java.util.Collections.disjoint(mine, earlier))
              .as("sub-vector %d group %d reads %s, earlier groups %s", part, g, mine, earlier)
              .isTrue();
        }
        earlier.addAll(mine);
      }
    }
  }

  @Test
  void foldAuto_depthFour_sameBytesAsFoldOff() {
    // --lut-fold auto leaves the default depth-4 tables as they were (no fold_key0, same bytes)
    LutFineTune.Options tune = LutFineTune.Options.defaults().withEpochs(1).withSoftKeyEpochs(0);
    LutCompressor.Result auto = compress(options(LutOptions.FULL_DEPTH), tune);
    LutCompressor.Result off = compress(options(LutOptions.FULL_DEPTH, false), tune);
    assertThat(table(auto.graph()).attributes().has("fold_key0")).isFalse();
    assertThat(MnistLutTrainTest.bytes(auto.graph()))
        .isEqualTo(MnistLutTrainTest.bytes(off.graph()));
  }

  @Test
  void fineTune_groupedTables_codebooksWriteOnlyTheirGroup() {
    int codebooks = 6;
    int m = 6;
    int groups = 3;
    SplittableRandom random = new SplittableRandom(5);
    float[] tables = new float[codebooks * LookupKernels.KEYS * m];
    for (int p = 0; p < codebooks * LookupKernels.KEYS; p++) {
      int group = p / LookupKernels.KEYS / (codebooks / groups);
      for (int j = group * 2; j < group * 2 + 2; j++) {
        tables[p * m + j] = (float) random.nextDouble();
      }
    }
    float[] before = tables.clone();
    FineTuneTrainer trainer =
        new FineTuneTrainer(
            new ArrayList<>(List.of(tables, new float[m])),
            List.of(),
            codebooks,
            groups,
            m,
            LutFineTune.Options.defaults(),
            m);
    int rows = 8;
    byte[] keys = new byte[rows * codebooks];
    float[] teacher = new float[rows * m];
    int[] labels = new int[rows];
    int[] order = new int[rows];
    for (int i = 0; i < rows; i++) {
      order[i] = i;
      labels[i] = random.nextInt(m);
      for (int c = 0; c < codebooks; c++) {
        keys[i * codebooks + c] = (byte) random.nextInt(LookupKernels.KEYS);
      }
      for (int j = 0; j < m; j++) {
        teacher[i * m + j] = (float) random.nextDouble();
      }
    }
    for (int step = 0; step < 3; step++) {
      trainer.step(order, 0, rows, keys, teacher, labels, 0.5, 0.01);
    }
    int moved = 0;
    for (int p = 0; p < codebooks * LookupKernels.KEYS; p++) {
      int group = p / LookupKernels.KEYS / (codebooks / groups);
      for (int j = 0; j < m; j++) {
        boolean own = j / 2 == group;
        if (!own) {
          assertThat(tables[p * m + j]).as("entry %d,%d outside its group", p, j).isZero();
        } else {
          moved += tables[p * m + j] != before[p * m + j] ? 1 : 0;
        }
      }
    }
    assertThat(moved).isPositive();
  }

  @ParameterizedTest(name = "depth {0}")
  @ValueSource(ints = {2, 4})
  void softKeys_groupedTables_runtimeKeysAreTrainingKeysAndSameBytesForSeed(int depth) {
    LutFineTune.Options tune =
        LutFineTune.Options.defaults().withEpochs(1).withSoftKeyEpochs(1).withSeed(3);
    LutCompressor.Result a = compress(options(depth), tune);
    assertThat(TableKeys.keys(table(a.graph()))).isEqualTo(1 << depth);
    assertThat(a.notes())
        .anyMatch(
            n ->
                n.startsWith("soft keys: trained /1/Gemm")
                    // folded depths add ", l2sp 0.0003 (final penalty …)" (auto L2-SP)
                    && n.contains("runtime keys = training keys on 100.0000%"));
    LutCompressor.Result b = compress(options(depth), tune);
    LutCompressor.Result other = compress(options(depth), tune.withSeed(4));
    assertThat(MnistLutTrainTest.bytes(a.graph())).isEqualTo(MnistLutTrainTest.bytes(b.graph()));
    assertThat(a.graph().graph().constants().get("1.weight").floats())
        .containsExactly(b.graph().graph().constants().get("1.weight").floats());
    assertThat(MnistLutTrainTest.bytes(a.graph()))
        .isNotEqualTo(MnistLutTrainTest.bytes(other.graph()));
  }
}
