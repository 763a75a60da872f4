package io.cacheai.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.cacheai.compress.ActivationRange;
import io.cacheai.onnx.proto.Onnx.TensorProto;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Our u8 activation quantization against ONNX's own conformance data (Debian {@code
 * libonnx-testdata}): {@code QuantizeLinear} fixes the rounding (half to even) and saturation, and
 * {@code DynamicQuantizeLinear} — u8 over [min(0, x), max(0, x)] — is exactly our min-max
 * calibration, so its scale, zero point and codes must come out identical.
 */
class OnnxQuantizeConformanceTest {
  private static final Path NODE_TESTS = Path.of("/usr/share/libonnx-testdata/data/node");

  private static TensorProto read(String test, String file) throws Exception {
    Path path = NODE_TESTS.resolve(test).resolve("test_data_set_0").resolve(file);
    assumeTrue(Files.exists(path), "libonnx-testdata is not installed: " + path);
    return TensorProto.parseFrom(Files.readAllBytes(path));
  }

  private static float[] floats(TensorProto t) {
    if (!t.getRawData().isEmpty()) {
      var buffer = t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
      float[] out = new float[buffer.remaining() / 4];
      buffer.asFloatBuffer().get(out);
      return out;
    }
    float[] out = new float[t.getFloatDataCount()];
    for (int i = 0; i < out.length; i++) {
      out[i] = t.getFloatData(i);
    }
    return out;
  }

  private static int[] uint8s(TensorProto t) {
    if (!t.getRawData().isEmpty()) {
      byte[] raw = t.getRawData().toByteArray();
      int[] out = new int[raw.length];
      for (int i = 0; i < raw.length; i++) {
        out[i] = raw[i] & 0xff;
      }
      return out;
    }
    return t.getInt32DataList().stream().mapToInt(Integer::intValue).toArray();
  }

  private static int[] quantize(float[] x, float scale, int zeroPoint) {
    var direct = java.nio.FloatBuffer.wrap(x);
    ByteBuffer out = ByteBuffer.allocate(x.length);
    U8Activations.quantize(direct, 0, x.length, scale, zeroPoint, out);
    int[] codes = new int[x.length];
    for (int i = 0; i < codes.length; i++) {
      codes[i] = out.get(i) & 0xff;
    }
    return codes;
  }

  @org.junit.jupiter.api.Test
  void quantizeLinear_matchesOnnx() throws Exception {
    float[] x = floats(read("test_quantizelinear", "input_0.pb"));
    float scale = floats(read("test_quantizelinear", "input_1.pb"))[0];
    int zeroPoint = uint8s(read("test_quantizelinear", "input_2.pb"))[0];
    int[] expected = uint8s(read("test_quantizelinear", "output_0.pb"));
    assertThat(quantize(x, scale, zeroPoint)).containsExactly(expected);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "test_dynamicquantizelinear",
        "test_dynamicquantizelinear_max_adjusted",
        "test_dynamicquantizelinear_min_adjusted"
      })
  void minMaxRange_isDynamicQuantizeLinear(String test) throws Exception {
    float[] x = floats(read(test, "input_0.pb"));
    float min = Float.POSITIVE_INFINITY;
    float max = Float.NEGATIVE_INFINITY;
    for (float v : x) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    ActivationRange range = new ActivationRange(min, max);
    assertThat(range.scale()).isEqualTo(floats(read(test, "output_1.pb"))[0]);
    assertThat(range.zeroPoint()).isEqualTo(uint8s(read(test, "output_2.pb"))[0]);
    assertThat(quantize(x, range.scale(), range.zeroPoint()))
        .containsExactly(uint8s(read(test, "output_0.pb")));
  }
}
