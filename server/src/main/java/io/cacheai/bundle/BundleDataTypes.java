package io.cacheai.bundle;

import io.cacheai.proto.v1.DataType;

/** Sizes of the manifest's element types: what a dense section of a tensor must hold. */
public final class BundleDataTypes {
  private BundleDataTypes() {}

  /** Bits per stored element; 0 for an unknown or unspecified type. */
  public static int bitsPerElement(DataType type) {
    return switch (type) {
      case FP32, INT32 -> 32;
      case INT64 -> 64;
      case FP16 -> 16;
      case INT8, UINT8 -> 8;
      case INT4_GROUP -> 4;
      case INT3_GROUP -> 3;
      default -> 0;
    };
  }

  /**
   * Bytes of a densely stored tensor of {@code elementCount} elements (rounded up to whole bytes
   * for sub-byte types), or -1 when that overflows a long.
   */
  public static long denseLengthBytes(DataType type, long elementCount) {
    int bits = bitsPerElement(type);
    if (elementCount < 0 || elementCount > Long.MAX_VALUE / 64) {
      return -1;
    }
    return (elementCount * bits + 7) / 8;
  }
}
