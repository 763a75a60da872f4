package io.cacheai.graph;

/**
 * A graph input or output: its name and declared shape, with {@link #BATCH} for the dimension each
 * request chooses (only the first axis may be one).
 */
public record ValueInfo(String name, long[] shape) {
  /** The symbolic batch dimension. */
  public static final long BATCH = -1;

  public ValueInfo {
    shape = shape.clone();
  }

  @Override
  public long[] shape() {
    return shape.clone();
  }

  /** The shape with the batch dimension set to {@code batch}. */
  public long[] shapeForBatch(long batch) {
    long[] concrete = shape.clone();
    for (int i = 0; i < concrete.length; i++) {
      if (concrete[i] == BATCH) {
        concrete[i] = batch;
      }
    }
    return concrete;
  }
}
