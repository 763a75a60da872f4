package io.cacheai.cli;

import io.cacheai.compress.Dataset;
import io.cacheai.ocr.OrtModel;
import io.cacheai.runtime.Model;
import io.cacheai.runtime.Tensor;
import io.cacheai.serve.BundleModelLoader;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Batch-1 thread CPU time per call of the MNIST CNN as int8, int4 and mixed bundles next to ONNX
 * Runtime fp32 on the same ONNX, in one JVM, round-robin windows (the figure the bench reports as
 * "b1 CPU", without the bench's model building): what a change of the low-bit path buys. Runs with
 * {@code -Dcacheai.measure=true}; the bundles are kept under {@code target/profile-cache}.
 *
 * <pre>
 * ./mvnw -B -q -o verify -pl server -am -Dcacheai.measure=true -Dtest=LowBitLatencyTest \
 *     -Dsurefire.failIfNoSpecifiedTests=false
 * </pre>
 */
class LowBitLatencyTest {
  @Test
  void measure_mnistCnnBatch1() throws Exception {
    Assumptions.assumeTrue(OcrInt8CompressTest.MEASURE, "-Dcacheai.measure=true");
    Path cache = MnistCompressed.measurementCache();
    Path onnx = MnistCompressed.onnx(cache, "mnist-cnn");
    String[] methods = {"int8", "int4", "mixed"};
    List<Model> models = new ArrayList<>();
    models.add(new OrtModel(Files.readAllBytes(onnx)));
    for (String method : methods) {
      Path cai = MnistCompressed.bundle(cache, "mnist-cnn", method);
      models.add(new BundleModelLoader().load("mnist-cnn-" + method, cai));
    }
    Dataset data = Dataset.read(MnistCompressed.MNIST);
    List<Map<String, Tensor>> requests = new ArrayList<>();
    for (int i = 0; i < 64; i++) {
      requests.add(Map.of("input", Tensor.ofFloats(data.batchShape(1), data.slice(1000 + i, 1))));
    }
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    int windows = Integer.getInteger("cacheai.measure.windows", 15);
    int calls = Integer.getInteger("cacheai.measure.calls", 4000);
    double[][] us = new double[models.size()][windows];
    for (int w = -3; w < windows; w++) {
      for (int m = 0; m < models.size(); m++) {
        Model model = models.get(m);
        long start = threads.getCurrentThreadCpuTime();
        for (int c = 0; c < calls; c++) {
          model.infer(requests.get(c & 63));
        }
        if (w >= 0) {
          us[m][w] = (threads.getCurrentThreadCpuTime() - start) / 1e3 / calls;
        }
      }
    }
    String[] names = {"ORT fp32", "int8", "int4", "mixed"};
    double ort = median(us[0]);
    for (int m = 0; m < models.size(); m++) {
      double med = median(us[m]);
      double[] sorted = us[m].clone();
      Arrays.sort(sorted);
      System.out.printf(
          Locale.ROOT,
          "mnist-cnn %-8s b1 CPU median %.2f us (min %.2f, max %.2f) vs ORT %.2fx%n",
          names[m],
          med,
          sorted[0],
          sorted[sorted.length - 1],
          ort / med);
    }
    for (Model model : models) {
      model.close();
    }
  }

  private static double median(double[] values) {
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    return sorted[sorted.length / 2];
  }
}
