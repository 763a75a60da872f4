package io.cacheai.bundle;

import io.cacheai.proto.v1.BundleTensor;
import io.cacheai.proto.v1.DataType;
import io.cacheai.proto.v1.Quantization;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Optional;

/**
 * One tensor of an open {@link Bundle}: its manifest entry and its bytes, a read-only little-endian
 * view of the mapped file (never a copy). Valid while the bundle is open; see {@link
 * Bundle#close()}. Every accessor returns a fresh view (position 0), so callers can move positions
 * freely and share the tensor between threads.
 */
public final class MappedTensor {
  private final BundleTensor entry;
  private final ByteBuffer bytes;

  MappedTensor(BundleTensor entry, ByteBuffer bytes) {
    this.entry = entry;
    this.bytes = bytes;
  }

  public String name() {
    return entry.getName();
  }

  public DataType dataType() {
    return entry.getDataType();
  }

  public long[] shape() {
    return entry.getShapeList().stream().mapToLong(Long::longValue).toArray();
  }

  /** Empty for dense row-major, else the name of a kernel's packed layout. */
  public String layout() {
    return entry.getLayout();
  }

  /** The quantization parameters, when the tensor has them. */
  public Optional<Quantization> quantization() {
    return entry.hasQuantization() ? Optional.of(entry.getQuantization()) : Optional.empty();
  }

  /** The manifest entry as stored. */
  public BundleTensor entry() {
    return entry;
  }

  public long sizeBytes() {
    return bytes.capacity();
  }

  /** The bytes: a read-only, little-endian, direct view of the mapping, position 0. */
  public ByteBuffer bytes() {
    return bytes.duplicate().order(ByteOrder.LITTLE_ENDIAN);
  }

  /** The elements of an FP32 tensor as a read-only direct view (little-endian = x86 native). */
  public FloatBuffer floats() {
    if (entry.getDataType() != DataType.FP32) {
      throw new IllegalStateException(
          "tensor '" + name() + "': data_type=" + dataType() + ", floats() needs FP32");
    }
    return bytes().asFloatBuffer();
  }

  @Override
  public String toString() {
    return "tensor '" + name() + "' " + dataType() + java.util.Arrays.toString(shape());
  }
}
