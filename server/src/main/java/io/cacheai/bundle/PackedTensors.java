package io.cacheai.bundle;

import io.cacheai.graph.Fp16;
import io.cacheai.graph.Node;
import io.cacheai.graph.OpType;
import io.cacheai.graph.PackedTensor;
import io.cacheai.proto.v1.DataType;
import io.cacheai.proto.v1.Quantization;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The weights of quantized ops ({@link PackedTensor}) as bundle tensors, both ways. How each format
 * is written to the manifest:
 *
 * <pre>
 *   S8_PER_CHANNEL  INT8 [N,K...] PER_CHANNEL axis 0, bits 8, symmetric, scales inline (fp32)
 *   S8_PANEL16      the same with layout "s8p16" (the native kernel's panels, read in place)
 *   S32 / F32       INT32 / FP32 dense, no quantization
 *   Q4_GROUP        INT4_GROUP [N,K] (a conv weight flattened to its [M, C·kH·kW] view)
 *   Q3_GROUP        INT3_GROUP [N,K]
 *   Q2_GROUP        INT2_GROUP [N,K]; all three PER_GROUP axis 1, group_size g, symmetric,
 *                   scales_tensor = "&lt;name&gt;.scales", FP16 [N, ceil(K/g)]
 *   S8_LUT16        INT8 [C,K,M] with layout "lut16", K in {4, 8, 16} (K−1 = 3, 7, 15 rows when the
 *                   node folds key 0), no quantization (LookupGemm
 *                   tables; the per-output scale is the node's own FP32 "scale" tensor)
 *   S4_LUT16        INT4_GROUP [C,K,M] with layout "lut16x4", no quantization (4-bit LookupGemm
 *                   tables, two entries per byte along M; drawn in PackedTensor)
 * </pre>
 *
 * Reading gives views of the mapping (no copy of the weights; the few scales are decoded to a heap
 * array).
 */
public final class PackedTensors {
  /** The layout name of {@link PackedTensor.Format#S8_PANEL16} in the manifest. */
  public static final String LAYOUT_S8P16 = "s8p16";

  /** The layout name of {@link PackedTensor.Format#Q4G32_BLOCKS} (INT4_GROUP, scales inside). */
  public static final String LAYOUT_Q4G32 = "q4g32";

  /** The layout name of {@link PackedTensor.Format#S8_LUT16} (LookupGemm tables). */
  public static final String LAYOUT_LUT16 = "lut16";

  /** The layout name of {@link PackedTensor.Format#S4_LUT16} (4-bit LookupGemm tables). */
  public static final String LAYOUT_LUT16X4 = "lut16x4";

  /** The attributes of a LookupGemm node that name its stored tensors. */
  public static final java.util.List<String> LOOKUP_TENSOR_KEYS =
      java.util.List.of("tables", "scale", "bias", "split_dims", "thresholds", "centroids");

  /** Suffix of the FP16 tensor holding a grouped weight's scales. */
  public static final String SCALES_SUFFIX = ".scales";

  private PackedTensors() {}

  /** Adds {@code tensor} (and its scales tensor, if any) to {@code writer} as {@code name}. */
  public static void add(BundleWriter writer, String name, PackedTensor tensor) {
    long[] shape = tensor.shape();
    switch (tensor.format()) {
      case S8_PER_CHANNEL, S8_PANEL16 -> {
        Quantization.Builder q =
            Quantization.newBuilder()
                .setGranularity(Quantization.Granularity.PER_CHANNEL)
                .setAxis(0)
                .setBits(8)
                .setSymmetric(true);
        for (float scale : tensor.scales()) {
          q.addScales(scale);
        }
        writer.addTensor(
            name,
            DataType.INT8,
            shape,
            tensor.data(),
            tensor.format() == PackedTensor.Format.S8_PANEL16 ? LAYOUT_S8P16 : "",
            q.build());
      }
      case S32 -> writer.addTensor(name, DataType.INT32, shape, tensor.data());
      case Q4G32_BLOCKS ->
          writer.addTensor(name, DataType.INT4_GROUP, shape, tensor.data(), LAYOUT_Q4G32, null);
      case F32 -> writer.addTensor(name, DataType.FP32, shape, tensor.data());
      case S8_LUT16 ->
          writer.addTensor(name, DataType.INT8, shape, tensor.data(), LAYOUT_LUT16, null);
      case S4_LUT16 ->
          writer.addTensor(name, DataType.INT4_GROUP, shape, tensor.data(), LAYOUT_LUT16X4, null);
      case Q4_GROUP, Q3_GROUP, Q2_GROUP -> {
        int n = tensor.rows();
        int k = tensor.rowLength();
        int groups = PackedTensor.groupsPerRow(k, tensor.groupSize());
        ByteBuffer scales = ByteBuffer.allocate(2 * n * groups).order(ByteOrder.LITTLE_ENDIAN);
        for (float scale : tensor.scales()) {
          scales.putShort(Fp16.fromFloat(scale));
        }
        scales.flip();
        String scalesName = name + SCALES_SUFFIX;
        writer.addTensor(scalesName, DataType.FP16, new long[] {n, groups}, scales);
        writer.addTensor(
            name,
            switch (tensor.format()) {
              case Q4_GROUP -> DataType.INT4_GROUP;
              case Q3_GROUP -> DataType.INT3_GROUP;
              default -> DataType.INT2_GROUP;
            },
            new long[] {n, k},
            tensor.data(),
            Quantization.newBuilder()
                .setGranularity(Quantization.Granularity.PER_GROUP)
                .setAxis(1)
                .setGroupSize(tensor.groupSize())
                .setBits(tensor.format().bits())
                .setSymmetric(true)
                .setScalesTensor(scalesName)
                .build());
      }
    }
  }

  /**
   * The tensors the {@code ai.cacheai} nodes of {@code bundle}'s graph name in their {@code weight}
   * and {@code bias} attributes (a LookupGemm: {@link #LOOKUP_TENSOR_KEYS}), as views of the
   * mapping.
   *
   * @throws BundleFormatException naming the node and tensor when one is missing or stored in a
   *     form no quantized op reads
   */
  public static Map<String, PackedTensor> read(Bundle bundle) throws BundleFormatException {
    Map<String, PackedTensor> out = new LinkedHashMap<>();
    for (Node node : bundle.graph().nodes()) {
      if (!node.op().domain().equals(OpType.CACHEAI_DOMAIN)) {
        continue;
      }
      java.util.List<String> keys =
          node.op() == OpType.LOOKUP_GEMM || node.op() == OpType.LOOKUP_CONV
              ? LOOKUP_TENSOR_KEYS
              : java.util.List.of("weight", "bias");
      for (String key : keys) {
        String name = node.attributes().getString(key, "");
        if (name.isEmpty() || out.containsKey(name)) {
          continue;
        }
        MappedTensor tensor =
            bundle
                .findTensor(name)
                .orElseThrow(
                    () ->
                        new BundleFormatException(
                            bundle.file(),
                            node.describe() + ": " + key + "='" + name + "' is not a tensor"));
        try {
          out.put(name, decode(bundle, tensor));
        } catch (IllegalArgumentException e) {
          throw new BundleFormatException(
              bundle.file(), node.describe() + ": tensor '" + name + "': " + e.getMessage(), e);
        }
      }
    }
    return out;
  }

  private static PackedTensor decode(Bundle bundle, MappedTensor tensor) {
    long[] shape = tensor.shape();
    boolean panel16 = tensor.dataType() == DataType.INT8 && tensor.layout().equals(LAYOUT_S8P16);
    if (tensor.dataType() == DataType.INT4_GROUP && tensor.layout().equals(LAYOUT_Q4G32)) {
      if (tensor.quantization().isPresent() || shape.length != 2) {
        throw new IllegalArgumentException(
            "layout=q4g32 holds its own scales: an [N,K] tensor without quantization");
      }
      return new PackedTensor(
          PackedTensor.Format.Q4G32_BLOCKS, shape, tensor.bytes(), new float[0], 32);
    }
    if (tensor.dataType() == DataType.INT8 && tensor.layout().equals(LAYOUT_LUT16)) {
      if (tensor.quantization().isPresent()) {
        throw new IllegalArgumentException(
            "layout=lut16 tables carry no quantization (their scale is the node's 'scale' tensor)");
      }
      // the PackedTensor constructor checks the [C,16,M] shape and the byte length
      return new PackedTensor(PackedTensor.Format.S8_LUT16, shape, tensor.bytes(), new float[0], 0);
    }
    if (tensor.dataType() == DataType.INT4_GROUP && tensor.layout().equals(LAYOUT_LUT16X4)) {
      if (tensor.quantization().isPresent()) {
        throw new IllegalArgumentException(
            "layout=lut16x4 tables carry no quantization (their scale is the node's 'scale'"
                + " tensor)");
      }
      // the PackedTensor constructor checks the [C,16,M] shape and the C·16·ceil(M/2) bytes
      return new PackedTensor(PackedTensor.Format.S4_LUT16, shape, tensor.bytes(), new float[0], 0);
    }
    if (!tensor.layout().isEmpty() && !panel16) {
      throw new IllegalArgumentException("layout=" + tensor.layout() + " (expected dense)");
    }
    DataType type = tensor.dataType();
    Quantization q = tensor.quantization().orElse(null);
    switch (type) {
      case INT32, FP32 -> {
        if (q != null) {
          throw new IllegalArgumentException("data_type=" + type + " with quantization");
        }
        return new PackedTensor(
            type == DataType.INT32 ? PackedTensor.Format.S32 : PackedTensor.Format.F32,
            shape,
            tensor.bytes(),
            new float[0],
            0);
      }
      case INT8 -> {
        if (q == null
            || q.getGranularity() != Quantization.Granularity.PER_CHANNEL
            || q.getAxis() != 0
            || !q.getSymmetric()
            || !q.getScalesTensor().isEmpty()) {
          throw new IllegalArgumentException(
              "INT8 weights must be PER_CHANNEL axis=0 symmetric with inline scales, got " + q);
        }
        float[] scales = new float[q.getScalesCount()];
        for (int i = 0; i < scales.length; i++) {
          scales[i] = q.getScales(i);
        }
        if (shape.length < 2) {
          throw new IllegalArgumentException("INT8 weights of rank " + shape.length + " (>= 2)");
        }
        // the PackedTensor constructor checks the byte length against the layout
        return new PackedTensor(
            panel16 ? PackedTensor.Format.S8_PANEL16 : PackedTensor.Format.S8_PER_CHANNEL,
            shape,
            tensor.bytes(),
            scales,
            0);
      }
      case INT4_GROUP, INT3_GROUP, INT2_GROUP -> {
        if (q == null
            || q.getGranularity() != Quantization.Granularity.PER_GROUP
            || shape.length != 2
            || q.getAxis() != 1
            || !q.getSymmetric()
            || q.getScalesTensor().isEmpty()) {
          throw new IllegalArgumentException(
              type + " weights must be [N,K] PER_GROUP axis=1 symmetric with a scales_tensor");
        }
        MappedTensor scaleTensor = bundle.tensor(q.getScalesTensor());
        ByteBuffer bytes = scaleTensor.bytes();
        int count = Math.toIntExact(io.cacheai.graph.Shapes.elementCount(scaleTensor.shape()));
        float[] scales = new float[count];
        for (int i = 0; i < count; i++) {
          scales[i] =
              scaleTensor.dataType() == DataType.FP16
                  ? Fp16.toFloat(bytes.getShort(2 * i))
                  : bytes.getFloat(4 * i);
          if (!(scales[i] > 0) || Float.isInfinite(scales[i])) {
            throw new IllegalArgumentException("scale[" + i + "]=" + scales[i] + " (finite, > 0)");
          }
        }
        return new PackedTensor(
            switch (type) {
              case INT4_GROUP -> PackedTensor.Format.Q4_GROUP;
              case INT3_GROUP -> PackedTensor.Format.Q3_GROUP;
              default -> PackedTensor.Format.Q2_GROUP;
            },
            shape,
            tensor.bytes(),
            scales,
            q.getGroupSize());
      }
      default ->
          throw new IllegalArgumentException("data_type=" + type + " is not a quantized op's");
    }
  }
}
