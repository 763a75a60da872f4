package io.cacheai.onnx;

import io.cacheai.onnx.proto.Onnx.AttributeProto;
import io.cacheai.onnx.proto.Onnx.GraphProto;
import io.cacheai.onnx.proto.Onnx.ModelProto;
import io.cacheai.onnx.proto.Onnx.NodeProto;
import io.cacheai.onnx.proto.Onnx.OperatorSetIdProto;
import io.cacheai.onnx.proto.Onnx.TensorProto;
import io.cacheai.onnx.proto.Onnx.TensorShapeProto;
import io.cacheai.onnx.proto.Onnx.TypeProto;
import io.cacheai.onnx.proto.Onnx.ValueInfoProto;
import java.util.List;

/**
 * Builds small ONNX models in tests with the generated protobuf builders, so every op variant can
 * be checked against ONNX Runtime without model files. A dimension of -1 becomes symbolic: "N" on
 * axis 0 (the batch), "D&lt;axis&gt;" elsewhere.
 */
public final class OnnxModelBuilder {
  private final GraphProto.Builder graph = GraphProto.newBuilder().setName("test");
  private int opset = 13;

  public OnnxModelBuilder opset(int version) {
    opset = version;
    return this;
  }

  public OnnxModelBuilder input(String name, long... dims) {
    graph.addInput(valueInfo(name, dims));
    return this;
  }

  /** A graph output with an element type and no shape (the importer infers shapes). */
  public OnnxModelBuilder output(String name) {
    graph.addOutput(
        ValueInfoProto.newBuilder()
            .setName(name)
            .setType(
                TypeProto.newBuilder()
                    .setTensorType(
                        TypeProto.Tensor.newBuilder()
                            .setElemType(TensorProto.DataType.FLOAT_VALUE))));
    return this;
  }

  public OnnxModelBuilder floats(String name, long[] dims, float[] values) {
    graph.addInitializer(floatTensor(name, dims, values));
    return this;
  }

  public OnnxModelBuilder int64s(String name, long... values) {
    TensorProto.Builder tensor =
        TensorProto.newBuilder()
            .setName(name)
            .setDataType(TensorProto.DataType.INT64_VALUE)
            .addDims(values.length);
    for (long value : values) {
      tensor.addInt64Data(value);
    }
    graph.addInitializer(tensor);
    return this;
  }

  public OnnxModelBuilder node(
      String op, String name, List<String> inputs, String output, AttributeProto... attributes) {
    graph.addNode(
        NodeProto.newBuilder()
            .setOpType(op)
            .setName(name)
            .addAllInput(inputs)
            .addOutput(output)
            .addAllAttribute(List.of(attributes)));
    return this;
  }

  public byte[] build() {
    return ModelProto.newBuilder()
        .setIrVersion(8)
        .setProducerName("cacheai-test")
        .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(opset))
        .setGraph(graph)
        .build()
        .toByteArray();
  }

  public static TensorProto floatTensor(String name, long[] dims, float[] values) {
    TensorProto.Builder tensor =
        TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.FLOAT_VALUE);
    for (long dim : dims) {
      tensor.addDims(dim);
    }
    for (float value : values) {
      tensor.addFloatData(value);
    }
    return tensor.build();
  }

  public static AttributeProto intAttr(String name, long value) {
    return AttributeProto.newBuilder()
        .setName(name)
        .setType(AttributeProto.AttributeType.INT)
        .setI(value)
        .build();
  }

  public static AttributeProto floatAttr(String name, float value) {
    return AttributeProto.newBuilder()
        .setName(name)
        .setType(AttributeProto.AttributeType.FLOAT)
        .setF(value)
        .build();
  }

  public static AttributeProto intsAttr(String name, long... values) {
    AttributeProto.Builder attribute =
        AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INTS);
    for (long value : values) {
      attribute.addInts(value);
    }
    return attribute.build();
  }

  public static AttributeProto stringAttr(String name, String value) {
    return AttributeProto.newBuilder()
        .setName(name)
        .setType(AttributeProto.AttributeType.STRING)
        .setS(com.google.protobuf.ByteString.copyFromUtf8(value))
        .build();
  }

  public static AttributeProto tensorAttr(String name, TensorProto value) {
    return AttributeProto.newBuilder()
        .setName(name)
        .setType(AttributeProto.AttributeType.TENSOR)
        .setT(value)
        .build();
  }

  private static ValueInfoProto valueInfo(String name, long[] dims) {
    TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
    for (int i = 0; i < dims.length; i++) {
      shape.addDim(
          dims[i] < 0
              ? TensorShapeProto.Dimension.newBuilder().setDimParam(i == 0 ? "N" : "D" + i)
              : TensorShapeProto.Dimension.newBuilder().setDimValue(dims[i]));
    }
    return ValueInfoProto.newBuilder()
        .setName(name)
        .setType(
            TypeProto.newBuilder()
                .setTensorType(
                    TypeProto.Tensor.newBuilder()
                        .setElemType(TensorProto.DataType.FLOAT_VALUE)
                        .setShape(shape)))
        .build();
  }
}
