package io.cacheai.compress.lut;

import io.cacheai.graph.Attributes;
import io.cacheai.graph.Node;
import io.cacheai.graph.OpType;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The nodes that stand in the graph for a layer turned into tables. A {@code LookupGemm} reads x
 * [..., D] as rows and writes [..., M], so a Gemm or a MatMul by a constant is replaced by the node
 * alone; a 1×1 Conv on NCHW needs its channels last, so it becomes
 *
 * <pre>
 *   x [N,D,H,W] → Transpose(0,2,3,1) → [N,H,W,D] → LookupGemm → [N,H,W,M] → Transpose(0,3,1,2) → y [N,M,H,W]
 * </pre>
 *
 * with the conv's own input and output names at the two ends, so any width of the line (any H, W)
 * runs through the same tables. Any other Conv (k×k, group 1) becomes one {@code LookupConv} node:
 * the LookupGemm's attributes plus the conv's geometry ({@code kernel_shape} from the weight,
 * {@code strides, pads, dilations, auto_pad} as the conv has them), which builds the patches itself
 * and writes NCHW.
 */
final class TableLayerNodes {
  private TableLayerNodes() {}

  /** Suffixes of the values and nodes added around a 1×1 Conv's table layer. */
  static final String NHWC_IN = "/lut_nhwc_in";

  static final String NHWC_OUT = "/lut_nhwc_out";

  /** The nodes replacing {@code target}, given its LookupGemm {@code lookup} (built on rows). */
  static List<Node> of(LutCandidates.Candidate target, Node lookup) {
    if (target.form() == LutCandidates.Form.ROWS) {
      return List.of(lookup);
    }
    Node conv = target.layer().node();
    if (target.form() == LutCandidates.Form.NCHW_PATCHES) {
      Map<String, Object> attributes = new TreeMap<>();
      lookup.attributes().names().forEach(k -> attributes.put(k, lookup.attributes().value(k)));
      attributes.put("kernel_shape", LutCandidates.kernel(target.layer()));
      for (String key : List.of("strides", "pads", "dilations")) {
        long[] value = conv.attributes().getLongs(key);
        if (value != null) {
          attributes.put(key, value.clone());
        }
      }
      String autoPad = conv.attributes().getString("auto_pad", "NOTSET");
      if (!autoPad.equals("NOTSET")) {
        attributes.put("auto_pad", autoPad);
      }
      return List.of(
          new Node(
              OpType.LOOKUP_CONV,
              lookup.name(),
              List.of(conv.inputs().get(0)),
              conv.outputs(),
              new Attributes(attributes)));
    }
    String base = conv.name().isEmpty() ? conv.outputs().get(0) : conv.name();
    String in = base + NHWC_IN;
    String out = base + NHWC_OUT;
    return List.of(
        new Node(
            OpType.TRANSPOSE,
            base + "/lut_to_nhwc",
            List.of(conv.inputs().get(0)),
            List.of(in),
            new Attributes(Map.of("perm", new long[] {0, 2, 3, 1}))),
        new Node(lookup.op(), lookup.name(), List.of(in), List.of(out), lookup.attributes()),
        new Node(
            OpType.TRANSPOSE,
            base + "/lut_to_nchw",
            List.of(out),
            conv.outputs(),
            new Attributes(Map.of("perm", new long[] {0, 3, 1, 2}))));
  }
}
