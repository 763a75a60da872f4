package io.cacheai.serve.cache;

import java.nio.ByteBuffer;
import org.bytedeco.javacpp.BytePointer;

/**
 * One preallocated region of native memory cut into equal blocks, with a free list: the storage of
 * one cache {@link Segment}.
 *
 * <pre>
 *  offset 0          B          2B                      (blockCount-1)·B     blockCount·B
 *  ┌─────────────────┬──────────┬──────────┬─── ··· ───┬────────────────────┐
 *  │ block 0         │ block 1  │ block 2  │           │ block blockCount-1 │
 *  └─────────────────┴──────────┴──────────┴─── ··· ───┴────────────────────┘
 *  An entry owns any blocks (not necessarily adjacent), listed in order in its int[] on the heap,
 *  so freeing and reusing blocks never fragments the region: an entry of n bytes fits whenever
 *  ceil(n / B) blocks are free.
 * </pre>
 *
 * <p>The memory is malloc'ed through JavaCPP and freed by {@link #close()} at once, not when the
 * garbage collector gets round to a direct buffer: after close the process holds none of it. The
 * size counts against JavaCPP's {@code org.bytedeco.javacpp.maxBytes} (the heap size by default).
 * Not thread-safe: the owning segment serializes access.
 */
final class OffHeapSlab implements AutoCloseable {
  private final int blockSizeBytes;
  private final int blockCount;
  private final int[] freeBlocks;
  private int freeCount;
  private BytePointer memory;
  private ByteBuffer bytes;

  OffHeapSlab(int blockSizeBytes, int blockCount) {
    if (blockSizeBytes < 16 || blockCount < 1) {
      throw new IllegalArgumentException(
          "blockSizeBytes="
              + blockSizeBytes
              + " must be >= 16, blockCount="
              + blockCount
              + " >= 1");
    }
    long sizeBytes = (long) blockSizeBytes * blockCount;
    if (sizeBytes > Integer.MAX_VALUE) {
      throw new IllegalArgumentException(
          "slab of " + sizeBytes + " bytes exceeds " + Integer.MAX_VALUE + " (one ByteBuffer)");
    }
    this.blockSizeBytes = blockSizeBytes;
    this.blockCount = blockCount;
    this.freeBlocks = new int[blockCount];
    for (int i = 0; i < blockCount; i++) {
      freeBlocks[i] = blockCount - 1 - i;
    }
    this.freeCount = blockCount;
    BytePointer pointer;
    try {
      pointer = new BytePointer(sizeBytes);
    } catch (OutOfMemoryError e) {
      throw new IllegalStateException(
          "cannot allocate " + sizeBytes + " bytes of native memory for the response cache", e);
    }
    if (pointer.isNull()) {
      throw new IllegalStateException(
          "cannot allocate " + sizeBytes + " bytes of native memory for the response cache");
    }
    this.memory = pointer;
    this.bytes = pointer.capacity(sizeBytes).limit(sizeBytes).asByteBuffer();
    if (bytes.capacity() != sizeBytes) {
      throw new IllegalStateException(
          "native buffer has " + bytes.capacity() + " bytes, expected " + sizeBytes);
    }
  }

  int blockSizeBytes() {
    return blockSizeBytes;
  }

  int blockCount() {
    return blockCount;
  }

  int freeCount() {
    return freeCount;
  }

  /** Bytes of native memory held: the whole region until closed, then 0. */
  long allocatedBytes() {
    return memory == null ? 0 : (long) blockSizeBytes * blockCount;
  }

  /** The region as a direct buffer (absolute access only). */
  ByteBuffer bytes() {
    if (bytes == null) {
      throw new IllegalStateException("slab closed");
    }
    return bytes;
  }

  /** {@code count} free blocks, or null when fewer are free (nothing taken then). */
  int[] allocate(int count) {
    if (count > freeCount) {
      return null;
    }
    int[] blocks = new int[count];
    for (int i = 0; i < count; i++) {
      blocks[i] = freeBlocks[--freeCount];
    }
    return blocks;
  }

  /** Returns blocks taken by {@link #allocate}. */
  void free(int[] blocks) {
    for (int block : blocks) {
      freeBlocks[freeCount++] = block;
    }
  }

  /** Blocks needed for {@code sizeBytes}. */
  long blocksFor(long sizeBytes) {
    return (sizeBytes + blockSizeBytes - 1) / blockSizeBytes;
  }

  /** Frees the native memory; safe twice. */
  @Override
  public void close() {
    if (memory != null) {
      bytes = null;
      memory.close();
      memory = null;
    }
  }
}
