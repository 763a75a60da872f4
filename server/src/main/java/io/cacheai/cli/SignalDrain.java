package io.cacheai.cli;

import io.cacheai.serve.InferenceServer;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Turns SIGTERM and SIGINT into a graceful drain that ends in exit code 0, the way Kubernetes
 * expects a container to stop: the signal starts {@link InferenceServer#stop()} on its own thread
 * (readiness NOT_SERVING, no new calls, running calls finish within the drain timeout); {@code
 * serve} then returns normally once the server has terminated.
 *
 * <p>Why not only a shutdown hook: the JVM's default SIGTERM handling exits with 143 and runs hooks
 * while java.util.logging is being torn down. Handling the signal keeps logging alive during the
 * drain and lets the process exit 0. {@code sun.misc.Signal} (module jdk.unsupported) is the only
 * JDK way to do it; when it is missing, the shutdown hook in {@link ServeCommand} still drains.
 */
final class SignalDrain {
  private static final Logger log = Logger.getLogger(SignalDrain.class.getName());

  private SignalDrain() {}

  /** Installs the handlers; returns false when signals cannot be handled here. */
  static boolean install(InferenceServer server) {
    try {
      for (String name : new String[] {"TERM", "INT"}) {
        sun.misc.Signal.handle(
            new sun.misc.Signal(name), signal -> drain(server, signal.getName()));
      }
      return true;
    } catch (IllegalArgumentException | LinkageError e) {
      log.log(Level.WARNING, "cannot handle SIGTERM; relying on the shutdown hook", e);
      return false;
    }
  }

  private static void drain(InferenceServer server, String signal) {
    log.info("SIG" + signal + " received: draining");
    Thread drain =
        new Thread(
            () -> {
              try {
                server.stop();
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            },
            "cacheai-drain");
    drain.start();
  }
}
