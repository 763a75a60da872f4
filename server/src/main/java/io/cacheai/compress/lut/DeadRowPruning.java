package io.cacheai.compress.lut;

import io.cacheai.compress.GraphQuantizer;
import io.cacheai.compress.QuantizedGraph;
import io.cacheai.graph.Attributes;
import io.cacheai.graph.ConstTensor;
import io.cacheai.graph.Graph;
import io.cacheai.graph.Node;
import io.cacheai.graph.OpType;
import io.cacheai.graph.PackedTensor;
import io.cacheai.graph.Shapes;
import io.cacheai.runtime.LookupKernels;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Removes the rows of the Gemm before a tree-encoded table layer that no tree reads, once the
 * tables are final. A depth-4 tree reads only 4 of its sub-vector's w values, so where the tables
 * read Relu(Gemm) most of that Gemm's outputs (MNIST MLP: 113 of /1/Gemm's 256) are computed at
 * every request, stored, and thrown away by the encoder.
 *
 * <p>The table input of C_g sub-vectors ("slices") of w values is rebuilt with w' = the most
 * columns any slice has read, each slice's read columns first (in their old order), then zero rows
 * (weight 0, bias 0: Relu gives 0) up to w':
 *
 * <pre>
 *   before: D = 256 ≤ C_g·w = 9·29   slice s = columns s·w .. s·w+w−1 (past D: the runtime's zeros)
 *           [ s0: 29 cols, 16 read | s1: 29, 14 read | … | s8: 24 + 5 padding, 15 read ]
 *   after:  D' = C_g·w' = 9·16       slice s = columns s·w' .. s·w'+w'−1
 *           [ s0: its 16 read | s1: its 14 read, 2 zero rows | … | s8: its 15 read, 1 zero ]
 *   split dim of codebook c, level l: old dim → its index among slice (c mod C_g)'s read dims
 * </pre>
 *
 * A tree that read a padding column (old column ≥ D, always 0) reads a zero row instead. The Gemm's
 * kept rows keep their stored weights and bias bit for bit (only rows are selected, alpha and beta
 * and transB untouched), so every kept output, every key and every logit is what the unpruned model
 * computes; the tables, scale and bias are not touched. The stored centroids [C,16,w] keep only the
 * read columns ([C,16,w'], zeros at the zero rows), so the key hit rate is measured over the
 * columns the trees read (the dead columns no longer exist to compare on).
 *
 * <p>Where the tables read anything else (the MNIST CNN's flattened pooling), the Gemm or Relu is
 * read by another node too, or the encoder is not a tree, the layer is left unchanged with a note.
 */
public final class DeadRowPruning {
  private DeadRowPruning() {}

  /** The model after pruning and one note per table layer (what was pruned, or why not). */
  public record Outcome(QuantizedGraph graph, String note) {}

  /**
   * The pruned table input of one layer.
   *
   * @param width w', the new sub-vector width
   * @param oldDims [C_g·w']: the old within-slice dim each new column holds, -1 for a zero row
   * @param source [C_g·w']: the Gemm row each new column is, -1 for a zero row (a padded zero row,
   *     or a tree's read of the old padding past D)
   * @param splitDims [C·L] the trees' split dims in the new slices
   */
  record Layout(int width, int[] oldDims, int[] source, int[] splitDims) {
    int d() {
      return source.length;
    }

    int keptRows() {
      int kept = 0;
      for (int s : source) {
        kept += s >= 0 ? 1 : 0;
      }
      return kept;
    }
  }

  /**
   * The layout for a table layer of input width {@code d}, sub-vector width {@code width}, {@code
   * perGroup} slices (C_g), and split dims [C·DEPTH] (codebook c reads slice c mod C_g).
   */
  static Layout layout(int d, int width, int perGroup, int[] splitDims) {
    return layout(d, width, perGroup, splitDims, LookupKernels.DEPTH);
  }

  /** As above for trees of {@code depth} L levels: split dims [C·L]. */
  static Layout layout(int d, int width, int perGroup, int[] splitDims, int depth) {
    List<TreeSet<Integer>> read = new ArrayList<>();
    for (int s = 0; s < perGroup; s++) {
      read.add(new TreeSet<>());
    }
    for (int p = 0; p < splitDims.length; p++) {
      read.get((p / depth) % perGroup).add(splitDims[p]);
    }
    int newWidth = 1;
    for (TreeSet<Integer> dims : read) {
      newWidth = Math.max(newWidth, dims.size());
    }
    int[] oldDims = new int[perGroup * newWidth];
    int[] source = new int[perGroup * newWidth];
    java.util.Arrays.fill(oldDims, -1);
    java.util.Arrays.fill(source, -1);
    List<Map<Integer, Integer>> position = new ArrayList<>();
    for (int s = 0; s < perGroup; s++) {
      Map<Integer, Integer> at = new TreeMap<>();
      int i = 0;
      for (int dim : read.get(s)) {
        int p = s * newWidth + i;
        oldDims[p] = dim;
        int column = s * width + dim;
        source[p] = column < d ? column : -1;
        at.put(dim, i++);
      }
      position.add(at);
    }
    int[] newSplit = new int[splitDims.length];
    for (int p = 0; p < splitDims.length; p++) {
      newSplit[p] = position.get((p / depth) % perGroup).get(splitDims[p]);
    }
    return new Layout(newWidth, oldDims, source, newSplit);
  }

  /** {@code model} with every prunable table layer's dead input rows removed ({@code enabled}). */
  public static Outcome prune(QuantizedGraph model, boolean enabled) {
    if (!enabled) {
      return new Outcome(model, "dead-row pruning off (--lut-prune false)");
    }
    List<String> notes = new ArrayList<>();
    QuantizedGraph current = model;
    for (Node node : model.graph().nodes()) {
      if (node.op() != OpType.LOOKUP_GEMM) {
        continue;
      }
      if (!TableKeys.treeEncoder(node)) {
        notes.add("not pruned: " + node.name() + " has no tree encoder (every column is read)");
        continue;
      }
      SoftKeyFineTune.Encoder encoder = SoftKeyFineTune.encoder(current.graph(), node);
      if (encoder.whyNot() != null) {
        notes.add("not pruned: " + node.name() + ": " + encoder.whyNot());
        continue;
      }
      Pruned pruned = pruneLayer(current, node, encoder.gemm());
      current = pruned.model();
      notes.add(pruned.note());
    }
    if (notes.isEmpty()) {
      notes.add("not pruned: no LookupGemm layer");
    }
    return new Outcome(current, String.join("; ", notes));
  }

  private record Pruned(QuantizedGraph model, String note) {}

  private static Pruned pruneLayer(QuantizedGraph model, Node table, GraphQuantizer.Layer gemm) {
    Graph graph = model.graph();
    Attributes a = table.attributes();
    long[] weightShape = a.getLongs("weight_shape");
    int d = Math.toIntExact(weightShape[1]);
    int width = Math.toIntExact(a.getLong("width", 0));
    int groups = Math.toIntExact(a.getLong("groups", 1));
    int perGroup = (d + width - 1) / width;
    int codebooks = groups * perGroup;
    int depth = TableKeys.depth(table);
    PackedTensor dimsTensor = model.packed().get(a.getString("split_dims", ""));
    if (dimsTensor == null || Shapes.elementCount(dimsTensor.shape()) != (long) codebooks * depth) {
      return new Pruned(model, "not pruned: " + table.name() + ": split dims missing or misshapen");
    }
    int[] splitDims = LutFineTune.ints(dimsTensor);
    Layout layout = layout(d, width, perGroup, splitDims, depth);
    Node node = gemm.node();
    if (layout.d() >= d) {
      return new Pruned(
          model,
          String.format(
              Locale.ROOT,
              "not pruned: %s: its trees read %d of %s's %d rows, slices of %d would not be"
                  + " fewer",
              table.name(),
              layout.keptRows(),
              node.name(),
              d,
              layout.width()));
    }
    Map<String, ConstTensor> constants = new LinkedHashMap<>(graph.constants());
    String weightName = node.inputs().get(1);
    ConstTensor weight = constants.get(weightName);
    boolean rowsMajor =
        node.op() == OpType.GEMM && node.attributes().getLong("transB", 0) != 0; // [M,K]
    if (weight == null || weight.shape().length != 2) {
      return new Pruned(
          model, "not pruned: " + table.name() + ": " + weightName + " is not a 2-d constant");
    }
    constants.put(weightName, selectRows(weight, layout.source(), rowsMajor ? 0 : 1));
    if (node.op() == OpType.GEMM && node.hasInput(2)) {
      String biasName = node.inputs().get(2);
      ConstTensor bias = constants.get(biasName);
      long[] shape = bias.shape();
      if (shape.length == 0 || shape[shape.length - 1] != d) {
        return new Pruned(
            model, "not pruned: " + table.name() + ": bias " + Shapes.toString(shape));
      }
      constants.put(biasName, selectRows(bias, layout.source(), shape.length - 1));
    }

    Map<String, Object> attributes = new TreeMap<>();
    a.names().forEach(k -> attributes.put(k, a.value(k)));
    attributes.put("weight_shape", new long[] {weightShape[0], layout.d()});
    attributes.put("width", (long) layout.width());
    Node pruned =
        new Node(
            table.op(), table.name(), table.inputs(), table.outputs(), new Attributes(attributes));
    List<Node> nodes = new ArrayList<>(graph.nodes());
    for (int i = 0; i < nodes.size(); i++) {
      if (nodes.get(i).outputs().equals(table.outputs())) {
        nodes.set(i, pruned);
      }
    }

    Map<String, PackedTensor> packed = new LinkedHashMap<>(model.packed());
    packed.put(
        a.getString("split_dims", ""),
        LutLayerBuilder.s32(new long[] {codebooks, depth}, layout.splitDims()));
    String centroidsName = a.getString("centroids", "");
    PackedTensor centroids = packed.get(centroidsName);
    if (!centroidsName.isEmpty() && centroids != null) {
      packed.put(
          centroidsName,
          centroids(centroids, layout, codebooks, perGroup, width, TableKeys.keys(table)));
    }
    String note =
        String.format(
            Locale.ROOT,
            "pruned %s to %d of %d rows (%d read by a tree + %d zero rows, %d slices of w=%d"
                + " instead of %d; the rest no tree reads); the layer figures above are of the"
                + " whole layer, the bundle's key hit rate is over the read columns",
            node.name(),
            layout.d(),
            d,
            layout.keptRows(),
            layout.d() - layout.keptRows(),
            perGroup,
            layout.width(),
            width);
    return new Pruned(new QuantizedGraph(graph.withNodes(nodes, constants), packed), note);
  }

  /**
   * {@code t} with axis {@code axis} (of length D) cut to {@code source.length}: index i takes the
   * old index source[i], or 0 where source[i] is -1. The values are copied, not recomputed.
   */
  static ConstTensor selectRows(ConstTensor t, int[] source, int axis) {
    long[] shape = t.shape().clone();
    int outer = Math.toIntExact(Shapes.product(shape, 0, axis));
    int length = Math.toIntExact(shape[axis]);
    int inner = Math.toIntExact(Shapes.product(shape, axis + 1, shape.length));
    float[] old = t.floats();
    float[] out = new float[outer * source.length * inner];
    for (int o = 0; o < outer; o++) {
      for (int i = 0; i < source.length; i++) {
        if (source[i] >= 0) {
          System.arraycopy(
              old, (o * length + source[i]) * inner, out, (o * source.length + i) * inner, inner);
        }
      }
    }
    shape[axis] = source.length;
    return ConstTensor.ofFloats(shape, out);
  }

  /** The centroids [C,K,w] cut to the read columns, [C,K,w'] (zeros at the zero rows). */
  private static PackedTensor centroids(
      PackedTensor stored, Layout layout, int codebooks, int perGroup, int width, int keyCount) {
    float[] old = LutFineTune.floats(stored);
    int w = layout.width();
    float[] out = new float[codebooks * keyCount * w];
    for (int c = 0; c < codebooks; c++) {
      int s = c % perGroup;
      for (int k = 0; k < keyCount; k++) {
        for (int i = 0; i < w; i++) {
          int dim = layout.oldDims()[s * w + i];
          if (dim >= 0) {
            out[(c * keyCount + k) * w + i] = old[(c * keyCount + k) * width + dim];
          }
        }
      }
    }
    return LutLayerBuilder.f32(new long[] {codebooks, keyCount, w}, out);
  }
}
