package io.cacheai.runtime;

import java.nio.FloatBuffer;

/**
 * Elementwise unary ops: Relu, Sigmoid, HardSigmoid, Sqrt, Abs, Neg, Exp, Tanh and Clip. Blocks of
 * the input are copied to a heap array, transformed in place by one tight loop per op and copied
 * out. Clip's bounds come from its attributes (before opset 11) or from its optional inputs, read
 * at every run since they may be request data.
 */
final class UnaryKernel implements Kernel {
  /** Floats per block copied to the heap (16 KiB, L1-resident). */
  private static final int BLOCK = 4096;

  enum Op {
    RELU,
    SIGMOID,
    HARD_SIGMOID,
    SQRT,
    ABS,
    NEG,
    EXP,
    TANH,
    CLIP
  }

  private final Op op;
  private final int in;
  private final int out;
  private final float alpha;
  private final float beta;
  private final int minInput;
  private final int maxInput;

  /**
   * @param alpha HardSigmoid's slope, or Clip's lower bound when {@code minInput} is -1
   * @param beta HardSigmoid's offset, or Clip's upper bound when {@code maxInput} is -1
   */
  UnaryKernel(Op op, int in, int out, float alpha, float beta, int minInput, int maxInput) {
    this.op = op;
    this.in = in;
    this.out = out;
    this.alpha = alpha;
    this.beta = beta;
    this.minInput = minInput;
    this.maxInput = maxInput;
  }

  UnaryKernel(Op op, int in, int out) {
    this(op, in, out, 0f, 0f, -1, -1);
  }

  @Override
  public void run(Frame frame) {
    FloatBuffer x = frame.buffer(in);
    FloatBuffer y = frame.buffer(out);
    float[] block = frame.heap(0, BLOCK);
    float lo = minInput >= 0 ? frame.buffer(minInput).get(0) : alpha;
    float hi = maxInput >= 0 ? frame.buffer(maxInput).get(0) : beta;
    for (int from = 0, n = y.capacity(); from < n; from += BLOCK) {
      int length = Math.min(BLOCK, n - from);
      x.get(from, block, 0, length);
      apply(op, block, length, lo, hi);
      y.put(from, block, 0, length);
    }
  }

  /**
   * {@code v[0..n) = op(v[0..n))} in place; {@code a}, {@code b}: HardSigmoid's slope and offset,
   * or Clip's lower and upper bounds. Also the unary steps of {@link ElementwiseChainKernel}.
   */
  static void apply(Op op, float[] v, int n, float a, float b) {
    switch (op) {
      case RELU -> {
        for (int i = 0; i < n; i++) {
          v[i] = Math.max(v[i], 0f);
        }
      }
      case SIGMOID -> {
        for (int i = 0; i < n; i++) {
          v[i] = FastMath.sigmoid(v[i]);
        }
      }
      case HARD_SIGMOID -> {
        for (int i = 0; i < n; i++) {
          v[i] = Math.max(0f, Math.min(1f, a * v[i] + b));
        }
      }
      case SQRT -> {
        for (int i = 0; i < n; i++) {
          v[i] = (float) Math.sqrt(v[i]);
        }
      }
      case ABS -> {
        for (int i = 0; i < n; i++) {
          v[i] = Math.abs(v[i]);
        }
      }
      case NEG -> {
        for (int i = 0; i < n; i++) {
          v[i] = -v[i];
        }
      }
      case EXP -> {
        for (int i = 0; i < n; i++) {
          v[i] = (float) Math.exp(v[i]);
        }
      }
      case TANH -> {
        for (int i = 0; i < n; i++) {
          v[i] = (float) Math.tanh(v[i]);
        }
      }
      case CLIP -> {
        for (int i = 0; i < n; i++) {
          v[i] = Math.min(Math.max(v[i], a), b);
        }
      }
    }
  }
}
