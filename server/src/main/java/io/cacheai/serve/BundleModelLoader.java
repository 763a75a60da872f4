package io.cacheai.serve;

import io.cacheai.bundle.Bundle;
import io.cacheai.bundle.BundleReader;
import io.cacheai.bundle.PackedTensors;
import io.cacheai.runtime.GraphModel;
import io.cacheai.runtime.Int8Gemm;
import io.cacheai.runtime.LookupHitRatios;
import io.cacheai.runtime.Model;
import io.cacheai.runtime.Tensor;
import io.cacheai.runtime.TensorSpec;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Loads {@code model.cai} bundles: the file is mapped and checked by {@link BundleReader}, and the
 * graph runs on the executor with its weights used in place from the mapping — fp32 constants and
 * the quantized ops' packed weights alike ({@link PackedTensors#read}). The served model owns the
 * bundle: closing the model (after its last request) unmaps the file.
 *
 * <p>The platform says how the model is compressed: {@value #PLATFORM_FP32} for {@code
 * producer.compression = none}, else {@code cai_<compression>} ({@code cai_int8}, {@code cai_int4},
 * {@code cai_mixed}, {@code cai_cacheai} for lookup-table layers).
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
      if (compression.isEmpty() || compression.equals(COMPRESSION_NONE)) {
        return new BundleModel(new GraphModel(bundle.graph()), bundle, PLATFORM_FP32);
      }
      if (!compression.matches("[a-z0-9_]{1,32}")) {
        throw new IOException(
            "model '"
                + name
                + "': "
                + modelFile
                + " has compression='"
                + compression
                + "' (expected lower-case letters, digits, '_')");
      }
      var packed = PackedTensors.read(bundle);
      if (packed.isEmpty()) {
        throw new IOException(
            "model '"
                + name
                + "': "
                + modelFile
                + " has compression="
                + compression
                + " but its graph has no quantized (ai.cacheai) node; refusing to serve it as "
                + "cai_"
                + compression);
      }
      GraphModel model = new GraphModel(bundle.graph(), packed, Int8Gemm.best());
      return new BundleModel(model, bundle, "cai_" + compression);
    } catch (IOException | RuntimeException e) {
      bundle.close();
      throw e;
    }
  }

  /** A graph model that reports its bundle's platform and unmaps the bundle on close. */
  private static final class BundleModel implements Model, LookupHitRatios {
    private final GraphModel model;
    private final Bundle bundle;
    private final String platform;

    BundleModel(GraphModel model, Bundle bundle, String platform) {
      this.model = model;
      this.bundle = bundle;
      this.platform = platform;
    }

    @Override
    public String platform() {
      return platform;
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
    public Map<String, Double> lookupKeyHitRatios() {
      return model.lookupKeyHitRatios();
    }

    @Override
    public void close() {
      model.close();
      bundle.close();
    }
  }
}
