package io.cacheai.runtime;

import java.util.Arrays;
import java.util.Optional;

/**
 * Element types of tensors, spelled as the Open Inference Protocol spells them ({@link #wireName}).
 * {@link #sizeBytes} is the size of one element; BYTES elements have no fixed size (0).
 */
public enum DataType {
  BOOL("BOOL", 1),
  UINT8("UINT8", 1),
  INT8("INT8", 1),
  UINT16("UINT16", 2),
  INT16("INT16", 2),
  UINT32("UINT32", 4),
  INT32("INT32", 4),
  UINT64("UINT64", 8),
  INT64("INT64", 8),
  FP16("FP16", 2),
  FP32("FP32", 4),
  FP64("FP64", 8),
  BYTES("BYTES", 0);

  private final String wireName;
  private final int sizeBytes;

  DataType(String wireName, int sizeBytes) {
    this.wireName = wireName;
    this.sizeBytes = sizeBytes;
  }

  /** The protocol's name of this type, e.g. "FP32". */
  public String wireName() {
    return wireName;
  }

  /** Bytes per element; 0 for BYTES, whose elements vary in length. */
  public int sizeBytes() {
    return sizeBytes;
  }

  /** The type the protocol calls {@code wireName}, if there is one. */
  public static Optional<DataType> fromWireName(String wireName) {
    return Arrays.stream(values()).filter(t -> t.wireName.equals(wireName)).findFirst();
  }
}
