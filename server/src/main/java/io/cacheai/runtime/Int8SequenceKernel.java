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
 */
final class Int8SequenceKernel implements Kernel {
  private final int in;
  private final int out;
  private final Int8Sequence sequence;

  private Int8SequenceKernel(int in, int out, Int8Sequence sequence) {
    this.in = in;
    this.out = out;
    this.sequence = sequence;
  }

  @Override
  public void run(Frame frame) {
    sequence.run(
        frame.buffer(in),
        frame.bytes(Math.toIntExact(sequence.scratchBytes())),
        frame.buffer(out),
        ConvBody.BEST);
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
              new Int8SequenceKernel(link(first).input(), last.output(), sequence),
              String.join(" → ", labels) + " [Int8SequenceKernel]",
              first.reads(),
              last.output()));
      i = end;
    }
    return result;
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
    if (k instanceof CopyKernel c && p.reads().size() == 1) {
      return new Link(c.input(), null);
    }
    return null;
  }
}
