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
  private float[] heapIn = new float[0];
  private float[] heapOut = new float[0];
  private java.nio.ByteBuffer bytes = java.nio.ByteBuffer.allocateDirect(0);
  private byte[] heapBytes = new byte[0];
  private FloatBuffer dequantized = FloatBuffers.allocate(0);

  /** Lays this frame out for {@code newPlan} (no work when it already is). */
  void prepare(ExecutionPlan newPlan, FloatBuffer[] constantViews) {
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
   * A heap array of at least {@code length} floats for kernels that loop in Java: C2 vectorizes
   * loops over arrays but not element-wise access to direct buffers, so such kernels copy a block
   * in (a bulk copy), compute on the array and copy the result out. Two independent arrays.
   */
  float[] heapIn(int length) {
    if (heapIn.length < length) {
      heapIn = new float[length];
    }
    return heapIn;
  }

  /** The second heap array; see {@link #heapIn}. */
  float[] heapOut(int length) {
    if (heapOut.length < length) {
      heapOut = new float[length];
    }
    return heapOut;
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

  /** The scratch buffer, at least as long as the plan's largest kernel scratch. */
  FloatBuffer scratch() {
    return scratch;
  }
}
