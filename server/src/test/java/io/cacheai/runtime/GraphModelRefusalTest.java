package io.cacheai.runtime;

import static io.cacheai.onnx.OnnxModelBuilder.intsAttr;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cacheai.graph.Attributes;
import io.cacheai.graph.Graph;
import io.cacheai.graph.Node;
import io.cacheai.graph.OpType;
import io.cacheai.graph.ValueInfo;
import io.cacheai.onnx.OnnxImporter;
import io.cacheai.onnx.OnnxModelBuilder;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Graphs the runtime cannot run are refused by {@link GraphModel}'s constructor with a message,
 * whoever made them (the importer, a bundle's manifest). Values larger than one buffer holds are
 * refused when the plan is made, with the node and shape, rather than failing at the first request
 * with "integer overflow" (or an out-of-memory error). A 1×1 convolution with large padding turns a
 * one-pixel input into a huge output.
 */
class GraphModelRefusalTest {
  private static Graph paddedConv(long pad) throws Exception {
    return OnnxImporter.importBytes(
        new OnnxModelBuilder()
            .input("x", -1, 1, 1, 1)
            .floats("w", new long[] {1, 1, 1, 1}, new float[] {1f})
            .node("Conv", "inflate", List.of("x", "w"), "y", intsAttr("pads", pad, pad, pad, pad))
            .output("y")
            .build());
  }

  @Test
  void constructor_valueLargerThanOneBuffer_refusedNamingNodeAndShape() throws Exception {
    Graph graph = paddedConv(100_000); // output [1,1,200001,200001]: 4·10¹⁰ floats
    assertThatThrownBy(() -> new GraphModel(graph))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("input shapes [[1, 1, 1, 1]]")
        .hasMessageContaining("Conv 'inflate'")
        .hasMessageContaining("[1,1,200001,200001]")
        .hasMessageContaining("one buffer holds at most");
  }

  @Test
  void infer_batchWhoseValuesExceedOneBuffer_refusedBeforeAllocating() throws Exception {
    // batch 1 needs 9·10⁸ floats (planned, never allocated here); batch 3 needs 2.7·10⁹
    try (GraphModel model = new GraphModel(paddedConv(15_000))) {
      Map<String, Tensor> request =
          Map.of("x", Tensor.ofFloats(new long[] {3, 1, 1, 1}, new float[] {1f, 2f, 3f}));
      assertThatThrownBy(() -> model.infer(request))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("input shapes [[3, 1, 1, 1]]")
          .hasMessageContaining("[3,1,30001,30001]");
      assertThat(model.inputs().get(0).shape()).containsExactly(-1, 1, 1, 1);
    }
  }

  /** Found by BundleReaderFuzzTest: a manifest graph reading an undefined value → NPE. */
  @Test
  void constructor_nodeReadsUndefinedValue_refusedNamingNodeAndValue() {
    Graph graph =
        new Graph(
            "g",
            13,
            List.of(new ValueInfo("x", new long[] {-1, 4})),
            List.of(new ValueInfo("y", new long[0])),
            Map.of(),
            List.of(
                new Node(
                    OpType.ADD,
                    "add0",
                    List.of("x", "ghost"),
                    List.of("y"),
                    new Attributes(Map.of()))));
    assertThatThrownBy(() -> new GraphModel(graph))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("Add 'add0': input 'ghost' is not defined before it is used");
  }

  @Test
  void constructor_outputNeverDefined_refused() {
    Graph graph =
        new Graph(
            "g",
            13,
            List.of(new ValueInfo("x", new long[] {-1, 4})),
            List.of(new ValueInfo("z", new long[0])),
            Map.of(),
            List.of(
                new Node(
                    OpType.RELU, "relu0", List.of("x"), List.of("y"), new Attributes(Map.of()))));
    assertThatThrownBy(() -> new GraphModel(graph))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("graph output 'z' is never defined");
  }
}
