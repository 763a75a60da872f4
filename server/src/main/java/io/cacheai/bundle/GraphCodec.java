package io.cacheai.bundle;

import io.cacheai.graph.Attributes;
import io.cacheai.graph.ConstTensor;
import io.cacheai.graph.Graph;
import io.cacheai.graph.Node;
import io.cacheai.graph.OpType;
import io.cacheai.graph.ValueInfo;
import io.cacheai.proto.v1.Attribute;
import io.cacheai.proto.v1.BundleGraph;
import io.cacheai.proto.v1.DataType;
import io.cacheai.proto.v1.Floats;
import io.cacheai.proto.v1.InlineTensor;
import io.cacheai.proto.v1.Ints;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * Translates the graph IR ({@link Graph}) to the manifest's {@link BundleGraph} and back. Constants
 * are not part of it: the manifest lists their names and the bundle stores their bytes in sections;
 * decoding takes them from the caller (as views of the mapping).
 */
final class GraphCodec {
  private GraphCodec() {}

  static BundleGraph encode(Graph graph) {
    BundleGraph.Builder out =
        BundleGraph.newBuilder().setName(graph.name()).setOpsetVersion(graph.opsetVersion());
    graph.inputs().forEach(v -> out.addInputs(encode(v)));
    graph.outputs().forEach(v -> out.addOutputs(encode(v)));
    out.addAllConstants(graph.constants().keySet());
    for (Node node : graph.nodes()) {
      io.cacheai.proto.v1.Node.Builder n =
          io.cacheai.proto.v1.Node.newBuilder()
              .setOpType(node.op().onnxName())
              .setDomain(node.op().domain())
              .setName(node.name())
              .addAllInputs(node.inputs())
              .addAllOutputs(node.outputs());
      for (String name : node.attributes().names()) {
        n.putAttributes(name, encodeAttribute(node, name, node.attributes().value(name)));
      }
      out.addNodes(n);
    }
    return out.build();
  }

  /**
   * The graph of {@code encoded}, with constants from {@code constants} (which fails for a name it
   * does not have).
   *
   * @throws IllegalArgumentException naming the node and field that cannot be decoded
   */
  static Graph decode(BundleGraph encoded, Function<String, ConstTensor> constants) {
    Map<String, ConstTensor> constantMap = new LinkedHashMap<>();
    for (String name : encoded.getConstantsList()) {
      if (constantMap.put(name, constants.apply(name)) != null) {
        throw new IllegalArgumentException("graph.constants: '" + name + "' listed twice");
      }
    }
    List<Node> nodes = new ArrayList<>();
    for (int i = 0; i < encoded.getNodesCount(); i++) {
      io.cacheai.proto.v1.Node n = encoded.getNodes(i);
      String where = "graph.nodes[" + i + "] '" + n.getName() + "'";
      OpType op =
          OpType.fromName(n.getDomain(), n.getOpType())
              .orElseThrow(
                  () ->
                      new IllegalArgumentException(
                          where
                              + ": op_type="
                              + n.getOpType()
                              + (n.getDomain().isEmpty() ? "" : " domain=" + n.getDomain())
                              + " is not supported (supported: "
                              + OpType.supportedNames()
                              + ")"));
      if (n.getOutputsCount() == 0) {
        throw new IllegalArgumentException(where + ": no outputs");
      }
      Map<String, Object> attributes = new TreeMap<>();
      n.getAttributesMap()
          .forEach((name, value) -> attributes.put(name, decodeAttribute(where, name, value)));
      nodes.add(
          new Node(
              op, n.getName(), n.getInputsList(), n.getOutputsList(), new Attributes(attributes)));
    }
    return new Graph(
        encoded.getName(),
        encoded.getOpsetVersion(),
        encoded.getInputsList().stream().map(GraphCodec::decode).toList(),
        encoded.getOutputsList().stream().map(GraphCodec::decode).toList(),
        constantMap,
        nodes);
  }

  private static io.cacheai.proto.v1.ValueInfo encode(ValueInfo value) {
    io.cacheai.proto.v1.ValueInfo.Builder out =
        io.cacheai.proto.v1.ValueInfo.newBuilder().setName(value.name()).setDataType(DataType.FP32);
    for (long dim : value.shape()) {
      out.addShape(dim);
    }
    return out.build();
  }

  private static ValueInfo decode(io.cacheai.proto.v1.ValueInfo value) {
    if (value.getDataType() != DataType.FP32) {
      throw new IllegalArgumentException(
          "graph value '"
              + value.getName()
              + "': data_type="
              + value.getDataType()
              + ", expected FP32");
    }
    long[] shape = value.getShapeList().stream().mapToLong(Long::longValue).toArray();
    for (int i = 0; i < shape.length; i++) {
      // -1: a dynamic dimension (the batch, or e.g. a text line's width), as in ValueInfo
      if (shape[i] < ValueInfo.DYNAMIC) {
        throw new IllegalArgumentException(
            "graph value '"
                + value.getName()
                + "': shape="
                + Arrays.toString(shape)
                + " (dimensions >= 0, or -1 for a dynamic one)");
      }
    }
    return new ValueInfo(value.getName(), shape);
  }

  private static Attribute encodeAttribute(Node node, String name, Object value) {
    Attribute.Builder out = Attribute.newBuilder();
    if (value instanceof Long l) {
      out.setIntValue(l);
    } else if (value instanceof Float f) {
      out.setFloatValue(f);
    } else if (value instanceof String s) {
      out.setStringValue(s);
    } else if (value instanceof long[] ints) {
      out.setInts(Ints.newBuilder().addAllValues(Arrays.stream(ints).boxed().toList()));
    } else if (value instanceof float[] floats) {
      Floats.Builder list = Floats.newBuilder();
      for (float f : floats) {
        list.addValues(f);
      }
      out.setFloats(list);
    } else if (value instanceof ConstTensor tensor) {
      InlineTensor.Builder inline = InlineTensor.newBuilder().setIsFloat(tensor.isFloat());
      Arrays.stream(tensor.shape()).forEach(inline::addShape);
      if (tensor.isFloat()) {
        for (float f : tensor.floats()) {
          inline.addFloatValues(f);
        }
      } else {
        Arrays.stream(tensor.longs()).forEach(inline::addIntValues);
      }
      out.setTensor(inline);
    } else {
      throw new IllegalArgumentException(
          node.describe()
              + ": attribute '"
              + name
              + "' of type "
              + value.getClass().getSimpleName()
              + " cannot be stored in a bundle");
    }
    return out.build();
  }

  private static Object decodeAttribute(String where, String name, Attribute value) {
    return switch (value.getValueCase()) {
      case INT_VALUE -> value.getIntValue();
      case FLOAT_VALUE -> value.getFloatValue();
      case STRING_VALUE -> value.getStringValue();
      case INTS -> value.getInts().getValuesList().stream().mapToLong(Long::longValue).toArray();
      case FLOATS -> {
        float[] floats = new float[value.getFloats().getValuesCount()];
        for (int i = 0; i < floats.length; i++) {
          floats[i] = value.getFloats().getValues(i);
        }
        yield floats;
      }
      case TENSOR -> {
        InlineTensor t = value.getTensor();
        long[] shape = t.getShapeList().stream().mapToLong(Long::longValue).toArray();
        try {
          if (t.getIsFloat()) {
            float[] floats = new float[t.getFloatValuesCount()];
            for (int i = 0; i < floats.length; i++) {
              floats[i] = t.getFloatValues(i);
            }
            yield ConstTensor.ofFloats(shape, floats);
          }
          yield ConstTensor.ofLongs(
              shape, t.getIntValuesList().stream().mapToLong(Long::longValue).toArray());
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException(
              where + ": attribute '" + name + "': " + e.getMessage(), e);
        }
      }
      case VALUE_NOT_SET ->
          throw new IllegalArgumentException(where + ": attribute '" + name + "' has no value");
    };
  }
}
