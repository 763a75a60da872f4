package io.cacheai.bench.suite;

import io.cacheai.runtime.Model;
import io.cacheai.runtime.Tensor;
import io.cacheai.runtime.TensorSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A recognizer seen through a window: passes every call to the wrapped model and records the
 * prepared input it was given and the arg-max class of every output frame ({@code [N, T, classes]}
 * → N·T classes). The OCR workload puts it between {@code OcrRecognizerModel} and each form, so the
 * suite measures the real pre- and post-processing while still seeing per-frame predictions.
 * Closing it does not close the wrapped model (its owner does).
 */
final class CapturingModel implements Model {
  /** One prepared input batch as the recognizer received it. */
  record Input(long[] shape, float[] values) {}

  private final Model delegate;
  private final List<Input> inputs = new ArrayList<>();
  private final List<Integer> frameClasses = new ArrayList<>();

  CapturingModel(Model delegate) {
    this.delegate = delegate;
  }

  List<Input> capturedInputs() {
    return inputs;
  }

  int[] frameClasses() {
    return frameClasses.stream().mapToInt(Integer::intValue).toArray();
  }

  @Override
  public String platform() {
    return delegate.platform();
  }

  @Override
  public List<TensorSpec> inputs() {
    return delegate.inputs();
  }

  @Override
  public List<TensorSpec> outputs() {
    return delegate.outputs();
  }

  @Override
  public Map<String, Tensor> infer(Map<String, Tensor> request) {
    for (Tensor t : request.values()) {
      inputs.add(new Input(t.shape().clone(), t.toFloatArray()));
    }
    Map<String, Tensor> out = delegate.infer(request);
    Tensor probs = out.get(delegate.outputs().get(0).name());
    long[] shape = probs.shape();
    int classes = (int) shape[shape.length - 1];
    float[] values = probs.toFloatArray();
    for (int frame = 0; frame < values.length / classes; frame++) {
      int best = 0;
      for (int c = 1; c < classes; c++) {
        if (values[frame * classes + c] > values[frame * classes + best]) {
          best = c;
        }
      }
      frameClasses.add(best);
    }
    return out;
  }

  @Override
  public void close() {}
}
