package io.cacheai.serve;

import io.cacheai.serve.cache.ResponseCache;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * The gRPC server process around {@link InferenceService}: Netty on one address, with the standard
 * health service ({@code grpc.health.v1}, SERVING while up, for the overall server {@code ""} and
 * for {@code inference.GRPCInferenceService}) and server reflection ({@code grpc.reflection.v1}) so
 * generic tools can discover the API.
 *
 * <p>Lifecycle: {@link #start()} once, then {@link #blockUntilShutdown()} or {@link #stop()}. Stop
 * is graceful, then forced: health turns NOT_SERVING and ServerReady false, new calls are refused,
 * running calls get {@link Builder#shutdownGraceMs} to finish, then the rest is cancelled. The
 * server does not own the {@link ModelRepository}: close the repository after {@link #stop()}
 * returns, when no request can still be running.
 *
 * <p>Operations (all optional, see {@link Builder}): a readiness health service name {@value
 * #READINESS_SERVICE}, SERVING while models are served (it follows RepositoryModelLoad and
 * RepositoryModelUnload) and NOT_SERVING when none is or from the moment a drain starts (the
 * overall {@code ""} stays SERVING until the server has terminated, so a liveness probe does not
 * kill a draining process); a second, health-only plaintext server on its own address (kubelet gRPC
 * probes reach the pod IP while inference stays on loopback); a Prometheus {@code /metrics}
 * endpoint; TLS or mutual TLS on the inference port. Every call to the inference service carries a
 * request id ({@link RequestIds}).
 */
public final class InferenceServer implements AutoCloseable {
  /** Default largest request message accepted: 64 MiB, about 16 M FP32 elements. */
  public static final int DEFAULT_MAX_INBOUND_MESSAGE_BYTES = 64 << 20;

  private static final Logger log = Logger.getLogger(InferenceServer.class.getName());
  private static final String SERVICE_NAME = "inference.GRPCInferenceService";

  /**
   * The health service name for readiness probes: SERVING while at least one model is served and
   * the server is not draining.
   */
  public static final String READINESS_SERVICE = "cacheai.ready";

  private final String bind;
  private final int requestedPort;
  private final long shutdownGraceMs;
  private final InferenceService service;
  private final CachedResponses responseCache;
  private final HealthStatusManager health = new HealthStatusManager();
  private final Server server;
  private final ModelRepository repository;
  private final ServingMetrics metrics;
  private final Server healthServer;
  private final String healthBind;
  private final String metricsBind;
  private final int metricsPort;
  private MetricsEndpoint metricsEndpoint;
  private boolean started;
  private boolean stopped;
  private final Object readinessLock = new Object();
  private boolean draining; // guarded by readinessLock

  private InferenceServer(Builder builder) {
    this.bind = builder.bind;
    this.requestedPort = builder.port;
    this.shutdownGraceMs = builder.shutdownGraceMs;
    this.responseCache = createResponseCache(builder);
    this.repository = builder.repository;
    this.metricsBind = builder.metricsBind;
    this.metricsPort = builder.metricsPort;
    this.metrics =
        metricsPort < 0
            ? ServingMetrics.NONE
            : new PrometheusServingMetrics(builder.repository, responseCache);
    this.service =
        new InferenceService(builder.repository, builder.version, responseCache, metrics);
    NettyServerBuilder netty =
        NettyServerBuilder.forAddress(new InetSocketAddress(bind, requestedPort))
            .maxInboundMessageSize(builder.maxInboundMessageBytes)
            .addService(
                ServerInterceptors.intercept(
                    service, new MetricsInterceptor(builder.repository, metrics), new RequestIds()))
            .addService(health.getHealthService())
            .addService(ProtoReflectionServiceV1.newInstance());
    if (builder.tls != null) {
      netty.sslContext(builder.tlsContext);
    }
    this.server = netty.build();
    this.healthBind = builder.healthBind;
    this.healthServer =
        builder.healthPort < 0
            ? null
            : NettyServerBuilder.forAddress(new InetSocketAddress(healthBind, builder.healthPort))
                .addService(health.getHealthService())
                .build();
  }

  private static CachedResponses createResponseCache(Builder builder) {
    boolean anyModelAsks =
        builder.repository.all().stream().anyMatch(m -> m.config().responseCache());
    if (builder.responseCacheBytes == 0) {
      if (anyModelAsks) {
        log.warning(
            "some models set "
                + ModelConfig.RESPONSE_CACHE
                + "=true but the response cache has no capacity; serving them uncached");
      }
      return null;
    }
    if (!anyModelAsks) {
      log.warning(
          "response cache capacity given but no model sets "
              + ModelConfig.RESPONSE_CACHE
              + "=true in its "
              + ModelConfig.FILE_NAME);
    }
    return new CachedResponses(ResponseCache.withCapacity(builder.responseCacheBytes));
  }

  /** The response cache's counters, when the server has one. */
  public Optional<CachedResponses> responseCache() {
    return Optional.ofNullable(responseCache);
  }

  /** A server for {@code repository}, by default on 127.0.0.1:8001. */
  public static Builder builder(ModelRepository repository) {
    return new Builder(repository);
  }

  /** Binds and starts serving; health turns SERVING. */
  public synchronized InferenceServer start() throws IOException {
    if (started) {
      throw new IllegalStateException("server already started");
    }
    started = true;
    if (metrics instanceof PrometheusServingMetrics prometheus) {
      metricsEndpoint = MetricsEndpoint.start(metricsBind, metricsPort, prometheus.registry());
    }
    try {
      server.start();
      if (healthServer != null) {
        healthServer.start();
      }
    } catch (IOException | RuntimeException e) {
      server.shutdownNow();
      if (healthServer != null) {
        healthServer.shutdownNow();
      }
      if (metricsEndpoint != null) {
        metricsEndpoint.close();
      }
      throw e;
    }
    health.setStatus("", ServingStatus.SERVING);
    health.setStatus(SERVICE_NAME, ServingStatus.SERVING);
    updateReadiness();
    repository.onChange(this::updateReadiness);
    log.info(
        "listening on "
            + bind
            + ":"
            + port()
            + (healthServer == null ? "" : "; health on " + healthBind + ":" + healthPort())
            + (metricsEndpoint == null ? "" : "; metrics on " + metricsBind + ":" + metricsPort()));
    return this;
  }

  /** Readiness follows the repository: SERVING while a model is served, until the drain starts. */
  private void updateReadiness() {
    synchronized (readinessLock) {
      if (!draining) {
        health.setStatus(
            READINESS_SERVICE,
            repository.isEmpty() ? ServingStatus.NOT_SERVING : ServingStatus.SERVING);
      }
    }
  }

  /** The health-only server's bound port, or -1 when there is none. Only after {@link #start()}. */
  public int healthPort() {
    return healthServer == null ? -1 : healthServer.getPort();
  }

  /** The metrics endpoint's bound port, or -1 when metrics are off. Only after {@link #start()}. */
  public int metricsPort() {
    return metricsEndpoint == null ? -1 : metricsEndpoint.port();
  }

  /** Where request outcomes are recorded ({@link ServingMetrics#NONE} when metrics are off). */
  public ServingMetrics metrics() {
    return metrics;
  }

  /** The bound port: the real one when port 0 was asked for. Only after {@link #start()}. */
  public int port() {
    return server.getPort();
  }

  /** The address the server binds, as given. */
  public String bind() {
    return bind;
  }

  /**
   * Stops the server: graceful for up to the grace period, then forced. Returns once the server has
   * terminated (or, if it would not, after a second grace period). Safe to call twice, and from a
   * shutdown hook.
   */
  public synchronized void stop() throws InterruptedException {
    if (!started && responseCache != null) {
      responseCache.close(); // never served: nothing can be using it
    }
    if (!started || stopped) {
      return;
    }
    stopped = true;
    log.info("draining: readiness NOT_SERVING, running calls get up to " + shutdownGraceMs + " ms");
    service.markNotReady();
    synchronized (readinessLock) {
      draining = true;
      health.setStatus(READINESS_SERVICE, ServingStatus.NOT_SERVING);
    }
    health.setStatus(SERVICE_NAME, ServingStatus.NOT_SERVING);
    try {
      server.shutdown();
      if (!server.awaitTermination(shutdownGraceMs, TimeUnit.MILLISECONDS)) {
        log.warning("calls still running after " + shutdownGraceMs + " ms; cancelling them");
        server.shutdownNow();
        if (!server.awaitTermination(shutdownGraceMs, TimeUnit.MILLISECONDS)) {
          log.warning("server did not terminate after a forced shutdown");
        }
      }
    } finally {
      health.enterTerminalState();
      if (healthServer != null) {
        healthServer.shutdownNow();
      }
      if (metricsEndpoint != null) {
        metricsEndpoint.close();
      }
    }
    if (responseCache != null && server.isTerminated()) {
      responseCache.close();
    }
    log.info("stopped");
  }

  /** Whether the server has stopped accepting calls and every call has ended. */
  public boolean isTerminated() {
    return server.isTerminated();
  }

  /** Waits until the server has terminated (another thread or a shutdown hook calls stop). */
  public void blockUntilShutdown() throws InterruptedException {
    server.awaitTermination();
  }

  /** {@link #stop()}, keeping the thread's interrupt status if interrupted. */
  @Override
  public void close() {
    try {
      stop();
    } catch (InterruptedException e) {
      server.shutdownNow();
      Thread.currentThread().interrupt();
    }
  }

  /** Options of an {@link InferenceServer}. */
  public static final class Builder {
    private final ModelRepository repository;
    private String bind = "127.0.0.1";
    private int port = 8001;
    private int maxInboundMessageBytes = DEFAULT_MAX_INBOUND_MESSAGE_BYTES;
    private long shutdownGraceMs = 5_000;
    private String version = ServerInfo.version();
    private long responseCacheBytes;
    private String healthBind = "0.0.0.0";
    private int healthPort = -1;
    private String metricsBind = "127.0.0.1";
    private int metricsPort = -1;
    private ServerTls tls;
    private io.netty.handler.ssl.SslContext tlsContext;

    private Builder(ModelRepository repository) {
      this.repository = Objects.requireNonNull(repository, "repository");
    }

    /** The host name or address to bind; 127.0.0.1 by default. */
    public Builder bind(String bind) {
      this.bind = Objects.requireNonNull(bind, "bind");
      return this;
    }

    /** The TCP port, 0 for any free one; 8001 by default. */
    public Builder port(int port) {
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException("port=" + port + " must be in [0,65535]");
      }
      this.port = port;
      return this;
    }

    /** The largest request message accepted, in bytes; 64 MiB by default. */
    public Builder maxInboundMessageBytes(int maxInboundMessageBytes) {
      if (maxInboundMessageBytes <= 0) {
        throw new IllegalArgumentException(
            "maxInboundMessageBytes=" + maxInboundMessageBytes + " must be > 0");
      }
      this.maxInboundMessageBytes = maxInboundMessageBytes;
      return this;
    }

    /** How long stop() lets running calls finish before cancelling them; 5 s by default. */
    public Builder shutdownGraceMs(long shutdownGraceMs) {
      if (shutdownGraceMs < 0) {
        throw new IllegalArgumentException("shutdownGraceMs=" + shutdownGraceMs + " must be >= 0");
      }
      this.shutdownGraceMs = shutdownGraceMs;
      return this;
    }

    /** The version ServerMetadata reports; {@link ServerInfo#version()} by default. */
    public Builder version(String version) {
      this.version = Objects.requireNonNull(version, "version");
      return this;
    }

    /**
     * Native memory for the exact response cache, in bytes; 0 (the default) means no cache. Only
     * models whose config sets {@code response_cache=true} use it.
     */
    public Builder responseCacheBytes(long responseCacheBytes) {
      if (responseCacheBytes < 0) {
        throw new IllegalArgumentException(
            "responseCacheBytes=" + responseCacheBytes + " must be >= 0");
      }
      this.responseCacheBytes = responseCacheBytes;
      return this;
    }

    /**
     * Also serve only {@code grpc.health.v1.Health} (plaintext) on {@code bind:port}, 0 for any
     * free port: kubelet gRPC probes reach it on the pod IP ({@code 0.0.0.0}) while inference stays
     * on loopback. Off by default (health is always served on the inference port too).
     */
    public Builder healthServer(String bind, int port) {
      this.healthBind = Objects.requireNonNull(bind, "bind");
      this.healthPort = checkPort("healthPort", port);
      return this;
    }

    /**
     * Expose Prometheus metrics over HTTP at {@code http://bind:port/metrics}, 0 for any free port.
     * Off by default in this builder (the CLI turns it on, port 8002).
     */
    public Builder metricsEndpoint(String bind, int port) {
      this.metricsBind = Objects.requireNonNull(bind, "bind");
      this.metricsPort = checkPort("metricsPort", port);
      return this;
    }

    /**
     * TLS (mutual when {@link ServerTls#clientCa()} is set) on the inference port; off by default.
     */
    public Builder tls(ServerTls tls) {
      this.tls = Objects.requireNonNull(tls, "tls");
      return this;
    }

    private static int checkPort(String what, int port) {
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException(what + "=" + port + " must be in [0,65535]");
      }
      return port;
    }

    /**
     * The server, not yet started.
     *
     * @throws java.io.UncheckedIOException when a TLS file is missing or unreadable (named in the
     *     message)
     */
    public InferenceServer build() {
      try {
        tlsContext = tls == null ? null : tls.sslContext();
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e.getMessage(), e);
      }
      return new InferenceServer(this);
    }
  }
}
