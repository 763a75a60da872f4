package io.cacheai.runtime;

import io.cacheai.graph.PackedTensor;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;

/**
 * Expands a Q4_GROUP / Q3_GROUP weight (layout: {@link PackedTensor}) to fp32 [N,K] for one run —
 * the plain Java reference twin of a fused low-bit GEMV that would unpack in registers.
 */
final class LowBitWeights {
  private LowBitWeights() {}

  static void dequantize(PackedTensor weight, FloatBuffer out) {
    int n = weight.rows();
    int k = weight.rowLength();
    int g = weight.groupSize();
    int groups = PackedTensor.groupsPerRow(k, g);
    float[] scales = weight.scales();
    ByteBuffer data = weight.data();
    PackedTensor.Format format = weight.format();
    float[] row = new float[k];
    for (int r = 0; r < n; r++) {
      long base = (long) r * k;
      for (int c = 0; c < k; c++) {
        row[c] = scales[r * groups + c / g] * PackedTensor.lowBitValue(data, format, base + c);
      }
      out.put(r * k, row, 0, k);
    }
  }
}
