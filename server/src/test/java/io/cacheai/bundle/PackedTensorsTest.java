package io.cacheai.bundle;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cacheai.graph.Attributes;
import io.cacheai.graph.Fp16;
import io.cacheai.graph.Graph;
import io.cacheai.graph.Node;
import io.cacheai.graph.OpType;
import io.cacheai.graph.PackedTensor;
import io.cacheai.graph.ValueInfo;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Quantized ops' tensors through a bundle: round trip, and refusals naming node and tensor. */
class PackedTensorsTest {
  @TempDir Path dir;

  private static Graph lowBitGraph(String weightName) {
    Map<String, Object> attributes = new TreeMap<>();
    attributes.put("weight", weightName);
    attributes.put("weight_shape", new long[] {3, 40});
    return new Graph(
        "g",
        13,
        List.of(new ValueInfo("x", new long[] {-1, 40})),
        List.of(new ValueInfo("y", new long[] {-1, 3})),
        Map.of(),
        List.of(
            new Node(
                OpType.LOW_BIT_GEMM,
                "fc",
                List.of("x"),
                List.of("y"),
                new Attributes(attributes))));
  }

  private static PackedTensor q3() {
    ByteBuffer data =
        ByteBuffer.allocate((int) PackedTensor.lengthBytes(PackedTensor.Format.Q3_GROUP, 120));
    for (int i = 0; i < 120; i++) {
      PackedTensor.putLowBitValue(data, PackedTensor.Format.Q3_GROUP, i, i % 8 - 4);
    }
    float[] scales = new float[3 * 2]; // groups of 32 over K=40: 2 per row
    for (int i = 0; i < scales.length; i++) {
      scales[i] = Fp16.round(0.01f * (i + 1));
    }
    return new PackedTensor(PackedTensor.Format.Q3_GROUP, new long[] {3, 40}, data, scales, 32);
  }

  @Test
  void lowBitTensor_roundTripsThroughTheBundle() throws Exception {
    PackedTensor original = q3();
    BundleWriter writer = new BundleWriter(lowBitGraph("fc.q3"));
    PackedTensors.add(writer, "fc.q3", original);
    writer.write(dir.resolve("m.cai"));
    try (Bundle bundle = BundleReader.open(dir.resolve("m.cai"))) {
      PackedTensor read = PackedTensors.read(bundle).get("fc.q3");
      assertThat(read.format()).isEqualTo(PackedTensor.Format.Q3_GROUP);
      assertThat(read.shape()).containsExactly(3, 40);
      assertThat(read.groupSize()).isEqualTo(32);
      assertThat(read.scales()).containsExactly(original.scales());
      assertThat(read.data().isDirect()).as("a view of the mapping").isTrue();
      assertThat(read.data()).isEqualTo(original.data());
      assertThat(bundle.tensor("fc.q3.scales").dataType())
          .isEqualTo(io.cacheai.proto.v1.DataType.FP16);
    }
  }

  @Test
  void read_nodeNamingAMissingTensor_refusedNamingNodeAndTensor() throws Exception {
    new BundleWriter(lowBitGraph("nowhere")).write(dir.resolve("m.cai"));
    try (Bundle bundle = BundleReader.open(dir.resolve("m.cai"))) {
      assertThatThrownBy(() -> PackedTensors.read(bundle))
          .isInstanceOf(BundleFormatException.class)
          .hasMessageContaining("LowBitGemm 'fc': weight='nowhere' is not a tensor");
    }
  }

  @Test
  void read_int8WeightOfWrongPanelLength_refused() throws Exception {
    Map<String, Object> attributes = new TreeMap<>();
    attributes.put("weight", "w");
    attributes.put("weight_shape", new long[] {3, 40});
    attributes.put("x_scale", 0.1f);
    attributes.put("x_zero_point", 0L);
    Graph graph =
        new Graph(
            "g",
            13,
            List.of(new ValueInfo("x", new long[] {-1, 40})),
            List.of(new ValueInfo("y", new long[] {-1, 3})),
            Map.of(),
            List.of(
                new Node(
                    OpType.QLINEAR_GEMM,
                    "fc",
                    List.of("x"),
                    List.of("y"),
                    new Attributes(attributes))));
    io.cacheai.proto.v1.Quantization q =
        io.cacheai.proto.v1.Quantization.newBuilder()
            .setGranularity(io.cacheai.proto.v1.Quantization.Granularity.PER_CHANNEL)
            .setBits(8)
            .setSymmetric(true)
            .addScales(1f)
            .addScales(1f)
            .addScales(1f)
            .build();
    new BundleWriter(graph)
        // 120 dense bytes where the s8p16 layout of [3,40] needs 16·40 = 640
        .addTensor(
            "w",
            io.cacheai.proto.v1.DataType.INT8,
            new long[] {3, 40},
            ByteBuffer.allocate(120),
            PackedTensors.LAYOUT_S8P16,
            q)
        .write(dir.resolve("m.cai"));
    try (Bundle bundle = BundleReader.open(dir.resolve("m.cai"))) {
      assertThatThrownBy(() -> PackedTensors.read(bundle))
          .isInstanceOf(BundleFormatException.class)
          .hasMessageContaining("QLinearGemm 'fc': tensor 'w'")
          .hasMessageContaining("data has 120 bytes, expected 640");
    }
  }
}
