package io.cacheai.serve;

import io.cacheai.runtime.Model;
import io.cacheai.runtime.Tensor;
import io.cacheai.runtime.TensorSpec;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * An {@link AffineModel} whose calls wait for {@link #release} (at most 30 s), so a test can hold
 * requests in flight while it drains the server; {@link #entered} counts calls that arrived.
 */
final class BlockingModel implements Model {
  final CountDownLatch release = new CountDownLatch(1);
  final CountDownLatch entered;
  private final AffineModel affine = new AffineModel();

  BlockingModel(int expectedCalls) {
    entered = new CountDownLatch(expectedCalls);
  }

  @Override
  public String platform() {
    return affine.platform();
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
    entered.countDown();
    try {
      if (!release.await(30, TimeUnit.SECONDS)) {
        throw new IllegalStateException("BlockingModel not released within 30 s");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
    return affine.infer(inputs);
  }

  @Override
  public void close() {
    affine.close();
  }
}
