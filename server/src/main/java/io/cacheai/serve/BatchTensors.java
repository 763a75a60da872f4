package io.cacheai.serve;

import io.cacheai.runtime.DataType;
import io.cacheai.runtime.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * Concatenates tensors along their first dimension and cuts them back into rows: the two copies
 * dynamic batching adds around one model execution.
 *
 * <pre>
 * request A  x: [2, 4]  ──┐                        ┌── y rows 0..1 → A  y: [2, 4]
 * request B  x: [1, 4]  ──┼─► x: [6, 4] ─► model ─►├── y row  2    → B  y: [1, 4]
 * request C  x: [3, 4]  ──┘                        └── y rows 3..5 → C  y: [3, 4]
 * </pre>
 *
 * Numeric tensors are row-major little-endian bytes, so rows {@code [from, from+n)} are the bytes
 * {@code [from·rowBytes, (from+n)·rowBytes)} with {@code rowBytes} = product of the other
 * dimensions × element size.
 */
final class BatchTensors {
  private BatchTensors() {}

  /** The tensors stacked along dimension 0; all share type and the dimensions after the first. */
  static Tensor concat(List<Tensor> parts) {
    Tensor first = parts.get(0);
    long[] shape = first.shape();
    long rows = 0;
    for (Tensor part : parts) {
      rows += part.shape()[0];
    }
    shape[0] = rows;
    if (first.dataType() == DataType.BYTES) {
      List<byte[]> elements = new ArrayList<>();
      parts.forEach(part -> elements.addAll(part.elements()));
      return Tensor.ofBytes(shape, elements);
    }
    int totalBytes = 0;
    for (Tensor part : parts) {
      totalBytes = Math.addExact(totalBytes, part.data().remaining());
    }
    ByteBuffer out = ByteBuffer.allocate(totalBytes).order(ByteOrder.LITTLE_ENDIAN);
    parts.forEach(part -> out.put(part.data()));
    out.flip();
    return Tensor.of(first.dataType(), shape, out);
  }

  /**
   * Rows {@code [from, from + count)} of {@code tensor}.
   *
   * @throws IllegalStateException when the tensor has no such rows (a model whose output does not
   *     keep the batch dimension)
   */
  static Tensor rows(Tensor tensor, long from, long count) {
    long[] shape = tensor.shape();
    if (shape.length == 0 || from < 0 || count < 0 || from + count > shape[0]) {
      throw new IllegalStateException(
          "output of shape "
              + Tensor.shapeString(shape)
              + " has no rows ["
              + from
              + ","
              + (from + count)
              + ") of the merged batch");
    }
    long[] part = shape.clone();
    part[0] = count;
    long rowElements = 1;
    for (int i = 1; i < shape.length; i++) {
      rowElements = Math.multiplyExact(rowElements, shape[i]);
    }
    if (tensor.dataType() == DataType.BYTES) {
      List<byte[]> all = tensor.elements();
      int start = Math.toIntExact(from * rowElements);
      int end = Math.toIntExact((from + count) * rowElements);
      return Tensor.ofBytes(part, all.subList(start, end));
    }
    long rowBytes = rowElements * tensor.dataType().sizeBytes();
    ByteBuffer data = tensor.data();
    data.position(Math.toIntExact(from * rowBytes));
    data.limit(Math.toIntExact((from + count) * rowBytes));
    return Tensor.of(tensor.dataType(), part, data.slice().order(ByteOrder.LITTLE_ENDIAN));
  }
}
