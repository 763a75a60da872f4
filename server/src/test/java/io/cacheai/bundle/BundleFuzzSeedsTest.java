package io.cacheai.bundle;

import static io.cacheai.onnx.OnnxModelBuilder.intAttr;
import static io.cacheai.onnx.OnnxModelBuilder.intsAttr;
import static org.assertj.core.api.Assertions.assertThat;

import io.cacheai.graph.Graph;
import io.cacheai.onnx.OnnxImporter;
import io.cacheai.onnx.OnnxModelBuilder;
import io.cacheai.proto.v1.Producer;
import io.cacheai.runtime.GraphModel;
import io.cacheai.runtime.SmokeRun;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The seed bundles of {@link BundleReaderFuzzTest} are real bundles: written by {@link
 * BundleWriter} from a tiny graph ({@link #tinyGraph}), and the committed copies still open and
 * run. If the format changes on purpose, regenerate them with {@code
 * -Dcacheai.fuzz.writeSeeds=true} (this test then writes them into the source tree).
 */
class BundleFuzzSeedsTest {
  private static final Path SEEDS =
      Path.of("src/test/resources/io/cacheai/bundle/BundleReaderFuzzTestInputs");
  private static final List<String> METHODS =
      List.of("open_anyBytes_refusedClearlyOrRuns", "open_checksumsRepaired_refusedClearlyOrRuns");
  private static final String SEED_NAME = "tiny-cnn.cai";

  @TempDir Path directory;

  /** x[-1,1,6,6] → Conv 2×1×3×3 → Relu → MaxPool 2×2 → Flatten → Gemm 8×3 → Reshape → Softmax. */
  static Graph tinyGraph() throws Exception {
    float[] conv = new float[18];
    for (int i = 0; i < conv.length; i++) {
      conv[i] = (i % 5 - 2) / 4f;
    }
    float[] fc = new float[24];
    for (int i = 0; i < fc.length; i++) {
      fc[i] = (i % 7 - 3) / 8f;
    }
    byte[] onnx =
        new OnnxModelBuilder()
            .input("x", -1, 1, 6, 6)
            .floats("conv.w", new long[] {2, 1, 3, 3}, conv)
            .floats("conv.b", new long[] {2}, new float[] {0.1f, -0.1f})
            .floats("fc.w", new long[] {8, 3}, fc)
            .floats("fc.b", new long[] {3}, new float[] {0f, 0.5f, -0.5f})
            .int64s("shape", -1, 3)
            .node(
                "Conv", "conv", List.of("x", "conv.w", "conv.b"), "c", intsAttr("pads", 0, 0, 0, 0))
            .node("Relu", "relu", List.of("c"), "r")
            .node(
                "MaxPool",
                "pool",
                List.of("r"),
                "p",
                intsAttr("kernel_shape", 2, 2),
                intsAttr("strides", 2, 2))
            .node("Flatten", "flatten", List.of("p"), "f", intAttr("axis", 1))
            .node("Gemm", "fc", List.of("f", "fc.w", "fc.b"), "g")
            .node("Reshape", "reshape", List.of("g", "shape"), "s")
            .node("Softmax", "softmax", List.of("s"), "probs")
            .output("probs")
            .build();
    return OnnxImporter.importBytes(onnx);
  }

  static Path writeTinyBundle(Path target) throws Exception {
    new BundleWriter(tinyGraph())
        .producer(Producer.newBuilder().setSourceName("tiny-cnn").setCompression("none").build())
        .write(target);
    return target;
  }

  @Test
  void tinyBundle_writtenByBundleWriter_opensAndRuns() throws Exception {
    Path file = writeTinyBundle(directory.resolve(SEED_NAME));
    assertOpensAndRuns(file);
    if (Boolean.getBoolean("cacheai.fuzz.writeSeeds")) {
      for (String method : METHODS) {
        Files.createDirectories(SEEDS.resolve(method));
        Files.copy(
            file,
            SEEDS.resolve(method).resolve(SEED_NAME),
            java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      }
    }
  }

  @Test
  void committedSeeds_stillOpenAndRun() throws Exception {
    for (String method : METHODS) {
      assertOpensAndRuns(SEEDS.resolve(method).resolve(SEED_NAME));
    }
  }

  private static void assertOpensAndRuns(Path file) throws Exception {
    assertThat(Files.size(file)).isLessThan(4096);
    try (Bundle bundle = BundleReader.open(file);
        GraphModel model = new GraphModel(bundle.graph())) {
      assertThat(SmokeRun.runIfSmall(model, bundle.graph())).isTrue();
    }
  }
}
