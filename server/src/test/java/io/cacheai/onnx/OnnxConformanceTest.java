package io.cacheai.onnx;

import static org.assertj.core.api.Assertions.assertThat;

import io.cacheai.graph.ConstTensor;
import io.cacheai.graph.OpType;
import io.cacheai.onnx.proto.Onnx.GraphProto;
import io.cacheai.onnx.proto.Onnx.ModelProto;
import io.cacheai.onnx.proto.Onnx.NodeProto;
import io.cacheai.onnx.proto.Onnx.TensorProto;
import io.cacheai.onnx.proto.Onnx.ValueInfoProto;
import io.cacheai.runtime.DataType;
import io.cacheai.runtime.GraphModel;
import io.cacheai.runtime.Tensor;
import java.io.IOException;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * ONNX's own operator conformance tests (Debian package {@code libonnx-testdata}): every node test
 * whose ops are all in {@link OpType} and whose tensors are float is imported, run and compared
 * with the expected outputs, |ours − expected| ≤ atol + rtol·|expected|. Integer inputs (shape
 * parameters such as Reshape's shape or Slice's starts) and Resize's roi/scales inputs are bound as
 * initializers from the test data: cacheai evaluates such parameters when it plans, not per
 * request.
 *
 * <p>Tests whose model is refused at import with a "not supported" reason (an attribute value or op
 * variant cacheai does not implement) count as refused, not failed; every other error fails.
 * Without the data directory the test fails when {@code CI} is set and is skipped otherwise.
 */
class OnnxConformanceTest {
  static final Path DATA = Path.of("/usr/share/libonnx-testdata/data/node");
  private static final double RTOL = 1e-3;
  private static final double ATOL = 1e-5;

  @Test
  void nodeTests_allSupportedPass() throws IOException {
    if (!Files.isDirectory(DATA)) {
      String message =
          DATA
              + " is missing: install the Debian package libonnx-testdata (apt-get install -y"
              + " libonnx-testdata)";
      if (System.getenv("CI") != null) {
        Assertions.fail(message);
      }
      Assumptions.abort(message);
    }
    List<Path> tests;
    try (Stream<Path> list = Files.list(DATA)) {
      tests = list.filter(Files::isDirectory).sorted().toList();
    }
    int passed = 0;
    int unsupportedOp = 0;
    int nonFloat = 0;
    Map<String, String> refused = new TreeMap<>();
    Map<String, String> failed = new TreeMap<>();
    for (Path test : tests) {
      String name = test.getFileName().toString();
      Outcome outcome;
      try {
        outcome = run(test);
      } catch (Exception | AssertionError e) {
        failed.put(name, String.valueOf(e.getMessage()).lines().findFirst().orElse(e.toString()));
        continue;
      }
      switch (outcome.kind) {
        case PASSED -> passed++;
        case UNSUPPORTED_OP -> unsupportedOp++;
        case NON_FLOAT -> nonFloat++;
        case REFUSED -> refused.put(name, outcome.detail);
        case FAILED -> failed.put(name, outcome.detail);
      }
    }
    System.out.printf(
        "ONNX node conformance (%s): %d tests; passed %d, refused at import (not supported) %d,"
            + " skipped: unsupported op %d, non-float tensors %d; failed %d%n",
        DATA, tests.size(), passed, refused.size(), unsupportedOp, nonFloat, failed.size());
    refused.forEach((test, why) -> System.out.println("  refused " + test + ": " + why));
    failed.forEach((test, why) -> System.out.println("  FAILED " + test + ": " + why));
    assertThat(failed).as("conformance failures").isEmpty();
    assertThat(passed).as("tests run").isGreaterThan(100);
  }

  private enum Kind {
    PASSED,
    UNSUPPORTED_OP,
    NON_FLOAT,
    REFUSED,
    FAILED
  }

  private record Outcome(Kind kind, String detail) {}

  private static Outcome run(Path test) throws Exception {
    ModelProto model = ModelProto.parseFrom(Files.readAllBytes(test.resolve("model.onnx")));
    GraphProto graph = model.getGraph();
    for (NodeProto node : graph.getNodeList()) {
      boolean defaultDomain = node.getDomain().isEmpty() || node.getDomain().equals("ai.onnx");
      if (!defaultDomain || OpType.fromOnnxName(node.getOpType()).isEmpty()) {
        return new Outcome(Kind.UNSUPPORTED_OP, node.getOpType());
      }
    }
    Path data = test.resolve("test_data_set_0");
    GraphProto.Builder bound = graph.toBuilder().clearInput();
    Map<String, Tensor> inputs = new LinkedHashMap<>();
    for (int i = 0; i < graph.getInputCount(); i++) {
      ValueInfoProto input = graph.getInput(i);
      Path file = data.resolve("input_" + i + ".pb");
      if (!Files.exists(file)) {
        return new Outcome(Kind.NON_FLOAT, "no data for input " + input.getName());
      }
      TensorProto tensor = TensorProto.parseFrom(Files.readAllBytes(file));
      int type = input.getType().getTensorType().getElemType();
      if (isResizeParameter(graph, input.getName())) {
        bound.addInitializer(tensor.toBuilder().setName(input.getName()));
      } else if (type == TensorProto.DataType.FLOAT_VALUE) {
        ConstTensor value = TensorProtos.toConst(tensor);
        inputs.put(input.getName(), Tensor.ofFloats(value.shape(), value.floats()));
        bound.addInput(input);
      } else if (type == TensorProto.DataType.INT64_VALUE
          || type == TensorProto.DataType.INT32_VALUE) {
        bound.addInitializer(tensor.toBuilder().setName(input.getName()));
      } else {
        return new Outcome(Kind.NON_FLOAT, "input type " + type);
      }
    }
    List<ConstTensor> expected = new ArrayList<>();
    for (int i = 0; i < graph.getOutputCount(); i++) {
      int type = graph.getOutput(i).getType().getTensorType().getElemType();
      if (type != TensorProto.DataType.FLOAT_VALUE && type != TensorProto.DataType.INT64_VALUE) {
        return new Outcome(Kind.NON_FLOAT, "output type " + type);
      }
      expected.add(
          TensorProtos.toConst(
              TensorProto.parseFrom(Files.readAllBytes(data.resolve("output_" + i + ".pb")))));
    }
    byte[] bytes = model.toBuilder().setGraph(bound).build().toByteArray();
    GraphModel executor;
    try {
      executor = new GraphModel(OnnxImporter.importBytes(bytes));
    } catch (OnnxImportException | IllegalArgumentException e) {
      String message = String.valueOf(e.getMessage());
      if (message.contains("not supported") || message.contains("supported:")) {
        return new Outcome(Kind.REFUSED, message);
      }
      return new Outcome(Kind.FAILED, "import: " + message);
    }
    Map<String, Tensor> outputs;
    try (executor) {
      outputs = executor.infer(inputs);
    } catch (IllegalArgumentException e) {
      String message = String.valueOf(e.getMessage());
      if (message.contains("not supported") || message.contains("supported:")) {
        return new Outcome(Kind.REFUSED, message);
      }
      return new Outcome(Kind.FAILED, "run: " + message);
    }
    for (int i = 0; i < expected.size(); i++) {
      String name = graph.getOutput(i).getName();
      String problem = compare(outputs.get(name), expected.get(i));
      if (problem != null) {
        return new Outcome(Kind.FAILED, "output '" + name + "': " + problem);
      }
    }
    return new Outcome(Kind.PASSED, "");
  }

  /** Whether {@code name} feeds a Resize's roi or scales. */
  private static boolean isResizeParameter(GraphProto graph, String name) {
    return graph.getNodeList().stream()
        .filter(node -> node.getOpType().equals("Resize"))
        .anyMatch(node -> node.getInputList().indexOf(name) >= 1);
  }

  private static String compare(Tensor actual, ConstTensor expected) {
    if (actual == null) {
      return "missing";
    }
    if (!java.util.Arrays.equals(actual.shape(), expected.shape())) {
      return "shape "
          + Tensor.shapeString(actual.shape())
          + ", expected "
          + Tensor.shapeString(expected.shape());
    }
    if (!expected.isFloat()) {
      if (actual.dataType() != DataType.INT64) {
        return "type " + actual.dataType() + ", expected INT64";
      }
      long[] values = new long[expected.longs().length];
      actual.data().order(ByteOrder.LITTLE_ENDIAN).asLongBuffer().get(values);
      return java.util.Arrays.equals(values, expected.longs())
          ? null
          : "values " + java.util.Arrays.toString(values);
    }
    float[] values = actual.toFloatArray();
    float[] want = expected.floats();
    for (int i = 0; i < want.length; i++) {
      float a = values[i];
      float b = want[i];
      boolean same =
          (Float.isNaN(a) && Float.isNaN(b))
              || a == b
              || Math.abs((double) a - b) <= ATOL + RTOL * Math.abs((double) b);
      if (!same) {
        return "element " + i + " = " + a + ", expected " + b;
      }
    }
    return null;
  }
}
