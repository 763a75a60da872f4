package io.cacheai.serve;

import io.cacheai.runtime.DataType;
import io.cacheai.runtime.Model;
import io.cacheai.runtime.Tensor;
import io.cacheai.runtime.TensorSpec;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Test double of a model: input {@code x} FP32 [-1,4]; outputs {@code y = 2x + 1} FP32 [-1,4] and
 * {@code sum} = row sums of x, FP32 [-1,1]. It refuses a NaN with an IllegalArgumentException (a
 * value-dependent refusal) and crashes with an IllegalStateException when x[0] is 666, so the
 * service's error mapping can be tested. The executor itself is tested elsewhere.
 */
public final class AffineModel implements Model {
  public static final float CRASH = 666f;
  private final AtomicInteger closed = new AtomicInteger();

  @Override
  public String platform() {
    return "test_affine";
  }

  @Override
  public List<TensorSpec> inputs() {
    return List.of(new TensorSpec("x", DataType.FP32, new long[] {-1, 4}));
  }

  @Override
  public List<TensorSpec> outputs() {
    return List.of(
        new TensorSpec("y", DataType.FP32, new long[] {-1, 4}),
        new TensorSpec("sum", DataType.FP32, new long[] {-1, 1}));
  }

  @Override
  public Map<String, Tensor> infer(Map<String, Tensor> inputs) {
    Tensor x = inputs.get("x");
    float[] values = x.toFloatArray();
    if (values.length > 0 && values[0] == CRASH) {
      throw new IllegalStateException("simulated executor crash");
    }
    long batch = x.shape()[0];
    float[] y = new float[values.length];
    float[] sum = new float[(int) batch];
    for (int i = 0; i < values.length; i++) {
      if (Float.isNaN(values[i])) {
        throw new IllegalArgumentException("input 'x': NaN at element " + i + " is not accepted");
      }
      y[i] = 2 * values[i] + 1;
      sum[i / 4] += values[i];
    }
    Map<String, Tensor> out = new LinkedHashMap<>();
    out.put("y", Tensor.ofFloats(new long[] {batch, 4}, y));
    out.put("sum", Tensor.ofFloats(new long[] {batch, 1}, sum));
    return out;
  }

  /** How many times close() was called. */
  public int closeCount() {
    return closed.get();
  }

  @Override
  public void close() {
    closed.incrementAndGet();
  }
}
