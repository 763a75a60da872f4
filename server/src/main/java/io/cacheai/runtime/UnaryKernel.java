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
      switch (op) {
        case RELU -> {
          for (int i = 0; i < length; i++) {
            block[i] = Math.max(block[i], 0f);
          }
        }
        case SIGMOID -> {
          for (int i = 0; i < length; i++) {
            block[i] = FastMath.sigmoid(block[i]);
          }
        }
        case HARD_SIGMOID -> {
          for (int i = 0; i < length; i++) {
            block[i] = Math.max(0f, Math.min(1f, alpha * block[i] + beta));
          }
        }
        case SQRT -> {
          for (int i = 0; i < length; i++) {
            block[i] = (float) Math.sqrt(block[i]);
          }
        }
        case ABS -> {
          for (int i = 0; i < length; i++) {
            block[i] = Math.abs(block[i]);
          }
        }
        case NEG -> {
          for (int i = 0; i < length; i++) {
            block[i] = -block[i];
          }
        }
        case EXP -> {
          for (int i = 0; i < length; i++) {
            block[i] = (float) Math.exp(block[i]);
          }
        }
        case TANH -> {
          for (int i = 0; i < length; i++) {
            block[i] = (float) Math.tanh(block[i]);
          }
        }
        case CLIP -> {
          for (int i = 0; i < length; i++) {
            block[i] = Math.min(Math.max(block[i], lo), hi);
          }
        }
      }
      y.put(from, block, 0, length);
    }
  }
}
