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
import io.cacheai.kernels.LutKernels;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * End-to-end fine-tuning after the tables are built (LUT-NN, Tang et al. 2023, fine-tunes the
 * tables by back-propagation), here with the keys FIXED: the tree encoder is a stack of threshold
 * comparisons, not differentiable, so the keys of every calibration row are computed once, exactly
 * as the runtime computes them, and what is trained is everything downstream of them:
 *
 * <pre>
 *   keys[C] ──► h = bias + Σ_c T[c][key_c][·]   (last table layer, float tables T [C,16,M])
 *           ──► Relu ──► Gemm ──► Relu ──► … ──► logits     (every exact layer up to the output)
 * </pre>
 *
 * <p>Loss per row: {@code distillWeight}·τ²·KL(softmax(z_fp32/τ) ‖ softmax(z/τ)) against the fp32
 * model's logits on the same row, plus (1 − {@code distillWeight})·cross-entropy with the label
 * when the row has one (label ≥ 0); a row without (no labels in the data, or label −1 as the {@link
 * MixupRows} blends have) gets the distillation term alone, with weight 1 ({@link
 * FineTuneTrainer}). Minibatch Adam, the learning rate decayed linearly to zero, rows visited in an
 * order drawn from {@code seed}: deterministic for a seed (one thread, a fixed summation order).
 *
 * <p>Afterwards the float tables are quantized per output column as {@link LutLayerBuilder} does
 * ({@link TableQuantizer}: int8 for {@code lut16}, 4-bit for {@code lut16x4}; bias corrected by the
 * mean rounding error on the rows), and the downstream Gemm weights and biases are written back
 * into their fp32 constants in the layout their node reads (alpha/beta, transB respected). The
 * graph keeps the same nodes and sizes. Only the chain Relu / Gemm with constant weights / Flatten,
 * Identity (rank-2 pass-through) is supported after the table layer; anything else leaves the model
 * unchanged with a note saying why.
 *
 * <p>Where the tables read Relu(Gemm), {@link SoftKeyFineTune} runs first and trains the keys too
 * (the Gemm before the tables and the tree); the epochs here then run on the keys the runtime
 * computes from its result. The pieces both share are package-private here: {@link #chain}, {@link
 * #parameters}, {@link #quantizedTables}, {@link #writeChain}.
 */
public final class LutFineTune {
  private LutFineTune() {}

  /**
   * @param epochs passes over the rows; 0 = no fine-tuning
   * @param batchRows rows per Adam step
   * @param learningRate Adam step size at the start (decayed linearly to 0)
   * @param temperature τ of the distillation softmax
   * @param distillWeight weight of the distillation term, 1 − it of the cross-entropy with labels
   * @param seed the order the rows are visited in
   * @param samples calibration samples to fine-tune on, as they are (not shifted); 0 = the same
   *     rows the tables were fitted on (the first {@code --samples}, shifted). More images than the
   *     tables were built from is what helps most: the build (k-means, tree, ridge) is the slow
   *     part and saturates, the fine-tuning is cheap per row and keeps learning
   * @param softKeyEpochs epochs of {@link SoftKeyFineTune} first (keys differentiable, the Gemm
   *     before the tables trained too) where the model allows it, before the {@code epochs} with
   *     the keys fixed; 0 = off
   * @param mixup extra {@link MixupRows} blends appended to the fine-tune rows (both phases), as a
   *     fraction of those rows: 1 doubles them; 0 = off; {@link #AUTO_MIXUP} = {@link
   *     #DEFAULT_MIXUP} where the soft keys run (the last table layer reads Relu(Gemm)), else 0
   */
  public record Options(
      int epochs,
      int batchRows,
      double learningRate,
      double temperature,
      double distillWeight,
      long seed,
      int samples,
      int softKeyEpochs,
      double mixup) {
    /** The default epochs of {@code --lut-finetune-epochs}. */
    public static final int DEFAULT_EPOCHS = 6;

    /** The default epochs of {@code --lut-soft-key-epochs} ({@link SoftKeyFineTune}). */
    public static final int DEFAULT_SOFT_KEY_EPOCHS = 12;

    /** {@code --lut-mixup} when the soft keys run: one blend per fine-tune row. */
    public static final double DEFAULT_MIXUP = 1.0;

    /** {@link #mixup} "choose by model": see {@link #mixupFraction}. */
    public static final double AUTO_MIXUP = -1.0;

    public Options {
      if (epochs < 0
          || epochs > 1000
          || batchRows <= 0
          || !(learningRate > 0)
          || !(temperature > 0)
          || !(distillWeight >= 0 && distillWeight <= 1)
          || samples < 0
          || softKeyEpochs < 0
          || softKeyEpochs > 1000
          || !(mixup == AUTO_MIXUP || (mixup >= 0 && mixup <= 16))) {
        throw new IllegalArgumentException(
            String.format(
                Locale.ROOT,
                "lut-finetune-epochs=%d batch=%d lr=%s temperature=%s distill=%s"
                    + " lut-finetune-samples=%d (epochs 0..1000, batch > 0, lr > 0, temperature >"
                    + " 0, distill in [0, 1], samples >= 0) lut-soft-key-epochs=%d (0..1000)"
                    + " lut-mixup=%s (0..16)",
                epochs,
                batchRows,
                learningRate,
                temperature,
                distillWeight,
                samples,
                softKeyEpochs,
                mixup == AUTO_MIXUP ? "auto" : mixup));
      }
    }

    public static Options defaults() {
      return new Options(
          DEFAULT_EPOCHS, 64, 3e-3, 2.0, 0.5, 1, 0, DEFAULT_SOFT_KEY_EPOCHS, AUTO_MIXUP);
    }

    public Options withEpochs(int e) {
      return new Options(
          e,
          batchRows,
          learningRate,
          temperature,
          distillWeight,
          seed,
          samples,
          softKeyEpochs,
          mixup);
    }

    public Options withSeed(long s) {
      return new Options(
          epochs,
          batchRows,
          learningRate,
          temperature,
          distillWeight,
          s,
          samples,
          softKeyEpochs,
          mixup);
    }

    public Options withLearningRate(double lr) {
      return new Options(
          epochs, batchRows, lr, temperature, distillWeight, seed, samples, softKeyEpochs, mixup);
    }

    public Options withDistillWeight(double a) {
      return new Options(
          epochs, batchRows, learningRate, temperature, a, seed, samples, softKeyEpochs, mixup);
    }

    public Options withSamples(int n) {
      return new Options(
          epochs,
          batchRows,
          learningRate,
          temperature,
          distillWeight,
          seed,
          n,
          softKeyEpochs,
          mixup);
    }

    public Options withSoftKeyEpochs(int e) {
      return new Options(
          epochs, batchRows, learningRate, temperature, distillWeight, seed, samples, e, mixup);
    }

    public Options withMixup(double r) {
      return new Options(
          epochs,
          batchRows,
          learningRate,
          temperature,
          distillWeight,
          seed,
          samples,
          softKeyEpochs,
          r);
    }

    /**
     * The mixup fraction for a model: {@link #mixup} as set, or for {@link #AUTO_MIXUP} {@link
     * #DEFAULT_MIXUP} where the soft keys run and 0 elsewhere (measured on the MNIST CNN, whose
     * tables read a flattened pooling: see {@code --lut-mixup}).
     */
    public double mixupFraction(boolean softKeys) {
      return mixup != AUTO_MIXUP ? mixup : softKeys ? DEFAULT_MIXUP : 0;
    }

    /** Mixed rows to add to {@code rows} fine-tune rows: ⌊fraction · rows⌉. */
    public static int mixedRows(double fraction, int rows) {
      return Math.toIntExact(Math.round(fraction * rows));
    }

    public Options withTemperature(double t) {
      return new Options(
          epochs, batchRows, learningRate, t, distillWeight, seed, samples, softKeyEpochs, mixup);
    }
  }

  /**
   * The fine-tuned model, or the input model and why not.
   *
   * @param layer the table layer fine-tuned (null if none)
   * @param trained the downstream Gemm layers trained with it
   * @param note one line for the report
   */
  public record Outcome(QuantizedGraph graph, String layer, List<String> trained, String note) {}

  /** One step of the chain after the table layer. */
  /**
   * One step of the chain after the table layer.
   *
   * @param gemm the weighted layer, null for a Relu
   * @param hasBias whether the layer has a bias of its own to train (a Gemm with a [out] bias);
   *     without one its bias stays 0 and is not trained
   */
  record Step(OpType op, GraphQuantizer.Layer gemm, int in, int out, boolean hasBias) {}

  /**
   * The last table layer of {@code model} and the chain after it up to the single output, or why it
   * cannot be fine-tuned ({@code whyNot} non-null, the other fields then unset).
   *
   * @param tableIndex the table node's index in the graph's nodes
   * @param codebooks C, keys per row (all groups)
   * @param groups G: codebook c writes only outputs (c / (C/G))·M/G onwards ({@code groups} of the
   *     node, 1 when unset)
   * @param classes the width of the output
   */
  record Chain(
      Node table,
      int tableIndex,
      List<Step> steps,
      int m,
      int d,
      int codebooks,
      int groups,
      int classes,
      String output,
      String whyNot) {
    static Chain not(Node table, String why) {
      return new Chain(table, -1, List.of(), 0, 0, 0, 1, 0, null, why);
    }

    /** K, the table layer's keys per codebook (its attribute {@code keys}, 16 when absent). */
    int keys() {
      return TableKeys.keys(table);
    }

    /** Whether the table layer's key-0 rows are folded into its bias ({@link KeyZeroFold}). */
    boolean fold() {
      return TableKeys.folded(table);
    }
  }

  /** Finds the last table layer and the Relu/Gemm chain after it ({@link Chain}). */
  static Chain chain(Graph graph) {
    List<Node> nodes = graph.nodes();
    int tableIndex = -1;
    for (int i = 0; i < nodes.size(); i++) {
      if (nodes.get(i).op() == OpType.LOOKUP_GEMM) {
        tableIndex = i;
      }
    }
    if (tableIndex < 0) {
      return Chain.not(null, "no table layer");
    }
    Node table = nodes.get(tableIndex);
    var a = table.attributes();
    if (graph.outputs().size() != 1) {
      return Chain.not(table, "not fine-tuned: more than one output");
    }
    long[] ws = a.getLongs("weight_shape");
    int m = Math.toIntExact(ws[0]);
    int d = Math.toIntExact(ws[1]);
    // the chain from the table's output to the graph's output
    Map<String, GraphQuantizer.Layer> weighted = GraphQuantizer.weightedLayers(graph);
    List<Step> chain = new ArrayList<>();
    String value = table.outputs().get(0);
    int width = m;
    String output = graph.outputs().get(0).name();
    for (int i = tableIndex + 1; i < nodes.size() && !value.equals(output); i++) {
      Node node = nodes.get(i);
      int readers = 0;
      for (Node other : nodes) {
        readers += other.inputs().contains(value) ? 1 : 0;
      }
      if (!node.inputs().contains(value)) {
        continue;
      }
      if (readers != 1 || !node.inputs().get(0).equals(value)) {
        return Chain.not(table, "not fine-tuned: '" + value + "' read by a branch");
      }
      GraphQuantizer.Layer gemm = weighted.get(node.name());
      if (node.op() == OpType.RELU) {
        chain.add(new Step(OpType.RELU, null, width, width, false));
      } else if (gemm != null && !gemm.isConv() && gemm.rowLength() == width) {
        boolean hasBias = node.op() == OpType.GEMM && node.hasInput(2);
        ConstTensor biasConst = hasBias ? graph.constants().get(node.inputs().get(2)) : null;
        if (hasBias
            && (biasConst == null
                || gemm.bias() == null
                || io.cacheai.graph.Shapes.elementCount(biasConst.shape()) != gemm.rows())) {
          return Chain.not(table, "not fine-tuned: " + node.describe() + " has a broadcast bias");
        }
        chain.add(new Step(node.op(), gemm, width, gemm.rows(), hasBias));
        width = gemm.rows();
      } else if (node.op() != OpType.FLATTEN && node.op() != OpType.IDENTITY) {
        return Chain.not(
            table, "not fine-tuned: " + node.describe() + " after the tables is not Relu/Gemm");
      }
      value = node.outputs().get(0);
    }
    if (!value.equals(output)) {
      return Chain.not(table, "not fine-tuned: no path to " + output);
    }
    int w = Math.toIntExact(a.getLong("width", 1));
    int groups = TableKeys.groups(table);
    int codebooks = groups * ((d + w - 1) / w);
    return new Chain(
        table, tableIndex, List.copyOf(chain), m, d, codebooks, groups, width, output, null);
  }

  /**
   * Anchors the chain's Gemms (weight and bias, trainer parameters 2, 3, … as {@link #parameters}
   * lists them) at their values in the fp32 model for the L2-SP penalty L·Σ (p − p_fp32)² ({@link
   * FineTuneTrainer#anchor}); nothing when {@code l2sp} is 0.
   *
   * <p>Scale, matched to the PyTorch prototype (tools/lut/lut_budget_prototype.py {@code --l2sp},
   * whose {@code loss_fn} is the minibatch mean of 0.5·τ²·KL + 0.5·CE on labelled rows and 1·τ²·KL
   * on unlabelled mixup rows, τ = 2, plus L·Σ (p − p0)² once per step): {@link FineTuneTrainer}'s
   * loss is that same per-row loss (distill 0.5, τ 2, mixup rows weight 1) and its gradient the
   * same minibatch mean (dz = g / rows, batch 64), and the penalty's gradient 2·L·(p − p0) is added
   * once per step to it before Adam (same lr 3e-3, betas, ε): so the same L is the same strength.
   * Covered as in the prototype: the trained rows of the Gemm before the tables and their bias
   * (W1u, b1u, soft-key phase, {@link SoftKeyTrainer#anchor}) and the Gemms after the tables (W5p,
   * b5p: the MNIST MLP's one, both phases); not the tables, their bias or the thresholds. The
   * anchors are the fp32 model's values, not the refitted start ({@link NextLayerRefit}).
   */
  static void anchorChain(FineTuneTrainer trainer, Chain chain, Graph fp32, double l2sp) {
    if (l2sp == 0) {
      return;
    }
    Map<String, GraphQuantizer.Layer> original = GraphQuantizer.weightedLayers(fp32);
    int p = 2;
    for (Step s : chain.steps()) {
      if (s.gemm() == null) {
        continue;
      }
      GraphQuantizer.Layer layer = original.get(s.gemm().node().name());
      if (layer == null || layer.weight().length != s.gemm().weight().length) {
        throw new IllegalArgumentException(
            "l2sp: " + s.gemm().node().describe() + " has no fp32 twin of its shape");
      }
      trainer.anchor(p, layer.weight(), l2sp);
      if (s.hasBias()) {
        trainer.anchor(p + 1, layer.bias() == null ? new float[s.out()] : layer.bias(), l2sp);
      }
      p += 2;
    }
  }

  /**
   * The trainer's float parameters as the model holds them: [0] tables [C·K][M] (dequantized;
   * grouped tables spread out, 0 where a codebook's group does not write; folded tables with their
   * key-0 rows back in as 0), [1] table bias [M], then per Gemm of the chain its weight [out][in]
   * and bias [out].
   */
  static List<float[]> parameters(Chain chain, Map<String, PackedTensor> packed) {
    var a = chain.table().attributes();
    int m = chain.m();
    PackedTensor q = packed.get(a.getString("tables", ""));
    float[] scale = floats(packed.get(a.getString("scale", "")));
    float[] tableBias = floats(packed.get(a.getString("bias", "")));
    int keyCount = chain.keys();
    int entries = chain.codebooks() * keyCount;
    boolean fourBit = q.format() == PackedTensor.Format.S4_LUT16;
    boolean fold = chain.fold();
    float[] tables = new float[entries * m];
    int mg = m / chain.groups();
    int perGroup = chain.codebooks() / chain.groups();
    for (int p = 0; p < entries; p++) {
      int from = (p / keyCount / perGroup) * mg;
      // folded: key 0's row is not stored and stays 0 here; key k reads stored row c·(K−1)+k−1
      int stored = fold ? KeyZeroFold.storedRow(p / keyCount, p % keyCount, keyCount) : p;
      for (int j = 0; stored >= 0 && j < mg; j++) {
        tables[p * m + from + j] = scale[from + j] * entry(q, fourBit, stored, j, mg);
      }
    }
    List<float[]> params = new ArrayList<>();
    params.add(tables);
    params.add(tableBias.clone());
    for (Step s : chain.steps()) {
      if (s.gemm() != null) {
        params.add(s.gemm().weight().clone()); // [out][in]
        float[] b = s.gemm().bias();
        params.add(b == null ? new float[s.out()] : b.clone());
      }
    }
    return params;
  }

  /**
   * {@code packed} with the table layer's tables, scale and bias replaced by the float {@code
   * tables} and {@code bias} quantized per column as {@link LutLayerBuilder} does ({@link
   * TableQuantizer}: int8 or 4-bit, as the model's tables are), the bias corrected by the mean
   * rounding error on the n rows of {@code keys} (at 4 bits it also absorbs the per-codebook
   * centring TableQuantizer does).
   */
  static Map<String, PackedTensor> quantizedTables(
      Chain chain,
      Map<String, PackedTensor> packed,
      float[] tables,
      float[] bias,
      byte[] keys,
      int n) {
    var a = chain.table().attributes();
    int m = chain.m();
    int codebooks = chain.codebooks();
    int keyCount = chain.keys();
    int entries = codebooks * keyCount;
    boolean fourBit =
        packed.get(a.getString("tables", "")).format() == PackedTensor.Format.S4_LUT16;
    int groups = chain.groups();
    int mg = m / groups;
    int perGroup = codebooks / groups;
    float[] newScale = new float[m];
    double[][] rowsOfTable = new double[entries][mg];
    for (int p = 0; p < entries; p++) {
      int from = (p / keyCount / perGroup) * mg;
      for (int j = 0; j < mg; j++) {
        rowsOfTable[p][j] = tables[p * m + from + j];
      }
    }
    boolean fold = chain.fold();
    byte[] nq =
        LutLayerBuilder.quantizeGroups(
            rowsOfTable, codebooks, groups, mg, fourBit ? 4 : 8, newScale, keyCount, fold);
    double[] error = new double[m];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < m; j++) {
        double exact = 0;
        int acc = 0;
        int group = j / mg;
        for (int c = group * perGroup; c < (group + 1) * perGroup; c++) {
          int p = c * keyCount + keys[i * codebooks + c];
          exact += tables[p * m + j];
          acc += nq[p * mg + j - group * mg];
        }
        error[j] += exact - (double) newScale[j] * acc;
      }
    }
    float[] newBias = new float[m];
    for (int j = 0; j < m; j++) {
      newBias[j] = (float) (bias[j] + error[j] / Math.max(1, n));
    }
    Map<String, PackedTensor> newPacked = new LinkedHashMap<>(packed);
    newPacked.put(
        a.getString("tables", ""),
        LutLayerBuilder.pack(nq, codebooks, mg, keyCount, fourBit ? 4 : 8, fold));
    newPacked.put(a.getString("scale", ""), LutLayerBuilder.f32(new long[] {m}, newScale));
    newPacked.put(a.getString("bias", ""), LutLayerBuilder.f32(new long[] {m}, newBias));
    return newPacked;
  }

  /**
   * Writes the chain's trained Gemms (params from index 2 on, as {@link #parameters} lays them out)
   * into {@code constants}; returns their names.
   */
  static List<String> writeChain(
      Graph graph, Chain chain, Map<String, ConstTensor> constants, List<float[]> params) {
    List<String> trained = new ArrayList<>();
    int p = 2;
    for (Step s : chain.steps()) {
      if (s.gemm() != null) {
        writeBack(graph, constants, s.gemm(), params.get(p), params.get(p + 1));
        trained.add(s.gemm().node().name());
        p += 2;
      }
    }
    return trained;
  }

  /**
   * @param model the compressed graph (tables built, next layer refitted)
   * @param fp32 the original graph (teacher)
   * @param fit the rows the tables were fitted on (with labels if any)
   */
  public static Outcome fineTune(
      QuantizedGraph model,
      Graph fp32,
      Dataset fit,
      Options options,
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
      Options options,
      Compressor.Progress progress) {
    return fineTune(model, fp32, fit, mixedRows, options, 0, progress);
  }

  /**
   * As above, with the L2-SP penalty of weight {@code l2sp} on the chain's Gemms ({@link
   * #anchorChain}; 0 = none).
   */
  public static Outcome fineTune(
      QuantizedGraph model,
      Graph fp32,
      Dataset fit,
      int mixedRows,
      Options options,
      double l2sp,
      Compressor.Progress progress) {
    if (options.epochs() == 0) {
      return new Outcome(model, null, List.of(), "fine-tuning off");
    }
    Graph graph = model.graph();
    Chain chain = chain(graph);
    if (chain.whyNot() != null) {
      return new Outcome(
          model, chain.table() == null ? null : chain.table().name(), List.of(), chain.whyNot());
    }
    Node table = chain.table();
    int n = fit.count();
    int codebooks = chain.codebooks();
    int m = chain.m();

    // keys, exactly as the runtime computes them
    byte[] keys =
        TableKeys.encode(
            table,
            model.packed(),
            Activations.collect(
                    model,
                    List.of(table.inputs().get(0)),
                    fit,
                    done -> progress.update("keys", done, n))
                .get(table.inputs().get(0)),
            n,
            TableKeys.treeEncoder(table));
    float[] teacher = teacherLogits(fp32, chain.output(), fit, progress);
    int[] labels = fit.labels();
    double distill = labels == null ? 1.0 : options.distillWeight();

    List<float[]> params = parameters(chain, model.packed());
    FineTuneTrainer trainer =
        new FineTuneTrainer(
            params,
            chain.steps(),
            codebooks,
            chain.groups(),
            m,
            options,
            chain.classes(),
            chain.fold());
    anchorChain(trainer, chain, fp32, l2sp);
    int batch = options.batchRows();
    int steps = options.epochs() * ((n + batch - 1) / batch);
    SplittableRandom random = new SplittableRandom(options.seed());
    int[] order = new int[n];
    for (int i = 0; i < n; i++) {
      order[i] = i;
    }
    int step = 0;
    for (int epoch = 0; epoch < options.epochs(); epoch++) {
      shuffle(order, random);
      String phase = "fine-tune " + (epoch + 1) + "/" + options.epochs();
      for (int from = 0; from < n; from += batch) {
        int rows = Math.min(batch, n - from);
        double lr = options.learningRate() * (1.0 - (double) step / steps);
        trainer.step(order, from, rows, keys, teacher, labels, distill, lr);
        step++;
        if ((from / batch) % 50 == 0 || from + rows == n) {
          progress.update(phase, from + rows, n);
        }
      }
    }

    Map<String, PackedTensor> newPacked =
        quantizedTables(chain, model.packed(), params.get(0), params.get(1), keys, n);
    Map<String, ConstTensor> constants = new LinkedHashMap<>(graph.constants());
    List<String> trained = writeChain(graph, chain, constants, params);
    QuantizedGraph tuned = new QuantizedGraph(graph.withNodes(graph.nodes(), constants), newPacked);
    return new Outcome(
        tuned,
        table.name(),
        trained,
        String.format(
            Locale.ROOT,
            "fine-tuned %s tables + %s, %d epochs on %s (keys fixed), final loss %.4f%s",
            table.name(),
            trained,
            options.epochs(),
            rows(n, mixedRows),
            trainer.lastEpochLoss(),
            l2spNote(l2sp, trainer)));
  }

  /** ", l2sp L (penalty P)" for the notes when the L2-SP penalty is on, else "". */
  static String l2spNote(double l2sp, FineTuneTrainer trainer) {
    return l2sp == 0
        ? ""
        : String.format(
            Locale.ROOT,
            ", l2sp %s (final penalty %.4f)",
            java.math.BigDecimal.valueOf(l2sp).stripTrailingZeros().toPlainString(),
            trainer.penalty());
  }

  /** "N rows", or "N rows + E mixed rows" when the last E of the n are mixup blends. */
  static String rows(int n, int mixedRows) {
    return mixedRows == 0 ? n + " rows" : (n - mixedRows) + " rows + " + mixedRows + " mixed rows";
  }

  /** Fisher–Yates with {@code random}: the order the rows of one epoch are visited in. */
  static void shuffle(int[] order, SplittableRandom random) {
    for (int i = order.length - 1; i > 0; i--) {
      int j = random.nextInt(i + 1);
      int t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
  }

  /** The fp32 model's logits on every row of the data: the distillation's teacher. */
  static float[] teacherLogits(
      Graph fp32, String output, Dataset fit, Compressor.Progress progress) {
    int n = fit.count();
    return Activations.collect(
            new QuantizedGraph(fp32, Map.of()),
            List.of(output),
            fit,
            done -> progress.update("fp32 logits", done, n))
        .get(output);
  }

  static float[] floats(PackedTensor t) {
    FloatBuffer b = t.data().duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
    float[] v = new float[b.remaining()];
    b.get(v);
    return v;
  }

  /** The s32 values of a stored tensor (e.g. a tree's split dims), copied. */
  static int[] ints(PackedTensor t) {
    java.nio.IntBuffer b = t.data().duplicate().order(ByteOrder.LITTLE_ENDIAN).asIntBuffer();
    int[] v = new int[b.remaining()];
    b.get(v);
    return v;
  }

  /** Writes a trained [out][in] weight (alpha folded in) and bias into the node's constants. */
  static void writeBack(
      Graph graph,
      Map<String, ConstTensor> constants,
      GraphQuantizer.Layer layer,
      float[] weight,
      float[] bias) {
    Node node = layer.node();
    int m = layer.rows();
    int d = layer.rowLength();
    String weightName = node.inputs().get(1);
    for (Node other : graph.nodes()) {
      if (other != node && other.inputs().contains(weightName)) {
        throw new IllegalArgumentException(
            node.describe() + ": weight '" + weightName + "' is shared, not fine-tuned in place");
      }
    }
    boolean gemm = node.op() == OpType.GEMM;
    float alpha = gemm ? node.attributes().getFloat("alpha", 1f) : 1f;
    boolean transB = gemm && node.attributes().getLong("transB", 0) != 0;
    float[] stored = new float[m * d];
    for (int j = 0; j < m; j++) {
      for (int k = 0; k < d; k++) {
        stored[transB ? j * d + k : k * m + j] = weight[j * d + k] / alpha;
      }
    }
    constants.put(weightName, ConstTensor.ofFloats(constants.get(weightName).shape(), stored));
    if (gemm && node.hasInput(2)) {
      String biasName = node.inputs().get(2);
      float beta = node.attributes().getFloat("beta", 1f);
      long[] shape = constants.get(biasName).shape();
      if (io.cacheai.graph.Shapes.elementCount(shape) != m) {
        throw new IllegalArgumentException(
            node.describe() + ": bias '" + biasName + "' is not [" + m + "], not fine-tuned");
      }
      float[] b = new float[m];
      for (int j = 0; j < m; j++) {
        b[j] = bias[j] / beta;
      }
      constants.put(biasName, ConstTensor.ofFloats(shape, b));
    }
  }

  /**
   * Entry (row p = c·16 + key, column j) of an int8 {@code lut16} or 4-bit {@code lut16x4} table.
   */
  private static int entry(PackedTensor tables, boolean fourBit, int p, int j, int m) {
    return fourBit
        ? LutKernels.entryS4(tables.data(), p * LutKernels.rowBytesS4(m), j)
        : tables.data().get(p * m + j);
  }
}
