package io.cacheai.compress.lut;

import io.cacheai.compress.Compressor;
import io.cacheai.compress.Dataset;
import io.cacheai.compress.GraphQuantizer;
import io.cacheai.compress.QuantizedGraph;
import io.cacheai.graph.ConstTensor;
import io.cacheai.graph.Graph;
import io.cacheai.graph.Node;
import io.cacheai.graph.OpType;
import io.cacheai.graph.PackedTensor;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Fine-tuning with differentiable keys (LUT-NN, Tang et al. MobiCom 2023): the fixed-key {@link
 * LutFineTune} saturates when the keys themselves carry too little (MNIST MLP: 11 keys of 4 bits,
 * 94.3% however long it trains), so here the layer BEFORE the tables and the tree encoder learn
 * too, so the few bits the keys have are spent on what the logits need:
 *
 * <pre>
 *   x ──► Gemm G (rows the tree reads: trained) ──► Relu ──► tree keys (thresholds: trained)
 *     ──► tables (trained) ──► Relu/Gemm chain (trained) ──► logits
 * </pre>
 *
 * The forward uses the hard key, the backward a soft tree ({@link SoftKeyTrainer}). Only the rows
 * of G that some tree level reads get a gradient (the tree reads at most L of a codebook's w
 * dimensions), so only those U rows are computed and trained, in plain Java (U·K multiply-adds a
 * row each way; MNIST MLP: 44 × 784). Same loss, batch, learning-rate schedule and seed as {@link
 * LutFineTune}; one thread, so the same bytes for a seed.
 *
 * <p>Afterwards G's new rows and bias and the chain's Gemms are written into their fp32 constants,
 * the thresholds into their tensor; then the runtime itself computes the keys of every row from the
 * written model ({@link TableKeys}) and the tables are quantized ({@link TableQuantizer}, bias
 * corrected) on those keys — the keys the runtime uses are the ones the tables are fitted to; the
 * note says how many of them equal the training forward's (all of them on the MNIST MLP; G's sums
 * in another order, OpenBLAS's, could only flip a key sitting on a threshold). The bucket means
 * kept as centroids beside the tree (for the key hit rate) are recomputed. {@link LutCompressor}
 * then runs the fixed-key epochs on those keys and only then is the rest quantized ({@link
 * LutRest}).
 *
 * <p>Supported: the last table layer with a tree encoder, its input produced by a Relu of a
 * Gemm/MatMul with constant weights (neither read by anything else), the chain after it as {@link
 * LutFineTune} supports. Anything else (e.g. the MNIST CNN, whose table layer reads a flattened
 * pooling) is left unchanged with a note, and the fixed-key fine-tuning runs as before.
 */
public final class SoftKeyFineTune {
  private SoftKeyFineTune() {}

  /**
   * @param applied whether the model was trained (else {@code graph} is the input and {@code note}
   *     says why not)
   * @param runtimeKeyMatchPct keys the runtime computes on the final model equal to the training
   *     forward's, percent of all row keys
   * @param trainingKeys [rows][C]: the keys the training forward gives every row with the final
   *     parameters (null when not applied)
   */
  public record Outcome(
      QuantizedGraph graph,
      boolean applied,
      String note,
      double runtimeKeyMatchPct,
      byte[] trainingKeys) {
    static Outcome not(QuantizedGraph model, String why) {
      return new Outcome(model, false, why, Double.NaN, null);
    }
  }

  /** The Gemm before the tables (via a Relu) and its position, or null fields and why not. */
  record Encoder(GraphQuantizer.Layer gemm, Node relu, String whyNot) {}

  static Encoder encoder(Graph graph, Node table) {
    String value = table.inputs().get(0);
    Node relu = producer(graph, value);
    if (relu == null || relu.op() != OpType.RELU) {
      return new Encoder(null, null, "the tables' input is not a Relu");
    }
    Node gemmNode = producer(graph, relu.inputs().get(0));
    GraphQuantizer.Layer gemm =
        gemmNode == null ? null : GraphQuantizer.weightedLayers(graph).get(gemmNode.name());
    if (gemm == null || gemm.isConv()) {
      return new Encoder(null, null, "the Relu before the tables does not read a Gemm/MatMul");
    }
    if (readers(graph, value) != 1 || readers(graph, relu.inputs().get(0)) != 1) {
      return new Encoder(null, null, "the Gemm/Relu before the tables is read by a branch");
    }
    Node node = gemm.node();
    long d = table.attributes().getLongs("weight_shape")[1];
    if (gemm.rows() != d) {
      return new Encoder(
          null, null, node.describe() + " gives " + gemm.rows() + " values, not " + d);
    }
    String weightName = node.inputs().get(1);
    if (readers(graph, weightName) != 1) {
      return new Encoder(null, null, node.describe() + ": weight '" + weightName + "' is shared");
    }
    if (node.op() == OpType.GEMM && node.hasInput(2)) {
      ConstTensor b = graph.constants().get(node.inputs().get(2));
      if (b == null || gemm.bias() == null || b.floats().length != gemm.rows()) {
        return new Encoder(null, null, node.describe() + " has a broadcast bias");
      }
    }
    return new Encoder(gemm, relu, null);
  }

  private static Node producer(Graph graph, String value) {
    for (Node n : graph.nodes()) {
      if (n.outputs().contains(value)) {
        return n;
      }
    }
    return null;
  }

  private static int readers(Graph graph, String value) {
    int readers = 0;
    for (Node n : graph.nodes()) {
      readers += n.inputs().contains(value) ? 1 : 0;
    }
    return readers + (graph.outputs().stream().anyMatch(v -> v.name().equals(value)) ? 1 : 0);
  }

  /**
   * Why {@link #fineTune} would leave {@code graph} unchanged (its note), or null when it trains
   * the soft keys.
   */
  static String whyNot(Graph graph, LutFineTune.Options options) {
    if (options.softKeyEpochs() == 0) {
      return "soft keys off";
    }
    LutFineTune.Chain chain = LutFineTune.chain(graph);
    if (chain.whyNot() != null) {
      return "soft keys: " + chain.whyNot();
    }
    Node table = chain.table();
    if (!TableKeys.treeEncoder(table)) {
      return "soft keys: " + table.name() + " has no tree encoder";
    }
    Encoder encoder = encoder(graph, table);
    if (encoder.whyNot() != null) {
      return "soft keys not used for " + table.name() + ": " + encoder.whyNot();
    }
    return null;
  }

  /**
   * @param model the compressed graph (tables built, next layer refitted)
   * @param fp32 the original graph (teacher)
   * @param fit the rows to train on (with labels if any)
   */
  public static Outcome fineTune(
      QuantizedGraph model,
      Graph fp32,
      Dataset fit,
      LutFineTune.Options options,
      Compressor.Progress progress) {
    return fineTune(model, fp32, fit, 0, options, progress);
  }

  /**
   * As above, where the last {@code mixedRows} rows of {@code fit} are {@link MixupRows} blends
   * (label −1: distillation alone), counted apart in the note.
   */
  public static Outcome fineTune(
      QuantizedGraph model,
      Graph fp32,
      Dataset fit,
      int mixedRows,
      LutFineTune.Options options,
      Compressor.Progress progress) {
    return fineTune(model, fp32, fit, mixedRows, options, 0, progress);
  }

  /**
   * As above, with the L2-SP penalty L·Σ (p − p_fp32)² ({@code l2sp} = L, 0 = none) on the trained
   * rows of the Gemm before the tables and their bias and on the chain's Gemms, every step ({@link
   * LutFineTune#anchorChain} says what is matched to the PyTorch prototype).
   */
  public static Outcome fineTune(
      QuantizedGraph model,
      Graph fp32,
      Dataset fit,
      int mixedRows,
      LutFineTune.Options options,
      double l2sp,
      Compressor.Progress progress) {
    String whyNot = whyNot(model.graph(), options);
    if (whyNot != null) {
      return Outcome.not(model, whyNot);
    }
    Graph graph = model.graph();
    LutFineTune.Chain chain = LutFineTune.chain(graph);
    Node table = chain.table();
    GraphQuantizer.Layer gemm = encoder(graph, table).gemm();
    var a = table.attributes();
    int d = chain.d();
    int m = chain.m();
    int codebooks = chain.codebooks();
    int w = Math.toIntExact(a.getLong("width", 1));
    int kIn = gemm.rowLength();
    int[] splitDims = LutFineTune.ints(model.packed().get(a.getString("split_dims", "")));
    float[] thresholds =
        LutFineTune.floats(model.packed().get(a.getString("thresholds", ""))).clone();

    // the Gemm rows some tree level reads, in first-use order
    int depth = TableKeys.depth(table);
    int keyCount = TableKeys.keys(table);
    int[] rowOf = new int[codebooks * depth];
    int[] rowIndex = new int[d];
    java.util.Arrays.fill(rowIndex, -1);
    int[] rows = new int[codebooks * depth];
    int u = 0;
    int perGroup = codebooks / chain.groups(); // codebook c reads sub-vector c mod perGroup
    for (int c = 0; c < codebooks; c++) {
      for (int l = 0; l < depth; l++) {
        int col = (c % perGroup) * w + splitDims[c * depth + l];
        if (col >= d) {
          rowOf[c * depth + l] = -1;
          continue;
        }
        if (rowIndex[col] < 0) {
          rowIndex[col] = u;
          rows[u++] = col;
        }
        rowOf[c * depth + l] = rowIndex[col];
      }
    }
    float[] weight = new float[u * kIn];
    float[] bias = new float[u];
    for (int r = 0; r < u; r++) {
      System.arraycopy(gemm.weight(), rows[r] * kIn, weight, r * kIn, kIn);
      bias[r] = gemm.bias() == null ? 0f : gemm.bias()[rows[r]];
    }
    boolean trainBias = gemm.node().op() == OpType.GEMM && gemm.node().hasInput(2);

    int n = fit.count();
    String input = gemm.input();
    float[] x =
        Activations.collect(model, List.of(input), fit, done -> progress.update("inputs", done, n))
            .get(input);
    if (x.length != (long) n * kIn) {
      return Outcome.not(
          model,
          "soft keys not used: " + gemm.node().describe() + " input is not [rows, " + kIn + "]");
    }
    float[] teacher = LutFineTune.teacherLogits(fp32, chain.output(), fit, progress);
    int[] labels = fit.labels();
    double distill = labels == null ? 1.0 : options.distillWeight();

    double[] tau = new double[codebooks * depth]; // set below from the initial activations
    SoftKeyTrainer encoderTrainer =
        new SoftKeyTrainer(
            kIn, codebooks, m, rowOf, weight, bias, trainBias, thresholds, tau, depth);
    temperatures(encoderTrainer, x, n, kIn, rowOf, u, tau);
    List<float[]> params = LutFineTune.parameters(chain, model.packed());
    LutFineTune.Options soft = options.withEpochs(options.softKeyEpochs());
    FineTuneTrainer trainer =
        new FineTuneTrainer(
            params,
            chain.steps(),
            codebooks,
            chain.groups(),
            m,
            soft,
            chain.classes(),
            chain.fold());
    encoderTrainer.register(trainer);
    if (l2sp != 0) {
      GraphQuantizer.Layer original = GraphQuantizer.weightedLayers(fp32).get(gemm.node().name());
      if (original == null || original.weight().length != gemm.weight().length) {
        throw new IllegalArgumentException(
            "l2sp: " + gemm.node().describe() + " has no fp32 twin of its shape");
      }
      float[] weight0 = new float[u * kIn];
      float[] bias0 = new float[u];
      for (int r = 0; r < u; r++) {
        System.arraycopy(original.weight(), rows[r] * kIn, weight0, r * kIn, kIn);
        bias0[r] = original.bias() == null ? 0f : original.bias()[rows[r]];
      }
      encoderTrainer.anchor(trainer, weight0, bias0, l2sp);
      LutFineTune.anchorChain(trainer, chain, fp32, l2sp);
    }

    int batch = soft.batchRows();
    int epochs = soft.epochs();
    int steps = epochs * ((n + batch - 1) / batch);
    SplittableRandom random = new SplittableRandom(options.seed());
    int[] order = new int[n];
    for (int i = 0; i < n; i++) {
      order[i] = i;
    }
    byte[] keys = new byte[n * codebooks];
    float[] pre = new float[batch * u];
    double[] work = new double[u];
    int step = 0;
    for (int epoch = 0; epoch < epochs; epoch++) {
      LutFineTune.shuffle(order, random);
      String phase = "soft keys " + (epoch + 1) + "/" + epochs;
      for (int from = 0; from < n; from += batch) {
        int count = Math.min(batch, n - from);
        for (int r = 0; r < count; r++) {
          int i = order[from + r];
          encoderTrainer.preActivations(x, i * kIn, pre, r * u);
          encoderTrainer.keys(pre, r * u, keys, i * codebooks);
        }
        trainer.forwardBackward(order, from, count, keys, teacher, labels, distill);
        double[] dh = trainer.tableOutputGradient();
        float[] tables = trainer.tables();
        for (int r = 0; r < count; r++) {
          int i = order[from + r];
          encoderTrainer.backward(pre, r * u, x, i * kIn, dh, r * m, tables, trainer, work);
        }
        trainer.adam(soft.learningRate() * (1.0 - (double) step / steps));
        step++;
        if ((from / batch) % 50 == 0 || from + count == n) {
          progress.update(phase, from + count, n);
        }
      }
    }
    byte[] trainedKeys = trainingKeys(encoderTrainer, x, n, kIn, codebooks, u);

    // write the encoder and the chain back, then let the runtime compute the keys
    float[] fullWeight = gemm.weight().clone();
    float[] fullBias = gemm.bias() == null ? new float[gemm.rows()] : gemm.bias().clone();
    for (int r = 0; r < u; r++) {
      System.arraycopy(weight, r * kIn, fullWeight, rows[r] * kIn, kIn);
      fullBias[rows[r]] = bias[r];
    }
    Map<String, ConstTensor> constants = new LinkedHashMap<>(graph.constants());
    LutFineTune.writeBack(graph, constants, gemm, fullWeight, fullBias);
    List<String> trained = LutFineTune.writeChain(graph, chain, constants, params);
    Map<String, PackedTensor> packed = new LinkedHashMap<>(model.packed());
    packed.put(
        a.getString("thresholds", ""),
        LutLayerBuilder.f32(new long[] {codebooks, keyCount - 1}, thresholds));
    QuantizedGraph written = new QuantizedGraph(graph.withNodes(graph.nodes(), constants), packed);
    String tableInput = table.inputs().get(0);
    float[] act =
        Activations.collect(
                written, List.of(tableInput), fit, done -> progress.update("keys", done, n))
            .get(tableInput);
    byte[] runtimeKeys = TableKeys.encode(table, packed, act, n, true);
    long same = 0;
    for (int i = 0; i < runtimeKeys.length; i++) {
      same += runtimeKeys[i] == trainedKeys[i] ? 1 : 0;
    }
    double matchPct = 100.0 * same / Math.max(1, runtimeKeys.length);
    Map<String, PackedTensor> quantized =
        LutFineTune.quantizedTables(chain, packed, params.get(0), params.get(1), runtimeKeys, n);
    String centroidsName = a.getString("centroids", "");
    if (!centroidsName.isEmpty() && quantized.containsKey(centroidsName)) {
      quantized.put(
          centroidsName, bucketMeans(act, runtimeKeys, n, d, codebooks, perGroup, w, keyCount));
    }
    QuantizedGraph tuned = new QuantizedGraph(graph.withNodes(graph.nodes(), constants), quantized);
    return new Outcome(
        tuned,
        true,
        String.format(
            Locale.ROOT,
            "soft keys: trained %s (%d of its %d rows read by the tree) + thresholds + %s tables +"
                + " %s, %d epochs on %s, final loss %.4f; runtime keys = training keys on"
                + " %.4f%%%s",
            gemm.node().name(),
            u,
            gemm.rows(),
            table.name(),
            trained,
            epochs,
            LutFineTune.rows(n, mixedRows),
            trainer.lastEpochLoss(),
            matchPct,
            LutFineTune.l2spNote(l2sp, trainer)),
        matchPct,
        trainedKeys);
  }

  /** The keys the training forward gives every row with the encoder's current parameters. */
  static byte[] trainingKeys(
      SoftKeyTrainer encoder, float[] x, int n, int kIn, int codebooks, int u) {
    byte[] keys = new byte[n * codebooks];
    float[] pre = new float[u];
    for (int i = 0; i < n; i++) {
      encoder.preActivations(x, i * kIn, pre, 0);
      encoder.keys(pre, 0, keys, i * codebooks);
    }
    return keys;
  }

  /**
   * Fills {@code tau} per (codebook, level): {@link SoftKeyTrainer#TEMPERATURE} × the standard
   * deviation of the level's input (after the Relu) over the rows; 0 for a padded or constant
   * dimension (no gradient).
   */
  private static void temperatures(
      SoftKeyTrainer encoder, float[] x, int n, int kIn, int[] rowOf, int u, double[] tau) {
    double[] sum = new double[u];
    double[] squares = new double[u];
    float[] pre = new float[u];
    for (int i = 0; i < n; i++) {
      encoder.preActivations(x, i * kIn, pre, 0);
      for (int r = 0; r < u; r++) {
        double v = Math.max(0f, pre[r]);
        sum[r] += v;
        squares[r] += v * v;
      }
    }
    for (int p = 0; p < rowOf.length; p++) {
      int r = rowOf[p];
      if (r >= 0) {
        double mean = sum[r] / n;
        double variance = Math.max(0, squares[r] / n - mean * mean);
        tau[p] = SoftKeyTrainer.TEMPERATURE * Math.sqrt(variance);
      }
    }
  }

  /** The stored centroids [C,K,w]: the mean input row of each key's bucket (as the builder's). */
  private static PackedTensor bucketMeans(
      float[] act, byte[] keys, int n, int d, int codebooks, int perGroup, int w, int keyCount) {
    float[] centroids = new float[codebooks * keyCount * w];
    float[] sub = new float[n * w];
    for (int c = 0; c < codebooks; c++) {
      for (int i = 0; i < n; i++) {
        for (int j = 0; j < w; j++) {
          int col = (c % perGroup) * w + j;
          sub[i * w + j] = col < d ? act[i * d + col] : 0f;
        }
      }
      float[] means = LutLayerBuilder.bucketMeans(sub, keys, c, codebooks, n, w, keyCount);
      System.arraycopy(means, 0, centroids, c * keyCount * w, keyCount * w);
    }
    return LutLayerBuilder.f32(new long[] {codebooks, keyCount, w}, centroids);
  }
}
