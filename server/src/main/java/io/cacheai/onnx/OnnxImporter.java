package io.cacheai.onnx;

import com.google.protobuf.InvalidProtocolBufferException;
import io.cacheai.graph.Attributes;
import io.cacheai.graph.ConstTensor;
import io.cacheai.graph.ConvAffineFolding;
import io.cacheai.graph.ConvBatchNormFolding;
import io.cacheai.graph.Graph;
import io.cacheai.graph.Node;
import io.cacheai.graph.OpType;
import io.cacheai.graph.ShapeInference;
import io.cacheai.graph.ValueInfo;
import io.cacheai.onnx.proto.Onnx.AttributeProto;
import io.cacheai.onnx.proto.Onnx.GraphProto;
import io.cacheai.onnx.proto.Onnx.ModelProto;
import io.cacheai.onnx.proto.Onnx.NodeProto;
import io.cacheai.onnx.proto.Onnx.OperatorSetIdProto;
import io.cacheai.onnx.proto.Onnx.TensorProto;
import io.cacheai.onnx.proto.Onnx.TensorShapeProto;
import io.cacheai.onnx.proto.Onnx.ValueInfoProto;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads an ONNX model into cacheai's {@link Graph}: initializers and Constant nodes become
 * constants, graph inputs keep their symbolic dimensions (a {@code dim_param} or non-positive dim:
 * the batch, or e.g. an image width), BatchNormalization and constant scale/shift after Conv are
 * folded into it, and — when only the batch is symbolic — shapes are inferred for batch sizes 1 and
 * 2 so an inconsistent model is refused here rather than at the first request.
 *
 * <p>Every failure, whatever its cause, is one {@link OnnxImportException} whose message says what
 * is wrong: not ONNX, truncated, an op outside {@link OpType} (with the node's name), a data type,
 * an attribute or a shape.
 */
public final class OnnxImporter {
  /** Largest model file read, bytes (protobuf's own limit is 2 GiB). */
  public static final long MAX_MODEL_BYTES = Integer.MAX_VALUE - 8;

  private OnnxImporter() {}

  public static Graph importFile(Path file) throws OnnxImportException {
    byte[] bytes;
    try {
      long size = Files.size(file);
      if (size > MAX_MODEL_BYTES) {
        throw new OnnxImportException(file + ": " + size + " bytes is larger than supported");
      }
      bytes = Files.readAllBytes(file);
    } catch (IOException e) {
      throw new OnnxImportException(file + ": cannot read: " + e.getMessage(), e);
    }
    try {
      return importBytes(bytes);
    } catch (OnnxImportException e) {
      throw new OnnxImportException(file.getFileName() + ": " + e.getMessage(), e.getCause());
    }
  }

  public static Graph importBytes(byte[] bytes) throws OnnxImportException {
    if (bytes.length == 0) {
      throw new OnnxImportException("not an ONNX model: the file is empty");
    }
    ModelProto model;
    try {
      model = ModelProto.parseFrom(bytes);
    } catch (InvalidProtocolBufferException e) {
      throw new OnnxImportException("not an ONNX model or truncated: " + e.getMessage(), e);
    }
    if (!model.hasGraph() || model.getGraph().getNodeCount() == 0) {
      throw new OnnxImportException(
          "not an ONNX model: no graph with nodes (ir_version=" + model.getIrVersion() + ")");
    }
    try {
      Graph graph = convert(model);
      Graph folded = ConvAffineFolding.apply(ConvBatchNormFolding.apply(graph));
      if (folded.fixedExceptBatch()) {
        ShapeInference.infer(folded, 1);
        ShapeInference.infer(folded, 2);
      }
      return folded;
    } catch (OnnxImportException e) {
      throw e;
    } catch (RuntimeException e) {
      throw new OnnxImportException(e.getMessage() == null ? e.toString() : e.getMessage(), e);
    }
  }

  private static Graph convert(ModelProto model) throws OnnxImportException {
    int opset = 0;
    for (OperatorSetIdProto id : model.getOpsetImportList()) {
      if (id.getDomain().isEmpty() || id.getDomain().equals("ai.onnx")) {
        opset = (int) id.getVersion();
      }
    }
    if (opset == 0) {
      throw new OnnxImportException("the model imports no version of the default ONNX domain");
    }
    GraphProto proto = model.getGraph();

    Map<String, ConstTensor> constants = new LinkedHashMap<>();
    for (TensorProto initializer : proto.getInitializerList()) {
      constants.put(initializer.getName(), TensorProtos.toConst(initializer));
    }

    List<ValueInfo> inputs = new ArrayList<>();
    Set<String> inputNames = new HashSet<>();
    for (ValueInfoProto input : proto.getInputList()) {
      if (!inputNames.add(input.getName())) {
        throw new OnnxImportException("graph input '" + input.getName() + "' is listed twice");
      }
      if (!constants.containsKey(input.getName())) {
        inputs.add(valueInfo(input, "input"));
      }
    }
    List<ValueInfo> outputs = new ArrayList<>();
    Set<String> outputNames = new HashSet<>();
    for (ValueInfoProto output : proto.getOutputList()) {
      if (!outputNames.add(output.getName())) {
        throw new OnnxImportException("graph output '" + output.getName() + "' is listed twice");
      }
      outputs.add(declaredOutput(output));
    }

    Set<String> known = new HashSet<>(constants.keySet());
    inputs.forEach(input -> known.add(input.name()));
    List<Node> nodes = new ArrayList<>();
    for (int index = 0; index < proto.getNodeCount(); index++) {
      NodeProto node = proto.getNode(index);
      String name = node.getName().isEmpty() ? node.getOpType() + "_" + index : node.getName();
      String where = node.getOpType() + " '" + name + "'";
      if (!node.getDomain().isEmpty() && !node.getDomain().equals("ai.onnx")) {
        throw new OnnxImportException(
            where + ": op domain '" + node.getDomain() + "' is not supported");
      }
      OpType op =
          OpType.fromOnnxName(node.getOpType())
              .orElseThrow(
                  () ->
                      new OnnxImportException(
                          "unsupported op "
                              + where
                              + " (supported: "
                              + OpType.supportedNames()
                              + ")"));
      Attributes attributes;
      try {
        attributes = attributes(node);
      } catch (RuntimeException e) {
        throw new OnnxImportException(where + ": " + e.getMessage(), e);
      }
      for (String input : node.getInputList()) {
        if (!input.isEmpty() && !known.contains(input)) {
          throw new OnnxImportException(
              where + ": input '" + input + "' is not produced by an earlier node");
        }
      }
      if (node.getOutputCount() == 0 || node.getOutput(0).isEmpty()) {
        throw new OnnxImportException(where + ": has no output");
      }
      if (known.contains(node.getOutput(0))) {
        throw new OnnxImportException(
            where
                + ": output '"
                + node.getOutput(0)
                + "' is already defined (an ONNX graph assigns each value once)");
      }
      if (op == OpType.CONSTANT) {
        constants.put(node.getOutput(0), constantValue(where, attributes));
      } else {
        if (node.getOutputList().stream().skip(1).anyMatch(output -> !output.isEmpty())) {
          throw new OnnxImportException(
              where + ": outputs beyond the first (training mode, indices) are not supported");
        }
        nodes.add(new Node(op, name, node.getInputList(), List.of(node.getOutput(0)), attributes));
      }
      known.add(node.getOutput(0));
    }
    for (ValueInfo output : outputs) {
      if (!known.contains(output.name())) {
        throw new OnnxImportException("graph output '" + output.name() + "' is never produced");
      }
    }
    return new Graph(proto.getName(), opset, inputs, outputs, constants, nodes);
  }

  private static ValueInfo valueInfo(ValueInfoProto value, String what) throws OnnxImportException {
    String where = what + " '" + value.getName() + "'";
    if (!value.getType().hasTensorType()) {
      throw new OnnxImportException(where + ": only tensor inputs are supported");
    }
    int elemType = value.getType().getTensorType().getElemType();
    if (elemType != TensorProto.DataType.FLOAT_VALUE) {
      throw new OnnxImportException(
          where
              + ": element type "
              + TensorProto.DataType.forNumber(elemType)
              + " is not supported (FLOAT only)");
    }
    TensorShapeProto shape = value.getType().getTensorType().getShape();
    long[] dims = new long[shape.getDimCount()];
    for (int i = 0; i < dims.length; i++) {
      TensorShapeProto.Dimension dim = shape.getDim(i);
      boolean symbolic = !dim.hasDimValue() || dim.getDimValue() < 0;
      dims[i] = symbolic ? ValueInfo.DYNAMIC : dim.getDimValue();
    }
    return new ValueInfo(value.getName(), dims);
  }

  /** An output's declared shape (symbolic dims -1), or an empty shape when none is declared. */
  private static ValueInfo declaredOutput(ValueInfoProto output) {
    if (!output.getType().hasTensorType() || !output.getType().getTensorType().hasShape()) {
      return new ValueInfo(output.getName(), new long[0]);
    }
    TensorShapeProto shape = output.getType().getTensorType().getShape();
    long[] dims = new long[shape.getDimCount()];
    for (int i = 0; i < dims.length; i++) {
      TensorShapeProto.Dimension dim = shape.getDim(i);
      dims[i] = dim.hasDimValue() && dim.getDimValue() > 0 ? dim.getDimValue() : ValueInfo.DYNAMIC;
    }
    return new ValueInfo(output.getName(), dims);
  }

  private static ConstTensor constantValue(String where, Attributes attributes)
      throws OnnxImportException {
    if (attributes.has("value")) {
      return attributes.getTensor("value");
    }
    if (attributes.has("value_float")) {
      return ConstTensor.ofFloats(new long[0], new float[] {attributes.getFloat("value_float", 0)});
    }
    if (attributes.has("value_floats")) {
      float[] values = attributes.getFloats("value_floats");
      return ConstTensor.ofFloats(new long[] {values.length}, values);
    }
    if (attributes.has("value_int")) {
      return ConstTensor.ofLongs(new long[0], new long[] {attributes.getLong("value_int", 0)});
    }
    if (attributes.has("value_ints")) {
      long[] values = attributes.getLongs("value_ints");
      return ConstTensor.ofLongs(new long[] {values.length}, values);
    }
    throw new OnnxImportException(where + ": no supported value attribute " + attributes);
  }

  private static Attributes attributes(NodeProto node) {
    Map<String, Object> values = new HashMap<>();
    for (AttributeProto attribute : node.getAttributeList()) {
      Object value =
          switch (attribute.getType()) {
            case FLOAT -> attribute.getF();
            case INT -> attribute.getI();
            case STRING -> attribute.getS().toStringUtf8();
            case INTS -> attribute.getIntsList().stream().mapToLong(Long::longValue).toArray();
            case FLOATS -> {
              float[] floats = new float[attribute.getFloatsCount()];
              for (int i = 0; i < floats.length; i++) {
                floats[i] = attribute.getFloats(i);
              }
              yield floats;
            }
            case TENSOR -> TensorProtos.toConst(attribute.getT());
            default ->
                throw new IllegalArgumentException(
                    "attribute '"
                        + attribute.getName()
                        + "' of type "
                        + attribute.getType()
                        + " is not supported");
          };
      values.put(attribute.getName(), value);
    }
    return new Attributes(values);
  }
}
