package io.cacheai.serve;

import io.cacheai.runtime.Model;
import io.cacheai.runtime.Tensor;
import io.cacheai.runtime.TensorSpec;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * Test double: the {@link AffineModel} behind a gate. Every execution records the first value of
 * each row it was given (a request's marker), signals that it has entered, and waits until the gate
 * is opened; so a test can hold the model busy, build a queue behind it, and see afterwards which
 * requests ran in which execution.
 */
final class GateModel implements Model {
  private final AffineModel affine = new AffineModel();
  private final CountDownLatch gate = new CountDownLatch(1);
  private final Semaphore entered = new Semaphore(0);

  /** One entry per execution: the first value of each row, in batch order. */
  final List<List<Float>> executions = new CopyOnWriteArrayList<>();

  /** Lets every execution, now and later, through. */
  void open() {
    gate.countDown();
  }

  /** Waits until an execution has entered the model; false after 5 s. */
  boolean awaitEntered() throws InterruptedException {
    return entered.tryAcquire(5, TimeUnit.SECONDS);
  }

  /** The markers of every row the model ran, in order. */
  List<Float> markersRun() {
    return executions.stream().flatMap(List::stream).toList();
  }

  @Override
  public String platform() {
    return "test_gate";
  }

  @Override
  public List<TensorSpec> inputs() {
    return affine.inputs();
  }

  @Override
  public List<TensorSpec> outputs() {
    return affine.outputs();
  }

  @Override
  public Map<String, Tensor> infer(Map<String, Tensor> inputs) {
    float[] x = inputs.get("x").toFloatArray();
    List<Float> markers = new java.util.ArrayList<>();
    for (int i = 0; i < x.length; i += 4) {
      markers.add(x[i]);
    }
    executions.add(List.copyOf(markers));
    entered.release();
    try {
      if (!gate.await(10, TimeUnit.SECONDS)) {
        throw new IllegalStateException("gate never opened");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted at the gate", e);
    }
    return affine.infer(inputs);
  }

  @Override
  public void close() {
    affine.close();
  }
}
