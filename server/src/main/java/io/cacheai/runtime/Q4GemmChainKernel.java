package io.cacheai.runtime;

import io.cacheai.kernels.Q4GemmChain;
import java.util.List;

/**
 * Consecutive {@code LowBitGemm} layers (q4g32 blocks, each with its fused ReLU) whose intermediate
 * outputs nothing else reads — the low-bit MLP head — run as one {@link Q4GemmChain}: one native
 * call per request for the whole chain instead of one per layer, with the same results bit for bit.
 * The intermediate outputs (zero-padded to a multiple of 32 columns) live in the frame's scratch,
 * never in the arena.
 */
final class Q4GemmChainKernel implements Kernel {
  private final int in;
  private final int out;
  private final int m;
  private final Q4GemmChain chain;

  /** Chains {@code links} (native kernels, each reading the previous one's output), writing out. */
  Q4GemmChainKernel(List<LowBitGemmKernel> links, int out) {
    if (links.size() < 2) {
      throw new IllegalArgumentException("a q4g32 chain needs at least two layers");
    }
    this.in = links.get(0).input();
    this.out = out;
    this.m = links.get(0).rows();
    for (LowBitGemmKernel link : links) {
      if (link.rows() != m || !link.runsNative()) {
        throw new IllegalArgumentException(
            "q4g32 chain: every layer must run natively on m=" + m + " rows");
      }
    }
    this.chain = new Q4GemmChain(links.stream().map(LowBitGemmKernel::chainLayer).toList());
  }

  /** This chain as the last step of an {@link io.cacheai.kernels.Int8Sequence}. */
  io.cacheai.kernels.Int8Sequence.Step sequenceStep() {
    return new io.cacheai.kernels.Int8Sequence.Q4Chain(chain, m);
  }

  /** The value id this kernel reads. */
  int input() {
    return in;
  }

  @Override
  public long scratchFloats() {
    return chain.scratchFloats(m);
  }

  @Override
  public void run(Frame frame) {
    chain.run(
        frame.buffer(in),
        m,
        frame.scratch().slice(0, Math.toIntExact(chain.scratchFloats(m))),
        frame.buffer(out));
  }
}
