package io.cacheai.compress.lut;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cacheai.compress.Dataset;
import io.cacheai.graph.Attributes;
import io.cacheai.graph.ConstTensor;
import io.cacheai.graph.Graph;
import io.cacheai.graph.Node;
import io.cacheai.graph.OpType;
import io.cacheai.graph.ValueInfo;
import io.cacheai.runtime.GraphModel;
import io.cacheai.runtime.Tensor;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Table layers on the shapes of a text-line model: a 1×1 Conv on NCHW and a MatMul on [N,T,D], both
 * with a dynamic width, calibrated at one width and run at others.
 */
class TableLayersTest {
  private static final int D = 4;
  private static final int M = 3;
  private static final int H = 2;

  private static float[] gaussian(int n, long seed) {
    Random random = new Random(seed);
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = (float) random.nextGaussian();
    }
    return v;
  }

  /** x [N,4,2,W] → 1×1 Conv (4→3, bias) → y; a 3×3 Conv and a strided 1×1 Conv beside it. */
  private static Graph convGraph() {
    List<Node> nodes =
        List.of(
            new Node(
                OpType.CONV, "pw", List.of("x", "w", "b"), List.of("y"), new Attributes(Map.of())),
            new Node(
                OpType.CONV,
                "k3",
                List.of("x", "w3"),
                List.of("z"),
                new Attributes(Map.of("pads", new long[] {1, 1, 1, 1}))),
            new Node(
                OpType.CONV,
                "strided",
                List.of("x", "w"),
                List.of("s"),
                new Attributes(Map.of("strides", new long[] {2, 2}))));
    return new Graph(
        "conv",
        13,
        List.of(new ValueInfo("x", new long[] {ValueInfo.BATCH, D, H, ValueInfo.DYNAMIC})),
        List.of(
            new ValueInfo("y", new long[] {ValueInfo.BATCH, M, H, ValueInfo.DYNAMIC}),
            new ValueInfo("z", new long[] {ValueInfo.BATCH, M, H, ValueInfo.DYNAMIC}),
            new ValueInfo("s", new long[0])),
        Map.of(
            "w", ConstTensor.ofFloats(new long[] {M, D, 1, 1}, gaussian(M * D, 1)),
            "w3", ConstTensor.ofFloats(new long[] {M, D, 3, 3}, gaussian(M * D * 9, 2)),
            "b", ConstTensor.ofFloats(new long[] {M}, new float[] {0.5f, -1f, 2f})),
        nodes);
  }

  /** x [N,T,4] → MatMul by a constant [4,3] → y [N,T,3]. */
  private static Graph matMulGraph() {
    return new Graph(
        "matmul",
        13,
        List.of(new ValueInfo("x", new long[] {ValueInfo.BATCH, ValueInfo.DYNAMIC, D})),
        List.of(new ValueInfo("y", new long[] {ValueInfo.BATCH, ValueInfo.DYNAMIC, M})),
        Map.of("w", ConstTensor.ofFloats(new long[] {D, M}, gaussian(D * M, 3))),
        List.of(
            new Node(
                OpType.MAT_MUL, "mm", List.of("x", "w"), List.of("y"), new Attributes(Map.of()))));
  }

  /** Σ(a − b)² / Σb² over output {@code name} of the two graphs on {@code x}. */
  private static double nmse(Graph exact, GraphModel tables, String name, Tensor x) {
    float[] want;
    try (GraphModel model = new GraphModel(exact)) {
      want = model.infer(Map.of("x", x)).get(name).toFloatArray();
    }
    float[] got = tables.infer(Map.of("x", x)).get(name).toFloatArray();
    assertThat(got).hasSameSizeAs(want);
    double error = 0;
    double energy = 0;
    for (int i = 0; i < want.length; i++) {
      error += (got[i] - want[i]) * (double) (got[i] - want[i]);
      energy += want[i] * (double) want[i];
    }
    return error / energy;
  }

  @Test
  void list_convsAndConstantMatMul_formsAndRowsPerSample() {
    List<LutCandidates.Candidate> conv = LutCandidates.list(convGraph(), new long[] {1, D, H, 5});
    assertThat(conv)
        .extracting(LutCandidates.Candidate::name)
        .containsExactly("pw", "k3", "strided");
    assertThat(conv)
        .extracting(LutCandidates.Candidate::form)
        .containsExactly(
            LutCandidates.Form.NCHW_1X1,
            LutCandidates.Form.NCHW_PATCHES,
            LutCandidates.Form.NCHW_PATCHES);
    // k×k: rows = output pixels, D = C·kH·kW; the strided 1×1 is one too, as patches
    assertThat(conv.get(1).rowsPerSample()).isEqualTo(H * 5);
    assertThat(conv.get(1).d()).isEqualTo(D * 9);
    assertThat(conv.get(2).rowsPerSample()).isEqualTo(3);
    assertThat(conv.get(0).rowsPerSample()).isEqualTo(H * 5);
    assertThat(conv.get(0).d()).isEqualTo(D);
    assertThat(conv.get(0).m()).isEqualTo(M);

    List<LutCandidates.Candidate> mm = LutCandidates.list(matMulGraph(), new long[] {1, 7, D});
    assertThat(mm)
        .extracting(LutCandidates.Candidate::form)
        .containsExactly(LutCandidates.Form.ROWS);
    assertThat(mm.get(0).rowsPerSample()).isEqualTo(7);
  }

  @Test
  void compress_pointwiseConvAtWidth5_servesWidths3And9CloseToExact() {
    Graph graph = convGraph();
    int n = 200;
    Dataset data = new Dataset(gaussian(n * D * H * 5, 4), new long[] {D, H, 5}, null, "w5");
    LutOptions options =
        LutOptions.defaults()
            .withLayers(List.of("pw"))
            .withWidth(1)
            .withTableBits(8) // the layer forms are under test, not the 4-bit rounding
            .withShiftRadiusPx(0)
            .withLambda(1e-3);

    LutCompressor.Result result =
        LutCompressor.compress(graph, data, options, (phase, done, total) -> {});

    assertThat(result.graph().graph().nodes())
        .extracting(Node::op)
        .containsSubsequence(OpType.TRANSPOSE, OpType.LOOKUP_GEMM, OpType.TRANSPOSE);
    assertThat(result.layers().get(0).nmse()).isLessThan(0.05);
    try (GraphModel tables = result.graph().model()) {
      for (int width : new int[] {3, 9}) {
        Tensor x = Tensor.ofFloats(new long[] {2, D, H, width}, gaussian(2 * D * H * width, width));
        assertThat(tables.infer(Map.of("x", x)).get("y").shape()).containsExactly(2, M, H, width);
        assertThat(nmse(graph, tables, "y", x)).as("width %d", width).isLessThan(0.05);
      }
    }
  }

  @Test
  void compress_matMulOnSequences_servesOtherLengthsCloseToExact() {
    Graph graph = matMulGraph();
    int n = 100;
    Dataset data = new Dataset(gaussian(n * 6 * D, 5), new long[] {6, D}, null, "t6");
    LutOptions options =
        LutOptions.defaults()
            .withLayers(List.of("mm"))
            .withWidth(1)
            .withTableBits(8) // the layer forms are under test, not the 4-bit rounding
            .withShiftRadiusPx(0)
            .withLambda(1e-3);

    LutCompressor.Result result =
        LutCompressor.compress(graph, data, options, (phase, done, total) -> {});

    try (GraphModel tables = result.graph().model()) {
      Tensor x = Tensor.ofFloats(new long[] {3, 11, D}, gaussian(3 * 11 * D, 6));
      assertThat(tables.infer(Map.of("x", x)).get("y").shape()).containsExactly(3, 11, M);
      assertThat(nmse(graph, tables, "y", x)).isLessThan(0.05);
    }
  }

  @Test
  void compress_layerThatIsNoCandidate_errorListsCandidates() {
    Dataset data = new Dataset(new float[D * H * 5], new long[] {D, H, 5}, null, "one");
    LutOptions options = LutOptions.defaults().withLayers(List.of("z"));
    assertThatThrownBy(
            () -> LutCompressor.compress(convGraph(), data, options, (phase, done, total) -> {}))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'z'")
        .hasMessageContaining("--lut-list")
        .hasMessageContaining("[pw, k3, strided]");
  }

  @Test
  void pick_moreRowsThanMax_sameSeedSameRowsAndPixelsAsRows() {
    // 2 samples of [D=2, P=3] NCHW: value = 100·sample + 10·channel + pixel
    float[] act = new float[12];
    for (int s = 0; s < 2; s++) {
      for (int c = 0; c < 2; c++) {
        for (int p = 0; p < 3; p++) {
          act[s * 6 + c * 3 + p] = 100 * s + 10 * c + p;
        }
      }
    }
    LayerRows all = LayerRows.pick(LutCandidates.Form.NCHW_1X1, 3, 2, 100, 1);
    assertThat(all.count()).isEqualTo(6);
    assertThat(all.rows(act, 2)).containsExactly(0, 10, 1, 11, 2, 12, 100, 110, 101, 111, 102, 112);

    LayerRows some = LayerRows.pick(LutCandidates.Form.ROWS, 1000, 7, 500, 9);
    LayerRows again = LayerRows.pick(LutCandidates.Form.ROWS, 1000, 7, 500, 9);
    LayerRows other = LayerRows.pick(LutCandidates.Form.ROWS, 1000, 7, 500, 10);
    float[] ids = new float[7000];
    for (int i = 0; i < ids.length; i++) {
      ids[i] = i;
    }
    float[] picked = some.rows(ids, 1);
    assertThat(picked).hasSize(500).containsExactly(again.rows(ids, 1));
    assertThat(picked).isSorted().doesNotHaveDuplicates();
    assertThat(other.rows(ids, 1)).isNotEqualTo(picked);
    assertThatThrownBy(() -> some.rows(new float[6999], 1))
        .hasMessageContaining("samples=7 x rowsPerSample=1000 x width=1");
  }
}
