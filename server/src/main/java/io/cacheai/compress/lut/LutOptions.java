package io.cacheai.compress.lut;

import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * How {@code compress --method cacheai} builds its tables.
 *
 * @param width w, the floats of one sub-vector (one key): table bytes are C·16·M = ceil(D/w)·16·M,
 *     so an int8 table is about w/4 times smaller than the fp32 weight; 0 = per layer, the smallest
 *     w whose lookup bytes (tables, scale, bias, tree) are at least {@link #AUTO_RATIO} times
 *     smaller than the fp32 weight and bias
 * @param encoder how a sub-vector becomes a key at run time
 * @param layers node names to replace; empty: every Gemm/MatMul but the first and last weighted
 *     layer of the graph
 * @param seed k-means seed (the build is deterministic for a seed; the default tree, fitted to
 *     partial outputs, uses no k-means and no randomness at all)
 * @param lambda ridge term of the table refit, relative to the mean count of a key on the data
 * @param kmeansIterations Lloyd steps at most per sub-space
 * @param samples calibration samples used (at most the data's count)
 * @param treeFit what the tree's splits are chosen to keep together
 * @param storeCentroids keep the centroids in the bundle with the tree encoder (to measure the key
 *     hit rate from the bundle alone); always kept with the centroid encoder
 * @param shiftRadiusPx image samples: fit the tables on every calibration image shifted by each
 *     (dx, dy) in [-r, r]² pixels ({@link ShiftAugment}), (2r+1)² times the rows for k-means, the
 *     tree and the ridge refit without touching other images; 0 = the images as they are
 * @param refitNext refit the first exact Gemm/MatMul after the last table layer to the fp32 model's
 *     output of it, fed by the tables' outputs ({@link NextLayerRefit})
 * @param tableBits bits of a table entry: 8 (int8, layout {@code lut16}) or 4 (signed 4-bit, {@code
 *     lut16x4}, two entries a byte): at 4 bits the tables take half the bytes, so the same size
 *     allows twice the codebooks (w half as wide); {@link #widthFor} counts them
 * @param groups G, table groups of a Gemm/MatMul layer ({@link #groupsFor}): its M outputs in G
 *     groups, each with its own ceil(D/w) codebooks over the whole input row and tables of M/G
 *     entries a row, so G times the keys fit in the same bytes; 0 = auto (the default)
 * @param prune once the tables are final, remove the rows of the Gemm before a table layer that no
 *     tree reads ({@link DeadRowPruning}; same keys and logits, a smaller Gemm); default on
 * @param depth L, the depth of a LookupGemm layer's trees: K = 2^L keys per codebook (2, 3 or 4: 4,
 *     8 or 16 keys), each codebook's tables K rows; shallower trees cost fewer table bytes per
 *     codebook, so the same size holds more codebooks ({@link #widthFor}); {@link #AUTO_DEPTH} =
 *     chosen per layer by {@link LutCompressor#layerOptions}; a k×k Conv's LookupConv is always
 *     depth 4
 * @param fold key-0 folding of a LookupGemm's tables ({@link Fold}): each codebook's key-0 row
 *     subtracted from its K rows and added to the bias, so that row is 0 and not stored (node
 *     attribute {@code fold_key0} = 1, tables [C, K−1, M/G]); the bytes saved buy more codebooks in
 *     the same size ({@link #widthFor})
 * @param l2sp L of the L2-SP penalty of the soft-key fine-tuning ({@link #layerL2sp}): + L·Σ (p −
 *     p_fp32)² over the trained rows of the Gemm before the tables and the Gemms after them; {@link
 *     #AUTO_L2SP} = {@link #DEFAULT_L2SP} where the layer's tables are folded, else 0
 */
public record LutOptions(
    int width,
    Encoder encoder,
    List<String> layers,
    long seed,
    double lambda,
    int kmeansIterations,
    int samples,
    TreeFit treeFit,
    boolean storeCentroids,
    int shiftRadiusPx,
    boolean refitNext,
    int tableBits,
    int groups,
    boolean prune,
    int depth,
    Fold fold,
    double l2sp) {
  /** The default shift radius of the calibration images, {@link #shiftRadiusPx}. */
  public static final int DEFAULT_SHIFT_RADIUS_PX = 1;

  /** The default sub-vector width: 0, chosen per layer for {@link #AUTO_RATIO}. */
  public static final int DEFAULT_WIDTH = 0;

  /** The size ratio vs fp32 that width 0 ("auto") reaches for every replaced layer. */
  public static final double AUTO_RATIO = 10.0;

  /** {@code --lut-fold}: whether a layer's tables drop each codebook's key-0 row. */
  public enum Fold {
    /**
     * On where the layer's trees are shallower than {@link #FULL_DEPTH} (where a row is a larger
     * share of a codebook's bytes), off at depth 4, so the default depth-4 bundles stay as they
     * were.
     */
    AUTO,
    ON,
    OFF;

    /** {@code --lut-fold}: auto, on or off. */
    public static Fold parse(String name) {
      for (Fold f : values()) {
        if (f.name().equalsIgnoreCase(name.trim())) {
          return f;
        }
      }
      throw new IllegalArgumentException(
          "--lut-fold '"
              + name
              + "' (accepted: auto, on, off: key-0 table rows folded into the bias)");
    }

    public String label() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /** The default {@link #fold}. */
  public static final Fold DEFAULT_FOLD = Fold.AUTO;

  /** {@link #l2sp} "choose by layer": see {@link #layerL2sp}. */
  public static final double AUTO_L2SP = -1.0;

  /**
   * The L {@link #AUTO_L2SP} gives a folded soft-key layer: PyTorch prototype (lut_budget_prototype
   * --l2sp 0.0003, depth 2, folded, G = 4 × 44): seed 1 98.54% / 98.85% agreement vs 98.61% /
   * 98.71% without, seed 2 98.83% / 99.08% vs 98.53% / 98.61%.
   */
  public static final double DEFAULT_L2SP = 0.0003;

  /** The encoders of {@code --lut-encoder}. */
  public enum Encoder {
    /** Depth-4 threshold tree, no multiplications (MADDNESS). */
    TREE,
    /** Exact nearest of 16 centroids (product quantization). */
    CENTROID;

    public static Encoder parse(String name) {
      for (Encoder e : values()) {
        if (e.name().equalsIgnoreCase(name)) {
          return e;
        }
      }
      throw new IllegalArgumentException("lut-encoder='" + name + "' (accepted: tree, centroid)");
    }

    public String label() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /** What the tree encoder's splits minimise, summed over the children of a level. */
  public enum TreeFit {
    /**
     * The squared error of each row's k-means centroid: the tree reproduces the nearest-centroid
     * assignment.
     */
    CENTROID,
    /**
     * The squared error of each row's partial output x_c·W_cᵀ (the sub-space's contribution to the
     * layer): the buckets are what the tables must tell apart. Measured better end to end (MNIST
     * CNN at 10×: 80.2% vs 76.6%; MLP 68.5% vs 61.8%) at a slightly lower key hit rate.
     */
    OUTPUT;

    public static TreeFit parse(String name) {
      for (TreeFit f : values()) {
        if (f.name().equalsIgnoreCase(name)) {
          return f;
        }
      }
      throw new IllegalArgumentException(
          "lut-tree-fit='" + name + "' (accepted: centroid, output)");
    }
  }

  /**
   * The default bits of a table entry, {@link #tableBits}: 4, since at the same bytes it gives
   * twice the codebooks, which is what accuracy at 10× needs (MNIST CNN 98.93% vs 98.58% at int8).
   */
  public static final int DEFAULT_TABLE_BITS = 4;

  /** {@link #groups} 0: chosen per layer by {@link #groupsFor}. */
  public static final int AUTO_GROUPS = 0;

  /**
   * The default {@link #groups}: {@link #AUTO_GROUPS}, i.e. grouped tables where the layer has few
   * codebooks (MNIST MLP: 98.04% vs 97.44% ungrouped at 10×, README "Grouped tables"), ungrouped
   * elsewhere (MNIST CNN unchanged).
   */
  public static final int DEFAULT_GROUPS = AUTO_GROUPS;

  /** The groups {@link #AUTO_GROUPS} gives a layer with few codebooks. */
  public static final int AUTO_GROUP_COUNT = 4;

  /** Ungrouped codebooks below which {@link #AUTO_GROUPS} groups a layer's tables. */
  public static final int AUTO_GROUPS_BELOW_CODEBOOKS = 16;

  /** {@link #depth} 0: chosen per layer ({@link LutCompressor#layerOptions}). */
  public static final int AUTO_DEPTH = 0;

  /** The depth a layer gets where {@link #AUTO_DEPTH} picks nothing else: 16 keys. */
  public static final int FULL_DEPTH = 4;

  /** The default {@link #depth}. */
  public static final int DEFAULT_DEPTH = AUTO_DEPTH;

  public LutOptions {
    layers = List.copyOf(layers);
    java.util.Objects.requireNonNull(fold, "fold");
    if (!(l2sp == AUTO_L2SP || (l2sp >= 0 && l2sp <= MAX_L2SP))) {
      throw new IllegalArgumentException(
          "lut-l2sp=" + l2sp + " (accepted: auto, or a number in [0, " + MAX_L2SP + "])");
    }
    if (depth != AUTO_DEPTH && (depth < 2 || depth > FULL_DEPTH)) {
      throw new IllegalArgumentException(
          "lut-depth=" + depth + " (accepted: auto, 2, 3, 4: 4, 8 or 16 keys per codebook)");
    }
    if (groups < 0 || groups > 64) {
      throw new IllegalArgumentException("lut-groups=" + groups + " (accepted: 0 = auto, 1..64)");
    }
    if (tableBits != 8 && tableBits != 4) {
      throw new IllegalArgumentException("lut-table-bits=" + tableBits + " (accepted: 8, 4)");
    }
    if (width < 0
        || width > 4096
        || !(lambda >= 0)
        || kmeansIterations <= 0
        || samples <= 0
        || shiftRadiusPx < 0
        || shiftRadiusPx > 4) {
      throw new IllegalArgumentException(
          "lut-width="
              + width
              + " lambda="
              + lambda
              + " kmeansIterations="
              + kmeansIterations
              + " samples="
              + samples
              + " lut-shift="
              + shiftRadiusPx
              + " (lut-shift 0..4, width 1..4096, lambda >= 0, iterations and samples > 0)");
    }
  }

  /** The tree depth this layer is built with: {@link #depth}, or {@link #FULL_DEPTH} for auto. */
  public int layerDepth() {
    return depth == AUTO_DEPTH ? FULL_DEPTH : depth;
  }

  /**
   * Whether this layer's tables are folded: {@link Fold#ON}, or {@link Fold#AUTO} at a {@link
   * #layerDepth} below {@link #FULL_DEPTH}.
   */
  public boolean layerFold() {
    return fold == Fold.ON || (fold == Fold.AUTO && layerDepth() < FULL_DEPTH);
  }

  /**
   * The L2-SP weight L of this layer's fine-tuning ({@link SoftKeyFineTune} and the fixed-key
   * epochs after it): 0 where the soft keys do not run ({@code softKeys} false); {@link #l2sp} as
   * set; for {@link #AUTO_L2SP} {@link #DEFAULT_L2SP} where the tables are folded ({@link
   * #layerFold}: depth below 4 by default), else 0 — so the default depth-4 bundles (e.g. the MNIST
   * CNN's, no soft keys anyway) stay as they were.
   */
  public double layerL2sp(boolean softKeys) {
    if (!softKeys) {
      return 0;
    }
    if (l2sp != AUTO_L2SP) {
      return l2sp;
    }
    return layerFold() ? DEFAULT_L2SP : 0;
  }

  /** The largest {@link #l2sp} accepted: far above any useful value (0.03 already hurts). */
  public static final double MAX_L2SP = 1.0;

  /** Keys per codebook, K = 2^{@link #layerDepth}. */
  public int keys() {
    return 1 << layerDepth();
  }

  /**
   * The width for a layer of {@code d} inputs and {@code m} outputs: {@link #width} if set, else
   * the smallest whose {@link LutLayerBuilder#lookupBytes} is at most the fp32 bytes / {@link
   * #AUTO_RATIO}.
   */
  public int widthFor(int d, int m) {
    return widthFor(d, m, 1);
  }

  /**
   * As {@link #widthFor(int, int)} for tables in {@code groups} groups ({@link #groupsFor}): G
   * groups of ceil(D/w) codebooks, rows of M/G entries.
   */
  public int widthFor(int d, int m, int groups) {
    if (width > 0) {
      return width;
    }
    long fp32Bytes = 4L * ((long) m * d + m);
    for (int w = 1; w < d; w++) {
      int codebooks = groups * ((d + w - 1) / w);
      if (LutLayerBuilder.lookupBytes(
                  codebooks, m, w, encoder, tableBits, groups, layerDepth(), layerFold())
              * AUTO_RATIO
          <= fp32Bytes) {
        return w;
      }
    }
    return d;
  }

  /**
   * The groups a Gemm/MatMul layer of {@code d} inputs and {@code m} outputs gets, tree encoder
   * only (else 1; a k×k Conv as tables always gets 1): {@link #groups} when it divides m; with
   * {@link #AUTO_GROUPS} ({@code --lut-groups 0}) and the width auto, {@value #AUTO_GROUP_COUNT}
   * when the ungrouped tables would have fewer than {@value #AUTO_GROUPS_BELOW_CODEBOOKS} codebooks
   * (MNIST MLP 256→128: 11) and m divides, else 1 (MNIST CNN 800→120: 35 codebooks, ungrouped);
   * {@link LutCompressor} further keeps auto groups to layers that read Relu(Gemm). "Few" is judged
   * at 16 keys (depth 4) unfolded, the geometry the rule was measured in: a shallower tree's (or a
   * folded) layer holds more codebooks in the same bytes but is the same layer.
   */
  public int groupsFor(int d, int m) {
    if (encoder != Encoder.TREE) {
      return 1;
    }
    if (groups == AUTO_GROUPS) {
      if (width > 0) {
        return 1; // a width asked for: the ungrouped layout it was measured with
      }
      int w = withDepth(FULL_DEPTH).withFold(Fold.OFF).widthFor(d, m, 1);
      boolean few = (d + w - 1) / w < AUTO_GROUPS_BELOW_CODEBOOKS;
      return few && m % AUTO_GROUP_COUNT == 0 ? AUTO_GROUP_COUNT : 1;
    }
    return m % groups == 0 ? groups : 1;
  }

  /** Defaults: w = {@value #DEFAULT_WIDTH}, tree encoder, middle layers, seed 1. */
  public static LutOptions defaults() {
    return new LutOptions(
        DEFAULT_WIDTH,
        Encoder.TREE,
        List.of(),
        1,
        1.0,
        25,
        1000,
        TreeFit.OUTPUT,
        true,
        DEFAULT_SHIFT_RADIUS_PX,
        true,
        DEFAULT_TABLE_BITS,
        DEFAULT_GROUPS,
        true,
        DEFAULT_DEPTH,
        DEFAULT_FOLD,
        AUTO_L2SP);
  }

  public LutOptions withWidth(int w) {
    return with(c -> c.width = w);
  }

  public LutOptions withEncoder(Encoder e) {
    return with(c -> c.encoder = e);
  }

  public LutOptions withSeed(long s) {
    return with(c -> c.seed = s);
  }

  public LutOptions withLayers(List<String> names) {
    return with(c -> c.layers = names);
  }

  public LutOptions withLambda(double l) {
    return with(c -> c.lambda = l);
  }

  public LutOptions withSamples(int n) {
    return with(c -> c.samples = n);
  }

  public LutOptions withTreeFit(TreeFit fit) {
    return with(c -> c.treeFit = fit);
  }

  public LutOptions withStoreCentroids(boolean store) {
    return with(c -> c.storeCentroids = store);
  }

  public LutOptions withShiftRadiusPx(int r) {
    return with(c -> c.shiftRadiusPx = r);
  }

  public LutOptions withRefitNext(boolean refit) {
    return with(c -> c.refitNext = refit);
  }

  public LutOptions withTableBits(int bits) {
    return with(c -> c.tableBits = bits);
  }

  public LutOptions withGroups(int g) {
    return with(c -> c.groups = g);
  }

  public LutOptions withPrune(boolean p) {
    return with(c -> c.prune = p);
  }

  public LutOptions withDepth(int l) {
    return with(c -> c.depth = l);
  }

  public LutOptions withFold(Fold f) {
    return with(c -> c.fold = f);
  }

  public LutOptions withL2sp(double l) {
    return with(c -> c.l2sp = l);
  }

  /** {@code --lut-l2sp}: auto, or a number L in [0, {@value #MAX_L2SP}]. */
  public static double parseL2sp(String value) {
    String v = value.trim();
    if (v.equalsIgnoreCase("auto")) {
      return AUTO_L2SP;
    }
    try {
      double l = Double.parseDouble(v);
      if (l >= 0 && l <= MAX_L2SP) {
        return l;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new IllegalArgumentException(
        "--lut-l2sp '"
            + value
            + "' (accepted: auto, or a number in [0, "
            + MAX_L2SP
            + "]: the L2-SP weight L of the soft-key fine-tuning)");
  }

  /** {@code --lut-depth}: auto, 2, 3 or 4. */
  public static int parseDepth(String value) {
    if (value.equalsIgnoreCase("auto")) {
      return AUTO_DEPTH;
    }
    try {
      int l = Integer.parseInt(value.trim());
      if (l >= 2 && l <= FULL_DEPTH) {
        return l;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new IllegalArgumentException(
        "--lut-depth '" + value + "' (accepted: auto, 2, 3, 4: trees of 4, 8 or 16 keys)");
  }

  /** These options with {@code change} applied to a copy: one place that lists every field. */
  private LutOptions with(Consumer<Copy> change) {
    Copy c = new Copy(this);
    change.accept(c);
    return new LutOptions(
        c.width,
        c.encoder,
        c.layers,
        c.seed,
        c.lambda,
        c.kmeansIterations,
        c.samples,
        c.treeFit,
        c.storeCentroids,
        c.shiftRadiusPx,
        c.refitNext,
        c.tableBits,
        c.groups,
        c.prune,
        c.depth,
        c.fold,
        c.l2sp);
  }

  /** A mutable copy of every field, for {@link #with}. */
  private static final class Copy {
    int width;
    Encoder encoder;
    List<String> layers;
    long seed;
    double lambda;
    int kmeansIterations;
    int samples;
    TreeFit treeFit;
    boolean storeCentroids;
    int shiftRadiusPx;
    boolean refitNext;
    int tableBits;
    int groups;
    boolean prune;
    int depth;
    Fold fold;
    double l2sp;

    Copy(LutOptions o) {
      width = o.width;
      encoder = o.encoder;
      layers = o.layers;
      seed = o.seed;
      lambda = o.lambda;
      kmeansIterations = o.kmeansIterations;
      samples = o.samples;
      treeFit = o.treeFit;
      storeCentroids = o.storeCentroids;
      shiftRadiusPx = o.shiftRadiusPx;
      refitNext = o.refitNext;
      tableBits = o.tableBits;
      groups = o.groups;
      prune = o.prune;
      depth = o.depth;
      fold = o.fold;
      l2sp = o.l2sp;
    }
  }
}
