package io.cacheai.compress.lut;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cacheai.graph.OpType;
import io.cacheai.graph.PackedTensor;
import io.cacheai.kernels.LutKernels;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Key-0 folding ({@link KeyZeroFold}, node attribute {@code fold_key0}): the fold leaves a layer's
 * outputs as they were while every key-0 row becomes exactly 0; the folded 4-bit quantizer keeps
 * those rows 0 within its error bound; the stored tensor drops them; the fine-tuning never moves
 * them.
 */
class KeyZeroFoldTest {
  private static final int CODEBOOKS = 6;
  private static final int M = 7;
  private static final int ROWS = 200;

  /** Random keys [ROWS][C] of 0..K−1, every key (0 too) used. */
  private static byte[] keys(int keyCount, SplittableRandom random) {
    byte[] keys = new byte[ROWS * CODEBOOKS];
    for (int p = 0; p < keys.length; p++) {
      keys[p] = (byte) random.nextInt(keyCount);
    }
    return keys;
  }

  /** out[i][j] = bias[j] + Σ_c T[c·K + key][j]. */
  private static double[] outputs(double[][] tables, double[] bias, byte[] keys, int keyCount) {
    double[] out = new double[ROWS * M];
    for (int i = 0; i < ROWS; i++) {
      for (int j = 0; j < M; j++) {
        double acc = bias[j];
        for (int c = 0; c < CODEBOOKS; c++) {
          acc += tables[c * keyCount + keys[i * CODEBOOKS + c]][j];
        }
        out[i * M + j] = acc;
      }
    }
    return out;
  }

  @ParameterizedTest(name = "K={0}")
  @ValueSource(ints = {4, 8, 16})
  void fold_ridgeTables_sameOutputsAndKeyZeroRowsExactlyZero(int keyCount) {
    SplittableRandom random = new SplittableRandom(keyCount);
    byte[] keys = keys(keyCount, random);
    float[] y = new float[ROWS * M];
    for (int k = 0; k < y.length; k++) {
      y[k] = (float) (random.nextGaussian() * 3 + 1);
    }
    // the tables as the builder has them after the ridge refit
    double[][] tables = TableRefit.solve(keys, ROWS, CODEBOOKS, y, M, 0.5, keyCount);
    double[] bias = new double[M];
    for (int j = 0; j < M; j++) {
      bias[j] = random.nextGaussian();
    }
    double[] before = outputs(tables, bias, keys, keyCount);
    double[] foldedBias = bias.clone();
    KeyZeroFold.fold(tables, CODEBOOKS, keyCount, foldedBias, 0);
    double[] after = outputs(tables, foldedBias, keys, keyCount);
    double worst = 0;
    for (int k = 0; k < before.length; k++) {
      worst = Math.max(worst, Math.abs(after[k] - before[k]) / Math.max(1e-3, Math.abs(before[k])));
    }
    assertThat(worst).isLessThan(1e-5);
    for (int c = 0; c < CODEBOOKS; c++) {
      for (int j = 0; j < M; j++) {
        assertThat(tables[c * keyCount][j]).as("codebook %d key 0 entry %d", c, j).isEqualTo(0.0);
      }
    }
    assertThat(foldedBias).isNotEqualTo(bias);
  }

  @Test
  void fold_biasOffset_writesOnlyTheGroupsColumns() {
    double[][] tables = {{1, 2}, {3, 5}, {-1, 4}, {0, 0}};
    double[] bias = new double[6];
    KeyZeroFold.fold(tables, 2, 2, bias, 2);
    assertThat(bias).containsExactly(0, 0, 0, 6, 0, 0);
    assertThat(tables).isDeepEqualTo(new double[][] {{0, 0}, {2, 3}, {0, 0}, {1, -4}});
  }

  @ParameterizedTest(name = "K={0}")
  @ValueSource(ints = {4, 8, 16})
  void quantize4Folded_keyZeroStaysZero_withinHalfAStep_storedWithoutKeyZero(int keyCount) {
    SplittableRandom random = new SplittableRandom(40 + keyCount);
    double[][] tables = new double[CODEBOOKS * keyCount][M];
    for (int p = 0; p < tables.length; p++) {
      for (int j = 0; p % keyCount != 0 && j < M; j++) {
        tables[p][j] = random.nextGaussian() * (j + 1); // columns of different ranges
      }
    }
    float[] scale = new float[M];
    byte[] q = TableQuantizer.quantize4Folded(tables, M, scale);
    for (int j = 0; j < M; j++) {
      double max = 0;
      for (double[] row : tables) {
        max = Math.max(max, Math.abs(row[j]));
      }
      assertThat((double) scale[j]).isCloseTo(max / 7, org.assertj.core.data.Offset.offset(1e-6));
    }
    for (int p = 0; p < tables.length; p++) {
      for (int j = 0; j < M; j++) {
        int v = q[p * M + j];
        assertThat(v).isBetween(-8, 7);
        if (p % keyCount == 0) {
          assertThat(v).as("row %d (key 0) entry %d", p, j).isZero();
        }
        assertThat(Math.abs(tables[p][j] - scale[j] * v))
            .as("row %d entry %d", p, j)
            .isLessThanOrEqualTo(scale[j] / 2 * (1 + 1e-6));
      }
    }
    // stored: [C, K−1, M], C·(K−1)·ceil(M/2) bytes, key k of codebook c at row c·(K−1) + k − 1
    PackedTensor packed = TableQuantizer.packS4Folded(q, CODEBOOKS, M, keyCount);
    assertThat(packed.format()).isEqualTo(PackedTensor.Format.S4_LUT16);
    assertThat(packed.shape()).containsExactly(CODEBOOKS, keyCount - 1, M);
    assertThat(packed.data().remaining()).isEqualTo(CODEBOOKS * (keyCount - 1) * ((M + 1) / 2));
    for (int c = 0; c < CODEBOOKS; c++) {
      for (int k = 1; k < keyCount; k++) {
        int row = KeyZeroFold.storedRow(c, k, keyCount);
        for (int j = 0; j < M; j++) {
          assertThat(LutKernels.entryS4(packed.data(), (long) row * LutKernels.rowBytesS4(M), j))
              .isEqualTo(q[(c * keyCount + k) * M + j]);
        }
      }
    }
    PackedTensor s8 = TableQuantizer.packS8Folded(q, CODEBOOKS, M, keyCount);
    assertThat(s8.shape()).containsExactly(CODEBOOKS, keyCount - 1, M);
    assertThat(s8.data().remaining()).isEqualTo(CODEBOOKS * (keyCount - 1) * M);
    assertThat(s8.data().get(KeyZeroFold.storedRow(2, 3, keyCount) * M + 4))
        .isEqualTo(q[(2 * keyCount + 3) * M + 4]);
  }

  @Test
  void storedRows_nonZeroKeyZeroEntry_refused() {
    byte[] entries = new byte[2 * 4 * 3];
    entries[4 * 3 + 1] = 1; // codebook 1, key 0, column 1
    assertThatThrownBy(() -> KeyZeroFold.storedRows(entries, 2, 4, 3))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("codebook 1 key 0 entry 1 is not 0");
  }

  @Test
  void fineTuneParameters_foldedGroupedTables_readBackAndRequantizedToTheSameBytes() {
    int keyCount = 4;
    int groups = 2;
    int m = 6;
    int mg = m / groups;
    SplittableRandom random = new SplittableRandom(12);
    double[][] tables = new double[CODEBOOKS * keyCount][mg];
    for (double[] row : tables) {
      for (int j = 0; j < mg; j++) {
        row[j] = random.nextGaussian();
      }
    }
    double[] shift = new double[m];
    int perGroup = CODEBOOKS / groups;
    for (int g = 0; g < groups; g++) {
      double[][] part =
          java.util.Arrays.copyOfRange(
              tables, g * perGroup * keyCount, (g + 1) * perGroup * keyCount);
      KeyZeroFold.fold(part, perGroup, keyCount, shift, g * mg);
    }
    float[] scale = new float[m];
    byte[] q =
        LutLayerBuilder.quantizeGroups(tables, CODEBOOKS, groups, mg, 4, scale, keyCount, true);
    float[] bias = {0.5f, -1f, 2f, 0f, 1f, 3f};
    java.util.Map<String, PackedTensor> packed = new java.util.LinkedHashMap<>();
    packed.put("t", LutLayerBuilder.pack(q, CODEBOOKS, mg, keyCount, 4, true));
    packed.put("s", LutLayerBuilder.f32(new long[] {m}, scale));
    packed.put("b", LutLayerBuilder.f32(new long[] {m}, bias));
    java.util.Map<String, Object> attributes = new java.util.TreeMap<>();
    attributes.put("tables", "t");
    attributes.put("scale", "s");
    attributes.put("bias", "b");
    attributes.put("keys", (long) keyCount);
    attributes.put("groups", (long) groups);
    attributes.put("fold_key0", 1L);
    io.cacheai.graph.Node node =
        new io.cacheai.graph.Node(
            OpType.LOOKUP_GEMM,
            "t",
            List.of("x"),
            List.of("y"),
            new io.cacheai.graph.Attributes(attributes));
    LutFineTune.Chain chain =
        new LutFineTune.Chain(node, 0, List.of(), m, 12, CODEBOOKS, groups, m, "y", null);
    assertThat(chain.fold()).isTrue();
    List<float[]> params = LutFineTune.parameters(chain, packed);
    float[] floats = params.get(0);
    assertThat(floats).hasSize(CODEBOOKS * keyCount * m);
    for (int p = 0; p < CODEBOOKS * keyCount; p++) {
      int from = (p / keyCount / perGroup) * mg;
      for (int j = 0; j < m; j++) {
        boolean own = j >= from && j < from + mg;
        float expected = own ? scale[j] * q[p * mg + j - from] : 0f;
        assertThat(floats[p * m + j]).as("row %d entry %d", p, j).isEqualTo(expected);
        if (p % keyCount == 0) {
          assertThat(floats[p * m + j]).isEqualTo(0f);
        }
      }
    }
    byte[] keys = keys(keyCount, random);
    java.util.Map<String, PackedTensor> again =
        LutFineTune.quantizedTables(chain, packed, floats, params.get(1), keys, ROWS);
    PackedTensor t = again.get("t");
    assertThat(t.shape()).containsExactly(CODEBOOKS, keyCount - 1, mg);
    byte[] before = new byte[packed.get("t").data().remaining()];
    packed.get("t").data().duplicate().get(before);
    byte[] after = new byte[t.data().remaining()];
    t.data().duplicate().get(after);
    assertThat(after).containsExactly(before);
  }

  /** Runs 5 Adam steps on tables whose key-0 rows are 0; returns the tables after. */
  private static float[] train(boolean fold, int keyCount) {
    SplittableRandom random = new SplittableRandom(77);
    float[] tables = new float[CODEBOOKS * keyCount * M];
    for (int p = 0; p < CODEBOOKS * keyCount; p++) {
      for (int j = 0; p % keyCount != 0 && j < M; j++) {
        tables[p * M + j] = (float) random.nextGaussian();
      }
    }
    List<LutFineTune.Step> chain = List.of(new LutFineTune.Step(OpType.RELU, null, M, M, false));
    FineTuneTrainer trainer =
        new FineTuneTrainer(
            new ArrayList<>(List.of(tables, new float[M])),
            chain,
            CODEBOOKS,
            1,
            M,
            LutFineTune.Options.defaults(),
            M,
            fold);
    int rows = 32;
    byte[] keys = new byte[rows * CODEBOOKS];
    float[] teacher = new float[rows * M];
    int[] labels = new int[rows];
    int[] order = new int[rows];
    for (int i = 0; i < rows; i++) {
      order[i] = i;
      labels[i] = random.nextInt(M);
      for (int c = 0; c < CODEBOOKS; c++) {
        keys[i * CODEBOOKS + c] = (byte) random.nextInt(keyCount);
      }
      for (int j = 0; j < M; j++) {
        teacher[i * M + j] = (float) random.nextGaussian();
      }
    }
    for (int step = 0; step < 5; step++) {
      trainer.step(order, 0, rows, keys, teacher, labels, 0.5, 0.01);
    }
    return tables;
  }

  @ParameterizedTest(name = "K={0}")
  @ValueSource(ints = {4, 16})
  void fineTune_folded_keyZeroRowsStayExactlyZero_otherRowsLearn(int keyCount) {
    float[] folded = train(true, keyCount);
    float[] unfolded = train(false, keyCount);
    int zeroMoved = 0;
    for (int p = 0; p < CODEBOOKS * keyCount; p++) {
      for (int j = 0; j < M; j++) {
        if (p % keyCount == 0) {
          assertThat(folded[p * M + j]).as("row %d (key 0) entry %d", p, j).isEqualTo(0f);
          zeroMoved += unfolded[p * M + j] != 0f ? 1 : 0;
        }
      }
    }
    // without the fold the same steps move key 0's rows: the mask is what keeps them at 0
    assertThat(zeroMoved).isPositive();
    // the stored rows learn alike either way (the key-0 rows only shift the output)
    int moved = 0;
    float[] start = trainStart(keyCount);
    for (int k = 0; k < folded.length; k++) {
      moved += folded[k] != start[k] ? 1 : 0;
    }
    assertThat(moved).isGreaterThan(CODEBOOKS * (keyCount - 1) * M / 2);
  }

  /** The tables {@link #train} starts from. */
  private static float[] trainStart(int keyCount) {
    SplittableRandom random = new SplittableRandom(77);
    float[] tables = new float[CODEBOOKS * keyCount * M];
    for (int p = 0; p < CODEBOOKS * keyCount; p++) {
      for (int j = 0; p % keyCount != 0 && j < M; j++) {
        tables[p * M + j] = (float) random.nextGaussian();
      }
    }
    return tables;
  }
}
