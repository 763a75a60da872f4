package io.cacheai.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cacheai.onnx.OnnxImporter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** One GraphModel shared by many threads gives every request exactly its single-threaded result. */
class GraphModelConcurrencyTest {
  private static final int[] BATCHES = {1, 7, 64};
  private static final int THREADS = 8;
  private static final int ITERATIONS_PER_THREAD = 30;

  @Test
  void infer_concurrentMixedBatches_matchSingleThreadedBitForBit() throws Exception {
    try (GraphModel model =
        new GraphModel(OnnxImporter.importBytes(MnistModelsTest.embeddedModel("mnist-cnn")))) {
      Random random = new Random(3);
      List<Map<String, Tensor>> requests = new ArrayList<>();
      List<float[]> expected = new ArrayList<>();
      for (int batch : BATCHES) {
        float[] pixels = new float[batch * 28 * 28];
        for (int i = 0; i < pixels.length; i++) {
          pixels[i] = random.nextFloat();
        }
        Map<String, Tensor> request =
            Map.of("input", Tensor.ofFloats(new long[] {batch, 1, 28, 28}, pixels));
        requests.add(request);
        expected.add(model.infer(request).get("logits").toFloatArray());
      }

      ExecutorService pool = Executors.newFixedThreadPool(THREADS);
      try {
        List<Future<Integer>> results = new ArrayList<>();
        for (int t = 0; t < THREADS; t++) {
          int thread = t;
          results.add(
              pool.submit(
                  () -> {
                    int checked = 0;
                    for (int i = 0; i < ITERATIONS_PER_THREAD; i++) {
                      int which = (thread + i) % requests.size();
                      float[] logits =
                          model.infer(requests.get(which)).get("logits").toFloatArray();
                      assertThat(logits).containsExactly(expected.get(which));
                      checked++;
                    }
                    return checked;
                  }));
        }
        int total = 0;
        for (Future<Integer> result : results) {
          total += result.get(120, TimeUnit.SECONDS);
        }
        assertThat(total).isEqualTo(THREADS * ITERATIONS_PER_THREAD);
      } finally {
        pool.shutdownNow();
      }
    }
  }

  @Test
  void infer_badRequest_isRefused_andModelKeepsWorking() throws Exception {
    try (GraphModel model =
        new GraphModel(OnnxImporter.importBytes(MnistModelsTest.embeddedModel("mnist-mlp")))) {
      float[] pixels = new float[28 * 28];
      assertThatThrownBy(
              () -> model.infer(Map.of("input", Tensor.ofFloats(new long[] {1, 28, 28}, pixels))))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage("input 'input': shape [1,28,28] does not match expected [-1,1,28,28]");
      assertThatThrownBy(() -> model.infer(Map.of()))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage("input 'input' is missing");
      assertThat(
              model
                  .infer(Map.of("input", Tensor.ofFloats(new long[] {1, 1, 28, 28}, pixels)))
                  .get("logits")
                  .toFloatArray())
          .hasSize(10);
    }
  }

  @Test
  void plan_reusesArenaMemoryAcrossValues() throws Exception {
    try (GraphModel model =
        new GraphModel(OnnxImporter.importBytes(MnistModelsTest.embeddedModel("mnist-cnn")))) {
      model.infer(
          Map.of("input", Tensor.ofFloats(new long[] {64, 1, 28, 28}, new float[64 * 28 * 28])));
      ExecutionPlan plan = model.planFor(new long[][] {{64, 1, 28, 28}});
      long sumOfValues = 0;
      for (int id = 0; id < plan.valueCount(); id++) {
        if (plan.offset(id) >= 0) {
          sumOfValues += plan.elementCount(id);
        }
      }
      // The input, conv1's output and its ReLU must coexist (64·(784 + 2·12544) floats, 69 % of
      // all values together); every later value reuses their slots, so that peak is the arena.
      long peak = 64L * (784 + 2 * 16 * 784);
      assertThat(plan.arenaFloats()).isLessThan(sumOfValues * 3 / 4);
      assertThat(plan.arenaFloats()).isBetween(peak, peak + 16L * plan.valueCount());
    }
  }
}
