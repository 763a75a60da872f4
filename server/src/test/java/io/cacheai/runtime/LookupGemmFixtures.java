package io.cacheai.runtime;

import io.cacheai.graph.Attributes;
import io.cacheai.graph.Graph;
import io.cacheai.graph.Node;
import io.cacheai.graph.OpType;
import io.cacheai.graph.PackedTensor;
import io.cacheai.graph.ValueInfo;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Map;

/** A one-node LookupGemm graph and its packed tensors, for the LookupGemm runtime tests. */
final class LookupGemmFixtures {
  private LookupGemmFixtures() {}

  /** x [N,d] → LookupGemm "lut0" with {@code attributes} → y [N,m]. */
  static Graph graph(int d, int m, Map<String, Object> attributes) {
    return new Graph(
        "lut",
        13,
        List.of(new ValueInfo("x", new long[] {-1, d})),
        List.of(new ValueInfo("y", new long[] {-1, m})),
        Map.of(),
        List.of(
            new Node(
                OpType.LOOKUP_GEMM,
                "lut0",
                List.of("x"),
                List.of("y"),
                new Attributes(attributes))));
  }

  /**
   * Tables [c, rowsPer, mg] from one entry per byte: int8 ({@code bits} 8) as they are, or lut16x4
   * (per row ceil(mg/2) bytes, entry 2b in the low nibble of byte b).
   */
  static PackedTensor tables(byte[] entries, int c, int rowsPer, int mg, int bits) {
    if (bits == 8) {
      ByteBuffer t = ByteBuffer.allocateDirect(entries.length).put(entries).flip();
      return new PackedTensor(
          PackedTensor.Format.S8_LUT16, new long[] {c, rowsPer, mg}, t, new float[0], 0);
    }
    int rowBytes = (mg + 1) / 2;
    ByteBuffer t = ByteBuffer.allocateDirect(c * rowsPer * rowBytes);
    for (int p = 0; p < c * rowsPer; p++) {
      for (int j = 0; j < mg; j++) {
        int at = p * rowBytes + j / 2;
        t.put(at, (byte) (t.get(at) | ((entries[p * mg + j] & 15) << (4 * (j % 2)))));
      }
    }
    return new PackedTensor(
        PackedTensor.Format.S4_LUT16, new long[] {c, rowsPer, mg}, t, new float[0], 0);
  }

  static PackedTensor f32(long[] shape, float[] values) {
    ByteBuffer data = ByteBuffer.allocateDirect(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
    data.asFloatBuffer().put(values);
    return new PackedTensor(PackedTensor.Format.F32, shape, data, new float[0], 0);
  }

  static PackedTensor s32(long[] shape, int[] values) {
    ByteBuffer data = ByteBuffer.allocateDirect(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
    data.asIntBuffer().put(values);
    return new PackedTensor(PackedTensor.Format.S32, shape, data, new float[0], 0);
  }
}
