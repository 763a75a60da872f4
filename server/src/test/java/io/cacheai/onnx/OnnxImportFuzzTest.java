package io.cacheai.onnx;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.google.protobuf.InvalidProtocolBufferException;
import io.cacheai.graph.Graph;
import io.cacheai.runtime.GraphModel;
import io.cacheai.runtime.SmokeRun;

/**
 * Fuzzes ONNX import with arbitrary bytes, seeded with the embedded MNIST models (inputs directory
 * {@code src/test/resources/io/cacheai/onnx/OnnxImportFuzzTestInputs/<method>/}).
 *
 * <p>The contract checked: {@link OnnxImporter#importBytes} either returns a graph or throws one
 * {@link OnnxImportException} with a message; that exception may wrap a protobuf parse error or an
 * {@link IllegalArgumentException} (a check that fired), never an accident such as a
 * NullPointerException or an index out of bounds, whose message would mean nothing to the user. A
 * graph it returns builds into a {@link GraphModel} or is refused with an {@link
 * IllegalArgumentException} with a message; a model that was built runs (when small, see {@link
 * SmokeRun}).
 */
class OnnxImportFuzzTest {
  /**
   * Import may allocate a small multiple of the file's size, never what its dims merely declare.
   * Measured on a second import of the same bytes, so that class loading (and Jazzer instrumenting
   * the classes) on the first pass through a code path is not counted; the base is still generous.
   */
  private static final long MAX_IMPORT_BASE_BYTES = 64L << 20;

  private static final com.sun.management.ThreadMXBean THREADS =
      (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();

  @FuzzTest(maxDuration = "5m")
  void importBytes_anyBytes_refusedClearlyOrRuns(byte[] bytes) {
    try {
      OnnxImporter.importBytes(bytes); // a first pass loads the classes this input's path needs
    } catch (OnnxImportException | RuntimeException e) {
      // judged on the measured pass below
    }
    Graph graph;
    long allocatedBefore = THREADS.getCurrentThreadAllocatedBytes();
    try {
      graph = OnnxImporter.importBytes(bytes);
    } catch (OnnxImportException e) {
      assertThat(e.getMessage()).isNotBlank();
      Throwable cause = e.getCause();
      if (cause != null
          && !(cause instanceof InvalidProtocolBufferException)
          && !(cause instanceof IllegalArgumentException)) {
        throw new AssertionError("import failed by accident, not by a check: " + cause, cause);
      }
      return;
    } finally {
      long allocatedBytes = THREADS.getCurrentThreadAllocatedBytes() - allocatedBefore;
      assertThat(allocatedBytes)
          .as("heap bytes allocated importing %d bytes", bytes.length)
          .isLessThan(MAX_IMPORT_BASE_BYTES + 16L * bytes.length);
    }
    GraphModel model;
    try {
      model = new GraphModel(graph);
    } catch (IllegalArgumentException e) {
      assertThat(e.getMessage()).isNotBlank();
      return;
    }
    try (model) {
      SmokeRun.runIfSmall(model, graph);
    }
  }
}
