package io.cacheai.compress.lut;

import io.cacheai.compress.GraphQuantizer;
import io.cacheai.graph.Graph;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Which layers become tables when {@code --lut-layers} names none: every middle Gemm/MatMul (not
 * the first or last weighted layer, not a Conv) whose sub-vector width still leaves at least
 * {@value #MIN_CODEBOOKS} codebooks — keys of 4 bits each, so at least 32 bits to describe the
 * layer's input row. Below that the layer is kept exact, and the reason is said. If no middle layer
 * qualifies, the one with the most codebooks becomes tables alone (so {@code --method cacheai}
 * always replaces something).
 *
 * <p>Why: at 10× the MNIST CNN's 120→84 layer has C = 2 keys (8 bits: at most 256 distinct output
 * rows) and caps the model near 89% whatever is fitted after it, while the 800→120 layer (C = 18)
 * alone reaches 98–99% once fine-tuned; the width, not the fit, is the bottleneck there.
 */
final class LutLayerChoice {
  private LutLayerChoice() {}

  /** Fewest codebooks a default table layer may have. */
  static final int MIN_CODEBOOKS = 8;

  /**
   * @param tables the layers to replace, in graph order
   * @param notes one line per middle layer kept exact, saying why
   */
  record Choice(List<GraphQuantizer.Layer> tables, List<String> notes) {}

  static Choice choose(Graph graph, LutOptions options) {
    List<GraphQuantizer.Layer> all = new ArrayList<>(GraphQuantizer.weightedLayers(graph).values());
    List<GraphQuantizer.Layer> middle = new ArrayList<>();
    for (int i = 1; i < all.size() - 1; i++) {
      if (!all.get(i).isConv()) {
        middle.add(all.get(i));
      }
    }
    List<GraphQuantizer.Layer> tables = new ArrayList<>();
    List<String> notes = new ArrayList<>();
    GraphQuantizer.Layer widest = null;
    for (GraphQuantizer.Layer layer : middle) {
      int c = codebooks(layer, options);
      if (c >= MIN_CODEBOOKS) {
        tables.add(layer);
      }
      if (widest == null || c > codebooks(widest, options)) {
        widest = layer;
      }
    }
    if (tables.isEmpty() && widest != null) {
      tables.add(widest);
    }
    for (GraphQuantizer.Layer layer : middle) {
      if (!tables.contains(layer)) {
        int d = layer.rowLength();
        notes.add(
            String.format(
                Locale.ROOT,
                "kept exact %s %d->%d: w=%d leaves C=%d codebooks (< %d; name it in --lut-layers"
                    + " to force tables)",
                layer.node().name(),
                d,
                layer.rows(),
                unfoldedFullDepth(options).widthFor(d, layer.rows()),
                codebooks(layer, options),
                MIN_CODEBOOKS));
      }
    }
    if (tables.size() == 1 && codebooks(tables.get(0), options) < MIN_CODEBOOKS) {
      notes.add(
          "tables for "
              + tables.get(0).node().name()
              + " although C="
              + codebooks(tables.get(0), options)
              + " < "
              + MIN_CODEBOOKS
              + ": no middle layer has more codebooks");
    }
    return new Choice(tables, notes);
  }

  /**
   * Codebooks of the layer at 16 keys, unfolded: which layers become tables does not depend on the
   * depth or the folding.
   */
  static int codebooks(GraphQuantizer.Layer layer, LutOptions options) {
    int d = layer.rowLength();
    int w = unfoldedFullDepth(options).widthFor(d, layer.rows());
    return (d + w - 1) / w;
  }

  private static LutOptions unfoldedFullDepth(LutOptions options) {
    return options.withDepth(LutOptions.FULL_DEPTH).withFold(LutOptions.Fold.OFF);
  }
}
