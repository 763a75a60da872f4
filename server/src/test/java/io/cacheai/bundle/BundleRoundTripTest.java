package io.cacheai.bundle;

import static org.assertj.core.api.Assertions.assertThat;

import io.cacheai.data.MnistDataset;
import io.cacheai.graph.ConstTensor;
import io.cacheai.graph.Graph;
import io.cacheai.graph.Node;
import io.cacheai.proto.v1.DataType;
import io.cacheai.proto.v1.Producer;
import io.cacheai.proto.v1.Quantization;
import io.cacheai.runtime.GraphModel;
import io.cacheai.runtime.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** ONNX → graph → bundle → mapped graph gives the same model, bit for bit, without heap weights. */
class BundleRoundTripTest {
  private static MnistDataset digits;
  @TempDir Path dir;

  @BeforeAll
  static void readDigits() throws Exception {
    digits = MnistDataset.testSet(Path.of(System.getProperty("user.dir")).getParent());
  }

  @ParameterizedTest
  @ValueSource(strings = {"mnist-mlp", "mnist-cnn"})
  void mnistModel_bundleLogitsBitIdenticalToOnnx(String name) throws Exception {
    Graph fromOnnx = BundleFixtures.embeddedGraph(name);
    Path file = BundleFixtures.writeBundle(name, dir.resolve("model.cai"));
    int batch = 64;
    long[] shape = {batch, 1, 28, 28};
    try (Bundle bundle = BundleReader.open(file);
        GraphModel onnxModel = new GraphModel(fromOnnx);
        GraphModel bundleModel = new GraphModel(bundle.graph())) {
      for (int from = 0; from < 256; from += batch) {
        Map<String, Tensor> request =
            Map.of("input", Tensor.ofFloats(shape, digits.slice(from, batch)));
        float[] expected = onnxModel.infer(request).get("logits").toFloatArray();
        float[] actual = bundleModel.infer(request).get("logits").toFloatArray();
        assertThat(actual.length).isEqualTo(batch * 10);
        for (int i = 0; i < actual.length; i++) {
          assertThat(Float.floatToRawIntBits(actual[i]))
              .as("%s image %d logit %d", name, from + i / 10, i % 10)
              .isEqualTo(Float.floatToRawIntBits(expected[i]));
        }
      }
      // Same graph: nodes, attributes, inputs, outputs.
      Graph mapped = bundle.graph();
      assertThat(mapped.name()).isEqualTo(fromOnnx.name());
      assertThat(mapped.opsetVersion()).isEqualTo(fromOnnx.opsetVersion());
      assertThat(mapped.inputs().get(0).shape()).containsExactly(-1, 1, 28, 28);
      assertThat(mapped.constants().keySet())
          .containsExactlyElementsOf(fromOnnx.constants().keySet());
      assertThat(mapped.nodes()).hasSameSizeAs(fromOnnx.nodes());
      for (int i = 0; i < mapped.nodes().size(); i++) {
        Node a = fromOnnx.nodes().get(i);
        Node b = mapped.nodes().get(i);
        assertThat(b.op()).isEqualTo(a.op());
        assertThat(b.inputs()).isEqualTo(a.inputs());
        assertThat(b.outputs()).isEqualTo(a.outputs());
        assertThat(b.attributes().toString()).isEqualTo(a.attributes().toString());
        for (String attribute : a.attributes().names()) {
          Object x = a.attributes().value(attribute);
          Object y = b.attributes().value(attribute);
          assertThat(y).as("%s %s", a.describe(), attribute).isInstanceOf(x.getClass());
          if (x instanceof long[] xs) {
            assertThat((long[]) y).containsExactly(xs);
          } else if (!(x instanceof ConstTensor)) {
            assertThat(y).isEqualTo(x);
          }
        }
      }
      // Zero-copy: every float constant is a direct read-only view of the mapping.
      for (ConstTensor constant : mapped.constants().values()) {
        if (constant.isFloat()) {
          assertThat(constant.isBufferBacked()).isTrue();
          assertThat(constant.floatBuffer().isDirect()).isTrue();
          assertThat(constant.floatBuffer().isReadOnly()).isTrue();
        }
      }
      assertThat(bundle.producer().getSourceName()).isEqualTo(name);
      assertThat(bundle.sizeBytes()).isEqualTo(Files.size(file));
    }
  }

  @Test
  void extraTensors_int8WithPerChannelScalesAndInt4Groups_readBackExactly() throws Exception {
    Random random = new Random(42);
    byte[] int8 = new byte[16 * 40];
    random.nextBytes(int8);
    float[] scales = new float[16];
    for (int i = 0; i < scales.length; i++) {
      scales[i] = 0.001f * (i + 1);
    }
    Quantization perChannel =
        Quantization.newBuilder()
            .setGranularity(Quantization.Granularity.PER_CHANNEL)
            .setAxis(0)
            .setBits(8)
            .setSymmetric(true)
            .addAllScales(floatList(scales))
            .build();
    byte[] int4 = new byte[16 * 64 / 2];
    random.nextBytes(int4);
    ByteBuffer groupScales = ByteBuffer.allocate(16 * 2 * 4).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < 32; i++) {
      groupScales.putFloat(i * 0.5f);
    }
    groupScales.flip();
    Quantization perGroup =
        Quantization.newBuilder()
            .setGranularity(Quantization.Granularity.PER_GROUP)
            .setAxis(1)
            .setGroupSize(32)
            .setBits(4)
            .setSymmetric(true)
            .setScalesTensor("w4.scales")
            .build();
    Path file = dir.resolve("model.cai");
    new BundleWriter(BundleFixtures.embeddedGraph("mnist-mlp"))
        .addTensor("w8", DataType.INT8, new long[] {16, 40}, ByteBuffer.wrap(int8), perChannel)
        .addTensor("w4", DataType.INT4_GROUP, new long[] {16, 64}, ByteBuffer.wrap(int4), perGroup)
        .addTensor("w4.scales", DataType.FP32, new long[] {16, 2}, groupScales)
        .producer(Producer.newBuilder().setCompression("int8").build())
        .metadata("note", "test")
        .write(file);
    try (Bundle bundle = BundleReader.open(file)) {
      MappedTensor w8 = bundle.tensor("w8");
      assertThat(w8.dataType()).isEqualTo(DataType.INT8);
      assertThat(w8.shape()).containsExactly(16, 40);
      assertThat(w8.quantization()).contains(perChannel);
      ByteBuffer bytes = w8.bytes();
      assertThat(bytes.isDirect()).isTrue();
      assertThat(bytes.isReadOnly()).isTrue();
      byte[] read = new byte[bytes.remaining()];
      bytes.get(read);
      assertThat(read).isEqualTo(int8);

      MappedTensor w4 = bundle.tensor("w4");
      assertThat(w4.sizeBytes()).isEqualTo(16 * 64 / 2);
      assertThat(w4.quantization().orElseThrow().getScalesTensor()).isEqualTo("w4.scales");
      assertThat(bundle.tensor("w4.scales").floats().get(31)).isEqualTo(15.5f);
      assertThat(bundle.manifest().getMetadataMap()).containsEntry("note", "test");
      // Every section starts on a 64-byte boundary of the file (so of the page-aligned mapping).
      bundle.manifest().getSectionsList().forEach(s -> assertThat(s.getOffset() % 64).isZero());
      assertThat(bundle.tensorNames()).contains("w8", "w4", "w4.scales");
    }
  }

  @Test
  void close_twiceIsHarmlessAndAccessAfterCloseIsRefused() throws Exception {
    Path file = BundleFixtures.writeBundle("mnist-mlp", dir.resolve("model.cai"));
    Bundle bundle = BundleReader.open(file);
    assertThat(bundle.isOpen()).isTrue();
    bundle.close();
    bundle.close();
    assertThat(bundle.isOpen()).isFalse();
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> bundle.tensor("x"))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("is closed");
  }

  private static List<Float> floatList(float[] values) {
    Float[] boxed = new Float[values.length];
    for (int i = 0; i < values.length; i++) {
      boxed[i] = values[i];
    }
    return Arrays.asList(boxed);
  }
}
