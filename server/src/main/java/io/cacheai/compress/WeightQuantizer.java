package io.cacheai.compress;

import io.cacheai.graph.Fp16;
import io.cacheai.graph.PackedTensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Turns fp32 weights [N,K] (a Conv weight viewed as [M, C·kH·kW]) into the {@link PackedTensor}
 * formats, and fp32 biases into the int32 or fp32 bias of the quantized ops.
 *
 * <ul>
 *   <li>int8: per output channel, symmetric: {@code s[n] = max|w[n,:]| / 127}, {@code q = rint(w /
 *       s)} in −127..127 (−128 unused, so that negating a weight never overflows).
 *   <li>low-bit (4, 3 or 2 bit): per group of g consecutive weights of a row, over −2^(b−1) ..
 *       2^(b−1)−1; the scale is searched among shrinkings of {@code max|w| / (2^(b−1)−1)} for the
 *       least squared error of the group (clipping a rare large weight usually pays), then rounded
 *       to fp16 as stored.
 *   <li>bias int32: {@code round(b[n] / (x_scale · s[n]))}, so that it adds onto the s32
 *       accumulator directly.
 * </ul>
 */
public final class WeightQuantizer {
  private WeightQuantizer() {}

  /** Per-channel symmetric int8 of {@code w} (fp32 shape {@code shape}, any rank ≥ 2). */
  public static PackedTensor int8PerChannel(float[] w, long[] shape) {
    int n = Math.toIntExact(shape[0]);
    int k = w.length / n;
    float[] scales = new float[n];
    ByteBuffer data = ByteBuffer.allocate(w.length);
    for (int r = 0; r < n; r++) {
      float max = 0;
      for (int c = 0; c < k; c++) {
        max = Math.max(max, Math.abs(w[r * k + c]));
      }
      float scale = max > 0 ? max / 127f : 1f;
      scales[r] = scale;
      for (int c = 0; c < k; c++) {
        int q = (int) Math.rint(w[r * k + c] / scale);
        data.put(r * k + c, (byte) Math.max(-127, Math.min(127, q)));
      }
    }
    return new PackedTensor(PackedTensor.Format.S8_PER_CHANNEL, shape, data, scales, 0);
  }

  /**
   * {@code dense} (S8_PER_CHANNEL) repacked into the native kernel's s8p16 panel layout
   * (S8_PANEL16) by {@link io.cacheai.kernels.Int8Gemm#pack}, so the served model reads it in
   * place.
   */
  public static PackedTensor panel16(PackedTensor dense) {
    int n = dense.rows();
    int k = dense.rowLength();
    ByteBuffer weights = ByteBuffer.allocateDirect(n * k);
    weights.put(dense.data()).flip();
    ByteBuffer packed =
        ByteBuffer.allocateDirect(
            Math.toIntExact(io.cacheai.kernels.Int8Gemm.packedSizeBytes(n, k)));
    io.cacheai.kernels.Int8Gemm.pack(weights, n, k, packed);
    return new PackedTensor(
        PackedTensor.Format.S8_PANEL16, dense.shape(), packed, dense.scales(), 0);
  }

  /**
   * A Q4_GROUP weight with groups of 32 rewritten into the native kernel's q4g32 blocks
   * (Q4G32_BLOCKS, layout drawn in {@link PackedTensor}): same values, same (fp16-exact) scales,
   * stored as fp32 inside the blocks, K padded to a multiple of 32 with zero weights.
   */
  public static PackedTensor q4g32Blocks(PackedTensor q4) {
    if (q4.format() != PackedTensor.Format.Q4_GROUP || q4.groupSize() != 32) {
      throw new IllegalArgumentException(q4 + ": q4g32 blocks need Q4_GROUP with groups of 32");
    }
    int n = q4.rows();
    int k = q4.rowLength();
    int groups = PackedTensor.groupsPerRow(k, 32);
    int blocks = (k + 63) / 64;
    ByteBuffer out =
        ByteBuffer.allocateDirect(Math.toIntExact(PackedTensor.q4g32LengthBytes(n, k)))
            .order(ByteOrder.LITTLE_ENDIAN);
    ByteBuffer data = q4.data();
    for (int r = 0; r < n; r++) {
      for (int b = 0; b < blocks; b++) {
        int block = (r * blocks + b) * 40;
        for (int h = 0; h < 2; h++) {
          int group = 2 * b + h;
          out.putFloat(block + 4 * h, group < groups ? q4.scales()[r * groups + group] : 0f);
          for (int i = 0; i < 16; i++) {
            int lo = code(data, r, k, group * 32 + i);
            int hi = code(data, r, k, group * 32 + i + 16);
            out.put(block + 8 + 16 * h + i, (byte) (lo | hi << 4));
          }
        }
      }
    }
    return new PackedTensor(PackedTensor.Format.Q4G32_BLOCKS, q4.shape(), out, new float[0], 32);
  }

  /** The q4g32 code (q + 8, 0..15) of element {@code col} of row {@code row}; 8 past K. */
  private static int code(ByteBuffer data, int row, int k, int col) {
    if (col >= k) {
      return 8;
    }
    return PackedTensor.lowBitValue(data, PackedTensor.Format.Q4_GROUP, (long) row * k + col) + 8;
  }

  /** The int32 bias of an int8 op: {@code round(b / (xScale · wScale[n]))}. */
  public static PackedTensor int32Bias(float[] bias, float xScale, float[] weightScales) {
    ByteBuffer data = ByteBuffer.allocate(4 * bias.length).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < bias.length; i++) {
      double q = Math.rint(bias[i] / ((double) xScale * weightScales[i]));
      data.putInt(4 * i, (int) Math.max(Integer.MIN_VALUE, Math.min(Integer.MAX_VALUE, q)));
    }
    return new PackedTensor(
        PackedTensor.Format.S32, new long[] {bias.length}, data, new float[0], 0);
  }

  /** An fp32 bias as stored for the low-bit ops. */
  public static PackedTensor fp32Bias(float[] bias) {
    ByteBuffer data = ByteBuffer.allocate(4 * bias.length).order(ByteOrder.LITTLE_ENDIAN);
    data.asFloatBuffer().put(bias);
    return new PackedTensor(
        PackedTensor.Format.F32, new long[] {bias.length}, data, new float[0], 0);
  }

  /**
   * Group-wise low-bit weights of {@code w} viewed as [N,K]: {@code format} Q4/Q3/Q2_GROUP, {@code
   * groupSize} weights per scale along K. The stored tensor is [N,K].
   */
  public static PackedTensor lowBit(
      float[] w, long[] shape, PackedTensor.Format format, int groupSize) {
    if (!format.grouped()) {
      throw new IllegalArgumentException("format=" + format + " (a grouped low-bit format)");
    }
    int n = Math.toIntExact(shape[0]);
    int k = w.length / n;
    int groups = PackedTensor.groupsPerRow(k, groupSize);
    int qMax = (1 << (format.bits() - 1)) - 1;
    int qMin = -qMax - 1;
    float[] scales = new float[n * groups];
    ByteBuffer data =
        ByteBuffer.allocate(Math.toIntExact(PackedTensor.lengthBytes(format, (long) n * k)));
    for (int r = 0; r < n; r++) {
      for (int g = 0; g < groups; g++) {
        int from = r * k + g * groupSize;
        int to = Math.min(r * k + k, from + groupSize);
        float scale = bestScale(w, from, to, qMin, qMax);
        scales[r * groups + g] = scale;
        for (int i = from; i < to; i++) {
          int q = (int) Math.max(qMin, Math.min(qMax, Math.rint(w[i] / scale)));
          PackedTensor.putLowBitValue(data, format, i, q);
        }
      }
    }
    return new PackedTensor(format, new long[] {n, k}, data, scales, groupSize);
  }

  /** The fp16-representable scale, among shrinkings (to 30%) of max/qMax, of least group error. */
  private static float bestScale(float[] w, int from, int to, int qMin, int qMax) {
    float max = 0;
    for (int i = from; i < to; i++) {
      max = Math.max(max, Math.abs(w[i]));
    }
    float best = Fp16.round(max / qMax);
    if (!(best > 0)) {
      // all zero, or so small that max/qMax underflows fp16 (BatchNorm folding leaves such
      // near-dead channels in PP-OCRv4): every weight rounds to 0 under any positive scale, and a
      // zero scale is refused by the bundle reader
      return Fp16.round(1e-4f);
    }
    double bestError = Double.MAX_VALUE;
    for (int step = 0; step <= 70; step++) {
      // from 1.0 down to 0.3 of max/qMax (0.875, 0.75, 0.5 use qMin fully for 4, 3, 2 bits)
      float candidate = Fp16.round(max / qMax * (1f - step * 0.01f));
      if (!(candidate > 0)) {
        continue;
      }
      double error = 0;
      for (int i = from; i < to; i++) {
        double q = Math.max(qMin, Math.min(qMax, Math.rint(w[i] / candidate)));
        double d = w[i] - candidate * q;
        error += d * d;
      }
      if (error < bestError) {
        bestError = error;
        best = candidate;
      }
    }
    return best;
  }
}
