package io.cacheai.graph;

/**
 * A graph input or output: its name and declared shape, with {@link #DYNAMIC} for a dimension each
 * request chooses (the batch on axis 0, or e.g. an image width). An output declared without a shape
 * has an empty shape here.
 */
public record ValueInfo(String name, long[] shape) {
  /** A dimension chosen per request. */
  public static final long DYNAMIC = -1;

  /** The symbolic batch dimension (a dynamic axis 0). */
  public static final long BATCH = DYNAMIC;

  public ValueInfo {
    shape = shape.clone();
  }

  @Override
  public long[] shape() {
    return shape.clone();
  }

  /** Whether a dimension other than axis 0 is chosen per request. */
  public boolean hasDynamicNonBatchDims() {
    for (int i = 1; i < shape.length; i++) {
      if (shape[i] == DYNAMIC) {
        return true;
      }
    }
    return false;
  }

  /**
   * The shape with a dynamic axis 0 set to {@code batch}; throws if another axis is dynamic (then
   * only a request's concrete shape says the size).
   */
  public long[] shapeForBatch(long batch) {
    if (hasDynamicNonBatchDims()) {
      throw new IllegalArgumentException(
          "input '" + name + "' " + Shapes.toString(shape) + " has dynamic dims besides the batch");
    }
    long[] concrete = shape.clone();
    if (concrete.length > 0 && concrete[0] == DYNAMIC) {
      concrete[0] = batch;
    }
    return concrete;
  }
}
