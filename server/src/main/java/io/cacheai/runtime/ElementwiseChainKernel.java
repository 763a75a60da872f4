package io.cacheai.runtime;

import java.nio.FloatBuffer;

/**
 * A chain of elementwise ops fused into one pass: activations such as hard-swish ({@code x · clip(x
 * + 3, 0, 6) / 6}, four ONNX nodes), swish ({@code x · sigmoid(x)}) and scale-and-shift blocks
 * ({@code x · s + b}) read and write memory once instead of once per node. Each step works on an
 * accumulator block and may read the chain's input again ({@link Step.Kind#MUL_INPUT}); the
 * intermediate values never exist in the arena. Built by {@link ElementwiseFusion}.
 */
final class ElementwiseChainKernel implements Kernel {
  /** Floats per block (16 KiB per array, L1-resident). */
  private static final int BLOCK = 4096;

  /** One step: {@code acc = kind(acc, a, b)}. */
  record Step(Kind kind, float a, float b) {
    enum Kind {
      ADD,
      SUB,
      REVERSE_SUB,
      MUL,
      DIV,
      REVERSE_DIV,
      POW,
      CLIP,
      RELU,
      SIGMOID,
      HARD_SIGMOID,
      SQRT,
      ABS,
      NEG,
      EXP,
      TANH,
      ADD_INPUT,
      MUL_INPUT
    }
  }

  /** The {@link UnaryKernel} op of each step kind of the same name (null for the others). */
  private static final UnaryKernel.Op[] UNARY_OPS = new UnaryKernel.Op[Step.Kind.values().length];

  static {
    for (UnaryKernel.Op op : UnaryKernel.Op.values()) {
      UNARY_OPS[Step.Kind.valueOf(op.name()).ordinal()] = op;
    }
  }

  private final int in;
  private final int out;
  private final Step[] steps;

  private final boolean readsInputAgain;

  ElementwiseChainKernel(int in, int out, Step[] steps) {
    this.in = in;
    this.out = out;
    this.steps = steps.clone();
    boolean again = false;
    for (Step step : steps) {
      again |= step.kind() == Step.Kind.ADD_INPUT || step.kind() == Step.Kind.MUL_INPUT;
    }
    this.readsInputAgain = again;
  }

  @Override
  public void run(Frame frame) {
    FloatBuffer x = frame.buffer(in);
    FloatBuffer y = frame.buffer(out);
    float[] input = frame.heap(0, BLOCK);
    float[] acc = frame.heap(1, BLOCK);
    for (int from = 0, n = y.capacity(); from < n; from += BLOCK) {
      int length = Math.min(BLOCK, n - from);
      x.get(from, acc, 0, length);
      if (readsInputAgain) {
        System.arraycopy(acc, 0, input, 0, length);
      }
      for (Step step : steps) {
        apply(step, acc, input, length);
      }
      y.put(from, acc, 0, length);
    }
  }

  private static void apply(Step step, float[] acc, float[] input, int n) {
    float a = step.a();
    float b = step.b();
    switch (step.kind()) {
      case ADD -> {
        for (int i = 0; i < n; i++) {
          acc[i] += a;
        }
      }
      case SUB -> {
        for (int i = 0; i < n; i++) {
          acc[i] -= a;
        }
      }
      case REVERSE_SUB -> {
        for (int i = 0; i < n; i++) {
          acc[i] = a - acc[i];
        }
      }
      case MUL -> {
        for (int i = 0; i < n; i++) {
          acc[i] *= a;
        }
      }
      case DIV -> {
        for (int i = 0; i < n; i++) {
          acc[i] /= a;
        }
      }
      case REVERSE_DIV -> {
        for (int i = 0; i < n; i++) {
          acc[i] = a / acc[i];
        }
      }
      case POW -> {
        if (a == 2f) {
          for (int i = 0; i < n; i++) {
            acc[i] *= acc[i];
          }
        } else {
          for (int i = 0; i < n; i++) {
            acc[i] = (float) Math.pow(acc[i], a);
          }
        }
      }
      case CLIP, RELU, SIGMOID, HARD_SIGMOID, SQRT, ABS, NEG, EXP, TANH ->
          UnaryKernel.apply(UNARY_OPS[step.kind().ordinal()], acc, n, a, b);
      case ADD_INPUT -> {
        for (int i = 0; i < n; i++) {
          acc[i] += input[i];
        }
      }
      case MUL_INPUT -> {
        for (int i = 0; i < n; i++) {
          acc[i] *= input[i];
        }
      }
    }
  }
}
