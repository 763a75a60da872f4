package io.cacheai.onnx;

import static io.cacheai.onnx.OnnxModelBuilder.intAttr;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cacheai.graph.Graph;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Import failures surface as one exception type whose message says what was wrong and where. */
class OnnxImporterTest {
  private static byte[] reluModel() {
    return new OnnxModelBuilder()
        .input("x", -1, 4)
        .node("Relu", "relu0", List.of("x"), "y")
        .output("y")
        .build();
  }

  @Test
  void importBytes_validModel_infersBatchAndOutputs() throws Exception {
    Graph graph = OnnxImporter.importBytes(reluModel());
    assertThat(graph.inputs()).hasSize(1);
    assertThat(graph.nodes()).hasSize(1);
    assertThat(graph.outputs().get(0).name()).isEqualTo("y");
  }

  @Test
  void importBytes_truncated_throwsImportException() {
    byte[] model = reluModel();
    byte[] truncated = Arrays.copyOf(model, model.length - 7);
    assertThatThrownBy(() -> OnnxImporter.importBytes(truncated))
        .isInstanceOf(OnnxImportException.class)
        .hasMessageContaining("truncated");
  }

  @Test
  void importBytes_randomBytes_throwsImportException() {
    byte[] noise = new byte[4096];
    new Random(7).nextBytes(noise);
    assertThatThrownBy(() -> OnnxImporter.importBytes(noise))
        .isInstanceOf(OnnxImportException.class)
        .hasMessageContaining("not an ONNX model");
  }

  @Test
  void importFile_emptyFile_throwsImportException(@TempDir Path dir) throws Exception {
    Path empty = Files.createFile(dir.resolve("empty.onnx"));
    assertThatThrownBy(() -> OnnxImporter.importFile(empty))
        .isInstanceOf(OnnxImportException.class)
        .hasMessageContaining("empty");
  }

  @Test
  void importFile_missingFile_throwsImportException(@TempDir Path dir) {
    assertThatThrownBy(() -> OnnxImporter.importFile(dir.resolve("absent.onnx")))
        .isInstanceOf(OnnxImportException.class)
        .hasMessageContaining("absent.onnx");
  }

  @Test
  void importBytes_unsupportedOp_namesOpNodeAndSupportedSet() {
    byte[] model =
        new OnnxModelBuilder()
            .input("x", -1, 4)
            .node("Erf", "squash7", List.of("x"), "y")
            .output("y")
            .build();
    assertThatThrownBy(() -> OnnxImporter.importBytes(model))
        .isInstanceOf(OnnxImportException.class)
        .hasMessageContaining("Erf")
        .hasMessageContaining("squash7")
        .hasMessageContaining("Conv")
        .hasMessageContaining("Softmax");
  }

  @Test
  void importBytes_badAttribute_throwsImportException() {
    byte[] model =
        new OnnxModelBuilder()
            .input("x", -1, 2, 3)
            .node("Flatten", "flat", List.of("x"), "y", intAttr("axis", 9))
            .output("y")
            .build();
    assertThatThrownBy(() -> OnnxImporter.importBytes(model))
        .isInstanceOf(OnnxImportException.class)
        .hasMessageContaining("flat");
  }

  @Test
  void importBytes_inputFromNowhere_throwsImportException() {
    byte[] model =
        new OnnxModelBuilder()
            .input("x", -1, 4)
            .node("Add", "add0", List.of("x", "ghost"), "y")
            .output("y")
            .build();
    assertThatThrownBy(() -> OnnxImporter.importBytes(model))
        .isInstanceOf(OnnxImportException.class)
        .hasMessageContaining("ghost");
  }

  @Test
  void importBytes_integerComputedFromRequestData_refusedNamingNode() {
    byte[] model =
        new OnnxModelBuilder()
            .input("x", -1, 4)
            .node("Cast", "to_int", List.of("x"), "i", intAttr("to", 7))
            .node("Cast", "back", List.of("i"), "y", intAttr("to", 1))
            .output("y")
            .build();
    assertThatThrownBy(() -> OnnxImporter.importBytes(model))
        .isInstanceOf(OnnxImportException.class)
        .hasMessageContaining("to_int")
        .hasMessageContaining("not supported");
  }

  @Test
  void importBytes_symbolicWidth_keptDynamic() throws Exception {
    byte[] model =
        new OnnxModelBuilder()
            .input("x", -1, 3, 48, -1)
            .node("Relu", "r", List.of("x"), "y")
            .output("y")
            .build();
    assertThat(OnnxImporter.importBytes(model).inputs().get(0).shape())
        .containsExactly(-1, 3, 48, -1);
  }

  /** Found by OnnxImportFuzzTest: the message was "long overflow", naming nothing. */
  @Test
  void importBytes_initializerDimsOverflow_refusedNamingTensorAndShape() {
    byte[] model =
        new OnnxModelBuilder()
            .input("x", -1, 4)
            .floats("huge", new long[] {1L << 40, 1L << 40}, new float[0])
            .node("Add", "add0", List.of("x", "huge"), "y")
            .output("y")
            .build();
    assertThatThrownBy(() -> OnnxImporter.importBytes(model))
        .isInstanceOf(OnnxImportException.class)
        .hasMessageContaining("tensor 'huge'")
        .hasMessageContaining("[1099511627776,1099511627776]")
        .hasMessageContaining("64-bit");
  }

  /** Found by OnnxImportFuzzTest: "Index 0 out of bounds for length 0" from shape inference. */
  @Test
  void importBytes_nodeMissingInputs_refusedNamingNodeAndArity() {
    byte[] noInput =
        new OnnxModelBuilder()
            .input("x", -1, 4)
            .node("Relu", "relu0", List.of(), "y")
            .output("y")
            .build();
    assertThatThrownBy(() -> OnnxImporter.importBytes(noInput))
        .isInstanceOf(OnnxImportException.class)
        .hasMessageContaining("Relu 'relu0': inputs []; Relu takes 1");
    byte[] oneOperand =
        new OnnxModelBuilder()
            .input("x", -1, 4)
            .node("Add", "add0", List.of("x"), "y")
            .output("y")
            .build();
    assertThatThrownBy(() -> OnnxImporter.importBytes(oneOperand))
        .isInstanceOf(OnnxImportException.class)
        .hasMessageContaining("Add 'add0': inputs [x]; Add takes 2");
  }

  /** Found by OnnxImportFuzzTest: the model built, listing output 'y' twice in its metadata. */
  @Test
  void importBytes_valueNamedTwice_refused() {
    byte[] outputTwice =
        new OnnxModelBuilder()
            .input("x", -1, 4)
            .node("Relu", "relu0", List.of("x"), "y")
            .output("y")
            .output("y")
            .build();
    assertThatThrownBy(() -> OnnxImporter.importBytes(outputTwice))
        .isInstanceOf(OnnxImportException.class)
        .hasMessageContaining("graph output 'y' is listed twice");
    byte[] reassigned =
        new OnnxModelBuilder()
            .input("x", -1, 4)
            .node("Relu", "relu0", List.of("x"), "y")
            .node("Relu", "relu1", List.of("y"), "x")
            .output("x")
            .build();
    assertThatThrownBy(() -> OnnxImporter.importBytes(reassigned))
        .isInstanceOf(OnnxImportException.class)
        .hasMessageContaining("Relu 'relu1': output 'x' is already defined");
  }

  /**
   * A 40-byte file declaring a 2²⁸-element initializer with no data made the importer allocate 1
   * GiB.
   */
  @Test
  void importBytes_initializerDeclaringMoreThanItHolds_refusedBeforeAllocating() {
    byte[] model =
        new OnnxModelBuilder()
            .input("x", -1, 4)
            .floats("w", new long[] {1L << 28}, new float[0])
            .node("Add", "add0", List.of("x", "w"), "y")
            .output("y")
            .build();
    com.sun.management.ThreadMXBean threads =
        (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
    long before = threads.getCurrentThreadAllocatedBytes();
    assertThatThrownBy(() -> OnnxImporter.importBytes(model))
        .isInstanceOf(OnnxImportException.class)
        .hasMessageContaining("tensor 'w': has 0 elements, dims need 268435456");
    assertThat(threads.getCurrentThreadAllocatedBytes() - before).isLessThan(64L << 20);
  }
}
