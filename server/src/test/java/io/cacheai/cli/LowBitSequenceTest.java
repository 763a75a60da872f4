package io.cacheai.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.cacheai.bundle.Bundle;
import io.cacheai.bundle.BundleReader;
import io.cacheai.bundle.PackedTensors;
import io.cacheai.compress.Dataset;
import io.cacheai.kernels.Int8KqConv;
import io.cacheai.kernels.LowBitConv;
import io.cacheai.runtime.GraphModel;
import io.cacheai.runtime.Int8Gemm;
import io.cacheai.runtime.NodeProfile;
import io.cacheai.runtime.PlanProbe;
import io.cacheai.runtime.Tensor;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The low-bit MNIST CNN ({@code compress --method int4 / mixed}, real bundles) at batch 1 as one
 * native sequence (dynamic-quantizing convolutions + the q4g32 head) against the per-layer path of
 * the same bundle ({@code -Dcacheai.lowbit.sequence=false} while its plan is built): the logits bit
 * for bit on the 10 000 MNIST test images, and on images whose dynamic stage refuses them (a NaN,
 * an infinity, a range that overflows, all zeros, subnormals), which the sequence hands back to the
 * per-layer kernels.
 */
class LowBitSequenceTest {
  private static final long[][] BATCH1 = {{1, 1, 28, 28}};

  @TempDir Path dir;

  @ParameterizedTest
  @ValueSource(strings = {"int4", "mixed"})
  void mnistCnnBatch1_sequenceEqualsPerLayerBitForBit(String method) throws Exception {
    Assumptions.assumeTrue(Int8KqConv.available(), "the kw-quad kernel (AVX-512 VBMI) runs here");
    Assumptions.assumeTrue(LowBitConv.body() >= 1, "a native low-bit body runs here");
    Path cai = MnistCompressed.bundle(dir, "mnist-cnn", method);
    Dataset data = Dataset.read(MnistCompressed.MNIST);
    try (Bundle bundle = BundleReader.open(cai)) {
      var packed = PackedTensors.read(bundle);
      String before = System.getProperty("cacheai.lowbit.sequence");
      System.setProperty("cacheai.lowbit.sequence", "false");
      GraphModel perLayer;
      List<String> perLayerKernels;
      try { // plans may be built in the constructor
        perLayer = new GraphModel(bundle.graph(), packed, Int8Gemm.best());
        perLayerKernels = PlanProbe.kernels(perLayer, BATCH1);
      } finally {
        if (before == null) {
          System.clearProperty("cacheai.lowbit.sequence");
        } else {
          System.setProperty("cacheai.lowbit.sequence", before);
        }
      }
      GraphModel sequence = new GraphModel(bundle.graph(), packed, Int8Gemm.best());
      List<String> sequenceKernels = PlanProbe.kernels(sequence, BATCH1);
      if (!NodeProfile.ENABLED) { // profiled kernels are wrapped
        assertThat(perLayerKernels).contains("LowBitConvKernel", "Q4GemmChainKernel");
        assertThat(sequenceKernels)
            .containsExactly("Int8SequenceKernel[Dynamic(KqConv), Dynamic(LanesConv), Q4Chain]");
      }
      int images = Integer.getInteger("cacheai.lowbitseq.images", 10_000);
      for (int i = 0; i < images; i++) {
        assertSame(perLayer, sequence, data.slice(i, 1), method + " image " + i);
      }
      float[][] odd = new float[6][];
      for (int k = 0; k < odd.length; k++) {
        odd[k] = data.slice(k, 1);
      }
      odd[0][300] = Float.NaN;
      odd[1][5] = Float.POSITIVE_INFINITY;
      odd[2][7] = Float.MAX_VALUE;
      odd[2][8] = -Float.MAX_VALUE; // hi - lo overflows
      Arrays.fill(odd[3], 0f);
      Arrays.fill(odd[4], 1e-41f); // subnormal range
      odd[5][100] = 1e30f; // an outlier: most pixels quantize to the zero point
      for (int k = 0; k < odd.length; k++) {
        assertSame(perLayer, sequence, odd[k], method + " odd image " + k);
      }
      perLayer.close();
      sequence.close();
    }
  }

  private static void assertSame(GraphModel a, GraphModel b, float[] pixels, String what) {
    Map<String, Tensor> request =
        Map.of("input", Tensor.ofFloats(new long[] {1, 1, 28, 28}, pixels));
    float[] expected = a.infer(request).get("logits").toFloatArray();
    float[] actual = b.infer(request).get("logits").toFloatArray();
    assertThat(expected).as(what).hasSize(10);
    int[] expectedBits = new int[10];
    int[] actualBits = new int[10];
    for (int j = 0; j < 10; j++) {
      expectedBits[j] = Float.floatToRawIntBits(expected[j]);
      actualBits[j] = Float.floatToRawIntBits(actual[j]);
    }
    assertThat(actualBits).as(what).containsExactly(expectedBits);
  }
}
