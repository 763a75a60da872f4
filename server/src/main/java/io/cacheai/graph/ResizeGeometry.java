package io.cacheai.graph;

import java.util.Arrays;
import java.util.Map;

/**
 * Resize's sampling, resolved once per plan: the output shape and, per resized axis, for every
 * output index the two input indices it blends and their weights (nearest: one index, weight 1).
 * Linear resizing is separable, so the runtime resizes one axis after another.
 *
 * <p>Supported: modes {@code nearest} (all four nearest_modes) and {@code linear}; coordinate
 * transformations half_pixel, pytorch_half_pixel, align_corners, asymmetric, tf_half_pixel_for_nn;
 * scales or sizes (opset 11+, known at plan time), optional {@code axes} (opset 18). Cubic,
 * tf_crop_and_resize, antialias and aspect-ratio policies are refused as not supported.
 */
public record ResizeGeometry(
    long[] outShape, int[] axes, int[][] index0, int[][] index1, float[][] weight1) {

  public static ResizeGeometry resolve(
      Graph graph, Node node, long[] inShape, Map<String, ConstTensor> values) {
    Attributes attributes = node.attributes();
    String mode = attributes.getString("mode", "nearest");
    if (!mode.equals("nearest") && !mode.equals("linear")) {
      throw new IllegalArgumentException(
          node.describe() + ": mode '" + mode + "' is not supported (supported: nearest, linear)");
    }
    if (graph.opsetVersion() < 11) {
      throw new IllegalArgumentException(
          node.describe() + ": Resize before opset 11 is not supported");
    }
    if (attributes.getLong("antialias", 0) != 0) {
      throw new IllegalArgumentException(node.describe() + ": antialias is not supported");
    }
    String policy = attributes.getString("keep_aspect_ratio_policy", "stretch");
    if (!policy.equals("stretch")) {
      throw new IllegalArgumentException(
          node.describe() + ": keep_aspect_ratio_policy '" + policy + "' is not supported");
    }
    String transform = attributes.getString("coordinate_transformation_mode", "half_pixel");
    String nearestMode = attributes.getString("nearest_mode", "round_prefer_floor");
    int rank = inShape.length;
    long[] axesAttr = attributes.getLongs("axes");
    int[] axes = new int[axesAttr == null ? rank : axesAttr.length];
    for (int i = 0; i < axes.length; i++) {
      axes[i] = axesAttr == null ? i : Shapes.normalizeAxis(axesAttr[i], rank, node.describe());
    }
    float[] scales = null;
    long[] sizes = null;
    if (node.hasInput(2)) {
      ConstTensor value = values.get(node.inputs().get(2));
      if (value == null) {
        throw new IllegalArgumentException(
            node.describe()
                + ": scales must be known before the request (not supported as request data)");
      }
      if (Shapes.elementCount(value.shape()) > 0) {
        scales = value.floats();
      }
    }
    if (scales == null && node.hasInput(3)) {
      sizes = OpParams.staticLongs(node, 3, values);
    }
    if ((scales == null) == (sizes == null)) {
      throw new IllegalArgumentException(
          node.describe() + ": exactly one of scales and sizes must be given");
    }
    int given = scales != null ? scales.length : sizes.length;
    if (given != axes.length) {
      throw new IllegalArgumentException(
          node.describe() + ": " + given + " scales/sizes for " + axes.length + " axes");
    }
    long[] out = inShape.clone();
    float[] scale = new float[rank];
    Arrays.fill(scale, 1f);
    for (int i = 0; i < axes.length; i++) {
      int axis = axes[i];
      if (scales != null) {
        scale[axis] = scales[i];
        out[axis] = (long) Math.floor(inShape[axis] * (double) scales[i]);
      } else {
        out[axis] = sizes[i];
        scale[axis] = inShape[axis] == 0 ? 1f : (float) sizes[i] / inShape[axis];
      }
      if (out[axis] < 0 || scale[axis] <= 0) {
        throw new IllegalArgumentException(
            node.describe() + ": invalid scale/size for axis " + axis);
      }
    }
    int resized = 0;
    int[] resizedAxes = new int[rank];
    for (int axis = 0; axis < rank; axis++) {
      if (out[axis] != inShape[axis] || scale[axis] != 1f) {
        resizedAxes[resized++] = axis;
      }
    }
    int[][] i0 = new int[resized][];
    int[][] i1 = new int[resized][];
    float[][] w1 = new float[resized][];
    for (int r = 0; r < resized; r++) {
      int axis = resizedAxes[r];
      int inDim = (int) inShape[axis];
      int outDim = (int) out[axis];
      i0[r] = new int[outDim];
      i1[r] = new int[outDim];
      w1[r] = new float[outDim];
      for (int x = 0; x < outDim; x++) {
        double original = original(node, transform, x, scale[axis], inDim);
        if (mode.equals("nearest")) {
          long nearest = nearest(node, nearestMode, original);
          int clamped = (int) Math.max(0, Math.min(inDim - 1, nearest));
          i0[r][x] = clamped;
          i1[r][x] = clamped;
        } else {
          double clamped = Math.max(0, Math.min(inDim - 1, original));
          int low = (int) Math.floor(clamped);
          i0[r][x] = low;
          i1[r][x] = Math.min(low + 1, inDim - 1);
          w1[r][x] = (float) (clamped - low);
        }
      }
    }
    return new ResizeGeometry(out, Arrays.copyOf(resizedAxes, resized), i0, i1, w1);
  }

  /** The input coordinate of output index x; ONNX measures the resized length as in·scale. */
  private static double original(Node node, String transform, int x, float scale, int inDim) {
    double resized = inDim * (double) scale;
    return switch (transform) {
      case "half_pixel" -> (x + 0.5) / scale - 0.5;
      case "pytorch_half_pixel" -> resized > 1 ? (x + 0.5) / scale - 0.5 : 0;
      case "align_corners" -> resized == 1 ? 0 : x * (double) (inDim - 1) / (resized - 1);
      case "asymmetric" -> x / (double) scale;
      case "tf_half_pixel_for_nn" -> (x + 0.5) / scale;
      default ->
          throw new IllegalArgumentException(
              node.describe()
                  + ": coordinate_transformation_mode '"
                  + transform
                  + "' is not supported");
    };
  }

  private static long nearest(Node node, String mode, double x) {
    return switch (mode) {
      case "round_prefer_floor" -> x == Math.floor(x) + 0.5 ? (long) Math.floor(x) : Math.round(x);
      case "round_prefer_ceil" -> x == Math.floor(x) + 0.5 ? (long) Math.ceil(x) : Math.round(x);
      case "floor" -> (long) Math.floor(x);
      case "ceil" -> (long) Math.ceil(x);
      default ->
          throw new IllegalArgumentException(
              node.describe() + ": nearest_mode '" + mode + "' is not supported");
    };
  }
}
