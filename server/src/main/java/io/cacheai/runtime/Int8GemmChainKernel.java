package io.cacheai.runtime;

import io.cacheai.kernels.Int8GemmChain;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

/**
 * Consecutive {@code QLinearGemm} layers (each with its fused ReLU) whose intermediate outputs
 * nothing else reads — an MLP head — run as one {@link Int8GemmChain}: one native call per request
 * for the whole chain instead of one per layer, with the same results bit for bit. The intermediate
 * fp32 outputs live in the frame's scratch, never in the arena.
 */
final class Int8GemmChainKernel implements Kernel {
  private final int in;
  private final int out;
  private final int m;
  private final Int8GemmChain chain;

  /** Chains {@code links} (native kernels, each reading the previous one's output), writing out. */
  Int8GemmChainKernel(List<QLinearGemmKernel> links, int out) {
    if (links.size() < 2) {
      throw new IllegalArgumentException("an int8 chain needs at least two layers");
    }
    this.in = links.get(0).input();
    this.out = out;
    this.m = links.get(0).rows();
    for (QLinearGemmKernel link : links) {
      if (link.rows() != m || !link.runsNative()) {
        throw new IllegalArgumentException(
            "int8 chain: every layer must run natively on m=" + m + " rows");
      }
    }
    this.chain = new Int8GemmChain(links.stream().map(QLinearGemmKernel::chainLayer).toList());
  }

  /** This chain as a step of an {@link io.cacheai.kernels.Int8Sequence}. */
  io.cacheai.kernels.Int8Sequence.Step sequenceStep() {
    return new io.cacheai.kernels.Int8Sequence.GemmChain(chain, m);
  }

  /** The value id this kernel reads. */
  int input() {
    return in;
  }

  /** The value id this kernel writes. */
  int output() {
    return out;
  }

  @Override
  public long scratchFloats() {
    return chain.intermediateFloats(m);
  }

  @Override
  public void run(Frame frame) {
    int activationBytes = Math.toIntExact(chain.activationBytes(m));
    int accAt = (activationBytes + 63) / 64 * 64;
    int accInts = Math.toIntExact(chain.accumulatorInts(m));
    ByteBuffer bytes = frame.bytes(accAt + 4 * accInts);
    chain.run(
        frame.buffer(in),
        m,
        bytes.slice(0, activationBytes),
        bytes.slice(accAt, 4 * accInts).order(ByteOrder.nativeOrder()).asIntBuffer(),
        frame.scratch().slice(0, Math.toIntExact(chain.intermediateFloats(m))),
        frame.buffer(out));
  }
}
