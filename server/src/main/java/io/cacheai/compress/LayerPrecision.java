package io.cacheai.compress;

import io.cacheai.graph.PackedTensor;

/**
 * How one Gemm/MatMul/Conv node is stored and run after compression.
 *
 * @param groupSize weights per scale along K for the low-bit kinds (ignored otherwise)
 */
public record LayerPrecision(Kind kind, int groupSize) {
  /** The storage kinds, with their op. */
  public enum Kind {
    /** Unchanged fp32 node. */
    FP32,
    /** QLinearGemm / QLinearConv: u8 activations × int8 per-channel weights. */
    INT8,
    /** LowBitGemm / LowBitConv with 4-bit weights. */
    INT4,
    /** LowBitGemm / LowBitConv with 3-bit weights. */
    INT3,
    /** LowBitGemm / LowBitConv with 2-bit weights. */
    INT2,
    /**
     * LowBitGemm with 4-bit weights in the native kernel's q4g32 blocks (groups of 32, fp32 scales
     * inside the blocks, K padded to 32; 5 bits per weight): the fast int4 path.
     */
    INT4_BLOCKS
  }

  public static final LayerPrecision FP32 = new LayerPrecision(Kind.FP32, 0);
  public static final LayerPrecision INT8 = new LayerPrecision(Kind.INT8, 0);

  public static LayerPrecision int4(int groupSize) {
    return new LayerPrecision(Kind.INT4, groupSize);
  }

  public static LayerPrecision int3(int groupSize) {
    return new LayerPrecision(Kind.INT3, groupSize);
  }

  public static LayerPrecision int4Blocks() {
    return new LayerPrecision(Kind.INT4_BLOCKS, 32);
  }

  public static LayerPrecision int2(int groupSize) {
    return new LayerPrecision(Kind.INT2, groupSize);
  }

  /** The packed format of the low-bit kinds. */
  PackedTensor.Format lowBitFormat() {
    return switch (kind) {
      case INT4 -> PackedTensor.Format.Q4_GROUP;
      case INT3 -> PackedTensor.Format.Q3_GROUP;
      case INT2 -> PackedTensor.Format.Q2_GROUP;
      case INT4_BLOCKS -> PackedTensor.Format.Q4G32_BLOCKS;
      default -> throw new IllegalStateException(this + " is not low-bit");
    };
  }

  /** Approximate stored bits per weight (scales as fp16 for the low-bit kinds). */
  public double bitsPerWeight(int rowLength) {
    return switch (kind) {
      case FP32 -> 32;
      case INT8 -> 8 + 32.0 / rowLength;
      case INT4, INT3, INT2 ->
          lowBitFormat().bits()
              + 16.0 * PackedTensor.groupsPerRow(rowLength, groupSize) / rowLength;
      case INT4_BLOCKS -> 8.0 * PackedTensor.q4g32LengthBytes(1, rowLength) / rowLength;
    };
  }

  @Override
  public String toString() {
    return switch (kind) {
      case FP32 -> "fp32";
      case INT8 -> "int8";
      case INT4 -> "int4/g" + groupSize;
      case INT3 -> "int3/g" + groupSize;
      case INT2 -> "int2/g" + groupSize;
      case INT4_BLOCKS -> "int4/q4g32";
    };
  }
}
