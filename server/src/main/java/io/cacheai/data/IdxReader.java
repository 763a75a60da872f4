package io.cacheai.data;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;

/**
 * Reads MNIST-format IDX files of unsigned bytes (images and labels), plain or gzip-compressed.
 *
 * <pre>
 *   offset  size  field
 *   0       2     zero
 *   2       1     type: 0x08 = unsigned byte (the only type read here)
 *   3       1     rank (number of dims)
 *   4       4·r   dims, big-endian int32 each
 *   4+4r    Π d   the elements, row-major
 * </pre>
 *
 * The header is checked before the body is read, and the body's length must match the dims.
 */
public final class IdxReader {
  /** Largest element count read (the full MNIST training set is 47 M). */
  public static final long MAX_ELEMENTS = 1L << 30;

  private IdxReader() {}

  /** An IDX file's dims and unsigned byte elements. */
  public record IdxArray(int[] dims, byte[] data) {
    /** Element {@code i} as 0..255. */
    public int unsigned(int i) {
      return data[i] & 0xFF;
    }
  }

  public static IdxArray read(Path file) throws IOException {
    try (InputStream raw = Files.newInputStream(file);
        InputStream in = file.toString().endsWith(".gz") ? new GZIPInputStream(raw) : raw) {
      return read(in, file.toString());
    }
  }

  static IdxArray read(InputStream stream, String name) throws IOException {
    DataInputStream in = new DataInputStream(stream);
    try {
      int zero = in.readUnsignedShort();
      int type = in.readUnsignedByte();
      int rank = in.readUnsignedByte();
      if (zero != 0 || type != 0x08 || rank < 1 || rank > 4) {
        throw new IOException(
            name
                + ": not an unsigned-byte IDX file (zero="
                + zero
                + " type=0x"
                + Integer.toHexString(type)
                + " rank="
                + rank
                + ")");
      }
      int[] dims = new int[rank];
      long count = 1;
      for (int i = 0; i < rank; i++) {
        dims[i] = in.readInt();
        if (dims[i] < 0) {
          throw new IOException(name + ": negative dimension " + dims[i]);
        }
        count *= dims[i];
        if (count > MAX_ELEMENTS) {
          throw new IOException(name + ": more than " + MAX_ELEMENTS + " elements");
        }
      }
      byte[] data = new byte[(int) count];
      in.readFully(data);
      if (in.read() != -1) {
        throw new IOException(name + ": bytes after the " + count + " elements its dims declare");
      }
      return new IdxArray(dims, data);
    } catch (EOFException e) {
      throw new IOException(name + ": truncated IDX file", e);
    }
  }
}
