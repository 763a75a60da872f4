package io.cacheai.serve;

import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.util.Objects;

/**
 * The Prometheus scrape endpoint: plain HTTP {@code GET /metrics} (text exposition format) on its
 * own address, separate from gRPC so scraping never competes with inference for a port, a TLS setup
 * or a thread. Owned by {@link InferenceServer}; {@link #close()} is safe twice.
 */
final class MetricsEndpoint implements AutoCloseable {
  private final HTTPServer http;
  private final String bind;

  private MetricsEndpoint(HTTPServer http, String bind) {
    this.http = http;
    this.bind = bind;
  }

  /**
   * Binds {@code bind:port} (0 = any free port) and starts answering scrapes of {@code registry}.
   */
  static MetricsEndpoint start(String bind, int port, PrometheusRegistry registry)
      throws IOException {
    Objects.requireNonNull(bind, "bind");
    try {
      HTTPServer http =
          HTTPServer.builder().hostname(bind).port(port).registry(registry).buildAndStart();
      return new MetricsEndpoint(http, bind);
    } catch (IOException e) {
      throw new IOException(
          "cannot start the metrics endpoint on " + bind + ":" + port + ": " + e.getMessage(), e);
    }
  }

  /** The bound port: the real one when 0 was asked for. */
  int port() {
    return http.getPort();
  }

  String bind() {
    return bind;
  }

  @Override
  public void close() {
    http.close();
  }
}
