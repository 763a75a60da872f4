package io.cacheai.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.cacheai.graph.Graph;
import io.cacheai.graph.Node;
import io.cacheai.graph.ShapeInference;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs a model the fuzz tests managed to build, once, at batch 1 on a fixed input pattern — but
 * only when it is small: a fuzzed graph may legitimately declare a 10⁹-element tensor or a
 * convolution of 10¹² multiply-adds, which the importer accepts (it is a valid model) and which
 * would only measure this machine's patience. "Small" is bounded in memory ({@link
 * #MAX_VALUE_FLOATS}) and in work ({@link #MAX_MULTIPLY_ADDS}).
 *
 * <p>A model that was built must run: any exception here is a finding, as is an output whose shape
 * its own spec refuses.
 */
public final class SmokeRun {
  /** Sum of the element counts of every value (inputs, constants, intermediates) at batch 1. */
  public static final long MAX_VALUE_FLOATS = 1L << 22;

  /** Estimated multiply-adds of one batch-1 run. */
  public static final long MAX_MULTIPLY_ADDS = 20_000_000L;

  private SmokeRun() {}

  /** Runs {@code model} (built from {@code graph}) once if it is small; returns whether it ran. */
  public static boolean runIfSmall(Model model, Graph graph) {
    if (!isSmall(graph)) {
      return false;
    }
    Map<String, Tensor> request = new LinkedHashMap<>();
    for (TensorSpec spec : model.inputs()) {
      long[] shape = spec.shape();
      for (int i = 0; i < shape.length; i++) {
        if (shape[i] == TensorSpec.DYNAMIC) {
          shape[i] = 1;
        }
      }
      float[] values = new float[Math.toIntExact(Tensor.elementCount(shape))];
      for (int i = 0; i < values.length; i++) {
        values[i] = ((i * 7) % 11 - 5) / 4f;
      }
      request.put(spec.name(), Tensor.ofFloats(shape, values));
    }
    Map<String, Tensor> result = model.infer(request);
    List<String> outputNames = model.outputs().stream().map(TensorSpec::name).toList();
    assertThat(result.keySet()).containsExactlyElementsOf(outputNames);
    for (TensorSpec spec : model.outputs()) {
      Tensor output = result.get(spec.name());
      assertThat(spec.accepts(output.shape()))
          .as(
              "output '%s' shape %s accepted by %s",
              spec.name(), Arrays.toString(output.shape()), spec)
          .isTrue();
      assertThat(output.elementCount() * Float.BYTES).isEqualTo(output.data().remaining());
    }
    return true;
  }

  static boolean isSmall(Graph graph) {
    try {
      Map<String, long[]> shapes = ShapeInference.infer(graph, 1);
      long floats = 0;
      for (long[] shape : shapes.values()) {
        floats = Math.addExact(floats, Tensor.elementCount(shape));
      }
      if (floats > MAX_VALUE_FLOATS) {
        return false;
      }
      long work = 0;
      for (Node node : graph.nodes()) {
        long out = Tensor.elementCount(shapes.get(node.outputs().get(0)));
        work = Math.addExact(work, Math.multiplyExact(out, innerWork(node, shapes)));
      }
      return work <= MAX_MULTIPLY_ADDS;
    } catch (ArithmeticException e) {
      return false;
    }
  }

  /** Multiply-adds per output element, roughly. */
  private static long innerWork(Node node, Map<String, long[]> shapes) {
    long[] a = shapes.get(node.inputs().get(0));
    return switch (node.op()) {
      case GEMM -> node.attributes().getLong("transA", 0) != 0 ? a[0] : a[1];
      case MAT_MUL -> a[a.length - 1];
      case CONV -> {
        long[] w = shapes.get(node.inputs().get(1));
        yield Tensor.elementCount(Arrays.copyOfRange(w, 1, w.length));
      }
      case MAX_POOL, AVERAGE_POOL ->
          Tensor.elementCount(node.attributes().getLongs("kernel_shape"));
      case SOFTMAX -> 3;
      default -> 1;
    };
  }
}
