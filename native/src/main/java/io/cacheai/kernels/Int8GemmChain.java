package io.cacheai.kernels;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.util.List;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;

/**
 * A chain of int8 layers run in one native call ({@code cai_qgemm_chain_f32}): layer i is {@link
 * Int8Gemm#quantizedLayer} on layer i−1's fp32 output, with the same results bit for bit, but a
 * request crosses into C once for the whole chain — for small layers (an MLP head of 120 and 84
 * outputs) the crossing, not the arithmetic, is most of a layer's time.
 *
 * <p>The per-layer constants are written once, here, into a descriptor the C side reads (layout
 * drawn in {@code cai_int8.h}, {@link #LAYER_BYTES} per layer):
 *
 * <pre>
 *    0       4       8              12      16        20         24         32          40       48
 *   | k s32 | n s32 | x_zero_point | relu  | x_scale | reserved | w (ptr)  | bias (ptr) | scale  |
 * </pre>
 *
 * <p>Lifetime: the descriptor holds the addresses of each layer's weight, bias and scale buffers;
 * this object keeps references to those buffers, so they stay reachable (and mapped) as long as the
 * chain is used. Sizes are checked here when the chain is built and on every {@link #run}.
 */
public final class Int8GemmChain {
  /** Bytes of one layer's descriptor. */
  public static final int LAYER_BYTES = 48;

  static final int K_OFFSET = 0;
  static final int N_OFFSET = 4;
  static final int ZERO_POINT_OFFSET = 8;
  static final int RELU_OFFSET = 12;
  static final int X_SCALE_OFFSET = 16;
  static final int WEIGHTS_OFFSET = 24;
  static final int BIAS_OFFSET = 32;
  static final int SCALE_OFFSET = 40;

  /** One layer: x [m, k] quantized with (xScale, xZeroPoint), times s8p16 weights [n, k]. */
  public record Layer(
      ByteBuffer packedWeights, int k, int n, float xScale, int xZeroPoint, RequantParams params) {}

  private final List<Layer> layers;
  private final ByteBuffer descriptor;
  private final int maxK;
  private final int maxN;

  /** Checks every layer and writes the descriptor. */
  public Int8GemmChain(List<Layer> layers) {
    if (layers == null || layers.isEmpty()) {
      throw new IllegalArgumentException("an int8 chain needs at least one layer");
    }
    this.layers = List.copyOf(layers);
    this.descriptor =
        ByteBuffer.allocateDirect(LAYER_BYTES * layers.size()).order(ByteOrder.nativeOrder());
    int widestK = 0;
    int widestN = 0;
    for (int i = 0; i < layers.size(); i++) {
      Layer layer = layers.get(i);
      String at = "layer " + i;
      Buffers.checkShape(at + " [k,n]", layer.k(), layer.n());
      if (layer.k() < 1 || layer.n() < 1 || layer.k() > Int8Gemm.MAX_K) {
        throw new IllegalArgumentException(
            at + ": k=" + layer.k() + " n=" + layer.n() + " (1 <= k <= MAX_K, n >= 1)");
      }
      if (i > 0 && layer.k() != layers.get(i - 1).n()) {
        throw new IllegalArgumentException(
            at + ": k=" + layer.k() + " != previous layer's n=" + layers.get(i - 1).n());
      }
      if (!(layer.xScale() > 0) || Float.isInfinite(layer.xScale())) {
        throw new IllegalArgumentException(at + ": xScale=" + layer.xScale());
      }
      if (layer.xZeroPoint() < 0 || layer.xZeroPoint() > 255) {
        throw new IllegalArgumentException(at + ": xZeroPoint=" + layer.xZeroPoint());
      }
      if (layer.params() == null) {
        throw new IllegalArgumentException(at + ": params is null");
      }
      Buffers.checkInput(
          at + " packedWeights",
          layer.packedWeights(),
          Int8Gemm.packedSizeBytes(layer.n(), layer.k()));
      Buffers.checkInput(at + " scale", layer.params().scale(), layer.n());
      if (layer.params().bias() != null) {
        Buffers.checkInput(at + " bias", layer.params().bias(), layer.n());
      }
      int base = i * LAYER_BYTES;
      descriptor.putInt(base + K_OFFSET, layer.k());
      descriptor.putInt(base + N_OFFSET, layer.n());
      descriptor.putInt(base + ZERO_POINT_OFFSET, layer.xZeroPoint());
      descriptor.putInt(base + RELU_OFFSET, layer.params().relu() ? 1 : 0);
      descriptor.putFloat(base + X_SCALE_OFFSET, layer.xScale());
      descriptor.putLong(base + WEIGHTS_OFFSET, new BytePointer(layer.packedWeights()).address());
      descriptor.putLong(
          base + BIAS_OFFSET,
          layer.params().bias() == null ? 0L : new IntPointer(layer.params().bias()).address());
      descriptor.putLong(base + SCALE_OFFSET, new FloatPointer(layer.params().scale()).address());
      widestK = Math.max(widestK, layer.k());
      widestN = Math.max(widestN, layer.n());
    }
    this.maxK = widestK;
    this.maxN = widestN;
  }

  /** The layer descriptors (read by {@link Int8Sequence}, which calls the chain from C). */
  ByteBuffer descriptor() {
    return descriptor;
  }

  /** Number of layers. */
  int layerCount() {
    return layers.size();
  }

  /** The widest layer's n: the stride of the ping-pong scratch. */
  int maxN() {
    return maxN;
  }

  /** Input width: the first layer's k. */
  public int inputWidth() {
    return layers.get(0).k();
  }

  /** Output width: the last layer's n. */
  public int outputWidth() {
    return layers.get(layers.size() - 1).n();
  }

  /** Bytes of the u8 scratch for m rows. */
  public long activationBytes(int m) {
    return (long) m * maxK;
  }

  /** s32 elements of the accumulator scratch for m rows. */
  public long accumulatorInts(int m) {
    return (long) m * maxN;
  }

  /** Floats of the ping-pong scratch between layers for m rows. */
  public long intermediateFloats(int m) {
    return 2L * m * maxN;
  }

  /** y [m, outputWidth] from x [m, inputWidth], every layer in one native call. */
  public void run(
      FloatBuffer x, int m, ByteBuffer a, IntBuffer acc, FloatBuffer tmp, FloatBuffer y) {
    Buffers.checkShape("[m]", m);
    if (intermediateFloats(m) > Integer.MAX_VALUE || activationBytes(m) > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("m=" + m + " rows exceed one buffer");
    }
    Buffers.checkInput("x", x, (long) m * inputWidth());
    Buffers.checkOutput("a", a, activationBytes(m));
    Buffers.checkOutput("acc", acc, accumulatorInts(m));
    Buffers.checkOutput("tmp", tmp, intermediateFloats(m));
    Buffers.checkOutput("y", y, (long) m * outputWidth());
    if (m == 0) {
      return;
    }
    IntKernelsNative.qgemmChainF32(descriptor, layers.size(), x, m, a, acc, tmp, maxN, y);
  }
}
