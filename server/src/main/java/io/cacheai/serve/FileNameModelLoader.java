package io.cacheai.serve;

import io.cacheai.runtime.Model;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;

/**
 * Chooses the loader by the model file's name ({@code model.onnx}, {@code model.cai}): the one
 * place the formats a server accepts are wired together.
 */
public final class FileNameModelLoader implements ModelLoader {
  private final Map<String, ModelLoader> byFileName;

  public FileNameModelLoader(Map<String, ModelLoader> byFileName) {
    this.byFileName = new TreeMap<>(byFileName);
  }

  /** ONNX files and fp32 bundles. */
  public static FileNameModelLoader standard() {
    return new FileNameModelLoader(
        Map.of(
            ModelRepository.MODEL_FILE, new OnnxModelLoader(),
            ModelRepository.BUNDLE_FILE, new BundleModelLoader()));
  }

  @Override
  public Model load(String name, Path modelFile) throws IOException {
    ModelLoader loader = byFileName.get(modelFile.getFileName().toString());
    if (loader == null) {
      throw new IOException(
          "model '"
              + name
              + "': no loader for "
              + modelFile.getFileName()
              + " (accepted: "
              + byFileName.keySet()
              + ")");
    }
    return loader.load(name, modelFile);
  }
}
