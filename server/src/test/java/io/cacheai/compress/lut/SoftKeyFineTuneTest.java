package io.cacheai.compress.lut;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.cacheai.compress.Dataset;
import io.cacheai.compress.QuantizedGraph;
import io.cacheai.graph.Graph;
import io.cacheai.graph.Node;
import io.cacheai.graph.OpType;
import io.cacheai.onnx.OnnxImporter;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link SoftKeyFineTune} and {@link SoftKeyTrainer}: the soft tree's gradient against finite
 * differences of an independent evaluation of the soft output, and on the real MNIST MLP (fitted on
 * the first committed test images) that the keys the runtime computes on the written model are
 * exactly the training forward's, that only the Gemm rows the tree reads move, and the same bytes
 * for a seed.
 */
class SoftKeyFineTuneTest {
  private static final int K = 3;
  private static final int C = 2;
  private static final int M = 3;
  private static final double TAU = 0.5;

  /** Per (codebook, level) the trained row read, −1 = a padded dimension (constant 0). */
  private static int[] rowOf(int depth) {
    return switch (depth) {
      case 2 -> new int[] {0, 1, 2, -1};
      case 3 -> new int[] {0, 1, 2, 2, -1, 0};
      default -> new int[] {0, 1, 0, 1, 2, -1, 2, 2};
    };
  }

  /** The (codebook, level) of {@link #rowOf} that reads the padded dimension: τ = 0 there. */
  private static int padded(int depth) {
    int[] rows = rowOf(depth);
    for (int p = 0; p < rows.length; p++) {
      if (rows[p] < 0) {
        return p;
      }
    }
    throw new AssertionError();
  }

  @ParameterizedTest(name = "depth {0}")
  @ValueSource(ints = {2, 3, 4})
  void backward_softTree_matchesFiniteDifferences(int depth) {
    int keys = 1 << depth;
    int nodes = keys - 1;
    int[] rowOf = rowOf(depth);
    SplittableRandom random = new SplittableRandom(11);
    float[] weight = new float[3 * K];
    float[] bias = {0.8f, 1.1f, -0.2f}; // row 2 sometimes below 0: the Relu's mask is exercised
    for (int i = 0; i < weight.length; i++) {
      weight[i] = (float) (random.nextDouble() - 0.5);
    }
    float[] thresholds = new float[C * nodes];
    for (int i = 0; i < thresholds.length; i++) {
      thresholds[i] = (float) (0.4 + random.nextDouble());
    }
    float[] tables = new float[C * keys * M];
    for (int i = 0; i < tables.length; i++) {
      tables[i] = (float) (2 * random.nextDouble() - 1);
    }
    double[] tau = new double[C * depth];
    java.util.Arrays.fill(tau, TAU);
    tau[padded(depth)] = 0; // the padded level: no gradient
    SoftKeyTrainer encoder =
        new SoftKeyTrainer(K, C, M, rowOf, weight, bias, true, thresholds, tau, depth);
    FineTuneTrainer trainer =
        new FineTuneTrainer(
            new java.util.ArrayList<>(List.of(tables, new float[M])),
            List.of(),
            C,
            M,
            LutFineTune.Options.defaults(),
            M);
    encoder.register(trainer); // parameters 2, 3, 4: weight, bias, thresholds

    for (int trial = 0; trial < 4; trial++) {
      float[] x = new float[K];
      for (int j = 0; j < K; j++) {
        x[j] = (float) (2 * random.nextDouble() - 1);
      }
      double[] dh = new double[M];
      for (int j = 0; j < M; j++) {
        dh[j] = random.nextDouble() - 0.5;
      }
      for (int p = 2; p <= 4; p++) {
        java.util.Arrays.fill(trainer.gradient(p), 0);
      }
      float[] pre = new float[3];
      encoder.preActivations(x, 0, pre, 0);
      encoder.backward(pre, 0, x, 0, dh, 0, tables, trainer, new double[3]);

      float[][] params = {weight, bias, thresholds};
      for (int p = 0; p < params.length; p++) {
        float[] v = params[p];
        double[] analytic = trainer.gradient(p + 2);
        for (int i = 0; i < v.length; i++) {
          float saved = v[i];
          double eps = 1e-3;
          v[i] = (float) (saved + eps);
          double up = softLoss(weight, bias, thresholds, tables, x, dh, depth);
          v[i] = (float) (saved - eps);
          double down = softLoss(weight, bias, thresholds, tables, x, dh, depth);
          v[i] = saved;
          double numeric = (up - down) / (2 * eps);
          assertThat(analytic[i])
              .as("trial %d param %d[%d]", trial, p, i)
              .isCloseTo(numeric, within(2e-3 + 1e-2 * Math.abs(numeric)));
        }
      }
    }
  }

  /**
   * dh · h_soft, h_soft = Σ_c Σ_leaf P(leaf) · T[c][leaf], P the product of the sigmoids on the
   * leaf's path, evaluated leaf by leaf (independently of the trainer's bottom-up sums).
   */
  private static double softLoss(
      float[] weight,
      float[] bias,
      float[] thresholds,
      float[] tables,
      float[] x,
      double[] dh,
      int depth) {
    int keys = 1 << depth;
    int nodes = keys - 1;
    int[] rowOf = rowOf(depth);
    double[] a = new double[3];
    for (int r = 0; r < 3; r++) {
      double z = bias[r];
      for (int j = 0; j < K; j++) {
        z += weight[r * K + j] * x[j];
      }
      a[r] = Math.max(0, z);
    }
    double loss = 0;
    for (int c = 0; c < C; c++) {
      for (int leaf = 0; leaf < keys; leaf++) {
        double p = 1;
        int node = 0;
        for (int l = 0; l < depth; l++) {
          int bit = (leaf >> (depth - 1 - l)) & 1;
          int row = rowOf[c * depth + l];
          double v = row < 0 ? 0 : a[row];
          double t = c * depth + l == padded(depth) ? 0 : TAU;
          double s =
              t > 0
                  ? 1 / (1 + Math.exp(-(v - thresholds[c * nodes + node]) / t))
                  : (v > thresholds[c * nodes + node] ? 1 : 0);
          p *= bit == 1 ? s : 1 - s;
          node = 2 * node + 1 + bit;
        }
        for (int j = 0; j < M; j++) {
          loss += p * dh[j] * tables[(c * keys + leaf) * M + j];
        }
      }
    }
    return loss;
  }

  @ParameterizedTest(name = "depth {0}")
  @ValueSource(ints = {2, 4})
  void fineTune_mnistMlp_runtimeKeysAreTrainingKeys(int depth) throws Exception {
    Path root = Path.of(System.getProperty("user.dir")).getParent();
    Graph graph =
        OnnxImporter.importFile(
            root.resolve("server/src/main/resources/io/cacheai/models/mnist-mlp/1/model.onnx"));
    Dataset data =
        Dataset.read(root.resolve("tools/mnist/data/t10k-images-idx3-ubyte.gz")).range(0, 400);
    LutCompressor.Result built =
        LutCompressor.compress(
            graph,
            data,
            // the whole /1/Gemm: the rows the tree reads are what is checked below
            LutOptions.defaults()
                .withShiftRadiusPx(0)
                .withSamples(400)
                .withPrune(false)
                .withDepth(depth),
            LutFineTune.Options.defaults().withEpochs(0).withSoftKeyEpochs(0),
            (p, d, t) -> {});
    LutFineTune.Options tune = LutFineTune.Options.defaults().withSoftKeyEpochs(2).withSeed(3);
    SoftKeyFineTune.Outcome a =
        SoftKeyFineTune.fineTune(built.graph(), graph, data, tune, (p, d, t) -> {});
    assertThat(a.applied()).as(a.note()).isTrue();
    assertThat(a.note()).startsWith("soft keys: trained /1/Gemm");

    // the runtime's keys on the written model, computed here from scratch
    QuantizedGraph tuned = a.graph();
    Node table =
        tuned.graph().nodes().stream()
            .filter(n -> n.op() == OpType.LOOKUP_GEMM)
            .findFirst()
            .orElseThrow();
    assertThat(TableKeys.keys(table)).isEqualTo(1 << depth);
    String input = table.inputs().get(0);
    float[] act = Activations.collect(tuned, List.of(input), data, d -> {}).get(input);
    byte[] runtimeKeys = TableKeys.encode(table, tuned.packed(), act, data.count(), true);
    assertThat(runtimeKeys).isEqualTo(a.trainingKeys());
    assertThat(a.runtimeKeyMatchPct()).isEqualTo(100.0);

    // only the rows of /1/Gemm some tree level reads moved (at most L per codebook)
    float[] before = graph.constants().get("1.weight").floats();
    float[] after = tuned.graph().constants().get("1.weight").floats();
    int d = 784;
    int changedRows = 0;
    for (int r = 0; r < 256; r++) {
      boolean changed = false;
      for (int k = 0; k < d && !changed; k++) {
        changed = before[r * d + k] != after[r * d + k];
      }
      changedRows += changed ? 1 : 0;
    }
    int codebooks =
        (int) table.attributes().getLong("groups", 1)
            * (int) Math.ceil(256.0 / table.attributes().getLong("width", 1));
    assertThat(changedRows).isBetween(1, depth * codebooks);

    SoftKeyFineTune.Outcome b =
        SoftKeyFineTune.fineTune(built.graph(), graph, data, tune, (p, d2, t) -> {});
    assertThat(b.graph().graph().constants().get("1.weight").floats()).containsExactly(after);
    assertThat(MnistLutTrainTest.bytes(b.graph())).isEqualTo(MnistLutTrainTest.bytes(tuned));
  }

  @Test
  void fineTune_mnistMlp_l2spKeepsTheTrainedGemmsNearerTheirFp32Values_deterministic()
      throws Exception {
    Path root = Path.of(System.getProperty("user.dir")).getParent();
    Graph graph =
        OnnxImporter.importFile(
            root.resolve("server/src/main/resources/io/cacheai/models/mnist-mlp/1/model.onnx"));
    Dataset data =
        Dataset.read(root.resolve("tools/mnist/data/t10k-images-idx3-ubyte.gz")).range(0, 400);
    LutCompressor.Result built =
        LutCompressor.compress(
            graph,
            data,
            // unpruned: the trained /1/Gemm keeps the fp32 shape its anchors come from
            LutOptions.defaults()
                .withShiftRadiusPx(0)
                .withSamples(400)
                .withPrune(false)
                .withDepth(2),
            LutFineTune.Options.defaults().withEpochs(0).withSoftKeyEpochs(0),
            (p, d, t) -> {});
    LutFineTune.Options tune = LutFineTune.Options.defaults().withSoftKeyEpochs(3).withSeed(3);
    SoftKeyFineTune.Outcome free =
        SoftKeyFineTune.fineTune(built.graph(), graph, data, 0, tune, 0, (p, d, t) -> {});
    SoftKeyFineTune.Outcome held =
        SoftKeyFineTune.fineTune(built.graph(), graph, data, 0, tune, 0.01, (p, d, t) -> {});
    assertThat(free.applied()).as(free.note()).isTrue();
    assertThat(held.applied()).as(held.note()).isTrue();
    assertThat(free.note()).doesNotContain("l2sp");
    assertThat(held.note()).contains(", l2sp 0.01 (final penalty ");

    // the penalty holds the rows before the tables near fp32 (they start there) ...
    String w1 = weightOf(graph, "/1/Gemm");
    float[] fp32W1 = graph.constants().get(w1).floats();
    double freeW1 = distance(fp32W1, free.graph().graph().constants().get(w1).floats());
    double heldW1 = distance(fp32W1, held.graph().graph().constants().get(w1).floats());
    assertThat(freeW1).isPositive();
    assertThat(heldW1)
        .as("/1/Gemm: Σ(p − p_fp32)² " + heldW1 + " with l2sp vs " + freeW1)
        .isLessThan(0.9 * freeW1);
    // ... and pulls /5/Gemm from where the refit put it back towards its fp32 values
    String w5 = weightOf(graph, "/5/Gemm");
    float[] fp32W5 = graph.constants().get(w5).floats();
    double startW5 = distance(fp32W5, built.graph().graph().constants().get(w5).floats());
    double freeW5 = distance(fp32W5, free.graph().graph().constants().get(w5).floats());
    double heldW5 = distance(fp32W5, held.graph().graph().constants().get(w5).floats());
    assertThat(heldW5)
        .as("/5/Gemm: Σ(p − p_fp32)² " + heldW5 + " with l2sp vs " + freeW5 + ", " + startW5)
        .isLessThan(0.98 * Math.min(freeW5, startW5));

    // the same bytes for the same seed and L
    SoftKeyFineTune.Outcome again =
        SoftKeyFineTune.fineTune(built.graph(), graph, data, 0, tune, 0.01, (p, d, t) -> {});
    assertThat(MnistLutTrainTest.bytes(again.graph()))
        .isEqualTo(MnistLutTrainTest.bytes(held.graph()));
  }

  private static String weightOf(Graph graph, String node) {
    return graph.nodes().stream()
        .filter(n -> n.name().equals(node))
        .findFirst()
        .orElseThrow()
        .inputs()
        .get(1);
  }

  /** Σ (a − b)². */
  private static double distance(float[] a, float[] b) {
    assertThat(b).hasSameSizeAs(a);
    double sum = 0;
    for (int k = 0; k < a.length; k++) {
      double d = (double) a[k] - b[k];
      sum += d * d;
    }
    return sum;
  }
}
