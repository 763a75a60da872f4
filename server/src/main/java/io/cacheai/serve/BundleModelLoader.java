package io.cacheai.serve;

import io.cacheai.bundle.Bundle;
import io.cacheai.bundle.BundleReader;
import io.cacheai.runtime.GraphModel;
import io.cacheai.runtime.Model;
import io.cacheai.runtime.Tensor;
import io.cacheai.runtime.TensorSpec;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Loads {@code model.cai} bundles holding an fp32 graph: the file is mapped and checked by {@link
 * BundleReader}, and the graph runs on the fp32 executor with its weights used in place from the
 * mapping. The served model reports platform {@value #PLATFORM_FP32} and owns the bundle: closing
 * the model (after its last request) unmaps the file.
 *
 * <p>A bundle produced by a compressor ({@code producer.compression} other than {@code none}) is
 * refused here: running only its fp32 graph would ignore the quantized weights and misreport what
 * is served.
 */
public final class BundleModelLoader implements ModelLoader {
  /** What an fp32 bundle reports as its platform. */
  public static final String PLATFORM_FP32 = "cai_fp32";

  /** The compression an fp32 bundle records ({@code producer.compression}). */
  public static final String COMPRESSION_NONE = "none";

  @Override
  public Model load(String name, Path modelFile) throws IOException {
    Bundle bundle = BundleReader.open(modelFile);
    try {
      String compression = bundle.producer().getCompression();
      if (!compression.isEmpty() && !compression.equals(COMPRESSION_NONE)) {
        throw new IOException(
            "model '"
                + name
                + "': "
                + modelFile
                + " has compression="
                + compression
                + "; this loader serves fp32 bundles only (compression="
                + COMPRESSION_NONE
                + ")");
      }
      return new BundleModel(new GraphModel(bundle.graph()), bundle);
    } catch (IOException | RuntimeException e) {
      bundle.close();
      throw e;
    }
  }

  /** A graph model that reports {@value #PLATFORM_FP32} and unmaps its bundle on close. */
  private static final class BundleModel implements Model {
    private final GraphModel model;
    private final Bundle bundle;

    BundleModel(GraphModel model, Bundle bundle) {
      this.model = model;
      this.bundle = bundle;
    }

    @Override
    public String platform() {
      return PLATFORM_FP32;
    }

    @Override
    public List<TensorSpec> inputs() {
      return model.inputs();
    }

    @Override
    public List<TensorSpec> outputs() {
      return model.outputs();
    }

    @Override
    public Map<String, Tensor> infer(Map<String, Tensor> inputs) {
      return model.infer(inputs);
    }

    @Override
    public void close() {
      model.close();
      bundle.close();
    }
  }
}
