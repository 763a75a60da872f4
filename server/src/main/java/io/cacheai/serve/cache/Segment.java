package io.cacheai.serve.cache;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.Map;

/**
 * One lock's share of the {@link ResponseCache}: an {@link OffHeapSlab}, the index from key to
 * entries, the recency list and the frequency sketch. Every method holds the segment's monitor for
 * its whole run, so a reader copies an entry out while no writer can free or reuse its blocks: no
 * torn reads.
 *
 * <p>An entry's bytes, spread over its blocks in order:
 *
 * <pre>
 *  0                       materialBytes            materialBytes + valueBytes
 *  ┌───────────────────────┬────────────────────────┬───────────────┐
 *  │ key material (stored  │ value (the cached      │ unused tail   │
 *  │ in full, compared on  │ response bytes)        │ of last block │
 *  │ every key hit)        │                        │               │
 *  └───────────────────────┴────────────────────────┴───────────────┘
 * </pre>
 *
 * Entries with the same 128-bit key (a collision) are chained; a lookup walks the chain and returns
 * only an entry whose stored material equals the request's, byte for byte.
 */
final class Segment {
  /** One stored entry; its bytes live in the slab blocks listed in {@link #blocks}. */
  private static final class Entry {
    final Key128 key;
    final long materialBytes;
    final int valueBytes;
    final int[] blocks;
    Entry newer;
    Entry older;
    Entry sameKey;

    Entry(Key128 key, long materialBytes, int valueBytes, int[] blocks) {
      this.key = key;
      this.materialBytes = materialBytes;
      this.valueBytes = valueBytes;
      this.blocks = blocks;
    }
  }

  private final OffHeapSlab slab;
  private final FrequencySketch sketch;
  private final ResponseCache.Admission admission;
  private final ResponseCache.Counters counters;
  private final Map<Key128, Entry> index = new HashMap<>();
  private Entry newest;
  private Entry oldest;
  private long entries;
  private boolean closed;

  Segment(
      int blockSizeBytes,
      int blockCount,
      ResponseCache.Admission admission,
      ResponseCache.Counters counters) {
    this.slab = new OffHeapSlab(blockSizeBytes, blockCount);
    // An entry takes several blocks; one counter per ~8 blocks keeps the sketch small on the heap.
    this.sketch = new FrequencySketch(blockCount / 8);
    this.admission = admission;
    this.counters = counters;
  }

  long capacityBytes() {
    return (long) slab.blockSizeBytes() * slab.blockCount();
  }

  synchronized long usedBytes() {
    return (long) slab.blockSizeBytes() * (slab.blockCount() - slab.freeCount());
  }

  synchronized long allocatedBytes() {
    return slab.allocatedBytes();
  }

  synchronized long entries() {
    return entries;
  }

  /** The stored value for {@code key}'s material, copied onto the heap; null on a miss. */
  synchronized byte[] get(CacheKey key) {
    if (closed) {
      return null;
    }
    sketch.increment(key.hash().spread());
    Entry entry = find(key);
    if (entry == null) {
      return null;
    }
    touch(entry);
    byte[] value = new byte[entry.valueBytes];
    new BlockCursor(entry.blocks, entry.materialBytes).read(value);
    return value;
  }

  /**
   * Stores {@code value} for {@code key}'s material, evicting least recently used entries when
   * needed and admitted. Returns whether the value is now stored.
   */
  synchronized boolean put(CacheKey key, byte[] value) {
    if (closed) {
      return false;
    }
    Entry existing = find(key);
    if (existing != null) {
      touch(existing);
      return true;
    }
    long needed = slab.blocksFor(key.materialBytes() + value.length);
    if (needed > slab.blockCount()) {
      counters.rejections.increment();
      return false;
    }
    if (needed > slab.freeCount() && !makeRoom((int) needed, key.hash().spread())) {
      counters.rejections.increment();
      return false;
    }
    int[] blocks = slab.allocate((int) needed);
    Entry entry = new Entry(key.hash(), key.materialBytes(), value.length, blocks);
    BlockCursor writer = new BlockCursor(blocks, 0);
    try {
      key.material().writeTo(writer.writer());
    } catch (RuntimeException e) {
      slab.free(blocks);
      throw e;
    }
    if (writer.position != key.materialBytes()) {
      slab.free(blocks);
      throw new IllegalStateException(
          "key material wrote "
              + writer.position
              + " bytes, sized as "
              + key.materialBytes()
              + " (writeTo must be repeatable)");
    }
    writer.write(ByteBuffer.wrap(value));
    entry.sameKey = index.put(entry.key, entry);
    linkNewest(entry);
    entries++;
    counters.insertions.increment();
    return true;
  }

  /** Drops every entry (not counted as evictions). */
  synchronized void clear() {
    for (Entry e = oldest; e != null; e = e.newer) {
      slab.free(e.blocks);
    }
    index.clear();
    newest = null;
    oldest = null;
    entries = 0;
  }

  /** Drops every entry and frees the native memory; later calls miss and store nothing. */
  synchronized void close() {
    if (closed) {
      return;
    }
    clear();
    closed = true;
    slab.close();
  }

  /**
   * Evicts from the old end until {@code needed} blocks are free, if the candidate is admitted:
   * under TinyLFU, every victim must have been asked for less often than the candidate; otherwise
   * nothing is evicted.
   */
  private boolean makeRoom(int needed, long candidateHash) {
    int candidateFrequency = sketch.frequency(candidateHash);
    int free = slab.freeCount();
    Entry victim = oldest;
    while (free < needed) {
      if (victim == null) {
        return false;
      }
      if (admission == ResponseCache.Admission.TINY_LFU
          && sketch.frequency(victim.key.spread()) >= candidateFrequency) {
        return false;
      }
      free += victim.blocks.length;
      victim = victim.newer;
    }
    while (slab.freeCount() < needed) {
      evict(oldest);
    }
    return true;
  }

  private void evict(Entry entry) {
    unlink(entry);
    Entry head = index.get(entry.key);
    if (head == entry) {
      if (entry.sameKey == null) {
        index.remove(entry.key);
      } else {
        index.put(entry.key, entry.sameKey);
      }
    } else {
      Entry e = head;
      while (e.sameKey != entry) {
        e = e.sameKey;
      }
      e.sameKey = entry.sameKey;
    }
    slab.free(entry.blocks);
    entries--;
    counters.evictions.increment();
  }

  private Entry find(CacheKey key) {
    for (Entry e = index.get(key.hash()); e != null; e = e.sameKey) {
      if (e.materialBytes == key.materialBytes() && matches(e, key.material())) {
        return e;
      }
    }
    return null;
  }

  private boolean matches(Entry entry, KeyMaterial material) {
    BlockCursor cursor = new BlockCursor(entry.blocks, 0);
    Comparer comparer = new Comparer(cursor, entry.materialBytes);
    material.writeTo(comparer);
    return comparer.equal && cursor.position == entry.materialBytes;
  }

  private void touch(Entry entry) {
    if (newest != entry) {
      unlink(entry);
      linkNewest(entry);
    }
  }

  private void linkNewest(Entry entry) {
    entry.older = newest;
    entry.newer = null;
    if (newest != null) {
      newest.newer = entry;
    }
    newest = entry;
    if (oldest == null) {
      oldest = entry;
    }
  }

  private void unlink(Entry entry) {
    if (entry.older != null) {
      entry.older.newer = entry.newer;
    } else {
      oldest = entry.newer;
    }
    if (entry.newer != null) {
      entry.newer.older = entry.older;
    } else {
      newest = entry.older;
    }
    entry.newer = null;
    entry.older = null;
  }

  /** Walks an entry's bytes across its blocks from a logical position. */
  private final class BlockCursor {
    final int[] blocks;
    long position;

    BlockCursor(int[] blocks, long position) {
      this.blocks = blocks;
      this.position = position;
    }

    /** Slab offset of the current position and how many bytes remain in its block. */
    private int offset() {
      int block = blocks[(int) (position / slab.blockSizeBytes())];
      return block * slab.blockSizeBytes() + (int) (position % slab.blockSizeBytes());
    }

    private int leftInBlock() {
      return slab.blockSizeBytes() - (int) (position % slab.blockSizeBytes());
    }

    void write(ByteBuffer source) {
      ByteBuffer slabBytes = slab.bytes();
      int at = source.position();
      int end = source.limit();
      while (at < end) {
        int n = Math.min(leftInBlock(), end - at);
        slabBytes.put(offset(), source, at, n);
        at += n;
        position += n;
      }
    }

    void read(byte[] target) {
      ByteBuffer slabBytes = slab.bytes();
      int at = 0;
      while (at < target.length) {
        int n = Math.min(leftInBlock(), target.length - at);
        slabBytes.get(offset(), target, at, n);
        at += n;
        position += n;
      }
    }

    MaterialSink writer() {
      ByteBuffer scratch = ByteBuffer.allocate(Long.BYTES).order(ByteOrder.LITTLE_ENDIAN);
      return new MaterialSink() {
        @Override
        public void putLong(long value) {
          write(scratch.clear().putLong(value).flip());
        }

        @Override
        public void putBytes(ByteBuffer bytes) {
          write(bytes);
        }
      };
    }
  }

  /** Compares material with the stored bytes, stopping at the first difference. */
  private final class Comparer implements MaterialSink {
    private final BlockCursor cursor;
    private final long limit;
    private final ByteBuffer scratch =
        ByteBuffer.allocate(Long.BYTES).order(ByteOrder.LITTLE_ENDIAN);
    boolean equal = true;

    Comparer(BlockCursor cursor, long limit) {
      this.cursor = cursor;
      this.limit = limit;
    }

    @Override
    public void putLong(long value) {
      putBytes(scratch.clear().putLong(value).flip());
    }

    @Override
    public void putBytes(ByteBuffer bytes) {
      if (!equal) {
        return;
      }
      int at = bytes.position();
      int end = bytes.limit();
      if (cursor.position + (end - at) > limit) {
        equal = false;
        return;
      }
      ByteBuffer slabBytes = slab.bytes();
      while (at < end) {
        int n = Math.min(cursor.leftInBlock(), end - at);
        if (slabBytes.slice(cursor.offset(), n).mismatch(bytes.slice(at, n)) != -1) {
          equal = false;
          return;
        }
        at += n;
        cursor.position += n;
      }
    }
  }
}
