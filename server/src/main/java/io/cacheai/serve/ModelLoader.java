package io.cacheai.serve;

import io.cacheai.runtime.Model;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Turns one model file of the repository into a runnable {@link Model}.
 *
 * <p>The repository knows the layout (which directory holds which version) and nothing about the
 * file format; the loader knows the format and nothing about the layout. The ONNX loader is the one
 * the CLI wires; tests give their own. A loader that cannot load a file throws: an {@link
 * IOException} for an unreadable file, any {@link RuntimeException} for a file it does not accept.
 * Either way the repository reports that version and serves the others.
 */
@FunctionalInterface
public interface ModelLoader {
  /**
   * Loads {@code modelFile} as the model called {@code name}. The returned model belongs to the
   * caller, who closes it.
   */
  Model load(String name, Path modelFile) throws IOException;
}
