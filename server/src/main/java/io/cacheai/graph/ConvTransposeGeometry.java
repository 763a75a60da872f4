package io.cacheai.graph;

/**
 * ConvTranspose's geometry over 1 or 2 spatial axes (one axis is handled as H = 1): kernel,
 * strides, dilations, the begin padding that is cropped from the full output, and the output size
 *
 * <pre>
 *   full = stride·(in − 1) + output_padding + (k − 1)·dilation + 1
 *   out  = full − padBegin − padEnd        (or output_shape, with pads derived from it)
 * </pre>
 *
 * Input element (ih, iw) with tap (kh, kw) lands on output (ih·sH − padTop + kh·dH, iw·sW − padLeft
 * + kw·dW) when that is inside the output.
 */
public record ConvTransposeGeometry(
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
    int outH,
    int outW) {

  /**
   * @param weightShape [C, M/group, k...]
   */
  public static ConvTransposeGeometry resolve(Node node, long[] inShape, long[] weightShape) {
    int spatial = inShape.length - 2;
    if (spatial < 1 || spatial > 2 || weightShape.length != inShape.length) {
      throw new IllegalArgumentException(
          node.describe()
              + ": input "
              + Shapes.toString(inShape)
              + " and weight "
              + Shapes.toString(weightShape)
              + ": this number of spatial axes is not supported (supported: 1 or 2)");
    }
    Attributes a = node.attributes();
    long[] strides = orOnes(a.getLongs("strides"), spatial);
    long[] dilations = orOnes(a.getLongs("dilations"), spatial);
    long[] outputPadding = a.getLongs("output_padding");
    if (outputPadding == null) {
      outputPadding = new long[spatial];
    }
    long[] pads = a.getLongs("pads");
    long[] outputShape = a.getLongs("output_shape");
    String autoPad = a.getString("auto_pad", "NOTSET");
    long[] begin = new long[spatial];
    long[] out = new long[spatial];
    for (int i = 0; i < spatial; i++) {
      long in = inShape[2 + i];
      long kernel = weightShape[2 + i];
      long full = strides[i] * (in - 1) + outputPadding[i] + (kernel - 1) * dilations[i] + 1;
      if (outputShape != null || !autoPad.equals("NOTSET")) {
        long target =
            outputShape != null ? outputShape[outputShape.length - spatial + i] : in * strides[i];
        long total = full - target;
        boolean upper = !autoPad.equals("SAME_LOWER");
        begin[i] = upper ? total / 2 : total - total / 2;
        out[i] = target;
      } else {
        long padBegin = pads == null ? 0 : pads[i];
        long padEnd = pads == null ? 0 : pads[i + spatial];
        begin[i] = padBegin;
        out[i] = full - padBegin - padEnd;
      }
      if (out[i] < 1) {
        throw new IllegalArgumentException(
            node.describe() + ": output size " + out[i] + " on axis " + i);
      }
    }
    if (spatial == 1) {
      return new ConvTransposeGeometry(
          1,
          (int) inShape[2],
          1,
          (int) weightShape[2],
          1,
          (int) strides[0],
          1,
          (int) dilations[0],
          0,
          (int) begin[0],
          1,
          (int) out[0]);
    }
    return new ConvTransposeGeometry(
        (int) inShape[2],
        (int) inShape[3],
        (int) weightShape[2],
        (int) weightShape[3],
        (int) strides[0],
        (int) strides[1],
        (int) dilations[0],
        (int) dilations[1],
        (int) begin[0],
        (int) begin[1],
        (int) out[0],
        (int) out[1]);
  }

  /** The output's spatial dims in the input's rank. */
  public long[] outputSpatial(int spatialAxes) {
    return spatialAxes == 1 ? new long[] {outW} : new long[] {outH, outW};
  }

  private static long[] orOnes(long[] values, int length) {
    if (values != null) {
      return values;
    }
    long[] ones = new long[length];
    java.util.Arrays.fill(ones, 1);
    return ones;
  }
}
