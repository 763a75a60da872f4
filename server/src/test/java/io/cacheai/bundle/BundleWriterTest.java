package io.cacheai.bundle;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cacheai.graph.Attributes;
import io.cacheai.graph.Graph;
import io.cacheai.graph.Node;
import io.cacheai.proto.v1.DataType;
import io.cacheai.proto.v1.Quantization;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The writer's file appears whole or not at all. */
class BundleWriterTest {
  @TempDir Path dir;

  @Test
  void write_failureAfterSectionsStreamed_leavesNoFileAtAll() throws Exception {
    Graph good = BundleFixtures.embeddedGraph("mnist-mlp");
    // An attribute type the manifest cannot hold: found when the manifest is built, after every
    // section was written to the temporary file.
    List<Node> nodes = new ArrayList<>(good.nodes());
    Node first = nodes.get(0);
    nodes.set(
        0,
        new Node(
            first.op(),
            first.name(),
            first.inputs(),
            first.outputs(),
            new Attributes(Map.of("bad", Integer.valueOf(3)))));
    Graph bad = good.withNodes(nodes, good.constants());
    Path target = dir.resolve("model.cai");
    assertThatThrownBy(() -> new BundleWriter(bad).write(target))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("attribute 'bad' of type Integer cannot be stored in a bundle");
    assertThat(listing()).isEmpty();
  }

  @Test
  void write_failureOverExistingBundle_leavesTheOldOneIntact() throws Exception {
    Path target = BundleFixtures.writeBundle("mnist-mlp", dir.resolve("model.cai"));
    byte[] before = Files.readAllBytes(target);
    assertThatThrownBy(
            () ->
                new BundleWriter(BundleFixtures.embeddedGraph("mnist-cnn"))
                    .addTensor("dup", DataType.INT8, new long[] {4}, ByteBuffer.allocate(4))
                    .addTensor("dup", DataType.INT8, new long[] {4}, ByteBuffer.allocate(4))
                    .write(target))
        .hasMessageContaining("tensor name 'dup' used twice");
    assertThat(Files.readAllBytes(target)).isEqualTo(before);
    assertThat(listing()).containsExactly("model.cai");
  }

  @Test
  void write_overExistingBundle_replacesItAndLeavesOnlyTheTarget() throws Exception {
    Path target = BundleFixtures.writeBundle("mnist-mlp", dir.resolve("model.cai"));
    long mlpSize = Files.size(target);
    BundleFixtures.writeBundle("mnist-cnn", target);
    assertThat(Files.size(target)).isNotEqualTo(mlpSize);
    try (Bundle bundle = BundleReader.open(target)) {
      assertThat(bundle.producer().getSourceName()).isEqualTo("mnist-cnn");
    }
    assertThat(listing()).containsExactly("model.cai");
  }

  @Test
  void write_tempLeftByAKilledWriter_deletedByTheNextWrite() throws Exception {
    // What a writer killed by SIGKILL mid-write leaves: its hidden temp, half written, unlocked.
    Path abandoned = dir.resolve(".model.cai.1f2e3d4c5b6a7988.tmp");
    Files.write(abandoned, new byte[] {'C', 'A', 'I', 'B', 0, 0});
    Path otherTarget = dir.resolve(".other.cai.1f2e3d4c5b6a7988.tmp");
    Files.write(otherTarget, new byte[] {1});
    Path notOurs = dir.resolve(".model.cai.backup.tmp");
    Files.write(notOurs, new byte[] {2});

    BundleFixtures.writeBundle("mnist-mlp", dir.resolve("model.cai"));

    assertThat(abandoned).doesNotExist();
    assertThat(listing())
        .containsExactlyInAnyOrder(
            "model.cai", ".other.cai.1f2e3d4c5b6a7988.tmp", notOurs.getFileName().toString());
  }

  @Test
  void write_tempLockedByALiveWriter_isKept() throws Exception {
    Path live = dir.resolve(".model.cai.00000000000000aa.tmp");
    try (FileChannel channel =
            FileChannel.open(live, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        FileLock lock = channel.lock()) {
      BundleFixtures.writeBundle("mnist-mlp", dir.resolve("model.cai"));
      assertThat(live).exists();
    }
    assertThat(listing()).containsExactlyInAnyOrder("model.cai", live.getFileName().toString());
  }

  @Test
  void write_overABundleThatIsOpen_openBundleKeepsItsOwnBytes() throws Exception {
    Path target = BundleFixtures.writeBundle("mnist-mlp", dir.resolve("model.cai"));
    try (Bundle open = BundleReader.open(target)) {
      float[] before = new float[16];
      open.tensor(open.tensorNames().get(0)).floats().get(before);
      BundleFixtures.writeBundle("mnist-cnn", target); // rename over the mapped file
      float[] after = new float[16];
      open.tensor(open.tensorNames().get(0)).floats().get(after);
      assertThat(after).containsExactly(before);
      assertThat(open.producer().getSourceName()).isEqualTo("mnist-mlp");
    }
    try (Bundle reopened = BundleReader.open(target)) {
      assertThat(reopened.producer().getSourceName()).isEqualTo("mnist-cnn");
    }
  }

  @Test
  void addTensor_denseLengthMismatch_refusedNamingTheTensor() {
    assertThatThrownBy(
            () ->
                new BundleWriter(BundleFixtures.embeddedGraph("mnist-mlp"))
                    .addTensor("w", DataType.INT4_GROUP, new long[] {3, 5}, ByteBuffer.allocate(7)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("tensor 'w': 7 bytes given, a dense INT4_GROUP[3,5] needs 8");
  }

  @Test
  void write_perChannelScalesCountWrong_refusedNamingTensorAndCounts() throws Exception {
    Quantization threeScales =
        Quantization.newBuilder()
            .setGranularity(Quantization.Granularity.PER_CHANNEL)
            .setAxis(0)
            .setBits(8)
            .setSymmetric(true)
            .addScales(0.1f)
            .addScales(0.1f)
            .addScales(0.1f)
            .build();
    assertThatThrownBy(
            () ->
                new BundleWriter(BundleFixtures.embeddedGraph("mnist-mlp"))
                    .addTensor(
                        "w",
                        DataType.INT8,
                        new long[] {16, 4},
                        ByteBuffer.allocate(64),
                        threeScales)
                    .write(dir.resolve("model.cai")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(
            "tensor 'w': quantization.scales has 3 values, expected 16"
                + " (or name a tensor in scales_tensor)");
    assertThat(listing()).isEmpty();
  }

  @Test
  void write_groupScalesTensorOfWrongSize_refused() throws Exception {
    Quantization groups =
        Quantization.newBuilder()
            .setGranularity(Quantization.Granularity.PER_GROUP)
            .setAxis(1)
            .setGroupSize(32)
            .setBits(4)
            .setSymmetric(true)
            .setScalesTensor("s")
            .build();
    assertThatThrownBy(
            () ->
                new BundleWriter(BundleFixtures.embeddedGraph("mnist-mlp"))
                    .addTensor(
                        "w",
                        DataType.INT4_GROUP,
                        new long[] {4, 96},
                        ByteBuffer.allocate(192),
                        groups)
                    .addTensor("s", DataType.FP32, new long[] {4, 2}, ByteBuffer.allocate(32))
                    .write(dir.resolve("model.cai")))
        .hasMessageContaining(
            "tensor 'w': quantization.scales_tensor='s' is FP32[4, 2], expected a dense [FP32, FP16]"
                + " tensor of 12 elements");
  }

  private List<String> listing() throws Exception {
    try (Stream<Path> files = Files.list(dir)) {
      return files.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }
}
