package io.cacheai.serve;

import io.cacheai.onnx.OnnxImportException;
import io.cacheai.onnx.OnnxImporter;
import io.cacheai.runtime.GraphModel;
import io.cacheai.runtime.Model;
import java.io.IOException;
import java.nio.file.Path;

/** Loads {@code model.onnx} files: import into the graph IR, then run it with the fp32 executor. */
public final class OnnxModelLoader implements ModelLoader {
  @Override
  public Model load(String name, Path modelFile) throws IOException {
    try {
      return new GraphModel(OnnxImporter.importFile(modelFile));
    } catch (OnnxImportException e) {
      throw new IOException("model '" + name + "': " + e.getMessage(), e);
    }
  }
}
