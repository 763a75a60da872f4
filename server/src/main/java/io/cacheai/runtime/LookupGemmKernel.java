package io.cacheai.runtime;

import io.cacheai.graph.PackedTensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;

/**
 * {@code LookupGemm}: y [N,M] from x [N,D] by table lookups instead of multiplications (semantics
 * in {@link LookupKernels}). Each row is zero-padded to C·w when D is not a multiple of w (a copy
 * into the frame), encoded to C keys of one byte (tree or nearest centroid) into the frame's direct
 * bytes, then the tables — int8 ({@code lut16}) or 4-bit ({@code lut16x4}, two entries a byte), as
 * the stored tensor's layout says, read in place from the mapped bundle — are gathered and summed
 * per output. K keys per codebook (the node's {@code keys}: 4, 8 or 16, a tree of depth log2 K), so
 * a table holds K rows per codebook. The kernel keeps only views of the stored tensors. With a tree
 * encoder and stored centroids it also feeds the layer's live {@link KeyHitCounter} on sampled
 * runs.
 *
 * <p>Grouped tables ({@code groups} G &gt; 1): the M outputs are cut into G groups of M/G, each
 * with its own ceil(D/w) codebooks over the whole input row, so a table row holds M/G entries and G
 * times more keys fit in the same bytes (each output reads ceil(D/w) keys, the next layer sees G
 * different views of the row). Codebook c belongs to group c / C_g and reads sub-vector c mod C_g;
 * the row is therefore laid out G times in the frame (one copy per group), so the unchanged encode
 * kernel reads it as C = G·C_g sub-vectors, and the gather-accumulate runs per group on slices:
 *
 * <pre>
 *   x (D) ─pad─► [ x_pad | x_pad | … ]   G copies of C_g·w floats
 *   keys [rows][C]:  [ group 0: C_g keys | group 1: C_g keys | … ]
 *   tables [C,K,M/G]: codebooks of group g are rows g·C_g·K .. (g+1)·C_g·K − 1
 *   out[r·M + g·M/G + j] = bias[g·M/G + j] + scale[g·M/G + j] · Σ_{c in g} T[c][key_c][j]
 * </pre>
 *
 * <p>Key 0 folded ({@code fold_key0} = 1): every codebook's key-0 row is zero and not stored, so
 * the tables hold K' = K−1 rows per codebook, [C,K−1,M/G], key k ≥ 1 reads stored row c·(K−1) + k −
 * 1 and key 0 adds nothing ({@link LookupKernels#accumulateFolded}); a group's slice is then
 * C_g·(K−1) rows long.
 */
final class LookupGemmKernel implements Kernel {
  private final int in;
  private final int out;
  private final int rows;
  private final int d;
  private final int m;
  private final int codebooks;
  private final int groups;
  private final int width;
  private final int keysPerCodebook;
  private final int depth;
  private final boolean foldKey0;
  private final boolean tree;
  private final boolean s4Tables;
  private final ByteBuffer tables;
  private final FloatBuffer scale;
  private final FloatBuffer bias;
  private final IntBuffer splitDims;
  private final FloatBuffer thresholds;
  private final FloatBuffer centroids;
  private final LookupKernels kernels;
  private final KeyHitCounter hitCounter;
  // grouped tables: per group its views of tables, scale and bias (made once, not per run)
  private final ByteBuffer[] groupTables;
  private final FloatBuffer[] groupScale;
  private final FloatBuffer[] groupBias;

  /** The tensors of one node, already checked against each other by the factory. */
  record Tables(
      PackedTensor tables,
      PackedTensor scale,
      PackedTensor bias,
      PackedTensor splitDims,
      PackedTensor thresholds,
      PackedTensor centroids) {}

  LookupGemmKernel(
      int in,
      int out,
      long[] inShape,
      int width,
      int groups,
      int keysPerCodebook,
      boolean foldKey0,
      boolean tree,
      Tables stored,
      LookupKernels kernels,
      KeyHitCounter hitCounter) {
    long[] tableShape = stored.tables().shape();
    this.in = in;
    this.out = out;
    this.rows = Math.toIntExact(inShape[0]);
    this.d = Math.toIntExact(inShape[1]);
    this.codebooks = Math.toIntExact(tableShape[0]);
    this.m = Math.toIntExact(tableShape[2]) * groups;
    this.groups = groups;
    this.width = width;
    this.keysPerCodebook = keysPerCodebook;
    this.depth = LookupKernels.depthOf(keysPerCodebook);
    this.foldKey0 = foldKey0;
    this.tree = tree;
    this.s4Tables = stored.tables().format() == PackedTensor.Format.S4_LUT16;
    this.tables = stored.tables().data();
    this.scale = floats(stored.scale());
    this.bias = stored.bias() == null ? null : floats(stored.bias());
    this.splitDims =
        stored.splitDims() == null
            ? null
            : stored.splitDims().data().order(ByteOrder.LITTLE_ENDIAN).asIntBuffer();
    this.thresholds = stored.thresholds() == null ? null : floats(stored.thresholds());
    this.centroids = stored.centroids() == null ? null : floats(stored.centroids());
    this.kernels = kernels;
    this.hitCounter = tree && centroids != null ? hitCounter : null;
    int mg = m / groups;
    int storedRows = foldKey0 ? keysPerCodebook - 1 : keysPerCodebook;
    int groupTableBytes = codebooks / groups * storedRows * (s4Tables ? (mg + 1) / 2 : mg);
    this.groupTables = new ByteBuffer[groups];
    this.groupScale = new FloatBuffer[groups];
    this.groupBias = new FloatBuffer[groups];
    for (int g = 0; groups > 1 && g < groups; g++) {
      groupTables[g] = tables.slice(g * groupTableBytes, groupTableBytes);
      groupScale[g] = scale.slice(g * mg, mg);
      groupBias[g] = bias == null ? null : bias.slice(g * mg, mg);
    }
  }

  private static FloatBuffer floats(PackedTensor tensor) {
    return tensor.data().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
  }

  @Override
  public void run(Frame frame) {
    int padded = codebooks * width;
    FloatBuffer x = frame.buffer(in);
    if (padded != d) {
      // zero-padded to C_g·w, and laid out once per group
      int groupWidth = padded / groups;
      FloatBuffer wide = frame.dequantized(rows * padded);
      float[] line = frame.heapIn(padded);
      java.util.Arrays.fill(line, 0, padded, 0f);
      for (int r = 0; r < rows; r++) {
        for (int g = 0; g < groups; g++) {
          x.get(r * d, line, g * groupWidth, d);
        }
        wide.put(r * padded, line, 0, padded);
      }
      x = wide;
    }
    int count = rows * codebooks;
    // With a hit counter the frame's bytes hold the exact keys too, after the tree's.
    ByteBuffer keys = frame.bytes(hitCounter == null ? count : 2 * count);
    if (tree) {
      kernels.encodeTree(x, rows, padded, codebooks, width, depth, splitDims, thresholds, keys);
      if (hitCounter != null && hitCounter.sampleThisRun()) {
        countKeyHits(x, padded, keys, keys.slice(count, count));
      }
    } else {
      kernels.encodeCentroids(x, rows, padded, codebooks, width, keysPerCodebook, centroids, keys);
    }
    if (groups > 1) {
      accumulateGroups(keys, frame.buffer(out));
    } else {
      accumulate(keys, rows, codebooks, m, tables, scale, bias, frame.buffer(out));
    }
  }

  /** One gather-accumulate call on the kernel the tables' bits and folding pick. */
  private void accumulate(
      ByteBuffer keys,
      int n,
      int c,
      int outputs,
      ByteBuffer t,
      FloatBuffer s,
      FloatBuffer b,
      FloatBuffer y) {
    int k = keysPerCodebook;
    if (foldKey0 && s4Tables) {
      kernels.accumulateS4Folded(keys, n, c, k, outputs, t, s, b, y);
    } else if (foldKey0) {
      kernels.accumulateFolded(keys, n, c, k, outputs, t, s, b, y);
    } else if (s4Tables) {
      kernels.accumulateS4(keys, n, c, k, outputs, t, s, b, y);
    } else {
      kernels.accumulate(keys, n, c, k, outputs, t, s, b, y);
    }
  }

  /** The gather-accumulate of grouped tables: per row and group, on slices of every buffer. */
  private void accumulateGroups(ByteBuffer keys, FloatBuffer y) {
    int perGroup = codebooks / groups;
    int mg = m / groups;
    for (int g = 0; g < groups; g++) {
      ByteBuffer t = groupTables[g];
      FloatBuffer s = groupScale[g];
      FloatBuffer b = groupBias[g];
      for (int r = 0; r < rows; r++) {
        ByteBuffer k = keys.slice(r * codebooks + g * perGroup, perGroup);
        FloatBuffer o = y.slice(r * m + g * mg, mg);
        accumulate(k, 1, perGroup, mg, t, s, b, o);
      }
    }
  }

  /** Compares the tree's keys with the exact nearest-centroid keys of the same rows. */
  private void countKeyHits(FloatBuffer x, int padded, ByteBuffer treeKeys, ByteBuffer exact) {
    int count = rows * codebooks;
    kernels.encodeCentroids(x, rows, padded, codebooks, width, keysPerCodebook, centroids, exact);
    int hits = 0;
    for (int i = 0; i < count; i++) {
      hits += treeKeys.get(i) == exact.get(i) ? 1 : 0;
    }
    hitCounter.record(hits, count);
  }
}
