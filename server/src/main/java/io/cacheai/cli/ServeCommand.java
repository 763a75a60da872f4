package io.cacheai.cli;

import io.cacheai.kernels.Fp32Blas;
import io.cacheai.serve.EmbeddedModels;
import io.cacheai.serve.InferenceServer;
import io.cacheai.serve.LoadFailure;
import io.cacheai.serve.ModelLoader;
import io.cacheai.serve.ModelRepository;
import io.cacheai.serve.ServedModel;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.function.Consumer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code cacheai serve}: loads the models (from {@code --model-repository}, else the ones embedded
 * in the jar), starts the gRPC server and runs until the process is stopped.
 *
 * <p>Once the server accepts calls, stdout gets exactly one line, {@code cacheai: listening on
 * <bind>:<port>} with the real port (so {@code --port 0} can be used and the port read back);
 * everything else (models served, models refused) goes to stderr. A JVM shutdown hook (SIGTERM,
 * Ctrl-C) stops the server gracefully, then closes the models.
 */
@Command(
    name = "serve",
    mixinStandardHelpOptions = true,
    description = "Serve models over the Open Inference Protocol (gRPC).")
final class ServeCommand implements Callable<Integer> {
  @Spec private CommandSpec spec;

  @Option(
      names = "--port",
      defaultValue = "8001",
      description = "TCP port; 0 picks a free one (default: ${DEFAULT-VALUE}).")
  private int port;

  @Option(
      names = "--bind",
      defaultValue = "127.0.0.1",
      description = "Address to listen on (default: ${DEFAULT-VALUE}).")
  private String bind;

  @Option(
      names = "--model-repository",
      paramLabel = "DIR",
      description =
          "Directory laid out as <DIR>/<model>/<version>/model.onnx (or model.cai) "
              + "(default: the models embedded in cacheai).")
  private Path modelRepository;

  @Option(
      names = "--blas-threads",
      defaultValue = "1",
      description = "OpenBLAS threads per request (default: ${DEFAULT-VALUE}).")
  private int blasThreads;

  @Option(
      names = "--max-message-mib",
      defaultValue = "64",
      description = "Largest request message accepted, MiB (default: ${DEFAULT-VALUE}).")
  private int maxMessageMib;

  @Option(
      names = "--response-cache-mib",
      defaultValue = "0",
      description =
          "Native memory for the exact response cache, MiB; used by models whose "
              + "config.properties sets response_cache=true (default: ${DEFAULT-VALUE}, off).")
  private int responseCacheMib;

  /** Sidecar options: health port, metrics, drain, TLS, logs. */
  @Mixin private OpsOptions ops = new OpsOptions();

  private final ModelLoader loader;
  private final Consumer<InferenceServer> onStarted;

  ServeCommand(ModelLoader loader) {
    this(loader, server -> {});
  }

  /** {@code onStarted} sees the running server right after the listening line (tests stop it). */
  ServeCommand(ModelLoader loader, Consumer<InferenceServer> onStarted) {
    this.loader = loader;
    this.onStarted = onStarted;
  }

  /**
   * The loader for {@code model.onnx} files and {@code model.cai} bundles (chosen by file name),
   * the one wiring point of the model formats the server accepts.
   */
  static ModelLoader onnxLoader() {
    return io.cacheai.serve.FileNameModelLoader.standard();
  }

  @Override
  public Integer call() throws Exception {
    checkOptions();
    ops.installLogging();
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    Fp32Blas.setThreads(blasThreads);

    ModelRepository repository =
        modelRepository == null
            ? EmbeddedModels.load(loader)
            : ModelRepository.load(modelRepository, loader);
    String source = modelRepository == null ? "the embedded models" : modelRepository.toString();
    for (LoadFailure failure : repository.failures()) {
      err.println("cacheai: not serving " + failure);
    }
    if (repository.isEmpty()) {
      repository.close();
      err.println("cacheai: no model could be loaded from " + source);
      err.flush();
      return 1;
    }
    for (ServedModel served : repository.all()) {
      err.println(
          "cacheai: serving "
              + served
              + " platform="
              + served.model().platform()
              + " inputs "
              + served.model().inputs()
              + " outputs "
              + served.model().outputs());
    }
    if (responseCacheMib > 0) {
      err.println(
          "cacheai: response cache "
              + responseCacheMib
              + " MiB for "
              + repository.all().stream().filter(m -> m.config().responseCache()).toList());
    }
    err.flush();

    InferenceServer server;
    try {
      server =
          ops.apply(
                  InferenceServer.builder(repository)
                      .bind(bind)
                      .port(port)
                      .maxInboundMessageBytes(maxMessageMib << 20)
                      .responseCacheBytes((long) responseCacheMib << 20))
              .build()
              .start();
    } catch (IOException | RuntimeException e) {
      repository.close();
      throw new IOException("cannot listen on " + bind + ":" + port + ": " + e.getMessage(), e);
    }
    Thread hook =
        new Thread(
            () -> {
              server.close();
              repository.close();
            },
            "cacheai-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);

    out.println("cacheai: listening on " + bind + ":" + server.port());
    out.flush();
    onStarted.accept(server);
    server.blockUntilShutdown();
    repository.close();
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException shuttingDown) {
      // The hook is what stopped us; it finishes on its own.
    }
    return 0;
  }

  private void checkOptions() {
    if (port < 0 || port > 65535) {
      throw new ParameterException(spec.commandLine(), "--port=" + port + " must be in [0,65535]");
    }
    if (blasThreads < 1) {
      throw new ParameterException(
          spec.commandLine(), "--blas-threads=" + blasThreads + " must be >= 1");
    }
    if (responseCacheMib < 0 || responseCacheMib > 65536) {
      throw new ParameterException(
          spec.commandLine(), "--response-cache-mib=" + responseCacheMib + " must be in [0,65536]");
    }
    if (maxMessageMib < 1 || maxMessageMib > 2047) {
      throw new ParameterException(
          spec.commandLine(), "--max-message-mib=" + maxMessageMib + " must be in [1,2047]");
    }
    ops.check(spec.commandLine());
  }
}
