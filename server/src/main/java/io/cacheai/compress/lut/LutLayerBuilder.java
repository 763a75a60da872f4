package io.cacheai.compress.lut;

import io.cacheai.compress.GraphQuantizer;
import io.cacheai.graph.Attributes;
import io.cacheai.graph.Node;
import io.cacheai.graph.OpType;
import io.cacheai.graph.PackedTensor;
import io.cacheai.runtime.LookupKernels;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Turns one Gemm/MatMul layer into a {@code LookupGemm} node and its stored tensors, from the
 * layer's input activations X (as the already-compressed layers before it produce them) and the
 * targets Y (the exact fp32 model's output of this layer on the same samples, so that the fit also
 * corrects errors made upstream):
 *
 * <ol>
 *   <li>X rows zero-padded to C·w; per sub-space c, K k-means centroids (seed mixed with c; K = 2^L
 *       keys, 16 by default, {@link LutOptions#depth});
 *   <li>tree encoder: a depth-L tree ({@link TreeEncoderFit}) fitted either to the centroid
 *       assignment ({@link LutOptions.TreeFit#CENTROID}) or, the default, so that its buckets keep
 *       together rows of similar partial output x_c·W_cᵀ — what the table entry of a bucket must
 *       stand for ({@link LutOptions.TreeFit#OUTPUT}); its stored centroids become the means of the
 *       calibration points in each of its K buckets, so that key k means the same prototype to both
 *       encoders; centroid encoder: the k-means centroids;
 *   <li>keys of the calibration rows exactly as the runtime computes them; ridge refit of the
 *       tables against Y − mean(Y) ({@link TableRefit}), bias = mean(Y);
 *   <li>tables quantized to int8 per output column (scale = max |T[·][·][m]| / 127) or, with {@link
 *       LutOptions#tableBits} 4, to signed 4-bit ({@link TableQuantizer}), then the bias corrected
 *       by the mean error the rounding left on the calibration rows; with {@link
 *       LutOptions#layerFold} the float tables are first folded ({@link KeyZeroFold}: each
 *       codebook's key-0 row into the bias, so it is 0 and not stored) and 4-bit entries are
 *       symmetric ({@link TableQuantizer#quantize4Folded}).
 * </ol>
 */
public final class LutLayerBuilder {
  private LutLayerBuilder() {}

  /** The built layer: its node, the tensors the node names, and its report on the fit data. */
  public record Built(Node node, Map<String, PackedTensor> tensors, LutLayerReport report) {}

  /**
   * @param x n·D layer inputs
   * @param y n·M targets
   * @param base prefix of the stored tensors' names (unique in the bundle)
   */
  public static Built build(
      GraphQuantizer.Layer layer, float[] x, float[] y, int n, LutOptions options, String base) {
    int m = layer.rows();
    int d = layer.rowLength();
    int groups = options.groupsFor(d, m);
    int w = options.widthFor(d, m, groups);
    int perGroup = (d + w - 1) / w; // codebooks of one group, over the whole row
    int codebooks = groups * perGroup;
    int mg = m / groups; // outputs of one group
    if (x.length != (long) n * d || y.length != (long) n * m) {
      throw new IllegalArgumentException(
          layer.node().describe()
              + ": "
              + x.length
              + " inputs / "
              + y.length
              + " targets for n="
              + n);
    }
    int depth = options.layerDepth(); // L
    int keyCount = options.keys(); // K = 2^L
    int nodes = keyCount - 1; // inner nodes of a tree
    float[] centroids = new float[codebooks * keyCount * w];
    int[] splitDims = new int[codebooks * depth];
    float[] thresholds = new float[codebooks * nodes];
    byte[] keys = new byte[n * codebooks];
    long hits = 0;
    float[] sub = new float[n * w];
    for (int c = 0; c < codebooks; c++) {
      int part = c % perGroup; // the sub-vector codebook c reads
      int group = c / perGroup; // the outputs it writes: group·M/G .. (group+1)·M/G − 1
      for (int i = 0; i < n; i++) {
        for (int j = 0; j < w; j++) {
          int col = part * w + j;
          sub[i * w + j] = col < d ? x[i * d + col] : 0f;
        }
      }
      long seed = options.seed() * 0x9E3779B97F4A7C15L + c;
      // k-means only where it is used: the centroid encoder and the centroid-reproducing tree
      boolean needKmeans =
          options.encoder() == LutOptions.Encoder.CENTROID
              || options.treeFit() == LutOptions.TreeFit.CENTROID;
      float[] kmeans =
          needKmeans ? KMeans.fit(sub, n, w, keyCount, seed, options.kmeansIterations()) : null;
      float[] cb;
      if (options.encoder() == LutOptions.Encoder.TREE) {
        float[] assigned = new float[n * w];
        for (int i = 0; kmeans != null && i < n; i++) {
          int k = KMeans.nearestCentroid(sub, i * w, kmeans, keyCount, w);
          System.arraycopy(kmeans, k * w, assigned, i * w, w);
        }
        boolean output = options.treeFit() == LutOptions.TreeFit.OUTPUT;
        float[] targets = assigned;
        if (output) {
          // the partial output of the codebook's own group: groups see the same sub-vector
          // through different outputs, so their trees split it differently
          targets = new float[n * mg];
          float[] wt = layer.weight();
          for (int i = 0; i < n; i++) {
            for (int o = 0; o < mg; o++) {
              double acc = 0;
              for (int j = 0; j < w; j++) {
                int col = part * w + j;
                if (col < d) {
                  acc += (double) wt[(group * mg + o) * d + col] * sub[i * w + j];
                }
              }
              targets[i * mg + o] = (float) acc;
            }
          }
        }
        // a group's tree avoids the dimensions the earlier groups' trees read in this sub-vector
        boolean[] taken = new boolean[w];
        for (int earlier = part; earlier < c; earlier += perGroup) {
          for (int l = 0; l < depth; l++) {
            taken[splitDims[earlier * depth + l]] = true;
          }
        }
        TreeEncoderFit.Tree tree =
            TreeEncoderFit.fit(sub, targets, n, w, output ? mg : w, taken, depth);
        System.arraycopy(tree.splitDims(), 0, splitDims, c * depth, depth);
        System.arraycopy(tree.thresholds(), 0, thresholds, c * nodes, nodes);
        for (int i = 0; i < n; i++) {
          keys[i * codebooks + c] = (byte) tree.key(sub, i * w);
        }
        cb = bucketMeans(sub, keys, c, codebooks, n, w, keyCount);
        for (int i = 0; i < n; i++) {
          hits +=
              KMeans.nearestCentroid(sub, i * w, cb, keyCount, w) == keys[i * codebooks + c]
                  ? 1
                  : 0;
        }
      } else {
        cb = kmeans;
        for (int i = 0; i < n; i++) {
          keys[i * codebooks + c] = (byte) KMeans.nearestCentroid(sub, i * w, cb, keyCount, w);
        }
        hits += n;
      }
      System.arraycopy(cb, 0, centroids, c * keyCount * w, keyCount * w);
    }

    double[] mean = new double[m];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < m; j++) {
        mean[j] += y[i * m + j];
      }
    }
    float[] centered = new float[n * m];
    for (int j = 0; j < m; j++) {
      mean[j] /= n;
    }
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < m; j++) {
        centered[i * m + j] = (float) (y[i * m + j] - mean[j]);
      }
    }
    double lambda = options.lambda() * n / keyCount;
    float[] scale = new float[m];
    boolean fold = options.layerFold();
    double[] folded = new double[m]; // Σ_c T[c][0][j] taken out of the tables (0 unfolded)
    byte[] entries =
        fitGroups(
            keys,
            n,
            codebooks,
            groups,
            centered,
            m,
            lambda,
            options.tableBits(),
            scale,
            keyCount,
            fold ? folded : null);
    // bias: mean(Y) + the folded key-0 rows, corrected by the mean rounding error on the
    // calibration rows (at 4 bits unfolded this also absorbs each codebook's column offset and
    // the half steps TableQuantizer takes out)
    float[] bias = new float[m];
    double[] error = new double[m];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < m; j++) {
        int group = j / mg;
        int acc = 0;
        for (int c = group * perGroup; c < (group + 1) * perGroup; c++) {
          acc += entries[(c * keyCount + keys[i * codebooks + c]) * mg + j - group * mg];
        }
        error[j] += centered[i * m + j] - folded[j] - (double) scale[j] * acc;
      }
    }
    for (int j = 0; j < m; j++) {
      bias[j] = (float) (mean[j] + folded[j] + error[j] / n);
    }

    boolean tree = options.encoder() == LutOptions.Encoder.TREE;
    boolean keepCentroids = !tree || options.storeCentroids();
    Map<String, PackedTensor> tensors = new LinkedHashMap<>();
    Map<String, Object> attributes = new TreeMap<>();
    attributes.put("weight_shape", new long[] {m, d});
    attributes.put("width", (long) w);
    if (groups > 1) {
      attributes.put("groups", (long) groups);
    }
    if (keyCount != LookupKernels.KEYS) { // absent: 16 keys, the layout bundles always had
      attributes.put("keys", (long) keyCount);
    }
    if (fold) { // absent: 0, every bundle before folding
      attributes.put("fold_key0", 1L);
    }
    attributes.put("encoder", options.encoder().label());
    put(
        tensors,
        attributes,
        "tables",
        base + (options.tableBits() == 4 ? ".lut16x4" : ".lut16"),
        pack(entries, codebooks, mg, keyCount, options.tableBits(), fold));
    put(tensors, attributes, "scale", base + ".lut.scale", f32(new long[] {m}, scale));
    put(tensors, attributes, "bias", base + ".lut.bias", f32(new long[] {m}, bias));
    if (tree) {
      put(
          tensors,
          attributes,
          "split_dims",
          base + ".lut.split_dims",
          s32(new long[] {codebooks, depth}, splitDims));
      put(
          tensors,
          attributes,
          "thresholds",
          base + ".lut.thresholds",
          f32(new long[] {codebooks, nodes}, thresholds));
    }
    if (keepCentroids) {
      put(
          tensors,
          attributes,
          "centroids",
          base + ".lut.centroids",
          f32(new long[] {codebooks, keyCount, w}, centroids));
    }
    Node node =
        new Node(
            OpType.LOOKUP_GEMM,
            layer.node().name(),
            List.of(layer.input()),
            layer.node().outputs(),
            new Attributes(attributes));

    long fp32Bytes = 4L * ((long) m * d + m);
    long centroidBytes = 4L * codebooks * keyCount * w;
    long lookupBytes =
        lookupBytes(codebooks, m, w, options.encoder(), options.tableBits(), groups, depth, fold);
    LutLayerReport report =
        new LutLayerReport(
            layer.node().name(),
            d,
            m,
            w,
            codebooks,
            keyCount,
            fold,
            fp32Bytes,
            lookupBytes,
            tree && keepCentroids ? centroidBytes : 0,
            100.0 * hits / ((long) n * codebooks),
            Double.NaN);
    return new Built(node, tensors, report);
  }

  /**
   * The stored tables tensor of {@code entries} [C·K·mg]: {@code lut16x4} (4 bits) or {@code
   * lut16}, [C,K,mg], or folded [C,K−1,mg] without the key-0 rows.
   */
  static PackedTensor pack(
      byte[] entries, int codebooks, int mg, int keyCount, int tableBits, boolean fold) {
    if (fold) {
      return tableBits == 4
          ? TableQuantizer.packS4Folded(entries, codebooks, mg, keyCount)
          : TableQuantizer.packS8Folded(entries, codebooks, mg, keyCount);
    }
    return tableBits == 4
        ? TableQuantizer.packS4(entries, codebooks, mg, keyCount)
        : TableQuantizer.packS8(entries, codebooks, mg, keyCount);
  }

  static byte[] fitGroups(
      byte[] keys,
      int n,
      int codebooks,
      int groups,
      float[] centered,
      int m,
      double lambda,
      int tableBits,
      float[] scale,
      int keyCount) {
    return fitGroups(
        keys, n, codebooks, groups, centered, m, lambda, tableBits, scale, keyCount, null);
  }

  /**
   * Ridge refit and quantization of grouped tables: per group g, its C/G codebooks' keys fitted to
   * its M/G columns of {@code centered} ({@link TableRefit}), quantized per column ({@link
   * TableQuantizer}, {@code tableBits} 8 or 4). Returns the entries [C·K][M/G] (group g's codebooks
   * are rows g·(C/G)·K onwards, as stored) and fills {@code scale} [M]. With {@code folded} [M]
   * non-null the float tables are folded first ({@link KeyZeroFold}: key-0 rows 0, the entries'
   * too) and the key-0 rows' sum per column is added to {@code folded}.
   */
  static byte[] fitGroups(
      byte[] keys,
      int n,
      int codebooks,
      int groups,
      float[] centered,
      int m,
      double lambda,
      int tableBits,
      float[] scale,
      int keyCount,
      double[] folded) {
    int perGroup = codebooks / groups;
    int mg = m / groups;
    double[][] tables = new double[codebooks * keyCount][];
    for (int g = 0; g < groups; g++) {
      byte[] groupKeys = keys;
      float[] groupTargets = centered;
      if (groups > 1) {
        groupKeys = new byte[n * perGroup];
        groupTargets = new float[n * mg];
        for (int i = 0; i < n; i++) {
          System.arraycopy(keys, i * codebooks + g * perGroup, groupKeys, i * perGroup, perGroup);
          System.arraycopy(centered, i * m + g * mg, groupTargets, i * mg, mg);
        }
      }
      double[][] fitted =
          TableRefit.solve(groupKeys, n, perGroup, groupTargets, mg, lambda, keyCount);
      if (folded != null) {
        KeyZeroFold.fold(fitted, perGroup, keyCount, folded, g * mg);
      }
      System.arraycopy(fitted, 0, tables, g * perGroup * keyCount, fitted.length);
    }
    return quantizeGroups(
        tables, codebooks, groups, mg, tableBits, scale, keyCount, folded != null);
  }

  /**
   * Quantizes float tables [C·K][M/G] ({@code keyCount} K keys per codebook) group by group, each
   * group's columns on their own scale; fills {@code scale} [M] and returns the entries in the same
   * layout.
   */
  static byte[] quantizeGroups(
      double[][] tables,
      int codebooks,
      int groups,
      int mg,
      int tableBits,
      float[] scale,
      int keyCount) {
    return quantizeGroups(tables, codebooks, groups, mg, tableBits, scale, keyCount, false);
  }

  /**
   * As above; {@code fold}: the tables are folded (key-0 rows 0), quantized so those stay 0 ({@link
   * TableQuantizer#quantize4Folded} at 4 bits, int8 symmetric as always).
   */
  static byte[] quantizeGroups(
      double[][] tables,
      int codebooks,
      int groups,
      int mg,
      int tableBits,
      float[] scale,
      int keyCount,
      boolean fold) {
    int perGroup = codebooks / groups;
    int rows = perGroup * keyCount;
    byte[] entries = new byte[codebooks * keyCount * mg];
    for (int g = 0; g < groups; g++) {
      double[][] part = java.util.Arrays.copyOfRange(tables, g * rows, (g + 1) * rows);
      float[] partScale = new float[mg];
      byte[] q =
          tableBits != 4
              ? TableQuantizer.quantize8(part, mg, partScale)
              : fold
                  ? TableQuantizer.quantize4Folded(part, mg, partScale)
                  : TableQuantizer.quantize4(part, perGroup, mg, partScale, keyCount);
      System.arraycopy(q, 0, entries, g * rows * mg, q.length);
      System.arraycopy(partScale, 0, scale, g * mg, mg);
    }
    return entries;
  }

  /**
   * What a layer needs to run (16 keys): tables C·16·M int8 + scale and bias 8·M + the tree (4·C·4
   * + 4·C·15) or, for the centroid encoder, the centroids 4·C·16·w.
   */
  public static long lookupBytes(int codebooks, int m, int w, LutOptions.Encoder encoder) {
    return lookupBytes(codebooks, m, w, encoder, 8);
  }

  /** As above with tables of {@code tableBits} 8 (C·16·M bytes) or 4 (C·16·ceil(M/2) bytes). */
  public static long lookupBytes(
      int codebooks, int m, int w, LutOptions.Encoder encoder, int tableBits) {
    return lookupBytes(codebooks, m, w, encoder, tableBits, 1);
  }

  /**
   * As above for grouped tables: {@code codebooks} C in all (G groups of C/G), each table row M/G
   * entries; scale, bias and the trees as before.
   */
  public static long lookupBytes(
      int codebooks, int m, int w, LutOptions.Encoder encoder, int tableBits, int groups) {
    return lookupBytes(codebooks, m, w, encoder, tableBits, groups, LookupKernels.DEPTH);
  }

  /**
   * As above with trees of {@code depth} L, K = 2^L keys: tables C·K·rowBytes + scale and bias 8·M
   * + the trees 4·C·(L + K − 1) (split dims, thresholds) or the centroids 4·C·K·w.
   */
  public static long lookupBytes(
      int codebooks,
      int m,
      int w,
      LutOptions.Encoder encoder,
      int tableBits,
      int groups,
      int depth) {
    return lookupBytes(codebooks, m, w, encoder, tableBits, groups, depth, false);
  }

  /**
   * As above; {@code fold}: key 0's row of each codebook is not stored ({@link KeyZeroFold}), so
   * the tables are C·(K − 1)·rowBytes: C·(K − fold)·rowBytes + 8·M + 4·C·(L + K − 1) for the tree.
   */
  public static long lookupBytes(
      int codebooks,
      int m,
      int w,
      LutOptions.Encoder encoder,
      int tableBits,
      int groups,
      int depth,
      boolean fold) {
    long keyCount = 1L << depth;
    long mg = m / groups;
    long rowBytes = tableBits == 4 ? (mg + 1L) / 2 : mg;
    return codebooks * (keyCount - (fold ? 1 : 0)) * rowBytes
        + 8L * m
        + (encoder == LutOptions.Encoder.TREE
            ? 4L * codebooks * (depth + keyCount - 1)
            : 4L * codebooks * keyCount * w);
  }

  /**
   * Means of the points in each of the K = {@code keyCount} buckets of codebook c; an empty bucket
   * gets the mean of all.
   */
  static float[] bucketMeans(
      float[] sub, byte[] keys, int c, int codebooks, int n, int w, int keyCount) {
    double[] sums = new double[keyCount * w];
    double[] all = new double[w];
    int[] counts = new int[keyCount];
    for (int i = 0; i < n; i++) {
      int k = keys[i * codebooks + c];
      counts[k]++;
      for (int j = 0; j < w; j++) {
        sums[k * w + j] += sub[i * w + j];
        all[j] += sub[i * w + j];
      }
    }
    float[] means = new float[keyCount * w];
    for (int k = 0; k < keyCount; k++) {
      for (int j = 0; j < w; j++) {
        means[k * w + j] =
            (float) (counts[k] > 0 ? sums[k * w + j] / counts[k] : all[j] / Math.max(1, n));
      }
    }
    return means;
  }

  private static void put(
      Map<String, PackedTensor> tensors,
      Map<String, Object> attributes,
      String key,
      String name,
      PackedTensor tensor) {
    tensors.put(name, tensor);
    attributes.put(key, name);
  }

  static PackedTensor f32(long[] shape, float[] values) {
    ByteBuffer data = ByteBuffer.allocateDirect(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
    data.asFloatBuffer().put(values);
    return new PackedTensor(PackedTensor.Format.F32, shape, data, new float[0], 0);
  }

  static PackedTensor s32(long[] shape, int[] values) {
    ByteBuffer data = ByteBuffer.allocateDirect(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
    data.asIntBuffer().put(values);
    return new PackedTensor(PackedTensor.Format.S32, shape, data, new float[0], 0);
  }
}
