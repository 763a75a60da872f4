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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.assertj.core.data.Offset;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Grouped {@code LookupGemm} tables ({@code groups} G): the executor against a double-precision
 * evaluation written here from the contract — codebook c belongs to group c / C_g, reads sub-vector
 * c mod C_g of the zero-padded row by the heap-order tree walk, and adds its table row of M/G
 * entries to outputs g·M/G onwards; y = bias + scale · Σ.
 */
class GroupedLookupGemmTest {
  private static final int K = LookupKernels.KEYS;

  @ParameterizedTest(name = "d={0} m={1} w={2} groups={3} rows={4} bits={5}")
  @CsvSource({
    "256, 128, 29, 4, 1, 4",
    "256, 128, 29, 4, 5, 4",
    "37, 18, 5, 3, 7, 4",
    "37, 18, 5, 3, 7, 8",
    "40, 12, 8, 2, 2, 8",
    "40, 12, 8, 1, 3, 4",
  })
  void run_groupedTables_matchDoublePrecisionFormula(
      int d, int m, int w, int groups, int rows, int bits) {
    SplittableRandom r = new SplittableRandom(31L * d + m + groups);
    int perGroup = (d + w - 1) / w;
    int c = groups * perGroup;
    int mg = m / groups;
    byte[] entries = new byte[c * K * mg];
    for (int i = 0; i < entries.length; i++) {
      entries[i] = (byte) (bits == 4 ? r.nextInt(-8, 8) : r.nextInt(-127, 128));
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
      thresholds[i] = (float) Math.rint(r.nextDouble() * 4 - 2) / 2;
    }
    float[] x = new float[rows * d];
    for (int i = 0; i < x.length; i++) {
      x[i] =
          r.nextBoolean()
              ? (float) Math.rint(r.nextDouble() * 4 - 2) / 2
              : (float) (r.nextDouble() * 4 - 2);
    }
    double[] expected = new double[rows * m];
    for (int row = 0; row < rows; row++) {
      long[] sums = new long[m];
      for (int cb = 0; cb < c; cb++) {
        int part = cb % perGroup;
        int node = 0;
        for (int l = 0; l < 4; l++) {
          int col = part * w + dims[cb * 4 + l];
          double v = col < d ? x[row * d + col] : 0.0;
          node = 2 * node + 1 + (v > thresholds[cb * 15 + node] ? 1 : 0);
        }
        int key = node - 15;
        int group = cb / perGroup;
        for (int j = 0; j < mg; j++) {
          sums[group * mg + j] += entries[(cb * K + key) * mg + j];
        }
      }
      for (int j = 0; j < m; j++) {
        expected[row * m + j] = bias[j] + (double) scale[j] * sums[j];
      }
    }

    Map<String, PackedTensor> packed = new LinkedHashMap<>();
    packed.put("t", tables(entries, c, mg, bits));
    packed.put("s", f32(new long[] {m}, scale));
    packed.put("b", f32(new long[] {m}, bias));
    ByteBuffer dimBytes = ByteBuffer.allocateDirect(4 * dims.length).order(ByteOrder.LITTLE_ENDIAN);
    dimBytes.asIntBuffer().put(dims);
    packed.put(
        "dims",
        new PackedTensor(PackedTensor.Format.S32, new long[] {c, 4}, dimBytes, new float[0], 0));
    packed.put("th", f32(new long[] {c, 15}, thresholds));
    try (GraphModel model = new GraphModel(graph(d, m, w, groups), packed, Int8Gemm.reference())) {
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

  @ParameterizedTest(name = "groups={0}")
  @CsvSource({"0", "5", "-1"})
  void plan_groupsNotDividingOutputs_refusedNamingNodeAndGroups(long groups) {
    int d = 37;
    int m = 18;
    int w = 5;
    Map<String, PackedTensor> packed = new LinkedHashMap<>();
    packed.put("t", tables(new byte[8 * K * m], 8, m, 8));
    packed.put("s", f32(new long[] {m}, new float[m]));
    packed.put("b", f32(new long[] {m}, new float[m]));
    packed.put(
        "dims",
        new PackedTensor(
            PackedTensor.Format.S32,
            new long[] {8, 4},
            ByteBuffer.allocateDirect(4 * 8 * 4).order(ByteOrder.LITTLE_ENDIAN),
            new float[0],
            0));
    packed.put("th", f32(new long[] {8, 15}, new float[8 * 15]));
    assertThatThrownBy(
            () -> {
              try (GraphModel model =
                  new GraphModel(graph(d, m, w, groups), packed, Int8Gemm.reference())) {
                model.infer(Map.of("x", Tensor.ofFloats(new long[] {1, d}, new float[d])));
              }
            })
        .hasMessageContaining("lut0")
        .hasMessageContaining("groups=" + groups);
  }

  private static PackedTensor tables(byte[] entries, int c, int mg, int bits) {
    if (bits == 8) {
      ByteBuffer t = ByteBuffer.allocateDirect(entries.length).put(entries).flip();
      return new PackedTensor(
          PackedTensor.Format.S8_LUT16, new long[] {c, K, mg}, t, new float[0], 0);
    }
    // lut16x4: per (c, key) row ceil(mg/2) bytes, entry 2b in the low nibble of byte b
    int rowBytes = (mg + 1) / 2;
    ByteBuffer t = ByteBuffer.allocateDirect(c * K * rowBytes);
    for (int p = 0; p < c * K; p++) {
      for (int j = 0; j < mg; j++) {
        int at = p * rowBytes + j / 2;
        t.put(at, (byte) (t.get(at) | ((entries[p * mg + j] & 15) << (4 * (j % 2)))));
      }
    }
    return new PackedTensor(
        PackedTensor.Format.S4_LUT16, new long[] {c, K, mg}, t, new float[0], 0);
  }

  private static Graph graph(int d, int m, int w, long groups) {
    Map<String, Object> a = new TreeMap<>();
    a.put("weight_shape", new long[] {m, d});
    a.put("width", (long) w);
    a.put("groups", groups);
    a.put("encoder", "tree");
    a.put("tables", "t");
    a.put("scale", "s");
    a.put("bias", "b");
    a.put("split_dims", "dims");
    a.put("thresholds", "th");
    return new Graph(
        "lut",
        13,
        List.of(new ValueInfo("x", new long[] {-1, d})),
        List.of(new ValueInfo("y", new long[] {-1, m})),
        Map.of(),
        List.of(
            new Node(OpType.LOOKUP_GEMM, "lut0", List.of("x"), List.of("y"), new Attributes(a))));
  }

  private static PackedTensor f32(long[] shape, float[] values) {
    ByteBuffer data = ByteBuffer.allocateDirect(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
    data.asFloatBuffer().put(values);
    return new PackedTensor(PackedTensor.Format.F32, shape, data, new float[0], 0);
  }
}
