package io.cacheai.runtime;

import io.cacheai.graph.Shapes;
import java.nio.FloatBuffer;

/**
 * Concat along one axis: seen as [outer, axis·inner], each input contributes one contiguous block
 * per outer index, copied buffer to buffer.
 */
final class ConcatKernel implements Kernel {
  private final int[] inputs;
  private final int[] blocks;
  private final int out;
  private final int outer;

  ConcatKernel(int[] inputs, long[][] shapes, int axis, int out) {
    this.inputs = inputs.clone();
    this.out = out;
    this.outer = Math.toIntExact(Shapes.product(shapes[0], 0, axis));
    this.blocks = new int[inputs.length];
    for (int i = 0; i < inputs.length; i++) {
      blocks[i] = Math.toIntExact(Shapes.product(shapes[i], axis, shapes[i].length));
    }
  }

  @Override
  public void run(Frame frame) {
    FloatBuffer y = frame.buffer(out);
    int position = 0;
    for (int o = 0; o < outer; o++) {
      for (int i = 0; i < inputs.length; i++) {
        y.put(position, frame.buffer(inputs[i]), o * blocks[i], blocks[i]);
        position += blocks[i];
      }
    }
  }
}
