package io.cacheai.compress;

import io.cacheai.data.MnistDataset;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Samples for calibration and evaluation: fp32 values of one shape each, one after another, and
 * optional labels (top-1 accuracy needs them; agreement with the fp32 model does not).
 *
 * @param values count × product(sampleShape) floats
 * @param sampleShape one sample's shape (without the batch axis)
 * @param labels the class of each sample, or null when the data has none
 */
public record Dataset(float[] values, long[] sampleShape, int[] labels, String description) {
  /** Magic of the raw tensor file: ASCII "CAIT" (see {@link #readRaw}). */
  static final int RAW_MAGIC = 0x54494143;

  public int count() {
    return Math.toIntExact(values.length / sampleLength());
  }

  public int sampleLength() {
    return Math.toIntExact(io.cacheai.graph.Shapes.elementCount(sampleShape));
  }

  /** Samples {@code [from, from + n)}, contiguous. */
  public float[] slice(int from, int n) {
    return Arrays.copyOfRange(values, from * sampleLength(), (from + n) * sampleLength());
  }

  /** The shape of a batch of {@code n} samples. */
  public long[] batchShape(int n) {
    long[] shape = new long[sampleShape.length + 1];
    shape[0] = n;
    System.arraycopy(sampleShape, 0, shape, 1, sampleShape.length);
    return shape;
  }

  /** Samples {@code [from, to)} as a dataset of their own. */
  public Dataset range(int from, int to) {
    if (from < 0 || to > count() || from > to) {
      throw new IllegalArgumentException(
          "samples [" + from + ", " + to + ") outside the " + count() + " of " + description);
    }
    return new Dataset(
        slice(from, to - from),
        sampleShape,
        labels == null ? null : Arrays.copyOfRange(labels, from, to),
        description + "[" + from + ":" + to + "]");
  }

  /**
   * Reads {@code path}: an MNIST IDX images file ({@code *-images-idx3-ubyte[.gz]}, its labels file
   * found beside it by the MNIST naming, pixels scaled to [0,1], samples [1,rows,cols]) or a raw
   * tensor file (see {@link #readRaw}).
   */
  public static Dataset read(Path path) throws IOException {
    String name = path.getFileName().toString();
    if (name.contains("images-idx3")) {
      Path labels = path.resolveSibling(name.replace("images-idx3", "labels-idx1"));
      if (!Files.exists(labels)) {
        throw new IOException("data=" + path + ": no labels file " + labels + " beside it");
      }
      MnistDataset mnist = MnistDataset.read(path, labels);
      return new Dataset(
          mnist.pixels(), new long[] {1, mnist.rows(), mnist.cols()}, mnist.labels(), name);
    }
    return readRaw(path);
  }

  /**
   * Writes these samples (and their labels, if any) as a raw tensor file in the layout {@link
   * #readRaw} reads — e.g. the exact calibration set of {@code cacheai compress}, for another
   * quantizer. Written to a temporary file beside {@code path} and renamed.
   */
  public void writeRaw(Path path) throws IOException {
    long[] dims = batchShape(count());
    long length = 8 + 8L * dims.length + 4L * values.length + (labels == null ? 0 : 4L * count());
    if (length > Integer.MAX_VALUE) {
      throw new IOException("data=" + path + ": " + length + " bytes is over 2 GiB");
    }
    ByteBuffer bytes = ByteBuffer.allocate((int) length).order(ByteOrder.LITTLE_ENDIAN);
    bytes.putInt(RAW_MAGIC).putInt(dims.length);
    for (long d : dims) {
      bytes.putLong(d);
    }
    bytes.asFloatBuffer().put(values);
    if (labels != null) {
      bytes.position(bytes.position() + 4 * values.length);
      bytes.asIntBuffer().put(labels);
    }
    Path parent = path.toAbsolutePath().getParent();
    Path tmp = Files.createTempFile(parent, "." + path.getFileName(), ".tmp");
    try {
      Files.write(tmp, bytes.array());
      Files.move(
          tmp,
          path,
          java.nio.file.StandardCopyOption.REPLACE_EXISTING,
          java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  /**
   * A raw tensor file, little-endian:
   *
   * <pre>
   *   0   4  magic "CAIT"
   *   4   4  rank r (int32, 1..8), the first dimension = number of samples
   *   8   8r dimensions (int64)
   *   ..  4·Π dims  fp32 values, row-major
   *   ..  4·dims[0] optional int32 labels
   * </pre>
   */
  public static Dataset readRaw(Path path) throws IOException {
    ByteBuffer bytes = ByteBuffer.wrap(Files.readAllBytes(path)).order(ByteOrder.LITTLE_ENDIAN);
    if (bytes.remaining() < 8 || bytes.getInt(0) != RAW_MAGIC) {
      throw new IOException(
          "data="
              + path
              + ": neither an MNIST '*-images-idx3-ubyte[.gz]' file nor a raw tensor"
              + " file (magic \"CAIT\")");
    }
    int rank = bytes.getInt(4);
    if (rank < 1 || rank > 8 || bytes.remaining() < 8 + 8L * rank) {
      throw new IOException("data=" + path + ": rank=" + rank + " (1..8)");
    }
    long[] dims = new long[rank];
    long count = 1;
    for (int i = 0; i < rank; i++) {
      dims[i] = bytes.getLong(8 + 8 * i);
      if (dims[i] <= 0 || dims[i] > Integer.MAX_VALUE) {
        throw new IOException("data=" + path + ": dims[" + i + "]=" + dims[i]);
      }
      count = Math.multiplyExact(count, dims[i]);
    }
    long valuesAt = 8 + 8L * rank;
    long needed = valuesAt + 4 * count;
    if (count > Integer.MAX_VALUE || bytes.capacity() < needed) {
      throw new IOException(
          "data=" + path + ": " + bytes.capacity() + " bytes, the header promises " + needed);
    }
    float[] values = new float[(int) count];
    bytes.position((int) valuesAt);
    bytes.asFloatBuffer().get(values);
    int[] labels = null;
    if (bytes.capacity() == needed + 4 * dims[0]) {
      labels = new int[(int) dims[0]];
      bytes.position((int) needed);
      bytes.asIntBuffer().get(labels);
    } else if (bytes.capacity() != needed) {
      throw new IOException(
          "data="
              + path
              + ": "
              + bytes.capacity()
              + " bytes; expected "
              + needed
              + " (no labels) or "
              + (needed + 4 * dims[0])
              + " (with int32 labels)");
    }
    return new Dataset(
        values, Arrays.copyOfRange(dims, 1, rank), labels, path.getFileName().toString());
  }
}
