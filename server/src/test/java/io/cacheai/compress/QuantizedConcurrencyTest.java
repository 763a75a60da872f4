package io.cacheai.compress;

import static org.assertj.core.api.Assertions.assertThat;

import io.cacheai.graph.Graph;
import io.cacheai.onnx.OnnxImporter;
import io.cacheai.runtime.GraphModel;
import io.cacheai.runtime.Tensor;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Quantized kernels share their weights and output-stage constants across requests and keep their
 * work buffers per frame or per thread: concurrent requests of mixed batch sizes must give exactly
 * the answers of the same requests run one by one.
 */
class QuantizedConcurrencyTest {
  @ParameterizedTest(name = "{0} {1}")
  @CsvSource({"mnist-cnn, int8", "mnist-mlp, int4", "mnist-cnn, mixed"})
  void infer_concurrentMixedBatches_bitIdenticalToSequential(String model, String method)
      throws Exception {
    Path root = Path.of(System.getProperty("user.dir")).getParent();
    Graph graph =
        OnnxImporter.importFile(
            root.resolve("server/src/main/resources/io/cacheai/models/" + model + "/1/model.onnx"));
    Dataset data = Dataset.read(root.resolve("tools/mnist/data/t10k-images-idx3-ubyte.gz"));
    Compressor.Result result =
        Compressor.compress(
            graph,
            data.range(0, 200),
            Compressor.Options.of(Compressor.Method.parse(method), CalibrationMethod.MINMAX, 200),
            (p, d, t) -> {});
    int requests = 40;
    try (GraphModel quantized = result.graph().model()) {
      List<float[]> expected = new ArrayList<>();
      for (int r = 0; r < requests; r++) {
        expected.add(run(quantized, data, r));
      }
      ExecutorService pool = Executors.newFixedThreadPool(4);
      try {
        List<Future<float[]>> futures = new ArrayList<>();
        for (int round = 0; round < 3; round++) {
          for (int r = 0; r < requests; r++) {
            int request = r;
            futures.add(pool.submit(() -> run(quantized, data, request)));
          }
        }
        for (int i = 0; i < futures.size(); i++) {
          assertThat(futures.get(i).get(60, TimeUnit.SECONDS))
              .as("request %d", i % requests)
              .containsExactly(expected.get(i % requests));
        }
      } finally {
        pool.shutdownNow();
      }
    }
  }

  /** Request r: batch 1 + r % 5 starting at image 10·r. */
  private static float[] run(GraphModel model, Dataset data, int r) {
    int batch = 1 + r % 5;
    return model
        .infer(Map.of("input", Tensor.ofFloats(data.batchShape(batch), data.slice(10 * r, batch))))
        .get("logits")
        .toFloatArray();
  }
}
