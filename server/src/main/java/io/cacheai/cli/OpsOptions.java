package io.cacheai.cli;

import io.cacheai.serve.InferenceServer;
import io.cacheai.serve.ServerTls;
import java.nio.file.Path;
import picocli.CommandLine;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/**
 * The {@code serve} options for running as a sidecar: health port, metrics, drain, TLS, logs. A
 * picocli mixin so {@link ServeCommand} gains them with one field and one {@link #apply} call.
 */
final class OpsOptions {
  @Option(
      names = "--health-port",
      defaultValue = "0",
      description =
          "Also serve only grpc.health.v1 (plaintext) on this port, for kubelet gRPC probes; "
              + "0 = off, health stays on --port only (default: ${DEFAULT-VALUE}).")
  int healthPort;

  @Option(
      names = "--health-bind",
      defaultValue = "0.0.0.0",
      description =
          "Address of the health-only port; 0.0.0.0 lets kubelet reach it on the pod IP "
              + "(default: ${DEFAULT-VALUE}).")
  String healthBind;

  @Option(
      names = "--metrics-port",
      defaultValue = "8002",
      description =
          "Prometheus metrics at http://<metrics-bind>:<port>/metrics; 0 = off "
              + "(default: ${DEFAULT-VALUE}).")
  int metricsPort;

  @Option(
      names = "--metrics-bind",
      defaultValue = "127.0.0.1",
      description = "Address of the metrics port (default: ${DEFAULT-VALUE}).")
  String metricsBind;

  @Option(
      names = "--drain-timeout-seconds",
      defaultValue = "20",
      description =
          "On SIGTERM: readiness NOT_SERVING, no new calls, running calls get this long to "
              + "finish before they are cancelled (default: ${DEFAULT-VALUE}).")
  int drainTimeoutSeconds;

  @Option(
      names = "--tls-cert",
      paramLabel = "PEM",
      description = "Server certificate chain (PEM); with --tls-key turns TLS on.")
  Path tlsCert;

  @Option(names = "--tls-key", paramLabel = "PEM", description = "Server private key (PKCS#8 PEM).")
  Path tlsKey;

  @Option(
      names = "--tls-client-ca",
      paramLabel = "PEM",
      description = "CA bundle (PEM) client certificates must chain to: mutual TLS, required.")
  Path tlsClientCa;

  @Option(
      names = "--log-format",
      defaultValue = "json",
      description = "Log lines on stderr: json or text (default: ${DEFAULT-VALUE}).")
  String logFormat;

  @Option(
      names = "--log-level",
      defaultValue = "INFO",
      description =
          "SEVERE, WARNING, INFO, FINE (FINE adds one line per request) "
              + "(default: ${DEFAULT-VALUE}).")
  String logLevel;

  /** Rejects bad combinations before anything starts. */
  void check(CommandLine commandLine) {
    checkPort(commandLine, "--health-port", healthPort);
    checkPort(commandLine, "--metrics-port", metricsPort);
    if (drainTimeoutSeconds < 0 || drainTimeoutSeconds > 3600) {
      throw new ParameterException(
          commandLine, "--drain-timeout-seconds=" + drainTimeoutSeconds + " must be in [0,3600]");
    }
    if ((tlsCert == null) != (tlsKey == null)) {
      throw new ParameterException(commandLine, "--tls-cert and --tls-key go together");
    }
    if (tlsClientCa != null && tlsCert == null) {
      throw new ParameterException(
          commandLine, "--tls-client-ca needs --tls-cert and --tls-key (mTLS is TLS first)");
    }
    try {
      LogSetup.parse(logFormat, logLevel);
    } catch (IllegalArgumentException e) {
      throw new ParameterException(commandLine, e.getMessage());
    }
  }

  /** Installs the log format and level for the whole process. */
  void installLogging() {
    LogSetup.install(LogSetup.parse(logFormat, logLevel));
  }

  /** Adds these options to a server being built. */
  InferenceServer.Builder apply(InferenceServer.Builder builder) {
    builder.shutdownGraceMs(drainTimeoutSeconds * 1000L);
    if (healthPort > 0) {
      builder.healthServer(healthBind, healthPort);
    }
    if (metricsPort > 0) {
      builder.metricsEndpoint(metricsBind, metricsPort);
    }
    if (tlsCert != null) {
      builder.tls(new ServerTls(tlsCert, tlsKey, tlsClientCa));
    }
    return builder;
  }

  private static void checkPort(CommandLine commandLine, String option, int port) {
    if (port < 0 || port > 65535) {
      throw new ParameterException(commandLine, option + "=" + port + " must be in [0,65535]");
    }
  }
}
