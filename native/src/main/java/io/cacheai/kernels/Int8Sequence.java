package io.cacheai.kernels;

import static io.cacheai.kernels.ConvChecks.checkIntSized;
import static io.cacheai.kernels.ConvChecks.checkParamBuffers;
import static io.cacheai.kernels.ConvChecks.checkParams;
import static io.cacheai.kernels.ConvChecks.checkQuantization;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.List;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;

/**
 * Consecutive int8 layers run in one native call ({@code cai_int8_sequence_f32}): the integer body
 * of a small CNN at batch 1 — conv + pool ({@link Int8KqConv#image}), conv + pool ({@link
 * Int8LanesConv#image}), a Gemm chain ({@link Int8GemmChain}) — crosses from Java once per request
 * instead of once per layer. At batch 1 on MNIST each crossing — 5 to 8 direct buffers whose
 * address and position JavaCPP reads, a dozen Java-side checks and slices — was a visible share of
 * a 7 µs request.
 *
 * <p>Each step runs the C code of the one-layer call with the same arguments, so the results are
 * the same bit for bit; a step's fp32 output lives in {@code scratch} and the next step reads it
 * there. Everything fixed per plan (shapes, quantization, the weight / bias / scale addresses,
 * where each step's input, output and scratch live) is checked here once, when the sequence is
 * built, with the checks of the one-layer calls, and written into a descriptor of {@link
 * #STEP_BYTES} per step (layout drawn in {@code cai_int8_seq.h}):
 *
 * <pre>
 *    0    4   8   12  16     20     24     28     32    36  40   44   48        52     56
 *   | op | c | h | w | padT | padB | padL | padR | xZP | m | kH | kW | pstride | relu |
 *    56     60      64      68      72      76       80          88       96
 *   | wide | poolK | poolS | outH2 | outW2 | xScale | weights * | bias * | scale * |
 *    104       112        120       128       136       144          152
 *   | in_at  | out_at   | s0_at   | s1_at   | s2_at   | weights2 * |   (s64 byte offsets into
 *                                                                       scratch; -1: x / y)
 *    152       160          168        172     176
 *   | stage * | stage_at   | has_bias | (pad) |     (a {@link Dynamic} step; stage NULL: none)
 * </pre>
 *
 * <p>The low-bit CNN's layers are steps too: a {@link Dynamic} convolution quantizes its input per
 * image in C ({@code cai_lb_dynamic_stage}, the call {@link LowBitConv#dynamicStage} makes) and
 * runs with that scale, zero point and output stage; a {@link Q4Chain} is the q4g32 head ({@code
 * cai_q4gemm_chain_f32}). A dynamic stage that refuses its image (NaN, infinity, an out-of-range
 * stage) stops the sequence: {@link #run} returns its code and the caller runs its per-layer path.
 *
 * <p>A kw-quad convolution followed by a channels-in-lanes one hands its pooled output over as the
 * u8 channel quads the second one would quantize it into ({@code cai_qconv_kq_quads}: no fp32 NCHW
 * copy, no transpose), and, when its kernel width is not a multiple of 4, takes the columns past
 * the last whole kw quad as quads along kh ({@code weights2}: the kqc weights packed here once,
 * {@link #kqcWeights}; a 5×5 kernel needs 7 quads instead of 10). Integer sums are exact in any
 * order, so the bytes and floats are those of the one-layer calls.
 *
 * <p>Scratch layout ({@link #scratchBytes()}): two activation slots that the steps' outputs
 * alternate between, then one region every step reuses for its own scratch (each 64-byte aligned):
 *
 * <pre>
 *   | slot 0: fp32 activations | slot 1: fp32 activations | step scratch: s0 | s1 | s2 |
 * </pre>
 *
 * <p>Lifetime: the descriptor holds the addresses of the weights, biases, scales and chain
 * descriptors; this object keeps the steps (and so those buffers) reachable as long as it is used.
 * Per call only the lengths of x, scratch and y are checked.
 */
public final class Int8Sequence {
  /** Bytes of one step's descriptor. */
  public static final int STEP_BYTES = 176;

  static final int OP_KQ_CONV = 1;
  static final int OP_LANES_CONV = 2;
  static final int OP_GEMM_CHAIN = 3;
  static final int OP_KQ_CONV_QUADS = 4;
  static final int OP_LANES_CONV_QUADS = 5;
  static final int OP_Q4_CHAIN = 6;

  private static final int OP = 0;
  private static final int C = 4;
  private static final int H = 8;
  private static final int W = 12;
  private static final int PADS = 16; // padT, padB, padL, padR
  private static final int X_ZERO_POINT = 32;
  private static final int M = 36;
  private static final int KH = 40;
  private static final int KW = 44;
  private static final int PIXEL_STRIDE = 48;
  private static final int RELU = 52;
  private static final int WIDE = 56;
  private static final int POOL = 60; // poolK, poolS, outH2, outW2
  private static final int X_SCALE = 76;
  private static final int WEIGHTS = 80;
  private static final int BIAS = 88;
  private static final int SCALE = 96;
  private static final int IN_AT = 104;
  private static final int OUT_AT = 112;
  private static final int SCRATCH_AT = 120; // s0, s1, s2
  private static final int WEIGHTS2 = 144;
  private static final int STAGE = 152;
  private static final int STAGE_AT = 160;
  private static final int HAS_BIAS = 168;

  private static final int ALIGN = 64;

  /** One layer of a sequence, with everything but its per-call input and output. */
  public sealed interface Step permits KqConv, LanesConv, GemmChain, Dynamic, Q4Chain {
    /** Floats the step reads. */
    long inputFloats();

    /** Floats the step writes. */
    long outputFloats();

    /** Byte sizes of the step's own scratch regions s0, s1, s2 (0: unused). */
    long[] scratchBytes();
  }

  /**
   * {@link Int8KqConv#image}'s arguments but the image and the buffers: x [channels, h, w] padded
   * by {@code pads} {t, b, l, r}, quantized with (scale, zeroPoint), times the s8k4m16 weights
   * {@code wk} [m, channels, kH, kW], then {@code pool} {k, s, outH2, outW2} or null (crop).
   */
  public record KqConv(
      int channels,
      int h,
      int w,
      int[] pads,
      float scale,
      int zeroPoint,
      ByteBuffer wk,
      int m,
      int kH,
      int kW,
      int pixelStride,
      RequantParams params,
      int[] pool)
      implements Step {
    public KqConv {
      pads = pads == null ? null : pads.clone();
      pool = pool == null ? null : pool.clone();
      checkConvStep(
          channels, h, w, pads, scale, zeroPoint, m, kH, kW, pixelStride, params, pool, false);
      int ph = padded(h, pads[0], pads[1]);
      int pw = padded(w, pads[2], pads[3]);
      ConvChecks.checkKernelFits("kqConv", channels, m, kH, kW, ph, pw);
      int outH = ph - kH + 1;
      int expected = Int8KqConv.pixelStride(ph, pw, kH, kW, outH);
      if (pixelStride != expected) {
        throw new IllegalArgumentException(
            "pixelStride="
                + pixelStride
                + ", expected "
                + expected
                + " for ph="
                + ph
                + " pw="
                + pw);
      }
      Buffers.checkInput("wk", wk, Int8KqConv.weightBytes(m, channels, kH, kW));
      checkParamBuffers(params, m);
      checkIntSized("planes", (long) m * Int8DirectConv.wideLength(outH, pw));
      if (pool != null) {
        checkPool(pool, outH, pw - kW + 1);
      }
      checkIntSized("y", outputs(m, outH, pw - kW + 1, pool));
    }

    private int ph() {
      return h + pads[0] + pads[1];
    }

    private int pw() {
      return w + pads[2] + pads[3];
    }

    int wide() {
      return Int8DirectConv.wideLength(ph() - kH + 1, pw());
    }

    @Override
    public long inputFloats() {
      return (long) channels * h * w;
    }

    @Override
    public long outputFloats() {
      return outputs(m, ph() - kH + 1, pw() - kW + 1, pool);
    }

    @Override
    public long[] scratchBytes() {
      return new long[] {(long) channels * pixelStride, 4L * m * wide(), 0};
    }
  }

  /**
   * {@link Int8LanesConv#image}'s arguments but the image and the buffers: x [channels, h, w]
   * padded by {@code pads}, quantized, times the s8q4n16 weights {@code wt}, pooled by {@code pool}
   * {k, s, outH2, outW2} (required; 1, 1 copies).
   */
  public record LanesConv(
      int channels,
      int h,
      int w,
      int[] pads,
      float scale,
      int zeroPoint,
      ByteBuffer wt,
      int m,
      int kH,
      int kW,
      int pixelStride,
      RequantParams params,
      int[] pool)
      implements Step {
    public LanesConv {
      pads = pads == null ? null : pads.clone();
      pool = pool == null ? null : pool.clone();
      checkConvStep(
          channels, h, w, pads, scale, zeroPoint, m, kH, kW, pixelStride, params, pool, true);
      int ph = padded(h, pads[0], pads[1]);
      int pw = padded(w, pads[2], pads[3]);
      if ((long) ph * pw > pixelStride || pixelStride % Int8Conv.PIXEL_BLOCK != 0) {
        throw new IllegalArgumentException(
            "pixelStride="
                + pixelStride
                + " must be a multiple of "
                + Int8Conv.PIXEL_BLOCK
                + " and >= the padded plane="
                + (long) ph * pw);
      }
      checkIntSized("padded image", (long) channels * ph * pw);
      ConvChecks.checkKernelFits("lanesConv", channels, m, kH, kW, ph, pw);
      int outH = ph - kH + 1;
      int outW = pw - kW + 1;
      int expected = Int8DirectConv.pixelStride(ph, pw, kH, kW, outH);
      if (pixelStride != expected) {
        throw new IllegalArgumentException("pixelStride=" + pixelStride + ", expected " + expected);
      }
      checkPool(pool, outH, outW);
      checkIntSized("t", Int8LanesConv.productFloats(m, outH, outW));
      checkIntSized("y", outputs(m, outH, outW, pool));
      Buffers.checkInput("wt", wt, Int8LanesConv.weightBytes(m, channels, kH, kW));
      checkParamBuffers(params, m);
    }

    private int ph() {
      return h + pads[0] + pads[1];
    }

    private int pw() {
      return w + pads[2] + pads[3];
    }

    @Override
    public long inputFloats() {
      return (long) channels * h * w;
    }

    @Override
    public long outputFloats() {
      return outputs(m, ph() - kH + 1, pw() - kW + 1, pool);
    }

    @Override
    public long[] scratchBytes() {
      return new long[] {
        (long) channels * ph() * pw(),
        Int8DirectConv.inputBytes(channels, pixelStride),
        4 * Int8LanesConv.productFloats(m, ph() - kH + 1, pw() - kW + 1)
      };
    }
  }

  /** {@link Int8GemmChain#run} on {@code m} rows. */
  public record GemmChain(Int8GemmChain chain, int m) implements Step {
    public GemmChain {
      if (chain == null) {
        throw new IllegalArgumentException("chain is null");
      }
      if (m < 1) {
        throw new IllegalArgumentException("m=" + m + " must be >= 1");
      }
      checkIntSized("a", chain.activationBytes(m));
      checkIntSized("tmp", chain.intermediateFloats(m));
      checkIntSized("acc", chain.accumulatorInts(m));
    }

    @Override
    public long inputFloats() {
      return (long) m * chain.inputWidth();
    }

    @Override
    public long outputFloats() {
      return (long) m * chain.outputWidth();
    }

    @Override
    public long[] scratchBytes() {
      return new long[] {
        chain.activationBytes(m), 4 * chain.accumulatorInts(m), 4 * chain.intermediateFloats(m)
      };
    }
  }

  /**
   * A convolution ({@link KqConv} or {@link LanesConv}) whose input is quantized per image, as a
   * low-bit convolution's int8 twin does: {@code stage} holds its output channels' constants; the
   * conv's own scale, zero point, bias and scale buffers are replaced per call by the stage's, and
   * its ReLU by {@code relu}.
   */
  public record Dynamic(Step conv, LowBitConv.TwinStage stage, boolean relu) implements Step {
    public Dynamic {
      if (!(conv instanceof KqConv) && !(conv instanceof LanesConv)) {
        throw new IllegalArgumentException(
            "a dynamic step needs a KqConv or LanesConv, got " + conv);
      }
      if (stage == null || stage.m() != m(conv)) {
        throw new IllegalArgumentException(
            "stage m="
                + (stage == null ? "null" : stage.m())
                + " != the convolution's m="
                + m(conv));
      }
      checkIntSized("stage input", conv.inputFloats());
    }

    private static int m(Step conv) {
      return conv instanceof KqConv k ? k.m() : ((LanesConv) conv).m();
    }

    /** Bytes of the per-image stage written in scratch: bias s32[m], then scale f32[m + 2]. */
    long stageBytes() {
      return align(4L * stage.m()) + align(4L * (stage.m() + 2));
    }

    @Override
    public long inputFloats() {
      return conv.inputFloats();
    }

    @Override
    public long outputFloats() {
      return conv.outputFloats();
    }

    @Override
    public long[] scratchBytes() {
      return conv.scratchBytes();
    }
  }

  /** {@link Q4GemmChain#run} on {@code m} rows. */
  public record Q4Chain(Q4GemmChain chain, int m) implements Step {
    public Q4Chain {
      if (chain == null) {
        throw new IllegalArgumentException("chain is null");
      }
      if (m < 1) {
        throw new IllegalArgumentException("m=" + m + " must be >= 1");
      }
      checkIntSized("tmp", chain.scratchFloats(m));
    }

    @Override
    public long inputFloats() {
      return (long) m * chain.inputWidth();
    }

    @Override
    public long outputFloats() {
      return (long) m * chain.outputWidth();
    }

    @Override
    public long[] scratchBytes() {
      return new long[] {4 * chain.scratchFloats(m), 0, 0};
    }
  }

  /** The checks every convolution step starts with: shape, pads and pool, quantization, params. */
  private static void checkConvStep(
      int channels,
      int h,
      int w,
      int[] pads,
      float scale,
      int zeroPoint,
      int m,
      int kH,
      int kW,
      int pixelStride,
      RequantParams params,
      int[] pool,
      boolean poolRequired) {
    ConvChecks.checkPadsPool(
        new ConvInput(null, channels, h, w, pads, scale, zeroPoint), pool, poolRequired);
    Buffers.checkShape(
        "[channels,h,w,m,kH,kW,pixelStride]", channels, h, w, m, kH, kW, pixelStride);
    checkQuantization(scale, zeroPoint);
    checkParams(params);
  }

  private static int padded(int size, int before, int after) {
    long padded = (long) size + before + after;
    checkIntSized("padded size", padded);
    return (int) padded;
  }

  private static void checkPool(int[] pool, int outH, int outW) {
    if (pool[0] < 1
        || pool[1] < 1
        || pool[2] < 1
        || pool[3] < 1
        || (long) (pool[2] - 1) * pool[1] + pool[0] > outH
        || (long) (pool[3] - 1) * pool[1] + pool[0] > outW) {
      throw new IllegalArgumentException(
          "pool="
              + java.util.Arrays.toString(pool)
              + " reads past the output "
              + outH
              + "x"
              + outW);
    }
  }

  private static long outputs(int m, int outH, int outW, int[] pool) {
    return pool == null ? (long) m * outH * outW : (long) m * pool[2] * pool[3];
  }

  private final List<Step> steps;
  private final List<ByteBuffer> packed = new java.util.ArrayList<>(); // kept reachable
  private final ByteBuffer descriptor;
  private final long scratchBytes;

  /**
   * Checks that each step reads what the previous one writes, lays out scratch, writes the steps.
   */
  public Int8Sequence(List<Step> steps) {
    if (steps == null || steps.isEmpty()) {
      throw new IllegalArgumentException("an int8 sequence needs at least one step");
    }
    this.steps = List.copyOf(steps);
    int count = this.steps.size();
    long slot = 0;
    long stepScratch = 0;
    long stageBytes = 0;
    for (int i = 0; i < count; i++) {
      Step step = this.steps.get(i);
      if (step instanceof Dynamic d) {
        stageBytes = Math.max(stageBytes, d.stageBytes());
      }
      if (i > 0 && step.inputFloats() != this.steps.get(i - 1).outputFloats()) {
        throw new IllegalArgumentException(
            "step "
                + i
                + " reads "
                + step.inputFloats()
                + " floats but step "
                + (i - 1)
                + " writes "
                + this.steps.get(i - 1).outputFloats());
      }
      if (i < count - 1) {
        slot = Math.max(slot, align(4 * step.outputFloats()));
        if (handsOffQuads(i)) {
          LanesConv next = (LanesConv) this.steps.get(i + 1);
          slot =
              Math.max(slot, align(Int8DirectConv.inputBytes(next.channels(), next.pixelStride())));
        }
      }
      long regions = 0;
      for (long bytes : regions(i)) {
        regions += align(bytes);
      }
      stepScratch = Math.max(stepScratch, regions);
    }
    long stageAt = 2 * slot + stepScratch;
    this.scratchBytes = stageAt + stageBytes;
    checkIntSized("scratch", scratchBytes);
    this.descriptor = ByteBuffer.allocateDirect(STEP_BYTES * count).order(ByteOrder.nativeOrder());
    for (int i = 0; i < count; i++) {
      int base = i * STEP_BYTES;
      descriptor.putLong(base + IN_AT, i == 0 ? -1 : ((i - 1) % 2) * slot);
      descriptor.putLong(base + OUT_AT, i == count - 1 ? -1 : (i % 2) * slot);
      long at = 2 * slot;
      long[] regions = regions(i);
      for (int r = 0; r < 3; r++) {
        descriptor.putLong(base + SCRATCH_AT + 8 * r, at);
        at += align(regions[r]);
      }
      write(base, this.steps.get(i));
      if (this.steps.get(i) instanceof Dynamic d) {
        descriptor.putLong(base + STAGE, address(d.stage().constants()));
        descriptor.putLong(base + STAGE_AT, stageAt);
        descriptor.putInt(base + HAS_BIAS, d.stage().hasBias() ? 1 : 0);
        descriptor.putInt(base + RELU, d.relu() ? 1 : 0);
      }
      if (handsOffQuads(i)) {
        descriptor.putInt(base + OP, OP_KQ_CONV_QUADS);
        ByteBuffer kqc = kqcWeights((KqConv) this.steps.get(i));
        if (kqc != null) {
          packed.add(kqc);
          descriptor.putLong(base + WEIGHTS2, address(kqc));
        }
      } else if (i > 0 && handsOffQuads(i - 1)) {
        descriptor.putInt(base + OP, OP_LANES_CONV_QUADS);
      }
    }
  }

  /**
   * Whether step i hands its output to step i + 1 as u8 channel quads ({@code cai_qconv_kq_quads}):
   * a kw-quad convolution followed by a channels-in-lanes one, which quantizes its input into
   * exactly those bytes.
   */
  private boolean handsOffQuads(int i) {
    return i + 1 < steps.size()
        && steps.get(i) instanceof KqConv
        && steps.get(i + 1) instanceof LanesConv;
  }

  /** Rows of the kqc column image ({@code cai_kqc_image_size}): outH + 4·(ceil(kH/4) − 1). */
  private static long kqcRows(int kH, int outH) {
    return outH + 4L * ((kH + 3) / 4 - 1);
  }

  /**
   * The kqc form of a kw-quad convolution's weights (repacked from its s8k4m16 {@code wk}), or null
   * when it saves no quads (kW a multiple of 4, or too few rows to group).
   */
  static ByteBuffer kqcWeights(KqConv k) {
    int quads = k.kH() * (k.kW() / 4) + (k.kW() % 4) * ((k.kH() + 3) / 4);
    if (quads >= k.kH() * ((k.kW() + 3) / 4)) {
      return null;
    }
    long bytes =
        (long) ((k.m() + Int8KqConv.CHANNEL_BLOCK - 1) / Int8KqConv.CHANNEL_BLOCK)
            * k.channels()
            * quads
            * Int8KqConv.CHANNEL_BLOCK
            * 4;
    checkIntSized("kqc weights", bytes);
    ByteBuffer out = ByteBuffer.allocateDirect((int) bytes);
    IntKernelsNative.packConvKqc(k.wk().slice(), k.m(), k.channels(), k.kH(), k.kW(), out);
    return out;
  }

  /** Byte sizes of step i's scratch regions s0, s1, s2 as the C side uses them. */
  private long[] regions(int i) {
    long[] regions = steps.get(i).scratchBytes();
    if (handsOffQuads(i)) { // s0: img, then the fallback's padded planes; s2: its pooled output
      LanesConv next = (LanesConv) steps.get(i + 1);
      long padded = (long) next.channels() * next.ph() * next.pw();
      return new long[] {Math.max(regions[0], padded), regions[1], 4 * steps.get(i).outputFloats()};
    }
    if (i > 0 && handsOffQuads(i - 1)) { // the input is already quantized: only t
      return new long[] {0, 0, regions[2]};
    }
    return regions;
  }

  private void write(int base, Step step) {
    if (step instanceof KqConv k) {
      descriptor.putInt(base + OP, OP_KQ_CONV);
      writeConv(base, k.channels(), k.h(), k.w(), k.pads(), k.scale(), k.zeroPoint());
      writeKernel(base, k.wk(), k.m(), k.kH(), k.kW(), k.pixelStride(), k.params(), k.pool());
      descriptor.putInt(base + WIDE, k.wide());
    } else if (step instanceof LanesConv l) {
      descriptor.putInt(base + OP, OP_LANES_CONV);
      writeConv(base, l.channels(), l.h(), l.w(), l.pads(), l.scale(), l.zeroPoint());
      writeKernel(base, l.wt(), l.m(), l.kH(), l.kW(), l.pixelStride(), l.params(), l.pool());
    } else if (step instanceof Dynamic d) {
      write(base, d.conv());
    } else if (step instanceof Q4Chain q) {
      descriptor.putInt(base + OP, OP_Q4_CHAIN);
      descriptor.putInt(base + C, q.chain().layerCount());
      descriptor.putInt(base + H, q.m());
      descriptor.putInt(base + W, q.chain().maxPaddedK());
      descriptor.putLong(base + WEIGHTS, address(q.chain().descriptor()));
    } else {
      GemmChain g = (GemmChain) step;
      descriptor.putInt(base + OP, OP_GEMM_CHAIN);
      descriptor.putInt(base + C, g.chain().layerCount());
      descriptor.putInt(base + H, g.m());
      descriptor.putInt(base + W, g.chain().maxN());
      descriptor.putLong(base + WEIGHTS, address(g.chain().descriptor()));
    }
  }

  private void writeConv(int base, int c, int h, int w, int[] pads, float scale, int zeroPoint) {
    descriptor.putInt(base + C, c);
    descriptor.putInt(base + H, h);
    descriptor.putInt(base + W, w);
    for (int i = 0; i < 4; i++) {
      descriptor.putInt(base + PADS + 4 * i, pads[i]);
    }
    descriptor.putInt(base + X_ZERO_POINT, zeroPoint);
    descriptor.putFloat(base + X_SCALE, scale);
  }

  private void writeKernel(
      int base,
      ByteBuffer weights,
      int m,
      int kH,
      int kW,
      int pixelStride,
      RequantParams params,
      int[] pool) {
    descriptor.putInt(base + M, m);
    descriptor.putInt(base + KH, kH);
    descriptor.putInt(base + KW, kW);
    descriptor.putInt(base + PIXEL_STRIDE, pixelStride);
    descriptor.putInt(base + RELU, params.relu() ? 1 : 0);
    for (int i = 0; i < 4; i++) {
      descriptor.putInt(base + POOL + 4 * i, pool == null ? 0 : pool[i]);
    }
    descriptor.putLong(base + WEIGHTS, address(weights));
    descriptor.putLong(
        base + BIAS, params.bias() == null ? 0L : new IntPointer(params.bias().slice()).address());
    descriptor.putLong(base + SCALE, new FloatPointer(params.scale().slice()).address());
  }

  /** The address of the buffer's first remaining byte. */
  private static long address(ByteBuffer buffer) {
    return new BytePointer(buffer.slice()).address();
  }

  private static long align(long bytes) {
    return (bytes + ALIGN - 1) / ALIGN * ALIGN;
  }

  /** Floats of x: the first step's input. */
  public long inputFloats() {
    return steps.get(0).inputFloats();
  }

  /** Floats of y: the last step's output. */
  public long outputFloats() {
    return steps.get(steps.size() - 1).outputFloats();
  }

  /** Bytes of the scratch {@link #run} needs (activation slots and step scratch). */
  public long scratchBytes() {
    return scratchBytes;
  }

  /** The steps, in order. */
  public List<Step> steps() {
    return steps;
  }

  /**
   * y from x through every step in one native call; {@code body} picks the convolutions' vector
   * bodies or their scalar twins.
   *
   * @return {@link LowBitConv#STAGE_OK}, or the code of a {@link Dynamic} step's stage that refused
   *     its input ({@link LowBitConv#STAGE_NOT_FINITE}, {@link LowBitConv#STAGE_OUT_OF_RANGE}):
   *     then y holds nothing usable
   */
  public int run(FloatBuffer x, ByteBuffer scratch, FloatBuffer y, ConvBody body) {
    Buffers.checkInput("x", x, inputFloats());
    Buffers.checkOutput("scratch", scratch, scratchBytes);
    Buffers.checkOutput("y", y, outputFloats());
    return IntKernelsNative.int8SequenceF32(
        descriptor, steps.size(), x, scratch, y, body == ConvBody.SCALAR_TWIN ? 1 : 0);
  }
}
