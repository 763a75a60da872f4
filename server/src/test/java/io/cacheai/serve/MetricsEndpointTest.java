package io.cacheai.serve;

import static io.cacheai.serve.OipRequests.affineTyped;
import static org.assertj.core.api.Assertions.assertThat;

import inference.GRPCInferenceServiceGrpc;
import inference.GRPCInferenceServiceGrpc.GRPCInferenceServiceBlockingStub;
import io.cacheai.runtime.LookupHitRatios;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** /metrics scraped over HTTP on loopback after a known sequence of ModelInfer calls. */
class MetricsEndpointTest {
  private static ModelRepository repository() {
    return ModelRepository.of(
        List.of(new ServedModel("affine", 1, new AffineModel(), ModelConfig.DEFAULT)));
  }

  @Test
  void scrape_afterKnownRequests_countsByModelVersionAndCode() throws Exception {
    try (ModelRepository repository = repository();
        InferenceServer server =
            InferenceServer.builder(repository)
                .port(0)
                .metricsEndpoint("127.0.0.1", 0)
                .build()
                .start()) {
      ManagedChannel channel =
          NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
      try {
        GRPCInferenceServiceBlockingStub stub =
            GRPCInferenceServiceGrpc.newBlockingStub(channel)
                .withDeadlineAfter(20, TimeUnit.SECONDS);
        MetricsScrape before = MetricsScrape.get(server.metricsPort());
        assertThat(before.value("cacheai_models_loaded")).isEqualTo(1);
        assertThat(before.text).doesNotContain("cacheai_inference_requests_total{");

        for (int i = 0; i < 3; i++) {
          stub.modelInfer(affineTyped("", 1, 2, 3, i).build());
        }
        for (int i = 0; i < 2; i++) {
          InferenceServiceTest.assertStatusCode(
              () -> stub.modelInfer(affineTyped("1", Float.NaN, 0, 0, 0).build()),
              Status.Code.INVALID_ARGUMENT);
        }
        InferenceServiceTest.assertStatusCode(
            () -> stub.modelInfer(affineTyped("", 1, 2, 3, 4).setModelName("nope").build()),
            Status.Code.NOT_FOUND);

        MetricsScrape after = MetricsScrape.get(server.metricsPort());
        Map<String, String> affine = Map.of("model", "affine", "version", "1");
        assertThat(after.value("cacheai_inference_requests_total", with(affine, "code", "OK")))
            .isEqualTo(3);
        assertThat(
                after.value(
                    "cacheai_inference_requests_total", with(affine, "code", "INVALID_ARGUMENT")))
            .isEqualTo(2);
        assertThat(
                after.value(
                    "cacheai_inference_requests_total",
                    Map.of("model", "", "version", "", "code", "NOT_FOUND")))
            .isEqualTo(1);
        assertThat(after.value("cacheai_inference_request_duration_seconds_count", affine))
            .isEqualTo(5);
        assertThat(
                after.value(
                    "cacheai_inference_request_duration_seconds_bucket",
                    with(affine, "le", "+Inf")))
            .isEqualTo(5);
        double sumSeconds = after.value("cacheai_inference_request_duration_seconds_sum", affine);
        assertThat(sumSeconds).isPositive().isLessThan(20);
        assertThat(after.value("cacheai_inference_requests_in_flight")).isZero();
        assertThat(after.value("process_resident_memory_bytes")).isGreaterThan(1 << 20);
        assertThat(after.value("jvm_memory_used_bytes", Map.of("area", "heap"))).isPositive();
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }

  @Test
  void requestId_givenByClient_isEchoedInResponseHeaders() throws Exception {
    try (ModelRepository repository = repository();
        InferenceServer server = InferenceServer.builder(repository).port(0).build().start()) {
      ManagedChannel channel =
          NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
      try {
        Metadata sent = new Metadata();
        sent.put(RequestIds.HEADER, "req-42");
        AtomicReference<Metadata> headers = new AtomicReference<>();
        AtomicReference<Metadata> trailers = new AtomicReference<>();
        var stub =
            GRPCInferenceServiceGrpc.newBlockingStub(channel)
                .withInterceptors(
                    MetadataUtils.newAttachHeadersInterceptor(sent),
                    MetadataUtils.newCaptureMetadataInterceptor(headers, trailers));
        stub.modelInfer(affineTyped("", 1, 2, 3, 4).build());
        assertThat(headers.get().get(RequestIds.HEADER)).isEqualTo("req-42");

        var plain =
            GRPCInferenceServiceGrpc.newBlockingStub(channel)
                .withInterceptors(MetadataUtils.newCaptureMetadataInterceptor(headers, trailers));
        plain.modelInfer(affineTyped("", 1, 2, 3, 4).build());
        assertThat(headers.get().get(RequestIds.HEADER)).matches("[0-9a-f]{16}");
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }

  /** An affine model that also reports lookup hit ratios, as a Cache AI runtime would. */
  private static final class LookupModel implements io.cacheai.runtime.Model, LookupHitRatios {
    private final AffineModel affine = new AffineModel();

    @Override
    public Map<String, Double> lookupKeyHitRatios() {
      return Map.of("encoder.0", 0.75, "encoder.1", 0.5);
    }

    @Override
    public String platform() {
      return affine.platform();
    }

    @Override
    public List<io.cacheai.runtime.TensorSpec> inputs() {
      return affine.inputs();
    }

    @Override
    public List<io.cacheai.runtime.TensorSpec> outputs() {
      return affine.outputs();
    }

    @Override
    public Map<String, io.cacheai.runtime.Tensor> infer(
        Map<String, io.cacheai.runtime.Tensor> inputs) {
      return affine.infer(inputs);
    }

    @Override
    public void close() {
      affine.close();
    }
  }

  @Test
  void scrape_modelReportingLookupHitRatios_gaugePerLayer() throws Exception {
    try (ModelRepository repository =
            ModelRepository.of(
                List.of(
                    new ServedModel("lookup", 3, new LookupModel(), ModelConfig.DEFAULT),
                    new ServedModel("affine", 1, new AffineModel(), ModelConfig.DEFAULT)));
        InferenceServer server =
            InferenceServer.builder(repository)
                .port(0)
                .metricsEndpoint("127.0.0.1", 0)
                .build()
                .start()) {
      MetricsScrape scrape = MetricsScrape.get(server.metricsPort());
      Map<String, String> lookup = Map.of("model", "lookup", "version", "3");
      assertThat(scrape.value("cacheai_lookup_key_hit_ratio", with(lookup, "layer", "encoder.0")))
          .isEqualTo(0.75);
      assertThat(scrape.value("cacheai_lookup_key_hit_ratio", with(lookup, "layer", "encoder.1")))
          .isEqualTo(0.5);
      assertThat(scrape.samples)
          .filteredOn(sample -> sample.name().equals("cacheai_lookup_key_hit_ratio"))
          .hasSize(2); // nothing for the affine model
      // No response cache configured: no cache series.
      assertThat(scrape.text).doesNotContain("cacheai_response_cache_");
    }
  }

  @Test
  void metricsOff_byDefault_noEndpoint() throws Exception {
    try (ModelRepository repository = repository();
        InferenceServer server = InferenceServer.builder(repository).port(0).build().start()) {
      assertThat(server.metricsPort()).isEqualTo(-1);
      assertThat(server.metrics()).isSameAs(ServingMetrics.NONE);
    }
  }

  private static Map<String, String> with(Map<String, String> labels, String key, String value) {
    var copy = new java.util.TreeMap<>(labels);
    copy.put(key, value);
    return copy;
  }
}
