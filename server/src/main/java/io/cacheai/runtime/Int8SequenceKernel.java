package io.cacheai.runtime;

import io.cacheai.kernels.ConvBody;
import io.cacheai.kernels.Int8Sequence;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Consecutive int8 kernels of a plan — the int8 body of a small CNN at batch 1: conv + pool, conv +
 * pool, Flatten, a Gemm chain — run as one {@link Int8Sequence}: one native call per request
 * instead of one per kernel, with the same results bit for bit (each step is the C function the
 * kernel it replaces calls). The intermediate activations live in the frame's bytes, never in the
 * arena; Flatten and Reshape between them are no-ops (the same floats in the same order).
 *
 * <p>The low-bit CNN's layers join too ({@link LowBitConvKernel}: its int8 twin with the per-image
 * quantization in C; {@link Q4GemmChainKernel}: the q4g32 head). When a low-bit layer's stage
 * refuses an image (a NaN or infinity, an out-of-range stage), the sequence stops and this kernel
 * runs the kernels it replaced, one by one, as the plan without it would (their intermediate values
 * keep their arena buffers): the same results in every case. {@code
 * -Dcacheai.lowbit.sequence=false} keeps the low-bit layers out (the per-layer path, for
 * comparison).
 */
final class Int8SequenceKernel implements Kernel {
  private final int in;
  private final int out;
  private final Int8Sequence sequence;

  /** The kernels this one replaces, in order: run when a dynamic stage refuses an image. */
  private final List<Kernel> replaced;

  private Int8SequenceKernel(int in, int out, Int8Sequence sequence, List<Kernel> replaced) {
    this.in = in;
    this.out = out;
    this.sequence = sequence;
    this.replaced = List.copyOf(replaced);
  }

  /** The replaced kernels' scratch, which they need only when a dynamic stage can refuse. */
  @Override
  public long scratchFloats() {
    if (sequence.steps().stream().noneMatch(s -> s instanceof Int8Sequence.Dynamic)) {
      return 0; // a purely int8 sequence never hands back
    }
    long scratch = 0;
    for (Kernel k : replaced) {
      scratch = Math.max(scratch, k.scratchFloats());
    }
    return scratch;
  }

  @Override
  public void run(Frame frame) {
    int code =
        sequence.run(
            frame.buffer(in),
            frame.bytes(Math.toIntExact(sequence.scratchBytes())),
            frame.buffer(out),
            ConvBody.BEST);
    if (code != io.cacheai.kernels.LowBitConv.STAGE_OK) {
      for (Kernel k : replaced) {
        k.run(frame);
      }
    }
  }

  /** The sequence this kernel runs (tests look at its steps). */
  Int8Sequence sequence() {
    return sequence;
  }

  /**
   * One kernel of a plan in order, with the value ids it reads and writes and its profile label.
   */
  record Placed(Kernel kernel, String label, List<Integer> reads, int output) {}

  /**
   * Replaces each run of consecutive kernels that can be sequence steps — {@link
   * QLinearConvKernel}, {@link QLinearGemmKernel} and {@link Int8GemmChainKernel} on their native
   * paths, with {@link CopyKernel}s (Flatten, Reshape) between them — where each kernel reads only
   * the previous one's output and nothing else reads it (nor is it a graph output), by one {@link
   * Int8SequenceKernel}. A run needs at least two steps. Returns the new list.
   */
  static List<Placed> fuse(List<Placed> placed, Set<Integer> graphOutputs) {
    int[] readers = new int[1 + placed.stream().mapToInt(Placed::output).max().orElse(0)];
    for (Placed p : placed) {
      for (int id : p.reads()) {
        if (id < readers.length) {
          readers[id]++;
        }
      }
    }
    List<Placed> result = new ArrayList<>();
    int i = 0;
    while (i < placed.size()) {
      List<Int8Sequence.Step> steps = new ArrayList<>();
      List<String> labels = new ArrayList<>();
      List<Kernel> kernels = new ArrayList<>();
      int end = i;
      Placed first = placed.get(i);
      if (link(first) != null) {
        while (end < placed.size()) {
          Placed p = placed.get(end);
          Link link = link(p);
          if (link == null
              || end > i
                  && (!p.reads().equals(List.of(placed.get(end - 1).output()))
                      || readers[placed.get(end - 1).output()] != 1
                      || graphOutputs.contains(placed.get(end - 1).output()))) {
            break;
          }
          if (link.step() != null) {
            steps.add(link.step());
          }
          labels.add(p.label());
          kernels.add(p.kernel());
          end++;
        }
      }
      if (steps.size() < 2) {
        result.add(first);
        i++;
        continue;
      }
      Placed last = placed.get(end - 1);
      Int8Sequence sequence = new Int8Sequence(steps);
      result.add(
          new Placed(
              new Int8SequenceKernel(link(first).input(), last.output(), sequence, kernels),
              String.join(" → ", labels) + " [Int8SequenceKernel]",
              first.reads(),
              last.output()));
      i = end;
    }
    return result;
  }

  /** Whether low-bit layers become steps ({@code -Dcacheai.lowbit.sequence}, default true). */
  private static boolean lowBit() {
    return Boolean.parseBoolean(System.getProperty("cacheai.lowbit.sequence", "true"));
  }

  /** A kernel as a sequence link: its input and its step (null: a copy, no step). */
  private record Link(int input, Int8Sequence.Step step) {}

  private static Link link(Placed p) {
    Kernel k = p.kernel();
    if (k instanceof QLinearConvKernel q) {
      Int8Sequence.Step step = q.sequenceStep();
      return step == null ? null : new Link(q.input(), step);
    }
    if (k instanceof QLinearGemmKernel q) {
      Int8Sequence.Step step = q.sequenceStep();
      return step == null ? null : new Link(q.input(), step);
    }
    if (k instanceof Int8GemmChainKernel q) {
      return new Link(q.input(), q.sequenceStep());
    }
    if (lowBit() && k instanceof LowBitConvKernel l) {
      Int8Sequence.Step step = l.sequenceStep();
      return step == null ? null : new Link(l.input(), step);
    }
    if (lowBit() && k instanceof Q4GemmChainKernel q) {
      return new Link(q.input(), q.sequenceStep());
    }
    if (k instanceof CopyKernel c && p.reads().size() == 1) {
      return new Link(c.input(), null);
    }
    return null;
  }
}
