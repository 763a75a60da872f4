package io.cacheai.compress.lut;

import io.cacheai.compress.GraphQuantizer;
import io.cacheai.graph.Attributes;
import io.cacheai.graph.Graph;
import io.cacheai.graph.ShapeInference;
import io.cacheai.graph.Shapes;
import io.cacheai.graph.Window2d;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The layers of a graph that {@code compress --method cacheai} can turn into tables, with their
 * shapes at the calibration input shape — what {@code --lut-list} prints and what {@code
 * --lut-layers} may name. A table layer works on rows of D values, so a layer qualifies when its
 * output is one row of M values per input row of D:
 *
 * <ul>
 *   <li>{@link Form#ROWS}: Gemm (x [N,D], weight constant) or MatMul by a constant [D,M] weight
 *       whose input is [..., D] (every leading axis is a row: PP-OCR's SVTR neck reads [N,T,D]); a
 *       following bias Add stays where it is, exact;
 *   <li>{@link Form#NCHW_1X1}: a 1×1 Conv with group 1, stride 1, no padding on [N,C,H,W] — a Gemm
 *       per pixel (rows = N·H·W pixels, D = C input channels), served between two Transposes (NCHW
 *       → NHWC → table layer → NCHW).
 *   <li>{@link Form#NCHW_PATCHES}: any other 2-D Conv with group 1 (k×k, any stride, padding,
 *       dilation) on [N,C,H,W] — rows = the N·oH·oW output pixels' im2col patches, D = C·kH·kW,
 *       served as one {@code LookupConv} node that writes NCHW.
 * </ul>
 *
 * Rows per sample depend on the input width for a dynamic-width model (the neck's T = W/8 of a text
 * line): the candidates are described at the calibration shape, the table layer itself takes any
 * number of rows.
 */
public final class LutCandidates {
  private LutCandidates() {}

  /** How the layer's rows sit in its input and output tensors. */
  public enum Form {
    /** [..., D] → [..., M]: rows are the leading axes. */
    ROWS,
    /** [N,D,H,W] → [N,M,H,W]: rows are the pixels (a 1×1 Conv). */
    NCHW_1X1,
    /** [N,C,H,W] → [N,M,oH,oW]: rows are the output pixels' patches (a k×k Conv, im2col). */
    NCHW_PATCHES
  }

  /**
   * One layer that can become tables.
   *
   * @param inputShape the layer input's shape at batch 1 and the calibration shape
   * @param rowsPerSample rows of D values one sample gives at that shape
   */
  public record Candidate(
      GraphQuantizer.Layer layer, Form form, long[] inputShape, long rowsPerSample) {
    public String name() {
      return layer.node().name();
    }

    /** D, values per row (the layer's inputs per output). */
    public int d() {
      return layer.rowLength();
    }

    /** M, outputs per row. */
    public int m() {
      return layer.rows();
    }

    /** The conv geometry at the calibration shape (a {@link Form#NCHW_PATCHES} candidate). */
    public Window2d window() {
      return Window2d.resolve(layer.node(), inputShape, kernel(layer));
    }

    /** The fp32 layer's bytes: weight M·D and, if any, bias M. */
    public long fp32Bytes() {
      return 4L * ((long) m() * d() + (layer.bias() == null ? 0 : m()));
    }

    /**
     * One line of {@code --lut-list}: name, op, form, D→M, rows per sample, fp32 and table bytes.
     */
    public String line(LutOptions options) {
      LutOptions o =
          form == Form.NCHW_PATCHES
              ? options.withDepth(LutOptions.FULL_DEPTH).withFold(LutOptions.Fold.OFF)
              : options;
      int groups = form == Form.NCHW_PATCHES ? 1 : o.groupsFor(d(), m());
      int w = o.widthFor(d(), m(), groups);
      int codebooks = groups * ((d() + w - 1) / w);
      long lookup =
          LutLayerBuilder.lookupBytes(
              codebooks, m(), w, o.encoder(), o.tableBits(), groups, o.layerDepth(), o.layerFold());
      return String.format(
          Locale.ROOT,
          "%-40s %-6s %-8s D=%-5d M=%-5d input %-18s rows/sample %-6d fp32 %d B, w=%d C=%d"
              + " tables %d B (%.1fx)",
          name(),
          layer.node().op().onnxName(),
          switch (form) {
            case ROWS -> "rows";
            case NCHW_1X1 -> "1x1conv";
            case NCHW_PATCHES -> "kxkconv";
          },
          d(),
          m(),
          Shapes.toString(inputShape),
          rowsPerSample,
          fp32Bytes(),
          w,
          codebooks,
          lookup,
          (double) fp32Bytes() / lookup);
    }
  }

  /**
   * Every layer of {@code graph} that can become tables, in graph order, with shapes for one sample
   * of {@code batchShape} (e.g. [1,3,48,320] for a text line).
   */
  public static List<Candidate> list(Graph graph, long[] batchShape) {
    Map<String, long[]> shapes =
        ShapeInference.infer(graph, Map.of(graph.inputs().get(0).name(), batchShape));
    long batch = batchShape[0];
    List<Candidate> out = new ArrayList<>();
    for (GraphQuantizer.Layer layer : GraphQuantizer.weightedLayers(graph).values()) {
      long[] in = shapes.get(layer.input());
      switch (layer.node().op()) {
        case GEMM, MAT_MUL -> {
          if (in != null && in.length >= 2 && in[in.length - 1] == layer.rowLength()) {
            long rows = Shapes.elementCount(in) / in[in.length - 1] / batch;
            out.add(new Candidate(layer, Form.ROWS, in, rows));
          }
        }
        case CONV -> {
          if (pointwise(layer, in)) {
            out.add(new Candidate(layer, Form.NCHW_1X1, in, in[2] * in[3]));
          } else if (patches(layer, in)) {
            Window2d g = Window2d.resolve(layer.node(), in, kernel(layer));
            out.add(new Candidate(layer, Form.NCHW_PATCHES, in, (long) g.outH() * g.outW()));
          }
        }
        default -> {}
      }
    }
    return out;
  }

  /** A 1×1 Conv, group 1, stride 1, no padding, on [N,C,H,W]. */
  static boolean pointwise(GraphQuantizer.Layer layer, long[] in) {
    long[] w = layer.weightShape();
    Attributes a = layer.node().attributes();
    if (in == null || in.length != 4 || w.length != 4 || w[2] != 1 || w[3] != 1 || w[1] != in[1]) {
      return false;
    }
    if (a.getLong("group", 1) != 1) {
      return false;
    }
    String autoPad = a.getString("auto_pad", "NOTSET");
    if (!autoPad.equals("NOTSET") && !autoPad.equals("VALID")) {
      return false;
    }
    return allEqual(a.getLongs("strides"), 1)
        && allEqual(a.getLongs("pads"), 0)
        && allEqual(a.getLongs("dilations"), 1);
  }

  /** Any other 2-D Conv of group 1 on [N,C,H,W]: a Gemm per output pixel's patch. */
  static boolean patches(GraphQuantizer.Layer layer, long[] in) {
    long[] w = layer.weightShape();
    if (in == null || in.length != 4 || w.length != 4 || w[1] != in[1]) {
      return false;
    }
    return layer.node().attributes().getLong("group", 1) == 1;
  }

  /** The kernel's spatial dims [kH, kW], from the weight [M, C, kH, kW]. */
  static long[] kernel(GraphQuantizer.Layer layer) {
    long[] w = layer.weightShape();
    return new long[] {w[2], w[3]};
  }

  private static boolean allEqual(long[] values, long expected) {
    if (values == null) {
      return true;
    }
    for (long v : values) {
      if (v != expected) {
        return false;
      }
    }
    return true;
  }
}
