package io.cacheai.graph;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A stored weight of a quantized op (see {@link OpType}): its format, the fp32 shape it stands for,
 * its bytes and scales. The bytes are a read-only little-endian view — of a mapped {@code .cai}
 * bundle when served (used in place, never copied to the heap), of a heap or direct buffer when the
 * compressor has just made it. The scales are few (one per output channel or per group) and live on
 * the heap.
 *
 * <p>Layouts, W of shape [N,K] (a Conv weight [M,C/g,kH,kW] is read as [M, C/g·kH·kW]):
 *
 * <pre>
 *   S8_PER_CHANNEL  byte n·K+k = w_q[n,k] (int8, −127..127); w = scales[n]·w_q       8 bits/weight
 *   S8_PANEL16      the same int8 values and scales in the native kernel's "s8p16" layout
 *                   (io.cacheai.kernels.Int8Gemm): panels of 16 channels, k in pairs,
 *                   byte (n/16)·K2·16 + (k/2)·32 + (n%16)·2 + k%2, K2 = round_up(K,2),
 *                   round_up(N,16)·K2 bytes, padding zero
 *   S32             int32 little-endian, dense (the int8 ops' bias, scale x_scale·scales[n])
 *   F32             float32 little-endian, dense (the low-bit ops' bias)
 *   Q4_GROUP        element i = n·K+k at bits [4i, 4i+4) (low nibble first), two's complement
 *                   −8..7; w = scales[n·G + k/g]·w_q, G = ceil(K/g) groups per row   4 bits/weight
 *   Q3_GROUP        element i at bits [3i, 3i+3) of the little-endian bit stream, −4..3; scales
 *                   as Q4_GROUP                                                        3 bits/weight
 *   Q2_GROUP        element i at bits [2i, 2i+2), −2..1; scales as Q4_GROUP           2 bits/weight
 *   Q4G32_BLOCKS    the native kernel's q4g32 (io.cacheai.kernels.Q4Gemm): per row, K padded
 *                   to Kp = round_up(K,32), ceil(Kp/64) blocks of 40 bytes:
 *                   | d0 f32 | d1 f32 | 16 B group 2b | 16 B group 2b+1 |, byte i of a group =
 *                   q[i] | q[i+16]&lt;&lt;4, w = d·(q − 8); padding q = 8, d = 0; scales inside
 *                   (the scales array is empty)                                        5 bits/weight
 *   S8_LUT16        LookupGemm tables, int8 [C,K,M] dense row-major, K keys per codebook in
 *                   {4, 8, 16}, or K−1 in {3, 7, 15} rows when key 0 is folded (node attribute
 *                   fold_key0 = 1: stored row c·(K−1) + key − 1, key 0 not stored; the node
 *                   checks which) (the format name keeps the 16 of the first bundles): byte
 *                   (c·K + key)·M + m = T[c][key][m], −127..127; the per-output scale is its own
 *                   F32 [M] tensor (the scales array is empty); C·K·M bytes, whatever the data
 *   S4_LUT16        LookupGemm tables, signed 4-bit [C,K,M], layout "lut16x4": two entries per
 *                   byte along M, low nibble first, each (c, key) row padded to RB = ceil(M/2)
 *                   bytes: byte (c·K + key)·RB + b = T[c][key][2b] &amp; 15 | T[c][key][2b+1] &lt;&lt; 4,
 *                   two's complement −8..7 (the full range), the last high nibble of a row is
 *                   padding (0) when M is odd; scale as S8_LUT16; C·K·ceil(M/2) bytes
 *                   (io.cacheai.kernels.LutKernels draws it bit by bit)               4 bits/entry
 * </pre>
 *
 * @param shape the fp32 tensor's shape
 * @param data the stored bytes, position 0, exactly {@link #lengthBytes} long
 * @param scales per channel (S8), per group (Q4/Q3), empty otherwise
 * @param groupSize elements of one group along K (Q4/Q3), 0 otherwise
 */
public record PackedTensor(
    Format format, long[] shape, ByteBuffer data, float[] scales, int groupSize) {

  /** How the bytes encode the values. */
  public enum Format {
    S8_PER_CHANNEL(8),
    S8_PANEL16(8),
    S32(32),
    F32(32),
    Q4_GROUP(4),
    Q3_GROUP(3),
    Q2_GROUP(2),
    Q4G32_BLOCKS(4),
    S8_LUT16(8),
    S4_LUT16(4);

    private final int bits;

    Format(int bits) {
      this.bits = bits;
    }

    /** Bits per stored element. */
    public int bits() {
      return bits;
    }

    /** Whether this is a low-bit grouped weight format. */
    public boolean grouped() {
      return this == Q4_GROUP || this == Q3_GROUP || this == Q2_GROUP || this == Q4G32_BLOCKS;
    }
  }

  public PackedTensor {
    shape = shape.clone();
    data =
        data.slice()
            .order(ByteOrder.LITTLE_ENDIAN)
            .asReadOnlyBuffer()
            .order(ByteOrder.LITTLE_ENDIAN);
    long expected =
        switch (format) {
          case S8_PANEL16 -> panel16LengthBytes(Math.toIntExact(shape[0]), rowLength(shape));
          case Q4G32_BLOCKS -> q4g32LengthBytes(Math.toIntExact(shape[0]), rowLength(shape));
          case S8_LUT16 -> lut16LengthBytes(shape);
          case S4_LUT16 -> lut16x4LengthBytes(shape);
          default -> lengthBytes(format, Shapes.elementCount(shape));
        };
    if (data.remaining() != expected) {
      throw new IllegalArgumentException(
          format
              + Shapes.toString(shape)
              + ": data has "
              + data.remaining()
              + " bytes, expected "
              + expected);
    }
    long expectedScales =
        switch (format) {
          case S8_PER_CHANNEL, S8_PANEL16 -> shape[0];
          case Q4_GROUP, Q3_GROUP, Q2_GROUP -> shape[0] * groupsPerRow(rowLength(shape), groupSize);
          default -> 0;
        };
    if (scales.length != expectedScales) {
      throw new IllegalArgumentException(
          format
              + Shapes.toString(shape)
              + ": "
              + scales.length
              + " scales, expected "
              + expectedScales);
    }
  }

  /** Bytes of {@code count} elements in {@code format}. */
  public static long lengthBytes(Format format, long count) {
    return (count * format.bits() + 7) / 8;
  }

  /**
   * Bytes of LookupGemm tables of {@code shape} [C,K,M], K keys per codebook in {4, 8, 16}, or K−1
   * in {3, 7, 15} stored rows of a node whose key 0 is folded (refused when it is not that shape).
   */
  public static long lut16LengthBytes(long[] shape) {
    if (!lutShape(shape)) {
      throw new IllegalArgumentException(
          "S8_LUT16 tables of shape "
              + Shapes.toString(shape)
              + " (expected [C,K,M], K in {4, 8, 16} (3, 7, 15 when key 0 is folded), C, M > 0)");
    }
    return Shapes.elementCount(shape);
  }

  /**
   * Bytes of 4-bit LookupGemm tables of {@code shape} [C,K,M]: C·K·ceil(M/2), K in {4, 8, 16} (3,
   * 7, 15 when key 0 is folded).
   */
  public static long lut16x4LengthBytes(long[] shape) {
    if (!lutShape(shape)) {
      throw new IllegalArgumentException(
          "S4_LUT16 tables of shape "
              + Shapes.toString(shape)
              + " (expected [C,K,M], K in {4, 8, 16} (3, 7, 15 when key 0 is folded), C, M > 0)");
    }
    return shape[0] * shape[1] * ((shape[2] + 1) / 2);
  }

  /** K−1 rows per codebook: the tables of a node with fold_key0 = 1. */
  private static boolean foldedRows(long rows) {
    return rows == 3 || rows == 7 || rows == 15;
  }

  private static boolean lutShape(long[] shape) {
    return shape.length == 3
        && (shape[1] == 4 || shape[1] == 8 || shape[1] == 16 || foldedRows(shape[1]))
        && shape[0] > 0
        && shape[2] > 0;
  }

  /** Bytes of an [n,k] matrix in q4g32 blocks: n · ceil(round_up(k,32)/64) · 40. */
  public static long q4g32LengthBytes(int n, int k) {
    return (long) n * ((k + 63) / 64) * 40;
  }

  /** Bytes of an [n,k] int8 matrix in the s8p16 panel layout. */
  public static long panel16LengthBytes(int n, int k) {
    return (long) ((n + 15) / 16 * 16) * ((k + 1) / 2 * 2);
  }

  /** Byte offset of w[row, col] in the s8p16 panel layout of a matrix with k columns. */
  public static int panel16Offset(int row, int col, int k) {
    int k2 = (k + 1) / 2 * 2;
    return (row / 16) * k2 * 16 + (col / 2) * 32 + (row % 16) * 2 + (col % 2);
  }

  /** K: the elements of one output channel (all dimensions but the first). */
  public static int rowLength(long[] shape) {
    return Math.toIntExact(Shapes.product(shape, 1, shape.length));
  }

  /** Groups of {@code groupSize} per row of {@code rowLength} (the last may be shorter). */
  public static int groupsPerRow(int rowLength, int groupSize) {
    if (groupSize <= 0) {
      throw new IllegalArgumentException("groupSize=" + groupSize + " (must be > 0)");
    }
    return (rowLength + groupSize - 1) / groupSize;
  }

  /** Output channels N. */
  public int rows() {
    return Math.toIntExact(shape[0]);
  }

  /** K. */
  public int rowLength() {
    return rowLength(shape);
  }

  @Override
  public long[] shape() {
    return shape.clone();
  }

  /** The bytes, a fresh view with position 0 (little-endian). */
  @Override
  public ByteBuffer data() {
    return data.duplicate().order(ByteOrder.LITTLE_ENDIAN);
  }

  /**
   * The signed integer of a grouped low-bit element {@code index} (row-major over the [N,K] view),
   * decoded from {@code data} as drawn above.
   */
  public static int lowBitValue(ByteBuffer data, Format format, long index) {
    int bits = format.bits();
    long bit = index * bits;
    int at = (int) (bit >>> 3);
    int shift = (int) (bit & 7);
    int word = data.get(at) & 0xff;
    if (shift + bits > 8) {
      word |= (data.get(at + 1) & 0xff) << 8;
    }
    int raw = (word >>> shift) & ((1 << bits) - 1);
    return (raw << (32 - bits)) >> (32 - bits); // sign-extend
  }

  /** Writes signed {@code value} as element {@code index}; {@code data} starts zeroed. */
  public static void putLowBitValue(ByteBuffer data, Format format, long index, int value) {
    int bits = format.bits();
    int raw = value & ((1 << bits) - 1);
    long bit = index * bits;
    int at = (int) (bit >>> 3);
    int shift = (int) (bit & 7);
    data.put(at, (byte) (data.get(at) | (raw << shift)));
    if (shift + bits > 8) {
      data.put(at + 1, (byte) (data.get(at + 1) | (raw >>> (8 - shift))));
    }
  }

  @Override
  public String toString() {
    return format + Arrays.toString(shape) + (groupSize > 0 ? " g" + groupSize : "");
  }
}
