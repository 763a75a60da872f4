package io.cacheai.compress.lut;

import io.cacheai.compress.Dataset;
import io.cacheai.compress.QuantizedGraph;
import io.cacheai.graph.Graph;
import io.cacheai.graph.ShapeInference;
import io.cacheai.graph.ValueInfo;
import io.cacheai.runtime.GraphModel;
import io.cacheai.runtime.Int8Gemm;
import io.cacheai.runtime.Tensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntConsumer;

/**
 * The values of chosen intermediate tensors of a (possibly compressed) graph over a dataset, all
 * samples concatenated: observed by making them extra outputs of a copy of the graph, run by the
 * ordinary executor (so a compressed graph's values are what serving computes).
 */
final class Activations {
  private static final int BATCH = 100;

  private Activations() {}

  static Map<String, float[]> collect(
      QuantizedGraph model, List<String> values, Dataset data, IntConsumer progress) {
    Graph graph = model.graph();
    // shapes at the data's own sample shape: a dynamic-width model is observed at that width
    Map<String, long[]> shapes =
        ShapeInference.infer(graph, Map.of(graph.inputs().get(0).name(), data.batchShape(1)));
    List<ValueInfo> outputs = new ArrayList<>(graph.outputs());
    for (String name : values) {
      long[] shape = shapes.get(name);
      if (shape == null) {
        throw new IllegalArgumentException("activations: no value '" + name + "' in the graph");
      }
      if (graph.outputs().stream().noneMatch(v -> v.name().equals(name))) {
        long[] batched = shape.clone();
        batched[0] = ValueInfo.BATCH;
        outputs.add(new ValueInfo(name, batched));
      }
    }
    Graph observed =
        new Graph(
            graph.name(),
            graph.opsetVersion(),
            graph.inputs(),
            outputs,
            graph.constants(),
            graph.nodes());
    Map<String, float[]> result = new LinkedHashMap<>();
    Map<String, Integer> perSample = new LinkedHashMap<>();
    for (String name : values) {
      int length = Math.toIntExact(io.cacheai.graph.Shapes.elementCount(shapes.get(name)));
      perSample.put(name, length);
      result.put(name, new float[Math.multiplyExact(length, data.count())]);
    }
    String input = graph.inputs().get(0).name();
    try (GraphModel run = new GraphModel(observed, model.packed(), Int8Gemm.best())) {
      for (int from = 0; from < data.count(); from += BATCH) {
        int n = Math.min(BATCH, data.count() - from);
        Map<String, Tensor> out =
            run.infer(Map.of(input, Tensor.ofFloats(data.batchShape(n), data.slice(from, n))));
        for (String name : values) {
          float[] v = out.get(name).toFloatArray();
          System.arraycopy(v, 0, result.get(name), from * perSample.get(name), v.length);
        }
        progress.accept(from + n);
      }
    }
    return result;
  }
}
