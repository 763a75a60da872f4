package io.cacheai.runtime;

import io.cacheai.kernels.FloatBuffers;
import java.nio.FloatBuffer;

/**
 * The memory of one running request: a view per value (arena slices for inputs and intermediates,
 * the shared constant buffers for constants) and a scratch buffer. Frames are pooled by {@link
 * GraphModel} and reused by later requests; a frame re-lays its views only when the plan changes
 * and grows its arena only when a plan needs more, so a steady load allocates nothing here.
 */
final class Frame {
  private FloatBuffer arena = FloatBuffers.allocate(0);
  private FloatBuffer scratch = FloatBuffers.allocate(0);
  private FloatBuffer[] views = new FloatBuffer[0];
  private ExecutionPlan plan;
  private java.nio.ByteBuffer bytes = java.nio.ByteBuffer.allocateDirect(0);
  private byte[] heapBytes = new byte[0];
  private FloatBuffer dequantized = FloatBuffers.allocate(0);
  private java.nio.IntBuffer stageBias = java.nio.IntBuffer.allocate(0);
  private FloatBuffer stageScale = FloatBuffers.allocate(0);
  private final float[][] heaps = new float[HEAP_SLOTS][0];
  private int[] odometer = new int[8];

  /** Independent heap arrays a kernel may use at once. */
  static final int HEAP_SLOTS = 4;

  /** Lays this frame out for {@code newPlan} (no work when it already is). */
  void prepare(ExecutionPlan newPlan) {
    FloatBuffer[] constantViews = newPlan.constantViews();
    if (plan == newPlan) {
      return;
    }
    if (arena.capacity() < newPlan.arenaFloats()) {
      arena = FloatBuffers.allocate(Math.toIntExact(newPlan.arenaFloats()));
    }
    if (scratch.capacity() < newPlan.scratchFloats()) {
      scratch = FloatBuffers.allocate(Math.toIntExact(newPlan.scratchFloats()));
    }
    views = new FloatBuffer[newPlan.valueCount()];
    for (int id = 0; id < views.length; id++) {
      if (constantViews[id] != null) {
        views[id] = constantViews[id];
      } else if (newPlan.offset(id) >= 0) {
        views[id] =
            arena.slice(
                Math.toIntExact(newPlan.offset(id)), Math.toIntExact(newPlan.elementCount(id)));
      }
    }
    plan = newPlan;
  }

  /** The buffer of value {@code id}, position 0, exactly its elements long. */
  FloatBuffer buffer(int id) {
    return views[id];
  }

  /**
   * Heap array {@code slot} (0 .. {@link #HEAP_SLOTS}-1) of at least {@code length} floats, for
   * kernels that loop in Java: C2 vectorizes loops over arrays but not element-wise access to
   * direct buffers, so such kernels copy a block in (a bulk copy), compute on the array and copy
   * the result out. Slots are independent; their contents do not survive from one kernel to the
   * next. Arrays only grow, so a steady load allocates nothing.
   */
  float[] heap(int slot, int length) {
    if (heaps[slot].length < length) {
      heaps[slot] = new float[length];
    }
    return heaps[slot];
  }

  /** A zeroed index array of at least {@code rank} entries, for kernels walking axes. */
  int[] odometer(int rank) {
    if (odometer.length < rank) {
      odometer = new int[rank];
    }
    java.util.Arrays.fill(odometer, 0, rank, 0);
    return odometer;
  }

  /** Heap slot 0; see {@link #heap}. */
  float[] heapIn(int length) {
    return heap(0, length);
  }

  /** Heap slot 1; see {@link #heap}. */
  float[] heapOut(int length) {
    return heap(1, length);
  }

  /**
   * A direct byte buffer of at least {@code length} bytes (quantized activations of the int8
   * kernels), grown on first use and then reused.
   */
  java.nio.ByteBuffer bytes(int length) {
    if (bytes.capacity() < length) {
      bytes = java.nio.ByteBuffer.allocateDirect(length);
    }
    return bytes;
  }

  /** A heap byte array of at least {@code length} bytes (u8 patches built in Java loops). */
  byte[] heapBytes(int length) {
    if (heapBytes.length < length) {
      heapBytes = new byte[length];
    }
    return heapBytes;
  }

  /**
   * A direct float buffer of at least {@code length} floats, apart from {@link #scratch()}: where a
   * low-bit kernel expands its weights for one run (the fp32 copy lives only as long as the run).
   */
  FloatBuffer dequantized(int length) {
    if (dequantized.capacity() < length) {
      dequantized = FloatBuffers.allocate(length);
    }
    return dequantized;
  }

  /**
   * A direct int buffer of at least {@code length} values: the s32 bias of an output stage chosen
   * per image (a low-bit convolution run by the int8 kernels with a dynamic activation scale).
   */
  java.nio.IntBuffer stageBias(int length) {
    if (stageBias.capacity() < length) {
      stageBias =
          java.nio.ByteBuffer.allocateDirect(Math.multiplyExact(4, length))
              .order(java.nio.ByteOrder.nativeOrder())
              .asIntBuffer();
    }
    return stageBias;
  }

  /** A direct float buffer of at least {@code length} values: that output stage's scale. */
  FloatBuffer stageScale(int length) {
    if (stageScale.capacity() < length) {
      stageScale = FloatBuffers.allocate(length);
    }
    return stageScale;
  }

  /** The scratch buffer, at least as long as the plan's largest kernel scratch. */
  FloatBuffer scratch() {
    return scratch;
  }
}
