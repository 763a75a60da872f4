package io.cacheai.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.cacheai.compress.ActivationCalibrator;
import io.cacheai.compress.ActivationRange;
import io.cacheai.compress.CalibrationMethod;
import io.cacheai.compress.Dataset;
import io.cacheai.compress.GraphQuantizer;
import io.cacheai.compress.LayerPrecision;
import io.cacheai.compress.QuantizedGraph;
import io.cacheai.data.MnistDataset;
import io.cacheai.graph.Graph;
import io.cacheai.onnx.OnnxImporter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The embedded MNIST CNN quantized to int8: at batch 1 the native plan runs its whole int8 body
 * (conv + pool, conv + pool, Flatten, the Gemm chain) as one {@link Int8SequenceKernel}; its logits
 * must equal the Java reference's (one Java kernel per node) bit for bit, on test images and on
 * saturating ones, and so must a batch-3 plan's (no sequence there).
 */
class Int8SequenceKernelTest {
  @Test
  void mnistCnnBatch1_oneSequenceEqualsReference() throws Exception {
    Assumptions.assumeTrue(
        io.cacheai.kernels.Int8KqConv.available(), "the kw-quad kernel (AVX-512 VBMI) runs here");
    Graph graph = OnnxImporter.importBytes(MnistModelsTest.embeddedModel("mnist-cnn"));
    MnistDataset mnist = MnistDataset.testSet(Path.of(System.getProperty("user.dir")).getParent());
    Dataset calibration =
        new Dataset(mnist.slice(0, 200), new long[] {1, 28, 28}, null, "mnist 0..200");
    Map<String, GraphQuantizer.Layer> layers = GraphQuantizer.weightedLayers(graph);
    Set<String> inputs = new LinkedHashSet<>();
    layers.values().forEach(l -> inputs.add(l.input()));
    Map<String, ActivationRange> ranges =
        ActivationCalibrator.calibrate(
            graph, inputs, calibration, 200, CalibrationMethod.MINMAX, d -> {});
    Map<String, LayerPrecision> precisions = new LinkedHashMap<>();
    layers.values().forEach(l -> precisions.put(l.node().name(), LayerPrecision.INT8));
    QuantizedGraph quantized = GraphQuantizer.quantize(graph, layers, precisions, ranges);
    try (GraphModel ref =
            new GraphModel(quantized.graph(), quantized.packed(), Int8Gemm.reference());
        GraphModel nat =
            new GraphModel(quantized.graph(), quantized.packed(), Int8Gemm.nativeKernels())) {
      for (int batch : new int[] {1, 3}) {
        long[] shape = {batch, 1, 28, 28};
        for (int from = 1000; from < 1000 + 12 * batch; from += batch) {
          float[] pixels = mnist.slice(from, batch);
          if (from == 1000) {
            for (int i = 0; i < pixels.length; i += 2) {
              pixels[i] = i % 4 == 0 ? 1e9f : -1e9f; // saturates every quantizer
            }
          }
          Map<String, Tensor> request = Map.of("input", Tensor.ofFloats(shape, pixels));
          float[] expected = ref.infer(request).get("logits").toFloatArray();
          assertThat(expected).hasSize(10 * batch);
          assertThat(nat.infer(request).get("logits").toFloatArray())
              .as("batch %d, images from %d", batch, from)
              .containsExactly(expected);
        }
      }
      List<Kernel> batch1 = nat.planFor(new long[][] {{1, 1, 28, 28}}).kernels();
      if (!NodeProfile.ENABLED) { // profiled kernels are wrapped
        assertThat(batch1).hasSize(1).first().isInstanceOf(Int8SequenceKernel.class);
        assertThat(((Int8SequenceKernel) batch1.get(0)).sequence().steps()).hasSize(3);
        assertThat(nat.planFor(new long[][] {{3, 1, 28, 28}}).kernels())
            .noneMatch(k -> k instanceof Int8SequenceKernel);
      }
      assertThat(Arrays.asList(ref.planFor(new long[][] {{1, 1, 28, 28}}).kernels().toArray()))
          .noneMatch(k -> k instanceof Int8SequenceKernel);
    }
  }
}
