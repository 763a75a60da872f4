package io.cacheai.serve;

import io.cacheai.runtime.Model;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A {@link ModelLoader} for tests whose "model files" are one word: {@code affine} loads an {@link
 * AffineModel}; anything else fails the way a corrupt file would. It remembers what it loaded.
 */
public final class TestLoaders implements ModelLoader {
  public final List<AffineModel> loaded = new CopyOnWriteArrayList<>();

  @Override
  public Model load(String name, Path modelFile) throws IOException {
    String content = Files.readString(modelFile, StandardCharsets.UTF_8).trim();
    if (!content.equals("affine")) {
      throw new IOException("not a model: " + modelFile + " holds '" + content + "'");
    }
    AffineModel model = new AffineModel();
    loaded.add(model);
    return model;
  }

  /** Writes {@code <repository>/<name>/<version>/model.onnx} holding {@code content}. */
  public static Path writeModel(Path repository, String name, String version, String content)
      throws IOException {
    Path dir = Files.createDirectories(repository.resolve(name).resolve(version));
    return Files.writeString(dir.resolve(ModelRepository.MODEL_FILE), content);
  }
}
