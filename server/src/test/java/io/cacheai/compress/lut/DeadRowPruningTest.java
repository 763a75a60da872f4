package io.cacheai.compress.lut;

import static org.assertj.core.api.Assertions.assertThat;

import io.cacheai.compress.Dataset;
import io.cacheai.compress.QuantizedGraph;
import io.cacheai.graph.Attributes;
import io.cacheai.graph.ConstTensor;
import io.cacheai.graph.Graph;
import io.cacheai.graph.Node;
import io.cacheai.graph.OpType;
import io.cacheai.graph.PackedTensor;
import io.cacheai.graph.ValueInfo;
import io.cacheai.runtime.GraphModel;
import io.cacheai.runtime.LookupKernels;
import io.cacheai.runtime.Tensor;
import java.nio.ByteOrder;
import java.nio.IntBuffer;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * {@link DeadRowPruning} on a hand-made x [N,6] → Gemm (10 rows) → Relu → LookupGemm (D = 10, w =
 * 4: 3 slices, the last one 2 columns + 2 of padding; 2 groups of 3 codebooks, M = 4): the layout,
 * the split dims remapped, a slice padded with zero rows, a slice whose trees read only the padding
 * past D, the Gemm's kept rows copied bit for bit, the same keys and outputs bit for bit; and the
 * layers it must leave alone.
 */
class DeadRowPruningTest {
  private static final int K = 6;
  private static final int D = 10;
  private static final int W = 4;
  private static final int M = 4;
  private static final int GROUPS = 2;
  private static final int PER_GROUP = 3;
  private static final int CODEBOOKS = GROUPS * PER_GROUP;

  // codebook c reads slice c mod 3: slice 0 reads {1,3}, slice 1 {0,2,3}, slice 2 only {2,3},
  // i.e. columns 10 and 11, the runtime's zero padding past D
  private static final int[] SPLIT_DIMS = {
    1, 3, 1, 3, //
    0, 2, 3, 0, //
    2, 3, 2, 3, //
    3, 1, 3, 1, //
    2, 0, 3, 2, //
    3, 2, 2, 3
  };

  private static float[] gaussian(int n, long seed, double sd, double mean) {
    Random random = new Random(seed);
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = (float) (mean + sd * random.nextGaussian());
    }
    return v;
  }

  /** The model; {@code transB}: the Gemm's weight stored [10,6], else [6,10]. */
  private static QuantizedGraph model(boolean transB, String tableInput) {
    Map<String, Object> gemmAttributes = new TreeMap<>();
    gemmAttributes.put("alpha", 0.75f);
    gemmAttributes.put("beta", 1.5f);
    gemmAttributes.put("transB", transB ? 1L : 0L);
    Map<String, Object> lut = new TreeMap<>();
    lut.put("weight_shape", new long[] {M, D});
    lut.put("width", (long) W);
    lut.put("groups", (long) GROUPS);
    lut.put("encoder", "tree");
    lut.put("tables", "t.lut16");
    lut.put("scale", "t.scale");
    lut.put("bias", "t.bias");
    lut.put("split_dims", "t.split_dims");
    lut.put("thresholds", "t.thresholds");
    lut.put("centroids", "t.centroids");
    List<Node> nodes =
        List.of(
            new Node(
                OpType.GEMM,
                "g",
                List.of("x", "w", "b"),
                List.of("h"),
                new Attributes(gemmAttributes)),
            new Node(OpType.RELU, "r", List.of("h"), List.of("r"), new Attributes(Map.of())),
            new Node(
                OpType.LOOKUP_GEMM, "t", List.of(tableInput), List.of("y"), new Attributes(lut)));
    Graph graph =
        new Graph(
            "tiny",
            13,
            List.of(new ValueInfo("x", new long[] {ValueInfo.BATCH, K})),
            List.of(new ValueInfo("y", new long[] {ValueInfo.BATCH, M})),
            Map.of(
                "w",
                ConstTensor.ofFloats(transB ? new long[] {D, K} : new long[] {K, D}, weight()),
                "b",
                ConstTensor.ofFloats(new long[] {D}, gaussian(D, 2, 0.3, 0.1))),
            nodes);
    Random random = new Random(3);
    byte[] entries = new byte[CODEBOOKS * LookupKernels.KEYS * (M / GROUPS)];
    random.nextBytes(entries);
    Map<String, PackedTensor> packed = new LinkedHashMap<>();
    packed.put("t.lut16", TableQuantizer.packS8(entries, CODEBOOKS, M / GROUPS));
    packed.put("t.scale", LutLayerBuilder.f32(new long[] {M}, gaussian(M, 4, 0.01, 0.05)));
    packed.put("t.bias", LutLayerBuilder.f32(new long[] {M}, gaussian(M, 5, 1, 0)));
    packed.put(
        "t.split_dims",
        LutLayerBuilder.s32(new long[] {CODEBOOKS, LookupKernels.DEPTH}, SPLIT_DIMS.clone()));
    packed.put(
        "t.thresholds",
        LutLayerBuilder.f32(
            new long[] {CODEBOOKS, LookupKernels.TREE_NODES},
            gaussian(CODEBOOKS * LookupKernels.TREE_NODES, 6, 0.4, 0.3)));
    packed.put(
        "t.centroids",
        LutLayerBuilder.f32(
            new long[] {CODEBOOKS, LookupKernels.KEYS, W},
            gaussian(CODEBOOKS * LookupKernels.KEYS * W, 7, 1, 0)));
    return new QuantizedGraph(graph, packed);
  }

  private static float[] weight() {
    return gaussian(D * K, 1, 1, 0);
  }

  private static int[] ints(PackedTensor t) {
    IntBuffer b = t.data().duplicate().order(ByteOrder.LITTLE_ENDIAN).asIntBuffer();
    int[] v = new int[b.remaining()];
    b.get(v);
    return v;
  }

  private static Node table(QuantizedGraph q) {
    return q.graph().nodes().stream()
        .filter(n -> n.op() == OpType.LOOKUP_GEMM)
        .findFirst()
        .orElseThrow();
  }

  @Test
  void layout_readColumnsFirstZeroRowsAfterPaddingReadsBecomeZeroRows() {
    DeadRowPruning.Layout layout = DeadRowPruning.layout(D, W, PER_GROUP, SPLIT_DIMS);
    assertThat(layout.width()).isEqualTo(3); // slice 1 reads 3 columns
    // slice 0: columns 1, 3, a zero row; slice 1: 4, 6, 7; slice 2: its reads of 10 and 11
    // (padding, always 0) and a zero row
    assertThat(layout.source()).containsExactly(1, 3, -1, 4, 6, 7, -1, -1, -1);
    assertThat(layout.oldDims()).containsExactly(1, 3, -1, 0, 2, 3, 2, 3, -1);
    assertThat(layout.keptRows()).isEqualTo(5);
    assertThat(layout.splitDims())
        .containsExactly(
            0, 1, 0, 1, //
            0, 1, 2, 0, //
            0, 1, 0, 1, //
            1, 0, 1, 0, //
            1, 0, 2, 1, //
            1, 0, 0, 1);
  }

  @Test
  void prune_tinyModel_sameKeysAndOutputsBitForBit() {
    for (boolean transB : new boolean[] {true, false}) {
      QuantizedGraph before = model(transB, "r");
      DeadRowPruning.Outcome outcome = DeadRowPruning.prune(before, true);
      QuantizedGraph after = outcome.graph();
      assertThat(outcome.note())
          .startsWith("pruned g to 9 of 10 rows (5 read by a tree + 4 zero rows");

      Node table = table(after);
      assertThat(table.attributes().getLongs("weight_shape")).containsExactly(M, 9);
      assertThat(table.attributes().getLong("width", 0)).isEqualTo(3);
      assertThat(table.attributes().getLong("groups", 1)).isEqualTo(GROUPS);
      assertThat(ints(after.packed().get("t.split_dims")))
          .containsExactly(DeadRowPruning.layout(D, W, PER_GROUP, SPLIT_DIMS).splitDims());
      // the tables, scale, bias and thresholds are the same tensors
      for (String name : List.of("t.lut16", "t.scale", "t.bias", "t.thresholds")) {
        assertThat(after.packed().get(name)).isSameAs(before.packed().get(name));
      }
      // the Gemm's kept rows as stored (alpha, beta untouched), zero rows all zero
      Node gemm = after.graph().nodes().get(0);
      assertThat(gemm.attributes().getFloat("alpha", 1f)).isEqualTo(0.75f);
      assertThat(gemm.attributes().getFloat("beta", 1f)).isEqualTo(1.5f);
      float[] w = weight();
      float[] pruned = after.graph().constants().get("w").floats();
      float[] bias = before.graph().constants().get("b").floats();
      float[] prunedBias = after.graph().constants().get("b").floats();
      int[] source = {1, 3, -1, 4, 6, 7, -1, -1, -1};
      assertThat(after.graph().constants().get("w").shape())
          .containsExactly(transB ? new long[] {9, K} : new long[] {K, 9});
      for (int i = 0; i < source.length; i++) {
        assertThat(prunedBias[i]).isEqualTo(source[i] < 0 ? 0f : bias[source[i]]);
        for (int k = 0; k < K; k++) {
          float want = source[i] < 0 ? 0f : w[transB ? source[i] * K + k : k * D + source[i]];
          assertThat(pruned[transB ? i * K + k : k * 9 + i]).isEqualTo(want);
        }
      }
      // centroids: each codebook's read columns, 0 at the zero rows
      float[] c0 = LutFineTune.floats(before.packed().get("t.centroids"));
      float[] c1 = LutFineTune.floats(after.packed().get("t.centroids"));
      assertThat(after.packed().get("t.centroids").shape())
          .containsExactly(CODEBOOKS, LookupKernels.KEYS, 3);
      int[] oldDims = {1, 3, -1, 0, 2, 3, 2, 3, -1};
      for (int c = 0; c < CODEBOOKS; c++) {
        for (int k = 0; k < LookupKernels.KEYS; k++) {
          for (int i = 0; i < 3; i++) {
            int dim = oldDims[(c % PER_GROUP) * 3 + i];
            assertThat(c1[(c * 16 + k) * 3 + i])
                .isEqualTo(dim < 0 ? 0f : c0[(c * 16 + k) * W + dim]);
          }
        }
      }

      // same keys and outputs, bit for bit, on rows spread over the thresholds
      int n = 257;
      float[] x = gaussian(n * K, 11, 0.6, 0);
      Dataset data = new Dataset(x, new long[] {K}, null, "x");
      byte[] keysBefore = keys(before, data);
      byte[] keysAfter = keys(after, data);
      assertThat(keysAfter).containsExactly(keysBefore);
      assertThat(distinct(keysBefore)).as("the rows reach many keys").isGreaterThan(40);
      float[] yBefore;
      float[] yAfter;
      try (GraphModel model = before.model()) {
        yBefore =
            model.infer(Map.of("x", Tensor.ofFloats(new long[] {n, K}, x))).get("y").toFloatArray();
      }
      try (GraphModel model = after.model()) {
        yAfter =
            model.infer(Map.of("x", Tensor.ofFloats(new long[] {n, K}, x))).get("y").toFloatArray();
      }
      assertThat(bits(yAfter)).containsExactly(bits(yBefore));
    }
  }

  @Test
  void prune_offOrTablesNotOnReluOfGemm_modelUnchanged() {
    QuantizedGraph model = model(true, "r");
    assertThat(DeadRowPruning.prune(model, false).graph()).isSameAs(model);
    // the tables read the Gemm itself (no Relu), as the CNN's read a flattened pooling
    QuantizedGraph noRelu = model(true, "h");
    DeadRowPruning.Outcome outcome = DeadRowPruning.prune(noRelu, true);
    assertThat(outcome.graph()).isSameAs(noRelu);
    assertThat(outcome.note()).isEqualTo("not pruned: t: the tables' input is not a Relu");
  }

  private static byte[] keys(QuantizedGraph q, Dataset data) {
    Node table = table(q);
    float[] act =
        Activations.collect(q, List.of(table.inputs().get(0)), data, d -> {})
            .get(table.inputs().get(0));
    return TableKeys.encode(table, q.packed(), act, data.count(), true);
  }

  private static int distinct(byte[] keys) {
    java.util.Set<String> rows = new java.util.HashSet<>();
    for (int i = 0; i < keys.length; i += CODEBOOKS) {
      rows.add(java.util.Arrays.toString(java.util.Arrays.copyOfRange(keys, i, i + CODEBOOKS)));
    }
    return rows.size();
  }

  static int[] bits(float[] v) {
    int[] b = new int[v.length];
    for (int i = 0; i < v.length; i++) {
      b[i] = Float.floatToRawIntBits(v[i]);
    }
    return b;
  }
}
