package io.cacheai.compress;

import io.cacheai.graph.Graph;
import io.cacheai.graph.ShapeInference;
import io.cacheai.graph.ValueInfo;
import io.cacheai.runtime.GraphModel;
import io.cacheai.runtime.Int8Gemm;
import io.cacheai.runtime.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.IntConsumer;

/**
 * Runs the fp32 graph on the calibration set and records the values of chosen intermediate tensors
 * (the inputs of the Gemm/MatMul/Conv nodes to quantize), then picks each one's u8 range with a
 * {@link CalibrationMethod}.
 *
 * <p>The tensors are observed by making them extra outputs of a copy of the graph, so the ordinary
 * fp32 executor computes them. Exact min and max are kept; for the percentile and MSE methods a
 * strided sample of at most {@value #MAX_SAMPLE_VALUES} values per tensor is kept (every value when
 * fewer).
 */
public final class ActivationCalibrator {
  static final int MAX_SAMPLE_VALUES = 1 << 21;
  private static final int BATCH = 100;
  private static final long MAX_BATCH_FLOATS = 1 << 20;

  private ActivationCalibrator() {}

  /**
   * The calibrated range of each of {@code values} (names of graph values).
   *
   * @param progress told the number of samples done after each batch
   */
  public static Map<String, ActivationRange> calibrate(
      Graph graph,
      Set<String> values,
      Dataset data,
      int samples,
      CalibrationMethod method,
      IntConsumer progress) {
    return calibrate(new QuantizedGraph(graph, Map.of()), values, data, samples, method, progress);
  }

  /**
   * As {@link #calibrate(Graph, Set, Dataset, int, CalibrationMethod, IntConsumer)} on a model that
   * is already partly compressed (e.g. Cache AI tables): the values are what that model computes,
   * so a layer quantized after the tables is calibrated on what the tables produce.
   */
  public static Map<String, ActivationRange> calibrate(
      QuantizedGraph model,
      Set<String> values,
      Dataset data,
      int samples,
      CalibrationMethod method,
      IntConsumer progress) {
    Graph graph = model.graph();
    // shapes of one sample as the data has it (an OCR line's width is dynamic in the graph)
    Map<String, long[]> shapes =
        ShapeInference.infer(graph, Map.of(graph.inputs().get(0).name(), data.batchShape(1)));
    List<ValueInfo> outputs = new ArrayList<>(graph.outputs());
    for (String name : values) {
      long[] shape = shapes.get(name);
      if (shape == null) {
        throw new IllegalArgumentException("calibration: no value '" + name + "' in the graph");
      }
      long[] batched = shape.clone();
      Arrays.fill(batched, ValueInfo.DYNAMIC); // the observed value's shape varies with the input
      outputs.add(new ValueInfo(name, batched));
    }
    Graph observed =
        new Graph(
            graph.name(),
            graph.opsetVersion(),
            graph.inputs(),
            outputs,
            graph.constants(),
            graph.nodes());
    int count = Math.min(samples, data.count());
    Map<String, Observation> seen = new LinkedHashMap<>();
    for (String name : values) {
      long perSample = io.cacheai.graph.Shapes.elementCount(shapes.get(name));
      seen.put(name, new Observation(Math.max(1, perSample * count / MAX_SAMPLE_VALUES + 1)));
    }
    String inputName = graph.inputs().get(0).name();
    try (GraphModel run =
        model.packed().isEmpty()
            ? new GraphModel(observed)
            : new GraphModel(observed, model.packed(), Int8Gemm.best())) {
      // big samples (text lines) in small batches: the plan's values grow with the batch
      int batch = Math.max(1, Math.min(BATCH, (int) (MAX_BATCH_FLOATS / data.sampleLength())));
      for (int from = 0; from < count; from += batch) {
        int n = Math.min(batch, count - from);
        Map<String, Tensor> result =
            run.infer(Map.of(inputName, Tensor.ofFloats(data.batchShape(n), data.slice(from, n))));
        for (String name : values) {
          seen.get(name).add(result.get(name).toFloatArray());
        }
        progress.accept(from + n);
      }
    }
    Map<String, ActivationRange> ranges = new LinkedHashMap<>();
    seen.forEach((name, observation) -> ranges.put(name, observation.range(method)));
    return ranges;
  }

  /** What was seen of one tensor: exact extremes and a strided sample. */
  private static final class Observation {
    private final long stride;
    private long index;
    private float min = Float.POSITIVE_INFINITY;
    private float max = Float.NEGATIVE_INFINITY;
    private float[] sample = new float[1024];
    private int size;

    Observation(long stride) {
      this.stride = stride;
    }

    void add(float[] values) {
      for (float v : values) {
        min = Math.min(min, v);
        max = Math.max(max, v);
        if (index++ % stride == 0) {
          if (size == sample.length) {
            sample = Arrays.copyOf(sample, sample.length * 2);
          }
          sample[size++] = v;
        }
      }
    }

    ActivationRange range(CalibrationMethod method) {
      ActivationRange full = new ActivationRange(min, max);
      float[] values = Arrays.copyOf(sample, size);
      return switch (method) {
        case MINMAX -> full;
        case PERCENTILE -> {
          Arrays.sort(values);
          double tail = (100 - CalibrationMethod.PERCENTILE_PCT) / 100;
          float lo = values[(int) Math.floor(tail * (values.length - 1))];
          float hi = values[(int) Math.ceil((1 - tail) * (values.length - 1))];
          yield new ActivationRange(lo, hi);
        }
        case MSE -> {
          ActivationRange best = full;
          double bestMse = full.quantizationMse(values);
          for (int i = 99; i >= 20; i--) {
            float f = i / 100f;
            ActivationRange candidate = new ActivationRange(full.lo() * f, full.hi() * f);
            double mse = candidate.quantizationMse(values);
            if (mse < bestMse) {
              bestMse = mse;
              best = candidate;
            }
          }
          yield best;
        }
      };
    }
  }
}
