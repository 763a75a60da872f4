package io.cacheai.bundle;

import static org.assertj.core.api.Assertions.assertThat;

import io.cacheai.graph.Graph;
import io.cacheai.onnx.OnnxImporter;
import io.cacheai.proto.v1.Producer;
import java.io.InputStream;
import java.nio.file.Path;

/** The embedded MNIST models as graphs and bundles, for the bundle tests. */
final class BundleFixtures {
  private BundleFixtures() {}

  static byte[] embeddedOnnx(String name) throws Exception {
    try (InputStream in =
        BundleFixtures.class.getResourceAsStream("/io/cacheai/models/" + name + "/1/model.onnx")) {
      assertThat(in).as("embedded model %s", name).isNotNull();
      return in.readAllBytes();
    }
  }

  static Graph embeddedGraph(String name) throws Exception {
    return OnnxImporter.importBytes(embeddedOnnx(name));
  }

  /** Writes the embedded model {@code name} as an fp32 bundle at {@code target}. */
  static Path writeBundle(String name, Path target) throws Exception {
    new BundleWriter(embeddedGraph(name))
        .producer(Producer.newBuilder().setSourceName(name).setCompression("none").build())
        .write(target);
    return target;
  }
}
