package io.cacheai.runtime;

import static io.cacheai.runtime.LookupGemmFixtures.f32;
import static io.cacheai.runtime.LookupGemmFixtures.graph;
import static io.cacheai.runtime.LookupGemmFixtures.s32;
import static io.cacheai.runtime.LookupGemmFixtures.tables;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cacheai.graph.Attributes;
import io.cacheai.graph.Graph;
import io.cacheai.graph.Node;
import io.cacheai.graph.OpType;
import io.cacheai.graph.PackedTensor;
import io.cacheai.graph.ValueInfo;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@code LookupGemm} with key 0 folded ({@code fold_key0} = 1, tables [C,K−1,M/G]): a folded node
 * gives exactly the outputs of the unfolded node whose tables hold the same rows plus an all-zero
 * row for key 0 (same scale, bias, tree or centroids), for K = 4, 8, 16, int8 and 4-bit, grouped or
 * not. A fold_key0 other than 0 / 1, tables whose rows do not match it, and a folded LookupConv are
 * refused naming the node.
 */
class LookupGemmFoldTest {

  /** One random layer: its K−1 stored rows per codebook and everything else a node needs. */
  private record Layer(
      int d,
      int m,
      int w,
      int groups,
      int keys,
      int bits,
      String encoder,
      byte[] folded,
      float[] scale,
      float[] bias,
      int[] dims,
      float[] thresholds,
      float[] centroids) {

    int codebooks() {
      return groups * ((d + w - 1) / w);
    }

    int depth() {
      return Integer.numberOfTrailingZeros(keys);
    }

    static Layer random(
        int d, int m, int w, int groups, int keys, int bits, String encoder, long seed) {
      SplittableRandom r = new SplittableRandom(seed);
      int c = groups * ((d + w - 1) / w);
      int depth = Integer.numberOfTrailingZeros(keys);
      byte[] folded = new byte[c * (keys - 1) * (m / groups)];
      for (int i = 0; i < folded.length; i++) {
        folded[i] = (byte) (bits == 4 ? r.nextInt(-8, 8) : r.nextInt(-127, 128));
      }
      float[] scale = new float[m];
      float[] bias = new float[m];
      for (int j = 0; j < m; j++) {
        scale[j] = (float) (0.001 + r.nextDouble() * 0.1);
        bias[j] = (float) (r.nextDouble() * 2 - 1);
      }
      int[] dims = new int[c * depth];
      for (int i = 0; i < dims.length; i++) {
        dims[i] = r.nextInt(w);
      }
      float[] thresholds = new float[c * (keys - 1)];
      for (int i = 0; i < thresholds.length; i++) {
        thresholds[i] = (float) (r.nextDouble() * 2 - 1);
      }
      float[] centroids = new float[c * keys * w];
      for (int i = 0; i < centroids.length; i++) {
        centroids[i] = (float) (r.nextDouble() * 2 - 1);
      }
      return new Layer(
          d, m, w, groups, keys, bits, encoder, folded, scale, bias, dims, thresholds, centroids);
    }

    /** The unfolded [C,K,M/G] entries: row 0 of each codebook zero, rows 1..K−1 the stored ones. */
    byte[] unfolded() {
      int mg = m / groups;
      byte[] full = new byte[codebooks() * keys * mg];
      for (int c = 0; c < codebooks(); c++) {
        System.arraycopy(folded, c * (keys - 1) * mg, full, (c * keys + 1) * mg, (keys - 1) * mg);
      }
      return full;
    }

    Map<String, PackedTensor> packed(boolean fold) {
      int c = codebooks();
      Map<String, PackedTensor> p = new LinkedHashMap<>();
      p.put("t", tables(fold ? folded : unfolded(), c, fold ? keys - 1 : keys, m / groups, bits));
      p.put("s", f32(new long[] {m}, scale));
      p.put("b", f32(new long[] {m}, bias));
      p.put("dims", s32(new long[] {c, depth()}, dims));
      p.put("th", f32(new long[] {c, keys - 1}, thresholds));
      p.put("cent", f32(new long[] {c, keys, w}, centroids));
      return p;
    }

    Map<String, Object> attributes(Long fold) {
      Map<String, Object> a = new TreeMap<>();
      a.put("weight_shape", new long[] {m, d});
      a.put("width", (long) w);
      a.put("groups", (long) groups);
      a.put("encoder", encoder);
      a.put("keys", (long) keys);
      a.put("tables", "t");
      a.put("scale", "s");
      a.put("bias", "b");
      if (encoder.equals("tree")) {
        a.put("split_dims", "dims");
        a.put("thresholds", "th");
      } else {
        a.put("centroids", "cent");
      }
      if (fold != null) {
        a.put("fold_key0", fold);
      }
      return a;
    }
  }

  @ParameterizedTest(name = "keys={0} d={1} m={2} w={3} groups={4} rows={5} bits={6} {7}")
  @CsvSource({
    "4, 256, 128, 29, 1, 3, 8, tree",
    "4, 256, 128, 29, 4, 3, 4, tree",
    "4, 37, 19, 5, 1, 5, 4, centroid",
    "4, 37, 18, 5, 3, 4, 8, centroid",
    "8, 256, 128, 29, 1, 3, 4, tree",
    "8, 256, 128, 29, 4, 3, 8, tree",
    "8, 40, 13, 8, 1, 5, 8, centroid",
    "8, 120, 84, 8, 2, 2, 4, centroid",
    "16, 37, 19, 5, 1, 5, 8, tree",
    "16, 37, 18, 5, 3, 5, 4, tree",
    "16, 64, 33, 4, 1, 3, 4, centroid",
    "16, 64, 32, 4, 2, 3, 8, centroid",
  })
  void run_foldedTables_equalUnfoldedTablesWithZeroKey0Row(
      int keys, int d, int m, int w, int groups, int rows, int bits, String encoder) {
    Layer layer = Layer.random(d, m, w, groups, keys, bits, encoder, 31L * keys + 7L * d + m);
    SplittableRandom r = new SplittableRandom(d + 13L * rows);
    float[] x = new float[rows * d];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) (r.nextDouble() * 2 - 1);
    }
    float[] folded = run(layer.attributes(1L), layer.packed(true), x, rows);
    float[] unfolded = run(layer.attributes(null), layer.packed(false), x, rows);
    assertThat(folded).hasSize(rows * m).isEqualTo(unfolded);
    // fold_key0 = 0 written out is the default: the same unfolded outputs
    assertThat(run(layer.attributes(0L), layer.packed(false), x, rows)).isEqualTo(unfolded);
  }

  @Test
  void run_foldedTables_differFromKey0RowsRead() {
    // the stored rows are rows 1..K−1: reading them as rows 0..K−2 (no shift) changes the outputs
    Layer layer = Layer.random(40, 16, 8, 1, 4, 8, "tree", 11);
    SplittableRandom r = new SplittableRandom(3);
    float[] x = new float[4 * 40];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) (r.nextDouble() * 2 - 1);
    }
    float[] folded = run(layer.attributes(1L), layer.packed(true), x, 4);
    byte[] shifted = new byte[layer.codebooks() * 4 * 16];
    for (int c = 0; c < layer.codebooks(); c++) {
      System.arraycopy(layer.folded(), c * 3 * 16, shifted, c * 4 * 16, 3 * 16);
    }
    Map<String, PackedTensor> packed = layer.packed(false);
    packed.put("t", tables(shifted, layer.codebooks(), 4, 16, 8));
    assertThat(run(layer.attributes(null), packed, x, 4)).isNotEqualTo(folded);
  }

  @ParameterizedTest(name = "fold_key0={0}")
  @CsvSource({"2", "-1", "16"})
  void plan_foldKey0NotZeroOrOne_refusedNamingNodeAndAttribute(long fold) {
    Layer layer = Layer.random(37, 18, 5, 1, 8, 8, "tree", 1);
    assertRefused(
        graph(37, 18, layer.attributes(fold)),
        layer.packed(true),
        "lut0",
        "fold_key0=" + fold,
        "accepted: 0");
  }

  @Test
  void plan_tablesOfKRowsUnderFoldKey0_refusedNamingNodeAndTensor() {
    Layer layer = Layer.random(37, 18, 5, 1, 4, 8, "tree", 2);
    assertRefused(
        graph(37, 18, layer.attributes(1L)), layer.packed(false), "lut0", "tables", "[8,3,18]");
  }

  @Test
  void plan_tablesOfKMinus1RowsWithoutFoldKey0_refusedNamingNodeAndTensor() {
    Layer layer = Layer.random(37, 18, 5, 1, 16, 4, "tree", 3);
    assertRefused(
        graph(37, 18, layer.attributes(null)), layer.packed(true), "lut0", "tables", "[8,16,18]");
  }

  @Test
  void plan_lookupConvWithFoldKey0_refusedNamingNode() {
    // a 1x1 LookupConv over 10 channels, K = 16 (what a conv accepts), tables folded
    Layer layer = Layer.random(10, 6, 10, 1, 16, 8, "tree", 4);
    Map<String, Object> a = layer.attributes(1L);
    a.put("kernel_shape", new long[] {1, 1});
    Graph graph =
        new Graph(
            "lutconv",
            13,
            List.of(new ValueInfo("x", new long[] {1, 10, 3, 3})),
            List.of(new ValueInfo("y", new long[] {1, 6, 3, 3})),
            Map.of(),
            List.of(
                new Node(
                    OpType.LOOKUP_CONV, "conv0", List.of("x"), List.of("y"), new Attributes(a))));
    assertThatThrownBy(
            () -> {
              try (GraphModel model =
                  new GraphModel(graph, layer.packed(true), Int8Gemm.reference())) {
                model.infer(Map.of("x", Tensor.ofFloats(new long[] {1, 10, 3, 3}, new float[90])));
              }
            })
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("conv0")
        .hasMessageContaining("fold_key0=1");
  }

  @Test
  void lutLengthBytes_foldedRows3715_accepted() {
    assertThat(PackedTensor.lut16LengthBytes(new long[] {5, 3, 7})).isEqualTo(5 * 3 * 7);
    assertThat(PackedTensor.lut16LengthBytes(new long[] {5, 15, 8})).isEqualTo(5 * 15 * 8);
    assertThat(PackedTensor.lut16x4LengthBytes(new long[] {5, 7, 7})).isEqualTo(5 * 7 * 4);
    assertThat(PackedTensor.lut16x4LengthBytes(new long[] {2, 15, 32})).isEqualTo(2 * 15 * 16);
    assertThatThrownBy(() -> PackedTensor.lut16x4LengthBytes(new long[] {5, 6, 7}))
        .hasMessageContaining("3, 7, 15");
    assertThatThrownBy(() -> PackedTensor.lut16LengthBytes(new long[] {5, 2, 7}))
        .hasMessageContaining("3, 7, 15");
  }

  private static float[] run(
      Map<String, Object> attributes, Map<String, PackedTensor> packed, float[] x, int rows) {
    long[] weightShape = (long[]) attributes.get("weight_shape");
    int m = (int) weightShape[0];
    int d = (int) weightShape[1];
    try (GraphModel model = new GraphModel(graph(d, m, attributes), packed, Int8Gemm.reference())) {
      return model
          .infer(Map.of("x", Tensor.ofFloats(new long[] {rows, d}, x)))
          .get("y")
          .toFloatArray();
    }
  }

  private static void assertRefused(
      Graph graph, Map<String, PackedTensor> packed, String... parts) {
    var thrown =
        assertThatThrownBy(
            () -> {
              try (GraphModel model = new GraphModel(graph, packed, Int8Gemm.reference())) {
                model.infer(Map.of("x", Tensor.ofFloats(new long[] {1, 37}, new float[37])));
              }
            });
    thrown.isInstanceOf(IllegalArgumentException.class);
    for (String part : parts) {
      thrown.hasMessageContaining(part);
    }
  }
}
