package io.cacheai.compress.lut;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cacheai.bundle.BundleWriter;
import io.cacheai.bundle.PackedTensors;
import io.cacheai.compress.Dataset;
import io.cacheai.compress.QuantizedGraph;
import io.cacheai.graph.Graph;
import io.cacheai.graph.Node;
import io.cacheai.graph.OpType;
import io.cacheai.graph.PackedTensor;
import io.cacheai.onnx.OnnxImporter;
import io.cacheai.proto.v1.Producer;
import io.cacheai.serve.BundleModelLoader;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Cache AI bundle as a file: the build is deterministic for a seed (byte-identical bundles),
 * and a bundle whose tables do not fit its node is refused naming the node and the tensor.
 */
class LutBundleTest {
  private static Graph mlp;
  private static Dataset calibration;

  @BeforeAll
  static void read() throws Exception {
    Path root = Path.of(System.getProperty("user.dir")).getParent();
    mlp =
        OnnxImporter.importFile(
            root.resolve("server/src/main/resources/io/cacheai/models/mnist-mlp/1/model.onnx"));
    calibration =
        Dataset.read(root.resolve("tools/mnist/data/t10k-images-idx3-ubyte.gz")).range(0, 300);
  }

  private static LutCompressor.Result compress(long seed) {
    return compress(LutOptions.defaults().withSeed(seed));
  }

  private static LutCompressor.Result compress(LutOptions options) {
    return LutCompressor.compress(
        mlp, calibration, options.withSamples(300), (phase, done, total) -> {});
  }

  private static Path write(QuantizedGraph model, Path file) throws java.io.IOException {
    BundleWriter writer = new BundleWriter(model.graph());
    model.packed().forEach((name, t) -> PackedTensors.add(writer, name, t));
    writer
        .producer(
            Producer.newBuilder().setSourceName("mnist-mlp").setCompression("cacheai").build())
        .write(file);
    return file;
  }

  @Test
  void compress_sameSeed_byteIdenticalBundle(@TempDir Path dir) throws Exception {
    byte[] first = Files.readAllBytes(write(compress(7).graph(), dir.resolve("a.cai")));
    byte[] again = Files.readAllBytes(write(compress(7).graph(), dir.resolve("b.cai")));
    assertThat(again).isEqualTo(first);
    // with k-means in the loop (centroid tree fit) too; there the seed matters (k-means++ picks)
    LutOptions centroidFit = LutOptions.defaults().withTreeFit(LutOptions.TreeFit.CENTROID);
    byte[] seeded =
        Files.readAllBytes(write(compress(centroidFit.withSeed(7)).graph(), dir.resolve("c.cai")));
    byte[] seededAgain =
        Files.readAllBytes(write(compress(centroidFit.withSeed(7)).graph(), dir.resolve("d.cai")));
    byte[] otherSeed =
        Files.readAllBytes(write(compress(centroidFit.withSeed(8)).graph(), dir.resolve("e.cai")));
    assertThat(seededAgain).isEqualTo(seeded);
    assertThat(otherSeed).isNotEqualTo(seeded);
  }

  @Test
  void load_tablesOfWrongShape_refusedNamingNodeAndTensor(@TempDir Path dir) throws Exception {
    QuantizedGraph model = compress(1).graph();
    Node lut =
        model.graph().nodes().stream()
            .filter(n -> n.op() == OpType.LOOKUP_GEMM)
            .findFirst()
            .orElseThrow();
    String tablesName = lut.attributes().getString("tables", "");
    PackedTensor tables = model.packed().get(tablesName);
    long[] shape = tables.shape();
    shape[2] -= 1; // one output column short
    Map<String, PackedTensor> packed = new LinkedHashMap<>(model.packed());
    packed.put(
        tablesName,
        new PackedTensor(
            PackedTensor.Format.S8_LUT16,
            shape,
            ByteBuffer.allocateDirect((int) (shape[0] * shape[1] * shape[2])),
            new float[0],
            0));
    Path bad = write(new QuantizedGraph(model.graph(), packed), dir.resolve("bad.cai"));
    assertThatThrownBy(() -> new BundleModelLoader().load("mnist-mlp", bad))
        .hasMessageContaining("LookupGemm '" + lut.name() + "'")
        .hasMessageContaining("tables='" + tablesName + "' has shape")
        // grouped by default on the MLP: rows of M/G = 128/groups entries
        .hasMessageContaining(
            "expected [" + shape[0] + ",16," + 128 / lut.attributes().getLong("groups", 1) + "]");
  }

  @Test
  void load_s4TablesOfWrongSizeForLayout_refusedNamingNodeAndTensor(@TempDir Path dir)
      throws Exception {
    QuantizedGraph model = compress(LutOptions.defaults().withTableBits(4).withSeed(1)).graph();
    Node lut =
        model.graph().nodes().stream()
            .filter(n -> n.op() == OpType.LOOKUP_GEMM)
            .findFirst()
            .orElseThrow();
    String tablesName = lut.attributes().getString("tables", "");
    PackedTensor tables = model.packed().get(tablesName);
    assertThat(tables.format()).isEqualTo(PackedTensor.Format.S4_LUT16);
    long[] shape = tables.shape();
    assertThat(tables.data().remaining()).isEqualTo(shape[0] * 16 * ((shape[2] + 1) / 2));
    // the good bundle loads and runs on the 4-bit kernel; the build is deterministic at 4 bits too
    Path good = write(model, dir.resolve("good.cai"));
    QuantizedGraph again = compress(LutOptions.defaults().withTableBits(4).withSeed(1)).graph();
    assertThat(Files.readAllBytes(write(again, dir.resolve("again.cai"))))
        .isEqualTo(Files.readAllBytes(good));
    try (var loaded = new BundleModelLoader().load("mnist-mlp", good)) {
      assertThat(loaded.platform()).isEqualTo("cai_cacheai");
    }
    // the same shape with int8-sized bytes under layout lut16x4
    BundleWriter writer = new BundleWriter(model.graph());
    model
        .packed()
        .forEach(
            (name, t) -> {
              if (!name.equals(tablesName)) {
                PackedTensors.add(writer, name, t);
              }
            });
    writer.addTensor(
        tablesName,
        io.cacheai.proto.v1.DataType.INT4_GROUP,
        shape,
        ByteBuffer.allocateDirect((int) (shape[0] * shape[1] * shape[2])),
        PackedTensors.LAYOUT_LUT16X4,
        null);
    Path bad = dir.resolve("bad.cai");
    writer
        .producer(
            Producer.newBuilder().setSourceName("mnist-mlp").setCompression("cacheai").build())
        .write(bad);
    assertThatThrownBy(() -> new BundleModelLoader().load("mnist-mlp", bad))
        .hasMessageContaining("LookupGemm '" + lut.name() + "'")
        .hasMessageContaining("tensor '" + tablesName + "'")
        .hasMessageContaining(
            "data has "
                + shape[0] * shape[1] * shape[2]
                + " bytes, expected "
                + shape[0] * 16 * ((shape[2] + 1) / 2));
  }

  /** The MNIST CNN with its k×k conv2 as tables: 100 images, no shifts, 4-bit tables. */
  private static LutCompressor.Result compressCnnConv(Graph cnn, long seed) {
    return LutCompressor.compress(
        cnn,
        calibration,
        LutOptions.defaults()
            .withLayers(java.util.List.of("/4/Conv"))
            .withShiftRadiusPx(0)
            .withSamples(100)
            .withSeed(seed),
        (phase, done, total) -> {});
  }

  @Test
  void convTables_roundTripSameBytesAndOutputs_wrongShapeRefusedNamingNodeAndTensor(
      @TempDir Path dir) throws Exception {
    Path root = Path.of(System.getProperty("user.dir")).getParent();
    Graph cnn =
        OnnxImporter.importFile(
            root.resolve("server/src/main/resources/io/cacheai/models/mnist-cnn/1/model.onnx"));
    QuantizedGraph model = compressCnnConv(cnn, 3).graph();
    Path file = write(model, dir.resolve("conv.cai"));
    assertThat(Files.readAllBytes(write(compressCnnConv(cnn, 3).graph(), dir.resolve("again.cai"))))
        .isEqualTo(Files.readAllBytes(file));
    Node lut =
        model.graph().nodes().stream()
            .filter(n -> n.op() == OpType.LOOKUP_CONV)
            .findFirst()
            .orElseThrow();
    // the node and its attributes come back from the bundle as written
    try (io.cacheai.bundle.Bundle bundle = io.cacheai.bundle.BundleReader.open(file)) {
      Node read =
          bundle.graph().nodes().stream()
              .filter(n -> n.name().equals("/4/Conv"))
              .findFirst()
              .orElseThrow();
      assertThat(read.op()).isEqualTo(OpType.LOOKUP_CONV);
      assertThat(read.inputs()).isEqualTo(lut.inputs());
      assertThat(read.outputs()).isEqualTo(lut.outputs());
      for (String key : lut.attributes().names()) {
        assertThat(read.attributes().value(key)).as(key).isEqualTo(lut.attributes().value(key));
      }
      assertThat(read.attributes().getLongs("kernel_shape")).containsExactly(5, 5);
    }
    // the loaded bundle computes what the in-memory model computes
    io.cacheai.runtime.Tensor x =
        io.cacheai.runtime.Tensor.ofFloats(calibration.batchShape(4), calibration.slice(200, 4));
    float[] expected;
    try (var inMemory = model.model()) {
      expected = inMemory.infer(Map.of("input", x)).get("logits").toFloatArray();
    }
    try (var loaded = new BundleModelLoader().load("mnist-cnn", file)) {
      assertThat(loaded.platform()).isEqualTo("cai_cacheai");
      assertThat(loaded.infer(Map.of("input", x)).get("logits").toFloatArray())
          .containsExactly(expected);
    }
    // a table one output channel short is refused naming the node and the tensor
    String tablesName = lut.attributes().getString("tables", "");
    PackedTensor tables = model.packed().get(tablesName);
    long[] shape = tables.shape();
    shape[2] -= 1;
    Map<String, PackedTensor> packed = new LinkedHashMap<>(model.packed());
    packed.put(
        tablesName,
        new PackedTensor(
            PackedTensor.Format.S8_LUT16,
            shape,
            ByteBuffer.allocateDirect((int) (shape[0] * shape[1] * shape[2])),
            new float[0],
            0));
    Path bad = write(new QuantizedGraph(model.graph(), packed), dir.resolve("bad.cai"));
    assertThatThrownBy(() -> new BundleModelLoader().load("mnist-cnn", bad))
        .hasMessageContaining("LookupConv '/4/Conv'")
        .hasMessageContaining("tables='" + tablesName + "' has shape")
        .hasMessageContaining("expected [" + shape[0] + ",16,32]");
  }

  @Test
  void load_tablesNotInBundle_refusedNamingNodeAndTensor(@TempDir Path dir) throws Exception {
    QuantizedGraph model = compress(1).graph();
    Node lut =
        model.graph().nodes().stream()
            .filter(n -> n.op() == OpType.LOOKUP_GEMM)
            .findFirst()
            .orElseThrow();
    Map<String, PackedTensor> packed = new LinkedHashMap<>(model.packed());
    packed.remove(lut.attributes().getString("thresholds", ""));
    Path bad = write(new QuantizedGraph(model.graph(), packed), dir.resolve("bad.cai"));
    assertThatThrownBy(() -> new BundleModelLoader().load("mnist-mlp", bad))
        .hasMessageContaining("LookupGemm '" + lut.name() + "'")
        .hasMessageContaining("thresholds='" + lut.attributes().getString("thresholds", "") + "'");
  }
}
