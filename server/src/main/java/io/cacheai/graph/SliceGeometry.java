package io.cacheai.graph;

/**
 * Where a Slice reads, per axis of its input: the first element read and the step between reads,
 * and the output's shape. Resolved once from ONNX's starts, ends, axes and steps with ONNX's
 * clamping rules (negative indices count from the end; out-of-range values clamp; a negative step
 * walks backwards).
 */
public record SliceGeometry(long[] starts, long[] steps, long[] outShape) {

  /**
   * @param axes may be null (then {@code 0 .. starts.length-1})
   * @param steps may be null (then all 1)
   */
  public static SliceGeometry resolve(
      Node node, long[] inShape, long[] starts, long[] ends, long[] axes, long[] steps) {
    int rank = inShape.length;
    if (starts.length != ends.length
        || (axes != null && axes.length != starts.length)
        || (steps != null && steps.length != starts.length)) {
      throw new IllegalArgumentException(
          node.describe() + ": starts, ends, axes and steps differ in length");
    }
    long[] first = new long[rank];
    long[] step = new long[rank];
    long[] out = inShape.clone();
    java.util.Arrays.fill(step, 1);
    boolean[] seen = new boolean[rank];
    for (int i = 0; i < starts.length; i++) {
      int axis = Shapes.normalizeAxis(axes == null ? i : axes[i], rank, node.describe());
      if (seen[axis]) {
        throw new IllegalArgumentException(node.describe() + ": axis " + axis + " given twice");
      }
      seen[axis] = true;
      long dim = inShape[axis];
      long s = steps == null ? 1 : steps[i];
      if (s == 0) {
        throw new IllegalArgumentException(node.describe() + ": step 0 at axis " + axis);
      }
      long start = starts[i] < 0 ? starts[i] + dim : starts[i];
      long end = ends[i] < 0 ? ends[i] + dim : ends[i];
      long count;
      if (s > 0) {
        start = clamp(start, 0, dim);
        end = clamp(end, 0, dim);
        count = end > start ? (end - start + s - 1) / s : 0;
      } else {
        start = clamp(start, 0, dim - 1);
        end = clamp(end, -1, dim - 1);
        count = start > end ? (start - end - s - 1) / -s : 0;
      }
      first[axis] = start;
      step[axis] = s;
      out[axis] = count;
    }
    return new SliceGeometry(first, step, out);
  }

  /** For each output element (row-major), the input element it copies. */
  public int[] sourceIndex(long[] inShape) {
    int rank = inShape.length;
    long[] inStrides = new long[rank];
    long stride = 1;
    for (int i = rank - 1; i >= 0; i--) {
      inStrides[i] = stride;
      stride *= inShape[i];
    }
    int count = Math.toIntExact(Shapes.elementCount(outShape));
    int[] index = new int[count];
    long[] position = new long[rank];
    for (int o = 0; o < count; o++) {
      long source = 0;
      for (int axis = 0; axis < rank; axis++) {
        source += (starts[axis] + position[axis] * steps[axis]) * inStrides[axis];
      }
      index[o] = (int) source;
      for (int axis = rank - 1; axis >= 0; axis--) {
        if (++position[axis] < outShape[axis]) {
          break;
        }
        position[axis] = 0;
      }
    }
    return index;
  }

  private static long clamp(long value, long low, long high) {
    return Math.max(low, Math.min(high, value));
  }
}
