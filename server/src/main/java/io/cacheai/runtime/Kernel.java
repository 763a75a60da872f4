package io.cacheai.runtime;

/**
 * One node's computation for one set of concrete shapes. A kernel is built once per execution plan
 * (its shapes and attributes resolved then) and is immutable: every request brings its own {@link
 * Frame}, so one kernel serves concurrent requests.
 */
interface Kernel {
  /** Reads the node's inputs from {@code frame} and writes its output there. */
  void run(Frame frame);

  /** Scratch floats this kernel needs per run (e.g. an im2col matrix); 0 if none. */
  default long scratchFloats() {
    return 0;
  }
}
