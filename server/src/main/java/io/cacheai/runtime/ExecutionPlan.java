package io.cacheai.runtime;

import io.cacheai.graph.ShapeInference;
import io.cacheai.graph.Shapes;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * Where every value of a graph lives for one set of input shapes, and the kernels that run it.
 *
 * <p>Inputs and intermediate values share one arena: a value occupies a slot from the node that
 * writes it until the last node that reads it, and slots of values whose lifetimes do not overlap
 * are reused (first fit, 64-byte aligned). A node's output never shares memory with its inputs.
 * Graph outputs live to the end. Constants and values folded at plan time are not in the arena
 * ({@link #offset} is -1); float ones are read through {@link #constantViews}.
 */
final class ExecutionPlan {
  /** Slot granularity: 16 floats = 64 bytes, so every slot starts cache-line aligned. */
  private static final long ALIGN_FLOATS = 16;

  /**
   * Largest arena or scratch, in floats: one direct {@code FloatBuffer} (int-indexed) holds at most
   * this many. Shapes are 64-bit; a model may declare (or a padding attribute may produce) values
   * far beyond it, which must be refused here, by name, and not overflow an int somewhere later.
   */
  static final long MAX_BUFFER_FLOATS = Integer.MAX_VALUE - ALIGN_FLOATS;

  private final long[][] shapes;
  private final long[] offsets;
  private final long arenaFloats;
  private final long scratchFloats;
  private final List<Kernel> kernels;
  private final Kernel[] kernelArray;
  private final FloatBuffer[] constantViews;
  private final ShapeInference.Result analysis;

  /**
   * @param shapes shape of every value id
   * @param arenaValue which ids live in the arena (inputs and node outputs)
   * @param firstUse node index writing each id (-1 for graph inputs)
   * @param lastUse last node index reading each id (node count for graph outputs)
   * @param constantViews read-only buffers of the float values known at plan time (null elsewhere)
   * @param analysis shapes and plan-time values this plan was built from
   */
  ExecutionPlan(
      long[][] shapes,
      boolean[] arenaValue,
      int[] firstUse,
      int[] lastUse,
      int nodeCount,
      List<Kernel> kernels,
      FloatBuffer[] constantViews,
      ShapeInference.Result analysis) {
    this.shapes = shapes;
    this.constantViews = constantViews;
    this.analysis = analysis;
    this.kernels = List.copyOf(kernels);
    this.kernelArray = kernels.toArray(new Kernel[0]);
    this.offsets = new long[shapes.length];
    java.util.Arrays.fill(offsets, -1);
    SlotAllocator allocator = new SlotAllocator();
    boolean[] released = new boolean[shapes.length];
    // Graph inputs first (written before node 0), then each node's output in order.
    for (int step = -1; step < nodeCount; step++) {
      for (int id = 0; id < shapes.length; id++) {
        if (arenaValue[id] && firstUse[id] == step) {
          offsets[id] = allocator.allocate(align(elementCount(id)));
        }
      }
      for (int id = 0; id < shapes.length; id++) {
        if (arenaValue[id] && !released[id] && firstUse[id] <= step && lastUse[id] <= step) {
          allocator.release(offsets[id], align(elementCount(id)));
          released[id] = true;
        }
      }
    }
    this.arenaFloats = allocator.high();
    long scratch = 0;
    for (Kernel kernel : kernels) {
      scratch = Math.max(scratch, kernel.scratchFloats());
    }
    this.scratchFloats = scratch;
    if (arenaFloats > MAX_BUFFER_FLOATS || scratchFloats > MAX_BUFFER_FLOATS) {
      throw new IllegalArgumentException(
          "needs arenaFloats="
              + arenaFloats
              + " scratchFloats="
              + scratchFloats
              + " for its intermediate values; one buffer holds at most "
              + MAX_BUFFER_FLOATS
              + " floats");
    }
  }

  int valueCount() {
    return shapes.length;
  }

  long[] shape(int id) {
    return shapes[id];
  }

  /** The value's element count; IllegalArgumentException if it exceeds one buffer. */
  long elementCount(int id) {
    long count = Shapes.elementCount(shapes[id]);
    if (count > MAX_BUFFER_FLOATS) {
      throw new IllegalArgumentException(
          "a value of shape "
              + Shapes.toString(shapes[id])
              + " has "
              + count
              + " elements; one buffer holds at most "
              + MAX_BUFFER_FLOATS);
    }
    return count;
  }

  /** The value's start in the arena, in floats; -1 for values outside the arena. */
  long offset(int id) {
    return offsets[id];
  }

  FloatBuffer[] constantViews() {
    return constantViews;
  }

  ShapeInference.Result analysis() {
    return analysis;
  }

  long arenaFloats() {
    return arenaFloats;
  }

  long scratchFloats() {
    return scratchFloats;
  }

  List<Kernel> kernels() {
    return kernels;
  }

  /** The kernels as an array (the request loop walks it without an iterator). */
  Kernel[] kernelArray() {
    return kernelArray;
  }

  private static long align(long floats) {
    return Math.max(ALIGN_FLOATS, (floats + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS);
  }

  /** First-fit allocation over a list of free intervals of the arena. */
  private static final class SlotAllocator {
    private final List<long[]> free = new ArrayList<>(); // {offset, size}, sorted by offset
    private long high;

    long allocate(long size) {
      for (Iterator<long[]> it = free.iterator(); it.hasNext(); ) {
        long[] block = it.next();
        if (block[1] >= size) {
          long offset = block[0];
          block[0] += size;
          block[1] -= size;
          if (block[1] == 0) {
            it.remove();
          }
          return offset;
        }
      }
      long offset = high;
      high += size;
      return offset;
    }

    void release(long offset, long size) {
      int index = 0;
      while (index < free.size() && free.get(index)[0] < offset) {
        index++;
      }
      free.add(index, new long[] {offset, size});
      // Merge with the following and preceding neighbours.
      if (index + 1 < free.size() && offset + size == free.get(index + 1)[0]) {
        free.get(index)[1] += free.remove(index + 1)[1];
      }
      if (index > 0 && free.get(index - 1)[0] + free.get(index - 1)[1] == offset) {
        free.get(index - 1)[1] += free.remove(index)[1];
      }
    }

    long high() {
      return high;
    }
  }
}
