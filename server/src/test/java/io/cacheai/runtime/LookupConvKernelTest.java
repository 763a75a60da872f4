package io.cacheai.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.cacheai.graph.Attributes;
import io.cacheai.graph.Graph;
import io.cacheai.graph.Node;
import io.cacheai.graph.OpType;
import io.cacheai.graph.PackedTensor;
import io.cacheai.graph.ValueInfo;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@code LookupConv} as the executor runs it ({@link LookupConvKernel}, on the best kernels: native
 * when loaded) against a reference written here: the patches cut by a plain loop over the ONNX Conv
 * definition (zero outside the image), each patch evaluated by the LookupGemm formula of {@link
 * LookupGemmKernelTest.Layer} in double precision, the rows laid out as NCHW.
 */
class LookupConvKernelTest {
  private static final int K = LookupKernels.KEYS;

  /** The patches [N·oH·oW, C·kH·kW] of x [N,C,H,W], in (c, ky, kx) order. */
  private static float[] patches(
      float[] x, int n, int c, int h, int w, int kh, int kw, int[] s, int[] p, int[] dl) {
    int oh = (h + p[0] + p[2] - ((kh - 1) * dl[0] + 1)) / s[0] + 1;
    int ow = (w + p[1] + p[3] - ((kw - 1) * dl[1] + 1)) / s[1] + 1;
    int d = c * kh * kw;
    float[] rows = new float[n * oh * ow * d];
    for (int b = 0; b < n; b++) {
      for (int oy = 0; oy < oh; oy++) {
        for (int ox = 0; ox < ow; ox++) {
          int row = (b * oh + oy) * ow + ox;
          for (int ci = 0; ci < c; ci++) {
            for (int ky = 0; ky < kh; ky++) {
              for (int kx = 0; kx < kw; kx++) {
                int iy = oy * s[0] - p[0] + ky * dl[0];
                int ix = ox * s[1] - p[1] + kx * dl[1];
                float v =
                    iy < 0 || iy >= h || ix < 0 || ix >= w
                        ? 0f
                        : x[((b * c + ci) * h + iy) * w + ix];
                rows[row * d + (ci * kh + ky) * kw + kx] = v;
              }
            }
          }
        }
      }
    }
    return rows;
  }

  private static Graph graph(
      LookupGemmKernelTest.Layer layer,
      String encoder,
      int c,
      int kh,
      int kw,
      int[] s,
      int[] p,
      int[] dl) {
    Map<String, Object> a = new TreeMap<>();
    a.put("weight_shape", new long[] {layer.m(), layer.d()});
    a.put("width", (long) layer.w());
    a.put("encoder", encoder);
    a.put("tables", "t");
    a.put("scale", "s");
    a.put("bias", "b");
    a.put("split_dims", "dims");
    a.put("thresholds", "th");
    a.put("centroids", "cent");
    a.put("kernel_shape", new long[] {kh, kw});
    a.put("strides", new long[] {s[0], s[1]});
    a.put("pads", new long[] {p[0], p[1], p[2], p[3]});
    a.put("dilations", new long[] {dl[0], dl[1]});
    return new Graph(
        "lutconv",
        13,
        List.of(new ValueInfo("x", new long[] {-1, c, -1, -1})),
        List.of(new ValueInfo("y", new long[] {-1, layer.m(), -1, -1})),
        Map.of(),
        List.of(
            new Node(OpType.LOOKUP_CONV, "conv0", List.of("x"), List.of("y"), new Attributes(a))));
  }

  @ParameterizedTest(
      name = "n={0} c={1} {2}x{3} k={4}x{5} s={6},{7} pads={8} dil={9},{10} m={11} w={12} {13}")
  @CsvSource({
    "1, 16, 14, 14, 5, 5, 1, 1, '0 0 0 0', 1, 1, 32, 29, tree",
    "2, 3, 9, 7, 3, 3, 2, 1, '1 1 1 1', 1, 1, 5, 4, tree",
    "1, 2, 11, 13, 3, 2, 3, 2, '2 0 1 1', 2, 3, 7, 5, tree",
    "3, 1, 5, 5, 5, 5, 1, 1, '2 2 2 2', 1, 1, 4, 25, tree",
    "2, 4, 8, 9, 2, 3, 1, 2, '0 1 0 0', 2, 1, 9, 7, centroid",
  })
  void run_matchesIm2colAndReferenceLookup(
      int n,
      int c,
      int h,
      int w,
      int kh,
      int kw,
      int sh,
      int sw,
      String pads,
      int dh,
      int dw,
      int m,
      int width,
      String encoder) {
    int[] s = {sh, sw};
    int[] dl = {dh, dw};
    int[] p = java.util.Arrays.stream(pads.split(" ")).mapToInt(Integer::parseInt).toArray();
    int d = c * kh * kw;
    LookupGemmKernelTest.Layer layer = LookupGemmKernelTest.Layer.random(d, m, width, 31L * d + m);
    SplittableRandom r = new SplittableRandom(11L * h + w);
    float[] x = new float[n * c * h * w];
    for (int i = 0; i < x.length; i++) {
      // on the threshold grid half the time (x == threshold goes left), else anywhere
      x[i] =
          r.nextBoolean()
              ? (float) Math.rint(r.nextDouble() * 4 - 2) / 2
              : (float) (r.nextDouble() * 4 - 2);
    }
    int oh = (h + p[0] + p[2] - ((kh - 1) * dh + 1)) / sh + 1;
    int ow = (w + p[1] + p[3] - ((kw - 1) * dw + 1)) / sw + 1;
    int pixels = oh * ow;
    float[] rows = patches(x, n, c, h, w, kh, kw, s, p, dl);
    double[] expected = layer.expected(rows, n * pixels, encoder.equals("tree"));
    Map<String, PackedTensor> packed = layer.packed(new long[] {layer.c(), K, m});
    try (GraphModel model =
        new GraphModel(graph(layer, encoder, c, kh, kw, s, p, dl), packed, Int8Gemm.reference())) {
      Tensor out = model.infer(Map.of("x", Tensor.ofFloats(new long[] {n, c, h, w}, x))).get("y");
      assertThat(out.shape()).containsExactly(n, m, oh, ow);
      float[] y = out.toFloatArray();
      for (int b = 0; b < n; b++) {
        for (int j = 0; j < m; j++) {
          for (int q = 0; q < pixels; q++) {
            double e = expected[(b * pixels + q) * m + j];
            assertThat((double) y[(b * m + j) * pixels + q])
                .as("y[%d,%d,%d]", b, j, q)
                .isCloseTo(e, org.assertj.core.data.Offset.offset(1e-6 * (1 + Math.abs(e))));
          }
        }
      }
    }
  }

  @Test
  void liveKeyHitRatio_sampledPixelsOfTheImage_matchesReferenceKeys() {
    // conv 3x3 pad 1 on [1,3,7,9]: 63 output pixels, of which a sampled run checks 16
    int c = 3;
    int h = 7;
    int w = 9;
    int[] s = {1, 1};
    int[] p = {1, 1, 1, 1};
    int[] dl = {1, 1};
    LookupGemmKernelTest.Layer layer = LookupGemmKernelTest.Layer.random(c * 9, 6, 5, 77);
    SplittableRandom r = new SplittableRandom(5);
    float[] x = new float[c * h * w];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) (r.nextDouble() * 2 - 1);
    }
    int pixels = h * w;
    float[] rows = patches(x, 1, c, h, w, 3, 3, s, p, dl);
    int sampled = LookupConvKernel.HIT_SAMPLE_PIXELS;
    int hits = 0;
    for (int i = 0; i < sampled; i++) {
      int pixel = i * pixels / sampled;
      for (int cb = 0; cb < layer.c(); cb++) {
        hits += layer.treeKey(rows, pixel, cb) == layer.centroidKey(rows, pixel, cb) ? 1 : 0;
      }
    }
    double expected = (double) hits / (sampled * layer.c());
    assertThat(expected).isBetween(0.0, 0.99); // random centroids: the two encoders disagree
    try (GraphModel model =
        new GraphModel(
            graph(layer, "tree", c, 3, 3, s, p, dl),
            layer.packed(new long[] {layer.c(), K, 6}),
            Int8Gemm.reference())) {
      for (int run = 0; run < 40; run++) {
        model.infer(Map.of("x", Tensor.ofFloats(new long[] {1, c, h, w}, x)));
      }
      assertThat(model.lookupKeyHitRatios().get("conv0")).isCloseTo(expected, within(1e-12));
    }
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({"'wrong channels', 3", "'wrong kernel', 2"})
  void plan_patchLengthDisagreesWithWeightShape_refusedNamingNode(String what, int channels) {
    LookupGemmKernelTest.Layer layer = LookupGemmKernelTest.Layer.random(2 * 3 * 3, 4, 6, 1);
    int kh = what.equals("wrong kernel") ? 2 : 3;
    Graph g =
        graph(
            layer,
            "tree",
            channels,
            kh,
            3,
            new int[] {1, 1},
            new int[] {0, 0, 0, 0},
            new int[] {1, 1});
    assertThatThrownBy(
            () -> {
              try (GraphModel model =
                  new GraphModel(
                      g, layer.packed(new long[] {layer.c(), K, 4}), Int8Gemm.reference())) {
                model.infer(
                    Map.of(
                        "x",
                        Tensor.ofFloats(new long[] {1, channels, 6, 6}, new float[channels * 36])));
              }
            })
        .hasMessageContaining("LookupConv 'conv0'")
        .hasMessageContaining("weight_shape=[4, 18]");
  }
}
