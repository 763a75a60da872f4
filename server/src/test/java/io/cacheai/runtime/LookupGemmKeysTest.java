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
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@code LookupGemm} with K = 4 or 8 keys per codebook (node attribute {@code keys}, trees of depth
 * 2 or 3): the executor against a double-precision evaluation written here from the contract — the
 * heap-order walk over thresholds [C,K−1] and split_dims [C,log2 K], or the nearest of K centroids
 * [C,K,w]; tables [C,K,M/G]; y = bias + scale · Σ_c T[c][key_c]. Shapes that do not match K are
 * refused with the node and the tensor or attribute named.
 */
class LookupGemmKeysTest {

  /** One random layer and its expected outputs, computed in double precision. */
  private record Case(
      int d,
      int m,
      int w,
      int groups,
      int keys,
      int bits,
      String encoder,
      byte[] entries,
      float[] scale,
      float[] bias,
      int[] dims,
      float[] thresholds,
      float[] centroids) {

    int perGroup() {
      return (d + w - 1) / w;
    }

    int codebooks() {
      return groups * perGroup();
    }

    int depth() {
      return Integer.numberOfTrailingZeros(keys);
    }

    static Case random(
        int d, int m, int w, int groups, int keys, int bits, String encoder, long seed) {
      SplittableRandom r = new SplittableRandom(seed);
      int c = groups * ((d + w - 1) / w);
      int depth = Integer.numberOfTrailingZeros(keys);
      byte[] entries = new byte[c * keys * (m / groups)];
      for (int i = 0; i < entries.length; i++) {
        entries[i] = (byte) (bits == 4 ? r.nextInt(-8, 8) : r.nextInt(-127, 128));
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
        thresholds[i] = (float) Math.rint(r.nextDouble() * 4 - 2) / 2;
      }
      float[] centroids = new float[c * keys * w];
      for (int i = 0; i < centroids.length; i++) {
        centroids[i] = (float) (r.nextDouble() * 2 - 1);
      }
      return new Case(
          d, m, w, groups, keys, bits, encoder, entries, scale, bias, dims, thresholds, centroids);
    }

    /** x at column {@code col} of the zero-padded row. */
    double padded(float[] x, int row, int col) {
      return col < d ? x[row * d + col] : 0.0;
    }

    int key(float[] x, int row, int cb) {
      int part = cb % perGroup();
      if (encoder.equals("tree")) {
        int node = 0;
        for (int l = 0; l < depth(); l++) {
          double v = padded(x, row, part * w + dims[cb * depth() + l]);
          node = 2 * node + 1 + (v > thresholds[cb * (keys - 1) + node] ? 1 : 0);
        }
        return node - (keys - 1);
      }
      int best = 0;
      double bestDistance = Double.POSITIVE_INFINITY;
      for (int k = 0; k < keys; k++) {
        double distance = 0;
        for (int i = 0; i < w; i++) {
          double diff = padded(x, row, part * w + i) - centroids[(cb * keys + k) * w + i];
          distance += diff * diff;
        }
        if (distance < bestDistance) {
          best = k;
          bestDistance = distance;
        }
      }
      return best;
    }

    double[] expected(float[] x, int rows) {
      int mg = m / groups;
      double[] y = new double[rows * m];
      for (int row = 0; row < rows; row++) {
        long[] sums = new long[m];
        for (int cb = 0; cb < codebooks(); cb++) {
          int key = key(x, row, cb);
          int group = cb / perGroup();
          for (int j = 0; j < mg; j++) {
            sums[group * mg + j] += entries[(cb * keys + key) * mg + j];
          }
        }
        for (int j = 0; j < m; j++) {
          y[row * m + j] = bias[j] + (double) scale[j] * sums[j];
        }
      }
      return y;
    }

    Map<String, PackedTensor> packed() {
      int c = codebooks();
      Map<String, PackedTensor> p = new LinkedHashMap<>();
      p.put("t", tables(entries, c, keys, m / groups, bits));
      p.put("s", f32(new long[] {m}, scale));
      p.put("b", f32(new long[] {m}, bias));
      p.put("dims", s32(new long[] {c, depth()}, dims));
      p.put("th", f32(new long[] {c, keys - 1}, thresholds));
      p.put("cent", f32(new long[] {c, keys, w}, centroids));
      return p;
    }
  }

  @ParameterizedTest(name = "keys={0} d={1} m={2} w={3} groups={4} rows={5} bits={6} {7}")
  @CsvSource({
    "4, 256, 128, 29, 1, 1, 8, tree",
    "4, 256, 128, 29, 1, 5, 4, tree",
    "4, 256, 128, 29, 4, 1, 4, tree",
    "4, 256, 128, 29, 4, 5, 8, tree",
    "4, 37, 18, 5, 3, 7, 4, tree",
    "4, 37, 19, 5, 1, 5, 8, centroid",
    "4, 120, 85, 10, 1, 1, 4, centroid",
    "8, 256, 128, 29, 1, 1, 8, tree",
    "8, 256, 128, 29, 1, 5, 4, tree",
    "8, 256, 128, 29, 4, 1, 4, tree",
    "8, 256, 128, 29, 4, 5, 8, tree",
    "8, 40, 12, 8, 2, 2, 8, tree",
    "8, 37, 19, 5, 1, 5, 4, centroid",
    "8, 120, 84, 8, 2, 1, 8, centroid",
    "16, 37, 18, 5, 3, 5, 8, tree",
    "16, 37, 19, 5, 1, 5, 4, centroid",
  })
  void run_keysPerCodebook_matchesDoublePrecisionFormula(
      int keys, int d, int m, int w, int groups, int rows, int bits, String encoder) {
    Case layer = Case.random(d, m, w, groups, keys, bits, encoder, 977L * keys + 31L * d + m);
    SplittableRandom r = new SplittableRandom(d + 7L * rows);
    float[] x = new float[rows * d];
    for (int i = 0; i < x.length; i++) {
      x[i] =
          r.nextBoolean()
              ? (float) Math.rint(r.nextDouble() * 4 - 2) / 2
              : (float) (r.nextDouble() * 4 - 2);
    }
    double[] expected = layer.expected(x, rows);
    Map<String, Object> a = attributes(d, m, w, groups, encoder);
    if (keys != 16) {
      a.put("keys", (long) keys);
    }
    try (GraphModel model = new GraphModel(graph(d, m, a), layer.packed(), Int8Gemm.reference())) {
      float[] y =
          model
              .infer(Map.of("x", Tensor.ofFloats(new long[] {rows, d}, x)))
              .get("y")
              .toFloatArray();
      assertThat(y).hasSize(rows * m);
      for (int i = 0; i < y.length; i++) {
        assertThat((double) y[i])
            .as("y[%d]", i)
            .isCloseTo(expected[i], Offset.offset(1e-6 * (1 + Math.abs(expected[i]))));
      }
    }
  }

  @Test
  void run_keysPerCodebook_everyKeyReached() {
    // the walk reaches all K leaves over a few hundred rows, so no table row is dead by mistake
    int keys = 8;
    Case layer = Case.random(40, 12, 8, 1, keys, 8, "tree", 5);
    SplittableRandom r = new SplittableRandom(9);
    float[] x = new float[400 * 40];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) (r.nextDouble() * 4 - 2);
    }
    boolean[] seen = new boolean[keys];
    for (int row = 0; row < 400; row++) {
      seen[layer.key(x, row, 0)] = true;
    }
    assertThat(seen).containsOnly(true);
  }

  @Test
  void plan_thresholdsOfDepth4UnderKeys4_refusedNamingNodeAndTensor() {
    Case layer = Case.random(37, 18, 5, 1, 4, 8, "tree", 1);
    Map<String, PackedTensor> packed = layer.packed();
    packed.put("th", f32(new long[] {layer.codebooks(), 15}, new float[layer.codebooks() * 15]));
    Map<String, Object> a = attributes(37, 18, 5, 1, "tree");
    a.put("keys", 4L);
    assertRefused(graph(37, 18, a), packed, "lut0", "thresholds", "expected [8,3]");
  }

  @Test
  void plan_tablesOfKeys16UnderKeys8_refusedNamingNodeAndTensor() {
    Case layer = Case.random(37, 18, 5, 1, 16, 8, "tree", 2);
    Map<String, Object> a = attributes(37, 18, 5, 1, "tree");
    a.put("keys", 8L);
    assertRefused(graph(37, 18, a), layer.packed(), "lut0", "tables", "expected [8,8,18]");
  }

  @Test
  void plan_splitDimsOfDepth4UnderKeys8_refusedNamingNodeAndTensor() {
    Case layer = Case.random(37, 18, 5, 1, 8, 8, "tree", 3);
    Map<String, PackedTensor> packed = layer.packed();
    packed.put("dims", s32(new long[] {layer.codebooks(), 4}, new int[layer.codebooks() * 4]));
    Map<String, Object> a = attributes(37, 18, 5, 1, "tree");
    a.put("keys", 8L);
    assertRefused(graph(37, 18, a), packed, "lut0", "split_dims", "expected [8,3]");
  }

  @Test
  void plan_centroidsOfKeys16UnderKeys4_refusedNamingNodeAndTensor() {
    Case layer = Case.random(37, 18, 5, 1, 4, 8, "centroid", 4);
    Map<String, PackedTensor> packed = layer.packed();
    packed.put(
        "cent", f32(new long[] {layer.codebooks(), 16, 5}, new float[layer.codebooks() * 16 * 5]));
    Map<String, Object> a = attributes(37, 18, 5, 1, "centroid");
    a.put("keys", 4L);
    assertRefused(graph(37, 18, a), packed, "lut0", "centroids", "expected [8,4,5]");
  }

  @ParameterizedTest(name = "keys={0}")
  @CsvSource({"5", "32", "2", "0", "-16"})
  void plan_keysNotAPowerOf2From4To16_refusedNamingNodeAndAttribute(long keys) {
    Case layer = Case.random(37, 18, 5, 1, 16, 8, "tree", 5);
    Map<String, Object> a = attributes(37, 18, 5, 1, "tree");
    a.put("keys", keys);
    assertRefused(graph(37, 18, a), layer.packed(), "lut0", "keys=" + keys, "accepted: 4, 8, 16");
  }

  @Test
  void plan_splitDimOutsideWidthUnderKeys4_refusedNamingNodeAndElement() {
    Case layer = Case.random(37, 18, 5, 1, 4, 8, "tree", 6);
    int[] dims = layer.dims().clone();
    dims[5] = 5; // == w
    Map<String, PackedTensor> packed = layer.packed();
    packed.put("dims", s32(new long[] {layer.codebooks(), 2}, dims));
    Map<String, Object> a = attributes(37, 18, 5, 1, "tree");
    a.put("keys", 4L);
    assertRefused(
        graph(37, 18, a), packed, "lut0", "split_dims", "element 5 = 5 outside [0, width=5)");
  }

  @Test
  void plan_lookupConvWithKeys8_refusedNamingNode() {
    // a 1x1 LookupConv over 10 channels: D = 10, one codebook of width 10
    Case layer = Case.random(10, 6, 10, 1, 8, 8, "tree", 7);
    Map<String, Object> a = attributes(10, 6, 10, 1, "tree");
    a.put("keys", 8L);
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
              try (GraphModel model = new GraphModel(graph, layer.packed(), Int8Gemm.reference())) {
                model.infer(Map.of("x", Tensor.ofFloats(new long[] {1, 10, 3, 3}, new float[90])));
              }
            })
        .hasMessageContaining("conv0")
        .hasMessageContaining("keys=8");
  }

  @Test
  void lutLengthBytes_keysOtherThan4816_refused() {
    assertThat(PackedTensor.lut16LengthBytes(new long[] {3, 4, 7})).isEqualTo(3 * 4 * 7);
    assertThat(PackedTensor.lut16x4LengthBytes(new long[] {3, 8, 7})).isEqualTo(3 * 8 * 4);
    assertThatThrownBy(() -> PackedTensor.lut16LengthBytes(new long[] {3, 5, 7}))
        .hasMessageContaining("K in {4, 8, 16}");
    assertThatThrownBy(() -> PackedTensor.lut16x4LengthBytes(new long[] {3, 32, 7}))
        .hasMessageContaining("K in {4, 8, 16}");
  }

  @Test
  void depthOf_acceptsOnly4816() {
    assertThat(LookupKernels.depthOf(4)).isEqualTo(2);
    assertThat(LookupKernels.depthOf(8)).isEqualTo(3);
    assertThat(LookupKernels.depthOf(16)).isEqualTo(4);
    assertThatThrownBy(() -> LookupKernels.depthOf(2)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> LookupKernels.depthOf(32))
        .isInstanceOf(IllegalArgumentException.class);
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

  private static Map<String, Object> attributes(int d, int m, int w, long groups, String encoder) {
    Map<String, Object> a = new TreeMap<>();
    a.put("weight_shape", new long[] {m, d});
    a.put("width", (long) w);
    a.put("groups", groups);
    a.put("encoder", encoder);
    a.put("tables", "t");
    a.put("scale", "s");
    a.put("bias", "b");
    if (encoder.equals("tree")) {
      a.put("split_dims", "dims");
      a.put("thresholds", "th");
    } else {
      a.put("centroids", "cent");
    }
    return a;
  }
}
