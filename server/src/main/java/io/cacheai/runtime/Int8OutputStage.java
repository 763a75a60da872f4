package io.cacheai.runtime;

import io.cacheai.graph.PackedTensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;

/**
 * The per-channel constants of an int8 op's output stage, computed once per kernel (N values, off
 * heap for the native side):
 *
 * <pre>
 *   bias[n]  = b_s32[n] − x_zero_point · Σ_k w[n,k]     (Σ over the packed weight, read in place)
 *   scale[n] = x_scale · w_scale[n]
 * </pre>
 */
record Int8OutputStage(IntBuffer bias, FloatBuffer scale) {
  static Int8OutputStage of(PackedTensor weight, PackedTensor bias, float xScale, int xZeroPoint) {
    int n = weight.rows();
    int k = weight.rowLength();
    ByteBuffer w = weight.data();
    ByteBuffer b = bias == null ? null : bias.data().order(ByteOrder.LITTLE_ENDIAN);
    IntBuffer biasOut =
        ByteBuffer.allocateDirect(4 * n).order(ByteOrder.nativeOrder()).asIntBuffer();
    FloatBuffer scaleOut =
        ByteBuffer.allocateDirect(4 * n).order(ByteOrder.nativeOrder()).asFloatBuffer();
    float[] weightScales = weight.scales();
    for (int j = 0; j < n; j++) {
      int rowSum = 0;
      for (int t = 0; t < k; t++) {
        rowSum += w.get(PackedTensor.panel16Offset(j, t, k));
      }
      int stored = b == null ? 0 : b.getInt(4 * j);
      biasOut.put(j, stored - xZeroPoint * rowSum);
      scaleOut.put(j, xScale * weightScales[j]);
    }
    return new Int8OutputStage(biasOut, scaleOut);
  }
}
