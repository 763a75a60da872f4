package io.cacheai.kernels;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.List;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;

/**
 * A chain of q4g32 layers run in one native call ({@code cai_q4gemm_chain_f32}): layer i is {@link
 * Q4Gemm#gemmBias} on layer i−1's output, zero-padded to a multiple of 32 columns, with the same
 * results bit for bit, but a request crosses into C once for the whole chain — for a low-bit MLP
 * head (120, 84 and 10 outputs) the crossings and per-layer Java work, not the arithmetic, are most
 * of a layer's time. This is the q4g32 twin of {@link Int8GemmChain}.
 *
 * <p>The per-layer constants are written once, here, into a descriptor the C side reads (layout
 * drawn in {@code cai_int8.h}, {@link #LAYER_BYTES} per layer):
 *
 * <pre>
 *    0       4       8       12         16           24             32             40
 *   | k s32 | n s32 | relu  | reserved | w (ptr)    | bias (ptr)    | pairs (ptr)   |
 * </pre>
 *
 * <p>pairs is each layer's weight repacked here, once, into row pairs ({@link Q4PairGemv}): at
 * batch 1, where the 512-bit body runs, the layer reads those instead of the q4g32 blocks — the
 * same results bit for bit in about half the instructions.
 *
 * <p>k is the logical input width (any k ≥ 1); the weights are q4g32 blocks of [n, round_up(k, 32)]
 * whose padding columns meet zeros. Lifetime: the descriptor holds the addresses of each layer's
 * weight and bias buffers; this object keeps references to those buffers, so they stay reachable
 * (and mapped) as long as the chain is used. Sizes are checked here when the chain is built and on
 * every {@link #run}.
 */
public final class Q4GemmChain {
  /** Bytes of one layer's descriptor. */
  public static final int LAYER_BYTES = 40;

  static final int K_OFFSET = 0;
  static final int N_OFFSET = 4;
  static final int RELU_OFFSET = 8;
  static final int WEIGHTS_OFFSET = 16;
  static final int BIAS_OFFSET = 24;
  static final int PAIRS_OFFSET = 32;

  /**
   * One layer: y [m, n] = x [m, k] · Wᵀ + bias, then max(·, 0) when relu.
   *
   * @param blocks q4g32 weights [n, round_up(k, 32)] ({@link Q4Gemm} layout), from position 0
   * @param bias n floats in a direct native-order buffer from position 0, or null for none
   */
  public record Layer(ByteBuffer blocks, int k, int n, FloatBuffer bias, boolean relu) {}

  private final List<Layer> layers;

  /** Each layer's weight as q4g32p2 (kept reachable: the descriptor holds their addresses). */
  private final List<ByteBuffer> pairs;

  private final ByteBuffer descriptor;
  private final int maxPaddedK;

  /** Checks every layer and writes the descriptor. */
  public Q4GemmChain(List<Layer> layers) {
    if (layers == null || layers.isEmpty()) {
      throw new IllegalArgumentException("a q4g32 chain needs at least one layer");
    }
    this.layers = List.copyOf(layers);
    this.descriptor =
        ByteBuffer.allocateDirect(LAYER_BYTES * layers.size()).order(ByteOrder.nativeOrder());
    int widest = 0;
    List<ByteBuffer> packed = new java.util.ArrayList<>();
    for (int i = 0; i < layers.size(); i++) {
      Layer layer = layers.get(i);
      String at = "layer " + i;
      Buffers.checkShape(at + " [k,n]", layer.k(), layer.n());
      if (layer.k() < 1 || layer.n() < 1 || layer.k() > Integer.MAX_VALUE - Q4Gemm.GROUP_SIZE) {
        throw new IllegalArgumentException(
            at + ": k=" + layer.k() + " n=" + layer.n() + " (k >= 1, n >= 1)");
      }
      if (i > 0 && layer.k() != layers.get(i - 1).n()) {
        throw new IllegalArgumentException(
            at + ": k=" + layer.k() + " != previous layer's n=" + layers.get(i - 1).n());
      }
      int paddedK = paddedK(layer.k());
      Buffers.checkInput(at + " blocks", layer.blocks(), Q4Gemm.sizeBytes(layer.n(), paddedK));
      if (layer.bias() != null) {
        Buffers.checkInput(at + " bias", layer.bias(), layer.n());
      }
      int base = i * LAYER_BYTES;
      descriptor.putInt(base + K_OFFSET, layer.k());
      descriptor.putInt(base + N_OFFSET, layer.n());
      descriptor.putInt(base + RELU_OFFSET, layer.relu() ? 1 : 0);
      descriptor.putLong(base + WEIGHTS_OFFSET, new BytePointer(layer.blocks()).address());
      descriptor.putLong(
          base + BIAS_OFFSET, layer.bias() == null ? 0L : new FloatPointer(layer.bias()).address());
      ByteBuffer layerPairs = Q4PairGemv.pack(layer.blocks(), layer.n(), paddedK);
      packed.add(layerPairs);
      descriptor.putLong(base + PAIRS_OFFSET, new BytePointer(layerPairs).address());
      widest = Math.max(widest, paddedK);
    }
    this.pairs = List.copyOf(packed);
    this.maxPaddedK = widest;
  }

  private static int paddedK(int k) {
    return (k + Q4Gemm.GROUP_SIZE - 1) / Q4Gemm.GROUP_SIZE * Q4Gemm.GROUP_SIZE;
  }

  /** The layer descriptors ({@link #LAYER_BYTES} each) the C side reads. */
  ByteBuffer descriptor() {
    return descriptor;
  }

  /** Number of layers. */
  public int layerCount() {
    return layers.size();
  }

  /** The widest layer's k rounded up to a multiple of the group size (the scratch row). */
  int maxPaddedK() {
    return maxPaddedK;
  }

  /** Input width: the first layer's k. */
  public int inputWidth() {
    return layers.get(0).k();
  }

  /** Output width: the last layer's n. */
  public int outputWidth() {
    return layers.get(layers.size() - 1).n();
  }

  /** Floats of the scratch for m rows: two regions of m padded rows (input padding, ping-pong). */
  public long scratchFloats(int m) {
    return 2L * m * maxPaddedK;
  }

  /** y [m, outputWidth] from x [m, inputWidth], every layer in one native call. */
  public void run(FloatBuffer x, int m, FloatBuffer tmp, FloatBuffer y) {
    Buffers.checkShape("[m]", m);
    if (scratchFloats(m) > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("m=" + m + " rows exceed one buffer");
    }
    Buffers.checkInput("x", x, (long) m * inputWidth());
    Buffers.checkOutput("tmp", tmp, scratchFloats(m));
    Buffers.checkOutput("y", y, (long) m * outputWidth());
    if (m == 0) {
      return;
    }
    IntKernelsNative.q4gemmChainF32(descriptor, layers.size(), x, m, tmp, maxPaddedK, y);
  }
}
