package io.cacheai.bundle;

import io.cacheai.proto.v1.BundleTensor;
import io.cacheai.proto.v1.DataType;
import io.cacheai.proto.v1.Quantization;
import java.util.Map;

/**
 * Checks a tensor's quantization parameters against its type and shape, so that a kernel can trust
 * them: the writer refuses bad parameters, the reader refuses a bundle holding them.
 *
 * <p>Scale (and zero point) counts: PER_TENSOR 1; PER_CHANNEL {@code shape[axis]}; PER_GROUP {@code
 * (elements / shape[axis]) × ceil(shape[axis] / group_size)}, i.e. one per group of {@code
 * group_size} consecutive indices along {@code axis} for every position of the other axes. Scales
 * are inline ({@code scales}) or in an FP32 tensor ({@code scales_tensor}) of that many elements;
 * zero points likewise (INT32, INT8 or UINT8 tensor), absent when symmetric.
 */
final class QuantizationCheck {
  private QuantizationCheck() {}

  /** The problem with {@code tensor}'s quantization, or null when there is none (or it is fine). */
  static String problem(BundleTensor tensor, Map<String, BundleTensor> tensorsByName) {
    if (!tensor.hasQuantization()) {
      return null;
    }
    Quantization q = tensor.getQuantization();
    DataType type = tensor.getDataType();
    int bits = BundleDataTypes.bitsPerElement(type);
    if (type == DataType.FP32 || type == DataType.FP16 || type == DataType.INT64) {
      return "data_type=" + type + " cannot carry quantization (integer types only)";
    }
    if (q.getBits() != bits) {
      return "quantization.bits=" + q.getBits() + " but data_type=" + type + " has " + bits;
    }
    int rank = tensor.getShapeCount();
    long elements = 1;
    for (long dim : tensor.getShapeList()) {
      elements *= dim; // shape already checked for sign and overflow
    }
    long expected;
    switch (q.getGranularity()) {
      case PER_TENSOR -> {
        if (q.getAxis() != 0 || q.getGroupSize() != 0) {
          return "PER_TENSOR quantization with axis="
              + q.getAxis()
              + " group_size="
              + q.getGroupSize()
              + " (both must be 0)";
        }
        expected = 1;
      }
      case PER_CHANNEL, PER_GROUP -> {
        if (q.getAxis() < 0 || q.getAxis() >= rank) {
          return q.getGranularity()
              + " quantization.axis="
              + q.getAxis()
              + " outside the rank-"
              + rank
              + " shape";
        }
        long axisLength = tensor.getShape(q.getAxis());
        if (q.getGranularity() == Quantization.Granularity.PER_CHANNEL) {
          if (q.getGroupSize() != 0) {
            return "PER_CHANNEL quantization.group_size=" + q.getGroupSize() + " (must be 0)";
          }
          expected = axisLength;
        } else {
          if (q.getGroupSize() <= 0) {
            return "PER_GROUP quantization.group_size=" + q.getGroupSize() + " (must be > 0)";
          }
          long groups = (axisLength + q.getGroupSize() - 1) / q.getGroupSize();
          expected = axisLength == 0 ? 0 : elements / axisLength * groups;
        }
      }
      default -> {
        return "quantization.granularity="
            + q.getGranularity()
            + " (PER_TENSOR, PER_CHANNEL or PER_GROUP)";
      }
    }
    String scales =
        values(
            "scales",
            q.getScalesCount(),
            q.getScalesTensor(),
            expected,
            tensorsByName,
            DataType.FP32);
    if (scales != null) {
      return scales;
    }
    for (int i = 0; i < q.getScalesCount(); i++) {
      float scale = q.getScales(i);
      if (!(scale > 0) || Float.isInfinite(scale)) {
        return "quantization.scales[" + i + "]=" + scale + " (must be finite and > 0)";
      }
    }
    if (q.getSymmetric()) {
      if (q.getZeroPointsCount() != 0 || !q.getZeroPointsTensor().isEmpty()) {
        return "symmetric quantization with zero points (symmetric means all zero points are 0)";
      }
      return null;
    }
    return values(
        "zero_points",
        q.getZeroPointsCount(),
        q.getZeroPointsTensor(),
        expected,
        tensorsByName,
        DataType.INT32,
        DataType.INT8,
        DataType.UINT8);
  }

  private static String values(
      String field,
      int inlineCount,
      String tensorName,
      long expected,
      Map<String, BundleTensor> tensorsByName,
      DataType... types) {
    if (tensorName.isEmpty()) {
      if (inlineCount != expected) {
        return "quantization."
            + field
            + " has "
            + inlineCount
            + " values, expected "
            + expected
            + " (or name a tensor in "
            + field
            + "_tensor)";
      }
      return null;
    }
    if (inlineCount != 0) {
      return "quantization." + field + " given both inline and as " + field + "_tensor";
    }
    BundleTensor values = tensorsByName.get(tensorName);
    if (values == null) {
      return "quantization." + field + "_tensor='" + tensorName + "' is not a tensor of the bundle";
    }
    boolean typeOk = false;
    for (DataType type : types) {
      typeOk |= values.getDataType() == type;
    }
    long count = 1;
    for (long dim : values.getShapeList()) {
      count *= dim;
    }
    if (!typeOk || count != expected || !values.getLayout().isEmpty()) {
      return "quantization."
          + field
          + "_tensor='"
          + tensorName
          + "' is "
          + values.getDataType()
          + values.getShapeList()
          + ", expected a dense "
          + java.util.Arrays.toString(types)
          + " tensor of "
          + expected
          + " elements";
    }
    return null;
  }
}
