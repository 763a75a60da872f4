package io.cacheai.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cacheai.graph.Attributes;
import io.cacheai.graph.Graph;
import io.cacheai.graph.Node;
import io.cacheai.graph.OpType;
import io.cacheai.graph.PackedTensor;
import io.cacheai.graph.ValueInfo;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@code LookupGemm} as the executor runs it ({@link LookupGemmKernel} on {@link
 * ReferenceLookupKernels}) against a plain double-precision evaluation of the formula written here
 * from the contract: keys by the heap-order tree walk (x == threshold goes left) or the nearest
 * centroid, then y = bias + scale · Σ_c T[c][key_c].
 */
class LookupGemmKernelTest {
  private static final int K = LookupKernels.KEYS;

  /** A random layer: D inputs (zero-padded to C·w), M outputs. */
  record Layer(
      int d,
      int m,
      int w,
      int c,
      byte[] tables,
      float[] scale,
      float[] bias,
      int[] dims,
      float[] thresholds,
      float[] centroids) {
    static Layer random(int d, int m, int w, long seed) {
      SplittableRandom r = new SplittableRandom(seed);
      int c = (d + w - 1) / w;
      byte[] tables = new byte[c * K * m];
      for (int i = 0; i < tables.length; i++) {
        tables[i] = (byte) (i % 7 == 0 ? (i % 2 == 0 ? 127 : -127) : r.nextInt(-127, 128));
      }
      float[] scale = new float[m];
      float[] bias = new float[m];
      for (int j = 0; j < m; j++) {
        scale[j] = (float) (0.001 + r.nextDouble() * 0.1);
        bias[j] = (float) (r.nextDouble() * 2 - 1);
      }
      int[] dims = new int[c * 4];
      for (int i = 0; i < dims.length; i++) {
        dims[i] = r.nextInt(w);
      }
      float[] thresholds = new float[c * 15];
      for (int i = 0; i < thresholds.length; i++) {
        thresholds[i] = (float) Math.rint(r.nextDouble() * 4 - 2) / 2; // multiples of 0.5
      }
      float[] centroids = new float[c * K * w];
      for (int i = 0; i < centroids.length; i++) {
        centroids[i] = (float) (r.nextDouble() * 2 - 1);
      }
      return new Layer(d, m, w, c, tables, scale, bias, dims, thresholds, centroids);
    }

    int treeKey(float[] x, int row, int cb) {
      int node = 0;
      for (int l = 0; l < 4; l++) {
        int col = cb * w + dims[cb * 4 + l];
        double v = col < d ? x[row * d + col] : 0.0;
        node = 2 * node + 1 + (v > thresholds[cb * 15 + node] ? 1 : 0);
      }
      return node - 15;
    }

    int centroidKey(float[] x, int row, int cb) {
      int best = 0;
      double bestDistance = Double.POSITIVE_INFINITY;
      for (int k = 0; k < K; k++) {
        double dist = 0;
        for (int i = 0; i < w; i++) {
          int col = cb * w + i;
          double v = col < d ? x[row * d + col] : 0.0;
          double diff = v - centroids[(cb * K + k) * w + i];
          dist += diff * diff;
        }
        if (dist < bestDistance) {
          bestDistance = dist;
          best = k;
        }
      }
      return best;
    }

    double[] expected(float[] x, int rows, boolean tree) {
      double[] y = new double[rows * m];
      for (int r = 0; r < rows; r++) {
        for (int j = 0; j < m; j++) {
          long sum = 0;
          for (int cb = 0; cb < c; cb++) {
            int key = tree ? treeKey(x, r, cb) : centroidKey(x, r, cb);
            sum += tables[(cb * K + key) * m + j];
          }
          y[r * m + j] = bias[j] + (double) scale[j] * sum;
        }
      }
      return y;
    }

    Map<String, PackedTensor> packed(long[] tableShape) {
      Map<String, PackedTensor> p = new LinkedHashMap<>();
      ByteBuffer t = ByteBuffer.allocateDirect(tables.length).put(tables).flip();
      if (tableShape[0] * tableShape[1] * tableShape[2] != tables.length) {
        t = ByteBuffer.allocateDirect((int) (tableShape[0] * tableShape[1] * tableShape[2]));
      }
      p.put("t", new PackedTensor(PackedTensor.Format.S8_LUT16, tableShape, t, new float[0], 0));
      p.put("s", f32(new long[] {m}, scale));
      p.put("b", f32(new long[] {m}, bias));
      ByteBuffer dimBytes =
          ByteBuffer.allocateDirect(4 * dims.length).order(ByteOrder.LITTLE_ENDIAN);
      dimBytes.asIntBuffer().put(dims);
      p.put(
          "dims",
          new PackedTensor(PackedTensor.Format.S32, new long[] {c, 4}, dimBytes, new float[0], 0));
      p.put("th", f32(new long[] {c, 15}, thresholds));
      p.put("cent", f32(new long[] {c, K, w}, centroids));
      return p;
    }

    Graph graph(String encoder) {
      Map<String, Object> a = new TreeMap<>();
      a.put("weight_shape", new long[] {m, d});
      a.put("width", (long) w);
      a.put("encoder", encoder);
      a.put("tables", "t");
      a.put("scale", "s");
      a.put("bias", "b");
      a.put("split_dims", "dims");
      a.put("thresholds", "th");
      a.put("centroids", "cent");
      return new Graph(
          "lut",
          13,
          List.of(new ValueInfo("x", new long[] {-1, d})),
          List.of(new ValueInfo("y", new long[] {-1, m})),
          Map.of(),
          List.of(
              new Node(OpType.LOOKUP_GEMM, "lut0", List.of("x"), List.of("y"), new Attributes(a))));
    }
  }

  private static PackedTensor f32(long[] shape, float[] values) {
    ByteBuffer data = ByteBuffer.allocateDirect(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
    data.asFloatBuffer().put(values);
    return new PackedTensor(PackedTensor.Format.F32, shape, data, new float[0], 0);
  }

  /** Inputs on the threshold grid half the time, so that x == threshold happens. */
  private static float[] input(int rows, int d, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    float[] x = new float[rows * d];
    for (int i = 0; i < x.length; i++) {
      x[i] =
          r.nextBoolean()
              ? (float) Math.rint(r.nextDouble() * 4 - 2) / 2
              : (float) (r.nextDouble() * 4 - 2);
    }
    return x;
  }

  @ParameterizedTest(name = "d={0} m={1} w={2} rows={3} {4}")
  @CsvSource({
    "37, 19, 5, 1, tree",
    "37, 19, 5, 7, tree",
    "40, 33, 8, 64, tree",
    "800, 120, 40, 3, tree",
    "37, 19, 5, 7, centroid",
    "120, 84, 40, 5, centroid",
  })
  void run_matchesDoublePrecisionFormula(int d, int m, int w, int rows, String encoder) {
    Layer layer = Layer.random(d, m, w, 42L * d + m);
    float[] x = input(rows, d, 7L * rows + w);
    double[] expected = layer.expected(x, rows, encoder.equals("tree"));
    try (GraphModel model =
        new GraphModel(
            layer.graph(encoder), layer.packed(new long[] {layer.c, K, m}), Int8Gemm.reference())) {
      float[] y =
          model
              .infer(Map.of("x", Tensor.ofFloats(new long[] {rows, d}, x)))
              .get("y")
              .toFloatArray();
      assertThat(y).hasSize(rows * m);
      for (int i = 0; i < y.length; i++) {
        // one fp32 rounding of the fused multiply-add of an exact integer sum
        assertThat((double) y[i])
            .as("y[%d]", i)
            .isCloseTo(
                expected[i],
                org.assertj.core.data.Offset.offset(1e-6 * (1 + Math.abs(expected[i]))));
      }
    }
  }

  @ParameterizedTest(name = "4-bit d={0} m={1} w={2} rows={3} {4}")
  @CsvSource({
    "800, 120, 20, 1, tree",
    "800, 120, 20, 16, tree",
    "37, 19, 5, 7, tree",
    "120, 85, 10, 3, centroid",
  })
  void run_s4Tables_matchesDoublePrecisionFormula(int d, int m, int w, int rows, String encoder) {
    Layer int8 = Layer.random(d, m, w, 43L * d + m);
    SplittableRandom r = new SplittableRandom(d + 31L * m);
    byte[] entries = new byte[int8.tables().length];
    for (int i = 0; i < entries.length; i++) {
      entries[i] = (byte) (i % 5 == 0 ? (i % 2 == 0 ? 7 : -8) : r.nextInt(-8, 8));
    }
    Layer layer =
        new Layer(
            d,
            m,
            w,
            int8.c(),
            entries,
            int8.scale(),
            int8.bias(),
            int8.dims(),
            int8.thresholds(),
            int8.centroids());
    // lut16x4: per (c, key) row ceil(m/2) bytes, entry 2b in the low nibble of byte b
    int rowBytes = (m + 1) / 2;
    ByteBuffer packedTables = ByteBuffer.allocateDirect(layer.c() * K * rowBytes);
    for (int p = 0; p < layer.c() * K; p++) {
      for (int j = 0; j < m; j++) {
        int at = p * rowBytes + j / 2;
        int nibble = (entries[p * m + j] & 15) << (4 * (j % 2));
        packedTables.put(at, (byte) (packedTables.get(at) | nibble));
      }
    }
    Map<String, PackedTensor> packed = layer.packed(new long[] {layer.c(), K, m});
    packed.put(
        "t",
        new PackedTensor(
            PackedTensor.Format.S4_LUT16,
            new long[] {layer.c(), K, m},
            packedTables,
            new float[0],
            0));
    float[] x = input(rows, d, 5L * rows + w);
    double[] expected = layer.expected(x, rows, encoder.equals("tree"));
    try (GraphModel model = new GraphModel(layer.graph(encoder), packed, Int8Gemm.reference())) {
      float[] y =
          model
              .infer(Map.of("x", Tensor.ofFloats(new long[] {rows, d}, x)))
              .get("y")
              .toFloatArray();
      assertThat(y).hasSize(rows * m);
      for (int i = 0; i < y.length; i++) {
        assertThat((double) y[i])
            .as("y[%d]", i)
            .isCloseTo(
                expected[i],
                org.assertj.core.data.Offset.offset(1e-6 * (1 + Math.abs(expected[i]))));
      }
    }
  }

  @Test
  void s4Tables_int8SizedBytes_refusedForTheLayout() {
    // an int8-sized buffer is not a lut16x4 table of the same shape: C·16·ceil(M/2) bytes
    assertThatThrownBy(
            () ->
                new PackedTensor(
                    PackedTensor.Format.S4_LUT16,
                    new long[] {8, K, 19},
                    ByteBuffer.allocateDirect(8 * K * 19),
                    new float[0],
                    0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("S4_LUT16[8,16,19]: data has 2432 bytes, expected 1280");
  }

  @Test
  void encodeTree_valueEqualToThresholdGoesLeft() {
    FloatBuffer x = io.cacheai.kernels.FloatBuffers.of(0.5f, 0.5f);
    ByteBuffer dims = ByteBuffer.allocateDirect(16).order(ByteOrder.nativeOrder());
    FloatBuffer thresholds = io.cacheai.kernels.FloatBuffers.allocate(15);
    for (int i = 0; i < 15; i++) {
      thresholds.put(i, 0.5f);
    }
    ByteBuffer keys = ByteBuffer.allocateDirect(1);
    LookupKernels.reference().encodeTree(x, 1, 2, 1, 2, dims.asIntBuffer(), thresholds, keys);
    assertThat(keys.get(0)).isEqualTo((byte) 0); // left at every level
    x.put(0, Math.nextUp(0.5f));
    LookupKernels.reference().encodeTree(x, 1, 2, 1, 2, dims.asIntBuffer(), thresholds, keys);
    assertThat(keys.get(0)).isEqualTo((byte) 15); // right at every level
  }

  @Test
  void accumulate_shortKeys_refusedNamingArgument() {
    assertThatThrownBy(
            () ->
                LookupKernels.reference()
                    .accumulate(
                        ByteBuffer.allocateDirect(12),
                        4,
                        4,
                        3,
                        ByteBuffer.allocateDirect(4 * 16 * 3),
                        io.cacheai.kernels.FloatBuffers.allocate(3),
                        null,
                        io.cacheai.kernels.FloatBuffers.allocate(12)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("keys: limit=12 bytes, need rows*codebooks=16");
  }

  @Test
  void constructor_tablesOfWrongShape_refusedNamingNodeAndTensor() {
    Layer layer = Layer.random(37, 19, 5, 1);
    assertThatThrownBy(
            () ->
                new GraphModel(
                    layer.graph("tree"),
                    layer.packed(new long[] {layer.c, K, 20}),
                    Int8Gemm.reference()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("LookupGemm 'lut0'")
        .hasMessageContaining("tables='t' has shape [8,16,20], expected [8,16,19]");
  }
}
