package io.cacheai.cli;

import io.cacheai.runtime.Model;
import io.cacheai.runtime.Tensor;
import io.cacheai.runtime.TensorSpec;
import io.cacheai.serve.AffineModel;
import io.cacheai.serve.ModelLoader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The real {@code cacheai} process ({@link Main}'s command tree and signal handling) with a test
 * loader: a model file holding {@code slow <ms>} loads an {@link AffineModel} whose every call
 * prints {@code slow-model: started} on stderr and then takes {@code ms} milliseconds, so a test
 * can hold requests in flight while it sends SIGTERM.
 */
public final class SlowServeMain {
  private SlowServeMain() {}

  public static void main(String[] args) {
    ModelLoader loader =
        (name, file) -> {
          String content = Files.readString(file, StandardCharsets.UTF_8).trim();
          if (!content.startsWith("slow ")) {
            throw new IOException("not a slow model: " + file);
          }
          return new SlowModel(Long.parseLong(content.substring(5)));
        };
    System.exit(Main.commandLine(new ServeCommand(loader, SignalDrain::install)).execute(args));
  }

  /** Writes {@code <repository>/<name>/1/model.onnx} for a model taking {@code delayMs} a call. */
  static void writeModel(Path repository, String name, long delayMs) throws IOException {
    Path dir = Files.createDirectories(repository.resolve(name).resolve("1"));
    Files.writeString(dir.resolve("model.onnx"), "slow " + delayMs);
  }

  private static final class SlowModel implements Model {
    private final AffineModel affine = new AffineModel();
    private final long delayMs;

    SlowModel(long delayMs) {
      this.delayMs = delayMs;
    }

    @Override
    public String platform() {
      return "test_slow";
    }

    @Override
    public List<TensorSpec> inputs() {
      return affine.inputs();
    }

    @Override
    public List<TensorSpec> outputs() {
      return affine.outputs();
    }

    @Override
    public Map<String, Tensor> infer(Map<String, Tensor> inputs) {
      System.err.println("slow-model: started");
      System.err.flush();
      try {
        Thread.sleep(delayMs);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while slow", e);
      }
      return affine.infer(inputs);
    }

    @Override
    public void close() {
      affine.close();
    }
  }
}
