package io.cacheai.runtime;

import io.cacheai.graph.PackedTensor;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;

/**
 * Expands a grouped low-bit weight (layout: {@link PackedTensor}) to fp32 [N,K] for one run — the
 * plain Java twin of a fused low-bit GEMV that would unpack in registers. The packed bytes are
 * streamed row by row through a per-thread heap window (bulk copies from the mapping).
 */
final class LowBitWeights {
  private static final ThreadLocal<byte[][]> WINDOW = ThreadLocal.withInitial(() -> new byte[1][0]);

  private LowBitWeights() {}

  static void dequantize(PackedTensor weight, FloatBuffer out) {
    if (weight.format() == PackedTensor.Format.Q4G32_BLOCKS) {
      dequantizeBlocks(weight, out);
      return;
    }
    int n = weight.rows();
    int k = weight.rowLength();
    int g = weight.groupSize();
    int groups = PackedTensor.groupsPerRow(k, g);
    int bits = weight.format().bits();
    int mask = (1 << bits) - 1;
    int signShift = 32 - bits;
    float[] scales = weight.scales();
    ByteBuffer data = weight.data();
    int totalBytes = data.capacity();
    byte[][] holder = WINDOW.get();
    // one row spans at most ceil(k·bits/8)+1 bytes from the byte holding its first bit
    int windowBytes = (k * bits + 7) / 8 + 2;
    if (holder[0].length < windowBytes) {
      holder[0] = new byte[windowBytes];
    }
    byte[] window = holder[0];
    float[] row = new float[k];
    for (int r = 0; r < n; r++) {
      long firstBit = (long) r * k * bits;
      int firstByte = (int) (firstBit >>> 3);
      int length = Math.min(windowBytes, totalBytes - firstByte);
      data.get(firstByte, window, 0, length);
      int bit = (int) (firstBit & 7);
      // one 16-bit little-endian window per element; the last element may read one byte past
      // the row, which the window holds (zero past the tensor's end)
      if (length < windowBytes) {
        java.util.Arrays.fill(window, length, windowBytes, (byte) 0);
      }
      for (int group = 0, c = 0; group < groups; group++) {
        float scale = scales[r * groups + group];
        int end = Math.min(k, c + g);
        for (; c < end; c++, bit += bits) {
          int at = bit >>> 3;
          int word = (window[at] & 0xff) | (window[at + 1] & 0xff) << 8;
          int raw = (word >>> (bit & 7)) & mask;
          row[c] = scale * ((raw << signShift) >> signShift);
        }
      }
      out.put(r * k, row, 0, k);
    }
  }

  /** The q4g32 blocks (layout: {@link PackedTensor}) to fp32 [N,K]. */
  private static void dequantizeBlocks(PackedTensor weight, FloatBuffer out) {
    int n = weight.rows();
    int k = weight.rowLength();
    int blocks = (k + 63) / 64;
    ByteBuffer data = weight.data();
    float[] row = new float[blocks * 64];
    for (int r = 0; r < n; r++) {
      for (int b = 0; b < blocks; b++) {
        int block = (r * blocks + b) * 40;
        for (int h = 0; h < 2; h++) {
          float d = data.getFloat(block + 4 * h);
          int base = b * 64 + h * 32;
          for (int i = 0; i < 16; i++) {
            int codes = data.get(block + 8 + 16 * h + i) & 0xff;
            row[base + i] = d * ((codes & 15) - 8);
            row[base + i + 16] = d * ((codes >>> 4) - 8);
          }
        }
      }
      out.put(r * k, row, 0, k);
    }
  }

  /**
   * The grouped 4/3/2-bit weight {@code weight} re-encoded, exactly, in the native kernel's q4g32
   * blocks (layout: {@code cai_int8.h}; K padded to a multiple of 32 with zero weights): every
   * value {@code scale · q} with q in [−8, 7] is {@code d · (q4 − 8)} with d = scale, q4 = q + 8.
   * Possible when each run of 32 weights along K shares one scale (group size a multiple of 32, or
   * one group per row); null otherwise, and for formats that already are blocks. Costs 5 bits per
   * weight in memory (the bundle keeps its 2–3 bits on disk) and runs on {@link
   * io.cacheai.kernels.Q4Gemm} instead of a per-run fp32 expansion.
   */
  static ByteBuffer toQ4g32Blocks(PackedTensor weight) {
    PackedTensor.Format format = weight.format();
    if (format != PackedTensor.Format.Q4_GROUP
        && format != PackedTensor.Format.Q3_GROUP
        && format != PackedTensor.Format.Q2_GROUP) {
      return null;
    }
    int n = weight.rows();
    int k = weight.rowLength();
    int g = weight.groupSize();
    int groups = PackedTensor.groupsPerRow(k, g);
    if (groups != 1 && g % 32 != 0) {
      return null;
    }
    int bits = format.bits();
    int mask = (1 << bits) - 1;
    int signShift = 32 - bits;
    float[] scales = weight.scales();
    ByteBuffer data = weight.data();
    int kPadded = (k + 31) / 32 * 32;
    int blocks = (kPadded + 63) / 64;
    ByteBuffer out =
        ByteBuffer.allocateDirect(Math.multiplyExact(n, blocks * 40))
            .order(java.nio.ByteOrder.LITTLE_ENDIAN); // as the stored blocks
    int[] q = new int[blocks * 64];
    float[] d = new float[blocks * 2];
    for (int r = 0; r < n; r++) {
      java.util.Arrays.fill(q, 0);
      java.util.Arrays.fill(d, 0f);
      long firstBit = (long) r * k * bits;
      for (int c = 0; c < k; c++) {
        long bit = firstBit + (long) c * bits;
        int at = (int) (bit >>> 3);
        int word =
            (data.get(at) & 0xff) | (at + 1 < data.capacity() ? (data.get(at + 1) & 0xff) << 8 : 0);
        int raw = (word >>> (int) (bit & 7)) & mask;
        q[c] = (raw << signShift) >> signShift;
        d[c / 32] = scales[r * groups + c / g];
      }
      for (int b = 0; b < blocks; b++) {
        int block = (r * blocks + b) * 40;
        for (int h = 0; h < 2; h++) {
          out.putFloat(block + 4 * h, d[2 * b + h]);
          int base = b * 64 + h * 32;
          for (int i = 0; i < 16; i++) {
            int lo = q[base + i] + 8;
            int hi = q[base + i + 16] + 8;
            out.put(block + 8 + 16 * h + i, (byte) (lo | hi << 4));
          }
        }
      }
    }
    return out;
  }
}
