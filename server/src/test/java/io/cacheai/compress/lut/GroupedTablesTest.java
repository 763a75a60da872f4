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
    // the layout as built (DeadRowPruningTest covers the pruned one)
    return LutOptions.defaults()
        .withShiftRadiusPx(0)
        .withSamples(300)
        .withGroups(GROUPS)
        .withPrune(false);
  }

  private static Node table(QuantizedGraph q) {
    return q.graph().nodes().stream()
        .filter(n -> n.op() == OpType.LOOKUP_GEMM)
        .findFirst()
        .orElseThrow();
  }

  @Test
  void build_mlpMiddleLayer_groupedLayoutAtTenTimes() {
    LutCompressor.Result r =
        compress(options(), LutFineTune.Options.defaults().withEpochs(0).withSoftKeyEpochs(0));
    Node table = table(r.graph());
    assertThat(table.name()).isEqualTo("/3/Gemm");
    assertThat(table.attributes().getLong("groups", 1)).isEqualTo(GROUPS);
    // 4 groups of ceil(256/29) = 9 codebooks, rows of 128/4 = 32 four-bit entries
    assertThat(table.attributes().getLong("width", 0)).isEqualTo(29);
    PackedTensor tables = r.graph().packed().get(table.attributes().getString("tables", ""));
    assertThat(tables.shape()).containsExactly(36, LookupKernels.KEYS, 32);
    assertThat(tables.data().remaining()).isEqualTo(36 * 16 * 16);
    LutLayerReport report = r.layers().get(0);
    // tables 9216 + scale and bias 1024 + trees 36 x (4 dims + 15 thresholds) x 4 B
    assertThat(report.lookupBytes()).isEqualTo(9216 + 1024 + 36 * 19 * 4);
    assertThat(report.ratio()).isGreaterThanOrEqualTo(10.0);

    // the groups' trees in one sub-vector read different dimensions (29 > 4 groups x 4 levels)
    IntBuffer dims =
        r.graph()
            .packed()
            .get(table.attributes().getString("split_dims", ""))
            .data()
            .order(ByteOrder.LITTLE_ENDIAN)
            .asIntBuffer();
    for (int part = 0; part < 9; part++) {
      Set<Integer> earlier = new HashSet<>();
      for (int g = 0; g < GROUPS; g++) {
        Set<Integer> mine = new HashSet<>();
        for (int l = 0; l < LookupKernels.DEPTH; l++) {
          mine.add(dims.get((g * 9 + part) * LookupKernels.DEPTH + l));
        }
        assertThat(java.util.Collections.disjoint(mine, earlier))
            .as("sub-vector %d group %d reads %s, earlier groups %s", part, g, mine, earlier)
            .isTrue();
        earlier.addAll(mine);
      }
    }
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

  @Test
  void softKeys_groupedTables_runtimeKeysAreTrainingKeysAndSameBytesForSeed() {
    LutFineTune.Options tune =
        LutFineTune.Options.defaults().withEpochs(1).withSoftKeyEpochs(1).withSeed(3);
    LutCompressor.Result a = compress(options(), tune);
    assertThat(a.notes())
        .anyMatch(
            n ->
                n.startsWith("soft keys: trained /1/Gemm")
                    && n.endsWith("runtime keys = training keys on 100.0000%"));
    LutCompressor.Result b = compress(options(), tune);
    LutCompressor.Result other = compress(options(), tune.withSeed(4));
    assertThat(MnistLutTrainTest.bytes(a.graph())).isEqualTo(MnistLutTrainTest.bytes(b.graph()));
    assertThat(a.graph().graph().constants().get("1.weight").floats())
        .containsExactly(b.graph().graph().constants().get("1.weight").floats());
    assertThat(MnistLutTrainTest.bytes(a.graph()))
        .isNotEqualTo(MnistLutTrainTest.bytes(other.graph()));
  }
}
