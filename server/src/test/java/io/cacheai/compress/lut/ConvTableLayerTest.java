package io.cacheai.compress.lut;

import static org.assertj.core.api.Assertions.assertThat;

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
 * A k×k Conv turned into a {@code LookupConv} by the whole build (candidates, im2col fit rows,
 * centroids, ridge refit, int8 tables, the node) on a conv whose tables can be exact: every image
 * is tiled with 2×2 blocks, each channel's block one of 16 fixed patterns, and the conv (2×2,
 * stride 2) reads exactly one block per output pixel. With w = 4 each sub-space is one channel's
 * block, which takes at most 16 distinct values — one key each — so the table layer must equal the
 * fp32 conv up to the int8 rounding of its tables. Were the patch order wrong (not (c, ky, kx), or
 * pixels shuffled), sub-spaces would mix channels and blocks and this fails; with w = 8 (one
 * sub-space over both channels: 256 combinations for 16 keys) it is measurably not exact.
 */
class ConvTableLayerTest {
  private static final int C = 2;
  private static final int M = 3;
  private static final int SIZE = 8;

  /** x [N,2,8,8] → Conv 2×2 stride 2 (2→3, bias) → y [N,3,4,4]. */
  private static Graph graph() {
    Random random = new Random(3);
    float[] w = new float[M * C * 4];
    for (int i = 0; i < w.length; i++) {
      w[i] = (float) random.nextGaussian();
    }
    return new Graph(
        "blocks",
        13,
        List.of(new ValueInfo("x", new long[] {ValueInfo.BATCH, C, SIZE, SIZE})),
        List.of(new ValueInfo("y", new long[] {ValueInfo.BATCH, M, SIZE / 2, SIZE / 2})),
        Map.of(
            "w", ConstTensor.ofFloats(new long[] {M, C, 2, 2}, w),
            "b", ConstTensor.ofFloats(new long[] {M}, new float[] {0.25f, -0.5f, 1f})),
        List.of(
            new Node(
                OpType.CONV,
                "k2",
                List.of("x", "w", "b"),
                List.of("y"),
                new Attributes(Map.of("strides", new long[] {2, 2})))));
  }

  /** n images, each 2×2 block of each channel one of 16 fixed patterns of that channel. */
  private static float[] images(int n, long seed) {
    Random fixed = new Random(11);
    float[][][] patterns = new float[C][16][4];
    for (float[][] channel : patterns) {
      for (float[] pattern : channel) {
        for (int i = 0; i < 4; i++) {
          pattern[i] = (float) fixed.nextGaussian();
        }
      }
    }
    Random random = new Random(seed);
    float[] x = new float[n * C * SIZE * SIZE];
    for (int s = 0; s < n; s++) {
      for (int c = 0; c < C; c++) {
        for (int by = 0; by < SIZE / 2; by++) {
          for (int bx = 0; bx < SIZE / 2; bx++) {
            float[] p = patterns[c][random.nextInt(16)];
            int base = (s * C + c) * SIZE * SIZE;
            x[base + (2 * by) * SIZE + 2 * bx] = p[0];
            x[base + (2 * by) * SIZE + 2 * bx + 1] = p[1];
            x[base + (2 * by + 1) * SIZE + 2 * bx] = p[2];
            x[base + (2 * by + 1) * SIZE + 2 * bx + 1] = p[3];
          }
        }
      }
    }
    return x;
  }

  private static LutCompressor.Result build(int width) {
    Dataset data = new Dataset(images(64, 1), new long[] {C, SIZE, SIZE}, null, "blocks");
    LutOptions options =
        LutOptions.defaults()
            .withLayers(List.of("k2"))
            .withWidth(width)
            .withEncoder(LutOptions.Encoder.CENTROID)
            .withTableBits(8)
            .withShiftRadiusPx(0)
            .withLambda(1e-3);
    return LutCompressor.compress(graph(), data, options, (phase, done, total) -> {});
  }

  /** Σ(ŷ − y)² / Σy² of the table model against the fp32 conv on fresh images. */
  private static double[] errorOnFreshImages(LutCompressor.Result result) {
    Tensor x = Tensor.ofFloats(new long[] {8, C, SIZE, SIZE}, images(8, 99));
    float[] want;
    try (GraphModel exact = new GraphModel(graph())) {
      want = exact.infer(Map.of("x", x)).get("y").toFloatArray();
    }
    float[] got;
    try (GraphModel tables = result.graph().model()) {
      Tensor y = tables.infer(Map.of("x", x)).get("y");
      assertThat(y.shape()).containsExactly(8, M, SIZE / 2, SIZE / 2);
      got = y.toFloatArray();
    }
    double error = 0;
    double energy = 0;
    double maxError = 0;
    double maxAbs = 0;
    for (int i = 0; i < want.length; i++) {
      double diff = got[i] - (double) want[i];
      error += diff * diff;
      energy += want[i] * (double) want[i];
      maxError = Math.max(maxError, Math.abs(diff));
      maxAbs = Math.max(maxAbs, Math.abs(want[i]));
    }
    return new double[] {error / energy, maxError / maxAbs};
  }

  @Test
  void compress_subspacesOfAtMost16Values_equalsTheFp32Conv() {
    LutCompressor.Result result = build(4);

    Node node =
        result.graph().graph().nodes().stream()
            .filter(n -> n.op() == OpType.LOOKUP_CONV)
            .findFirst()
            .orElseThrow();
    assertThat(node.name()).isEqualTo("k2");
    assertThat(node.attributes().getLongs("kernel_shape")).containsExactly(2, 2);
    assertThat(node.attributes().getLongs("strides")).containsExactly(2, 2);
    assertThat(node.attributes().getLongs("weight_shape")).containsExactly(M, C * 4);
    LutLayerReport report = result.layers().get(0);
    assertThat(report.codebooks()).isEqualTo(2);
    assertThat(report.keyHitRatePct()).isEqualTo(100.0);
    assertThat(report.nmse()).isLessThan(1e-4);
    double[] fresh = errorOnFreshImages(result);
    assertThat(fresh[0]).as("NMSE on fresh images").isLessThan(1e-4);
    assertThat(fresh[1]).as("max error / max |y|").isLessThan(0.02);
  }

  @Test
  void compress_oneSubspaceOverBothChannels_notExact() {
    double exact = errorOnFreshImages(build(4))[0];
    double mixed = errorOnFreshImages(build(8))[0];
    assertThat(mixed).isGreaterThan(0.01).isGreaterThan(100 * exact);
  }
}
