package io.cacheai.bundle;

import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;

/**
 * The one way cacheai maps files into memory, and unmaps them.
 *
 * <p>Java 17 gives no public way to unmap a {@link MappedByteBuffer}: the mapping lives until the
 * buffer is garbage collected, which for a model of hundreds of MB may be never. {@link #unmap}
 * releases it at once through {@code sun.misc.Unsafe.invokeCleaner} (module {@code
 * jdk.unsupported}, exported to all code on 17; what Agrona's {@code IoUtil.unmap} and Lucene do).
 * <b>After {@link #unmap} every view of the buffer points at unmapped memory and touching one
 * crashes the JVM</b>: only an owner that knows no reader is left (see {@link Bundle#close()}) may
 * call it. When {@code invokeCleaner} is unavailable the mapping is left to the garbage collector.
 *
 * <p>On Java 24+ the JVM prints a one-time warning that {@code invokeCleaner} is terminally
 * deprecated (checked on Temurin 25; it still unmaps). Its replacement, {@code
 * FileChannel.map(mode, offset, size, Arena)} with an {@code Arena} closed here, is final only
 * since Java 22; when the project's release moves past 17 this class is the one place to change.
 *
 * <p>A single mapping is limited to {@link Integer#MAX_VALUE} bytes (ByteBuffer indices are int).
 */
public final class MappedFiles {
  private static final Object UNSAFE;
  private static final Method INVOKE_CLEANER;

  static {
    Object unsafe = null;
    Method invokeCleaner = null;
    try {
      Class<?> type = Class.forName("sun.misc.Unsafe");
      Field field = type.getDeclaredField("theUnsafe");
      field.setAccessible(true);
      unsafe = field.get(null);
      invokeCleaner = type.getMethod("invokeCleaner", ByteBuffer.class);
    } catch (ReflectiveOperationException | RuntimeException e) {
      // No explicit unmap: the GC releases mappings.
    }
    UNSAFE = unsafe;
    INVOKE_CLEANER = invokeCleaner;
  }

  private MappedFiles() {}

  /**
   * Maps {@code [offset, offset + lengthBytes)} of {@code channel} read-only. The caller has
   * checked the range against the file's size; this checks it again and labels any failure with
   * {@code file}.
   */
  public static MappedByteBuffer mapReadOnly(
      FileChannel channel, Path file, long offset, long lengthBytes) throws IOException {
    if (offset < 0 || lengthBytes < 0 || lengthBytes > Integer.MAX_VALUE) {
      throw new IOException(
          "cannot map "
              + file
              + ": offset="
              + offset
              + " lengthBytes="
              + lengthBytes
              + " (a mapping must be 0.."
              + Integer.MAX_VALUE
              + " bytes)");
    }
    long size = channel.size();
    if (offset + lengthBytes > size) {
      throw new IOException(
          "cannot map "
              + file
              + ": offset="
              + offset
              + " + lengthBytes="
              + lengthBytes
              + " exceeds the file's "
              + size
              + " bytes");
    }
    try {
      return channel.map(FileChannel.MapMode.READ_ONLY, offset, lengthBytes);
    } catch (IOException | RuntimeException e) {
      throw new IOException("cannot map " + file + ": " + e.getMessage(), e);
    }
  }

  /** Whether {@link #unmap} releases mappings at once (else the GC does). */
  public static boolean canUnmap() {
    return INVOKE_CLEANER != null;
  }

  /**
   * Releases {@code buffer}'s mapping now. Must be given the buffer {@link #mapReadOnly} returned
   * (not a slice or duplicate), once, when no view of it is used any more.
   */
  public static void unmap(MappedByteBuffer buffer) {
    if (buffer == null || INVOKE_CLEANER == null) {
      return;
    }
    try {
      INVOKE_CLEANER.invoke(UNSAFE, buffer);
    } catch (ReflectiveOperationException | RuntimeException e) {
      // Left to the GC; the mapping is released when the buffer is collected.
    }
  }
}
