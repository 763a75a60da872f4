package io.cacheai.graph;

/**
 * The sliding-window geometry of a Conv, MaxPool or AveragePool node over one input: kernel,
 * strides, dilations, explicit pads and the output size, resolved from the ONNX attributes ({@code
 * kernel_shape, strides, dilations, pads, auto_pad, ceil_mode}).
 *
 * <p>Inputs with one spatial axis ([N,C,W]) are handled as two-dimensional with H = 1, so the
 * kernels have one case. Three or more spatial axes are refused.
 */
public record Window2d(
    int inH,
    int inW,
    int kernelH,
    int kernelW,
    int strideH,
    int strideW,
    int dilationH,
    int dilationW,
    int padTop,
    int padLeft,
    int padBottom,
    int padRight,
    int outH,
    int outW) {

  /**
   * Resolves the geometry of {@code node} for an input of {@code inputShape} ([N,C,spatial...]) and
   * the given kernel spatial dims; {@code ceilMode} is false for Conv.
   */
  public static Window2d resolve(Node node, long[] inputShape, long[] kernelSpatial) {
    int spatial = inputShape.length - 2;
    if (spatial < 1 || spatial > 2) {
      throw new IllegalArgumentException(
          node.describe()
              + ": "
              + spatial
              + " spatial axes in input "
              + Shapes.toString(inputShape)
              + "; supported: 1 or 2");
    }
    if (kernelSpatial.length != spatial) {
      throw new IllegalArgumentException(
          node.describe()
              + ": kernel "
              + Shapes.toString(kernelSpatial)
              + " does not match "
              + spatial
              + " spatial axes");
    }
    Attributes attributes = node.attributes();
    long[] strides = orDefault(attributes.getLongs("strides"), spatial, 1, node, "strides");
    long[] dilations = orDefault(attributes.getLongs("dilations"), spatial, 1, node, "dilations");
    long[] pads = attributes.getLongs("pads");
    if (pads == null) {
      pads = new long[2 * spatial];
    } else if (pads.length != 2 * spatial) {
      throw new IllegalArgumentException(
          node.describe() + ": pads has " + pads.length + " values, expected " + 2 * spatial);
    }
    boolean ceilMode = attributes.getLong("ceil_mode", 0) != 0;
    String autoPad = attributes.getString("auto_pad", "NOTSET");

    long[] in = new long[spatial];
    long[] out = new long[spatial];
    long[] padBegin = new long[spatial];
    long[] padEnd = new long[spatial];
    for (int i = 0; i < spatial; i++) {
      in[i] = inputShape[2 + i];
      long stride = strides[i];
      long dilation = dilations[i];
      if (stride < 1 || dilation < 1 || kernelSpatial[i] < 1) {
        throw new IllegalArgumentException(
            node.describe() + ": kernel, strides and dilations must be >= 1");
      }
      long span = (kernelSpatial[i] - 1) * dilation + 1;
      switch (autoPad) {
        case "NOTSET" -> {
          padBegin[i] = pads[i];
          padEnd[i] = pads[i + spatial];
          long padded = in[i] + padBegin[i] + padEnd[i] - span;
          if (padded < 0) {
            throw new IllegalArgumentException(
                node.describe()
                    + ": kernel span "
                    + span
                    + " exceeds padded input "
                    + (in[i] + padBegin[i] + padEnd[i]));
          }
          out[i] = (ceilMode ? Math.floorDiv(padded + stride - 1, stride) : padded / stride) + 1;
          // A window must start inside the input or its begin padding (ONNX/ORT ceil_mode rule).
          if (ceilMode && (out[i] - 1) * stride >= in[i] + padBegin[i]) {
            out[i]--;
          }
        }
        case "VALID" -> {
          if (in[i] < span) {
            throw new IllegalArgumentException(
                node.describe() + ": kernel span " + span + " exceeds input " + in[i]);
          }
          out[i] =
              (ceilMode
                      ? Math.floorDiv(in[i] - span + stride - 1, stride)
                      : (in[i] - span) / stride)
                  + 1;
        }
        case "SAME_UPPER", "SAME_LOWER" -> {
          out[i] = Math.floorDiv(in[i] + stride - 1, stride);
          long total = Math.max((out[i] - 1) * stride + span - in[i], 0);
          long small = total / 2;
          padBegin[i] = autoPad.equals("SAME_UPPER") ? small : total - small;
          padEnd[i] = total - padBegin[i];
        }
        default ->
            throw new IllegalArgumentException(
                node.describe()
                    + ": auto_pad '"
                    + autoPad
                    + "' is not one of NOTSET, VALID, SAME_UPPER, SAME_LOWER");
      }
    }
    if (spatial == 1) {
      return new Window2d(
          1,
          toInt(in[0]),
          1,
          toInt(kernelSpatial[0]),
          1,
          toInt(strides[0]),
          1,
          toInt(dilations[0]),
          0,
          toInt(padBegin[0]),
          0,
          toInt(padEnd[0]),
          1,
          toInt(out[0]));
    }
    return new Window2d(
        toInt(in[0]),
        toInt(in[1]),
        toInt(kernelSpatial[0]),
        toInt(kernelSpatial[1]),
        toInt(strides[0]),
        toInt(strides[1]),
        toInt(dilations[0]),
        toInt(dilations[1]),
        toInt(padBegin[0]),
        toInt(padBegin[1]),
        toInt(padEnd[0]),
        toInt(padEnd[1]),
        toInt(out[0]),
        toInt(out[1]));
  }

  /**
   * {kernelH, kernelW, strideH, strideW, dilationH, dilationW, outH, outW}: the window argument of
   * the int8 patch builders ({@code Int8Conv.im2col}, {@code LowBitConv.patches}); a new array.
   */
  public int[] patchWindow() {
    return new int[] {kernelH, kernelW, strideH, strideW, dilationH, dilationW, outH, outW};
  }

  /** {padTop, padBottom, padLeft, padRight}: the pads argument of the int8 kernels; a new array. */
  public int[] padsTopBottomLeftRight() {
    return new int[] {padTop, padBottom, padLeft, padRight};
  }

  /** The output's spatial dims in the input's rank (1 or 2 axes). */
  public long[] outputSpatial(int spatialAxes) {
    return spatialAxes == 1 ? new long[] {outW} : new long[] {outH, outW};
  }

  private static long[] orDefault(
      long[] values, int length, long fallback, Node node, String name) {
    if (values == null) {
      long[] filled = new long[length];
      java.util.Arrays.fill(filled, fallback);
      return filled;
    }
    if (values.length != length) {
      throw new IllegalArgumentException(
          node.describe() + ": " + name + " has " + values.length + " values, expected " + length);
    }
    return values;
  }

  private static int toInt(long value) {
    return Math.toIntExact(value);
  }
}
