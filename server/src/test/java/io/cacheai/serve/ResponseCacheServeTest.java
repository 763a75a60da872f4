package io.cacheai.serve;

import static io.cacheai.serve.OipRequests.affineRaw;
import static io.cacheai.serve.OipRequests.affineTyped;
import static io.cacheai.serve.OipRequests.floats;
import static io.cacheai.serve.OipRequests.typedOutput;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import inference.GRPCInferenceServiceGrpc;
import inference.GrpcService.ModelInferRequest;
import inference.GrpcService.ModelInferResponse;
import inference.GrpcService.ModelStatisticsRequest;
import io.cacheai.data.MnistDataset;
import io.cacheai.ocr.PpOcrModels;
import io.cacheai.ocr.PrescriptionLines;
import io.cacheai.ocr.TextLineRenderer;
import io.cacheai.runtime.Model;
import io.cacheai.runtime.Tensor;
import io.cacheai.runtime.TensorSpec;
import io.cacheai.serve.cache.CacheStats;
import io.cacheai.serve.cache.ResponseCache;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/** The response cache wired into the server, over a real loopback socket. */
class ResponseCacheServeTest {
  /** Counts how often the model really runs. */
  private static final class CountingModel implements Model {
    final Model inner;
    final AtomicInteger runs = new AtomicInteger();

    CountingModel(Model inner) {
      this.inner = inner;
    }

    @Override
    public String platform() {
      return inner.platform();
    }

    @Override
    public List<TensorSpec> inputs() {
      return inner.inputs();
    }

    @Override
    public List<TensorSpec> outputs() {
      return inner.outputs();
    }

    @Override
    public Map<String, Tensor> infer(Map<String, Tensor> inputs) {
      runs.incrementAndGet();
      return inner.infer(inputs);
    }

    @Override
    public void close() {
      inner.close();
    }
  }

  private static final ModelConfig CACHED = ModelConfig.DEFAULT.withResponseCache(true);

  @Test
  void modelInfer_sameRequestTwice_secondIsAHitWithIdenticalResponse() throws Exception {
    CountingModel cached = new CountingModel(new AffineModel());
    CountingModel uncached = new CountingModel(new AffineModel());
    try (ModelRepository repository =
        ModelRepository.of(
            List.of(
                new ServedModel("affine", 1, cached, CACHED),
                new ServedModel("plain", 1, uncached, ModelConfig.DEFAULT)))) {
      InferenceServer server =
          InferenceServer.builder(repository).port(0).responseCacheBytes(1 << 20).build().start();
      ManagedChannel channel =
          NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
      try {
        var stub = GRPCInferenceServiceGrpc.newBlockingStub(channel);
        CachedResponses cache = server.responseCache().orElseThrow();
        ServedModel served = repository.find("affine", "").orElseThrow();

        ModelInferResponse first = stub.modelInfer(affineTyped("", 1, 2, 3, 4).setId("a").build());
        ModelInferResponse second = stub.modelInfer(affineTyped("", 1, 2, 3, 4).setId("a").build());
        assertThat(typedOutput(first, 0)).containsExactly(3, 5, 7, 9);
        assertThat(second).isEqualTo(first);
        assertThat(cached.runs.get()).isEqualTo(1);
        assertThat(cache.countsFor(served)).isEqualTo(new CachedResponses.ModelCounts(1, 1));

        // The id is the request's own, never the cached one's.
        ModelInferResponse otherId =
            stub.modelInfer(affineTyped("", 1, 2, 3, 4).setId("b").build());
        assertThat(otherId.getId()).isEqualTo("b");
        assertThat(otherId.toBuilder().setId("a").build()).isEqualTo(first);
        assertThat(cached.runs.get()).isEqualTo(1);

        // Different input bytes, raw instead of typed, other outputs: misses, and right answers.
        ModelInferResponse different = stub.modelInfer(affineTyped("", 1, 2, 3, 5).build());
        assertThat(typedOutput(different, 0)).containsExactly(3, 5, 7, 11);
        ModelInferResponse raw = stub.modelInfer(affineRaw("", 1, 2, 3, 4).build());
        assertThat(floats(raw.getRawOutputContents(0))).containsExactly(3, 5, 7, 9);
        ModelInferRequest onlySum =
            affineTyped("", 1, 2, 3, 4)
                .addOutputs(
                    ModelInferRequest.InferRequestedOutputTensor.newBuilder().setName("sum"))
                .build();
        assertThat(typedOutput(stub.modelInfer(onlySum), 0)).containsExactly(10);
        assertThat(cached.runs.get()).isEqualTo(4);
        assertThat(stub.modelInfer(affineRaw("", 1, 2, 3, 4).build())).isEqualTo(raw);
        assertThat(cached.runs.get()).isEqualTo(4);

        // A model without response_cache=true always runs.
        stub.modelInfer(affineTyped("", 1, 2, 3, 4).setModelName("plain").build());
        stub.modelInfer(affineTyped("", 1, 2, 3, 4).setModelName("plain").build());
        assertThat(uncached.runs.get()).isEqualTo(2);

        // Errors are not cached: the crash input fails both times.
        for (int i = 0; i < 2; i++) {
          assertThatThrownBy(
                  () -> stub.modelInfer(affineTyped("", AffineModel.CRASH, 0, 0, 0).build()))
              .hasMessageContaining("INTERNAL");
        }
        var modelStats =
            stub.modelStatistics(
                    ModelStatisticsRequest.newBuilder().setName("affine").setVersion("1").build())
                .getModelStats(0);
        assertThat(modelStats.getInferenceStats().getCacheHit().getCount()).isEqualTo(3);
        assertThat(modelStats.getInferenceStats().getCacheHit().getNs()).isPositive();
        assertThat(modelStats.getInferenceStats().getCacheMiss().getCount()).isEqualTo(4);
        assertThat(modelStats.getInferenceStats().getSuccess().getCount()).isEqualTo(7);
        assertThat(modelStats.getInferenceStats().getFail().getCount()).isEqualTo(2);
        assertThat(modelStats.getExecutionCount()).isEqualTo(4); // the misses; hits never run

        CacheStats stats = cache.stats();
        assertThat(stats.hits()).isEqualTo(3);
        assertThat(stats.entries()).isEqualTo(4);
        assertThat(stats.usedBytes()).isPositive().isLessThanOrEqualTo(1 << 20);
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
      server.stop();
      assertThat(server.responseCache().orElseThrow().stats().allocatedBytes()).isZero();
    }
  }

  @Test
  void builder_noCapacity_noCache() throws Exception {
    try (ModelRepository repository =
        ModelRepository.of(List.of(new ServedModel("affine", 1, new AffineModel(), CACHED)))) {
      InferenceServer server = InferenceServer.builder(repository).port(0).build();
      assertThat(server.responseCache()).isEmpty();
    }
  }

  @Test
  void parse_responseCache_acceptsTrueFalseOnly() {
    Properties properties = new Properties();
    assertThat(ModelConfig.parse(properties, "c").responseCache()).isFalse();
    properties.setProperty("response_cache", "true");
    assertThat(ModelConfig.parse(properties, "c").responseCache()).isTrue();
    properties.setProperty("response_cache", "yes");
    assertThatThrownBy(() -> ModelConfig.parse(properties, "c"))
        .hasMessageContaining("response_cache=yes must be true or false");
  }

  /**
   * Hit vs miss latency of the MNIST CNN through the server over loopback; a measurement, not a
   * timed test: run with {@code -Dcacheai.measure=true}. Misses use a different test image every
   * call (the cache never saw it); hits repeat one image.
   */
  @Test
  @EnabledIfSystemProperty(named = "cacheai.measure", matches = "true")
  void measure_mnistCnn_hitVersusMissLatency(@TempDir Path dir) throws Exception {
    Path versionDir = Files.createDirectories(dir.resolve("mnist-cnn/1"));
    try (InputStream in =
        getClass()
            .getClassLoader()
            .getResourceAsStream(EmbeddedModels.ROOT + "mnist-cnn/1/model.onnx")) {
      Files.copy(in, versionDir.resolve("model.onnx"));
    }
    Files.writeString(dir.resolve("mnist-cnn/config.properties"), "response_cache=true\n");
    MnistDataset test = MnistDataset.testSet(Path.of(System.getProperty("user.dir")).getParent());
    int misses = 2000;
    int hits = 2000;
    try (ModelRepository repository = ModelRepository.load(dir, new OnnxModelLoader())) {
      InferenceServer server =
          InferenceServer.builder(repository).port(0).responseCacheBytes(64L << 20).build().start();
      ManagedChannel channel =
          NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
      try {
        var stub = GRPCInferenceServiceGrpc.newBlockingStub(channel);
        ModelInferRequest[] requests = new ModelInferRequest[misses + 1];
        for (int i = 0; i <= misses; i++) {
          requests[i] = mnistRequest(test.slice(i % test.count(), 1));
        }
        for (int i = 0; i < 500; i++) { // warm-up: JIT, both paths
          stub.modelInfer(requests[misses]);
          stub.modelInfer(mnistRequest(test.slice(9000 + i, 1)));
        }
        long[] missNanos = new long[misses];
        for (int i = 0; i < misses; i++) {
          long t0 = System.nanoTime();
          stub.modelInfer(requests[i]);
          missNanos[i] = System.nanoTime() - t0;
        }
        long[] hitNanos = new long[hits];
        for (int i = 0; i < hits; i++) {
          long t0 = System.nanoTime();
          stub.modelInfer(requests[i % 100]);
          hitNanos[i] = System.nanoTime() - t0;
        }
        Arrays.sort(missNanos);
        Arrays.sort(hitNanos);
        double missUs = missNanos[misses / 2] / 1e3;
        double hitUs = hitNanos[hits / 2] / 1e3;
        System.out.printf(
            "mnist-cnn over loopback gRPC: miss p50 %.1f us, hit p50 %.1f us, ratio %.2f; %s%n",
            missUs, hitUs, missUs / hitUs, server.responseCache().orElseThrow().stats());
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        server.stop();
      }
      // The same in process, without the transport: what the cache itself saves.
      try (CachedResponses cache = new CachedResponses(ResponseCache.withCapacity(64L << 20))) {
        InferenceService service = new InferenceService(repository, "measure", cache);
        ModelInferResponse[] last = new ModelInferResponse[1];
        StreamObserver<ModelInferResponse> sink =
            new StreamObserver<>() {
              @Override
              public void onNext(ModelInferResponse value) {
                last[0] = value;
              }

              @Override
              public void onError(Throwable t) {
                throw new AssertionError(t);
              }

              @Override
              public void onCompleted() {}
            };
        for (int i = 0; i < 500; i++) {
          service.modelInfer(mnistRequest(test.slice(0, 1)), sink);
          service.modelInfer(mnistRequest(test.slice(9000 + i, 1)), sink);
        }
        long[] missNanos = new long[misses];
        ModelInferRequest[] requests = new ModelInferRequest[misses];
        for (int i = 0; i < misses; i++) {
          requests[i] = mnistRequest(test.slice(1 + i, 1));
        }
        for (int i = 0; i < misses; i++) {
          long t0 = System.nanoTime();
          service.modelInfer(requests[i], sink);
          missNanos[i] = System.nanoTime() - t0;
        }
        long[] hitNanos = new long[hits];
        for (int i = 0; i < hits; i++) {
          long t0 = System.nanoTime();
          service.modelInfer(requests[i % 100], sink);
          hitNanos[i] = System.nanoTime() - t0;
        }
        Arrays.sort(missNanos);
        Arrays.sort(hitNanos);
        double missUs = missNanos[misses / 2] / 1e3;
        double hitUs = hitNanos[hits / 2] / 1e3;
        System.out.printf(
            "mnist-cnn in process (InferenceService): miss p50 %.1f us, hit p50 %.1f us, ratio %.2f%n",
            missUs, hitUs, missUs / hitUs);
        assertThat(last[0].getOutputs(0).getContents().getFp32ContentsCount()).isEqualTo(10);
      }
    }
  }

  /**
   * Hit vs miss latency of PP-OCRv4 rec (ONNX Runtime as the recognizer, our OCR wrapper around it)
   * through the server, one PNG text line per request; opt-in like the MNIST measurement. Misses
   * are lines never sent before.
   */
  @Test
  @EnabledIfSystemProperty(named = "cacheai.measure", matches = "true")
  void measure_ocr_hitVersusMissLatency(@TempDir Path dir) throws Exception {
    PpOcrModels.writeRepositoryModel(dir, "ppocr-rec", "response_cache=true\n");
    int misses = 60;
    int hits = 600;
    List<byte[]> lines = new java.util.ArrayList<>();
    List<String> texts = PrescriptionLines.generate(misses + 10, 11);
    for (int i = 0; i < misses + 10; i++) {
      lines.add(new TextLineRenderer(i).render(texts.get(i)).png());
    }
    try (ModelRepository repository = ModelRepository.load(dir, OcrServeTest.ORT_LOADER)) {
      InferenceServer server =
          InferenceServer.builder(repository).port(0).responseCacheBytes(64L << 20).build().start();
      ManagedChannel channel =
          NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
      try {
        var stub = GRPCInferenceServiceGrpc.newBlockingStub(channel);
        for (int i = misses; i < misses + 10; i++) { // warm-up: 10 misses, then their hits
          stub.modelInfer(ocrRequest(lines.get(i)));
          stub.modelInfer(ocrRequest(lines.get(i)));
        }
        long[] missNanos = new long[misses];
        String[] missTexts = new String[misses];
        for (int i = 0; i < misses; i++) {
          long t0 = System.nanoTime();
          ModelInferResponse response = stub.modelInfer(ocrRequest(lines.get(i)));
          missNanos[i] = System.nanoTime() - t0;
          missTexts[i] = response.getOutputs(0).getContents().getBytesContents(0).toStringUtf8();
        }
        long[] hitNanos = new long[hits];
        for (int i = 0; i < hits; i++) {
          long t0 = System.nanoTime();
          ModelInferResponse response = stub.modelInfer(ocrRequest(lines.get(i % misses)));
          hitNanos[i] = System.nanoTime() - t0;
          assertThat(response.getOutputs(0).getContents().getBytesContents(0).toStringUtf8())
              .isEqualTo(missTexts[i % misses]);
        }
        Arrays.sort(missNanos);
        Arrays.sort(hitNanos);
        double missUs = missNanos[misses / 2] / 1e3;
        double hitUs = hitNanos[hits / 2] / 1e3;
        System.out.printf(
            "ppocr-rec (ORT) over loopback gRPC, PNG line: miss p50 %.1f us, hit p50 %.1f us,"
                + " ratio %.1f; %s%n",
            missUs, hitUs, missUs / hitUs, server.responseCache().orElseThrow().stats());
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        server.stop();
      }
    }
  }

  private static ModelInferRequest ocrRequest(byte[] png) {
    ModelInferRequest.Builder request = ModelInferRequest.newBuilder().setModelName("ppocr-rec");
    request
        .addInputsBuilder()
        .setName("image")
        .setDatatype("BYTES")
        .addShape(1)
        .getContentsBuilder()
        .addBytesContents(com.google.protobuf.ByteString.copyFrom(png));
    return request.build();
  }

  private static ModelInferRequest mnistRequest(float[] pixels) {
    ModelInferRequest.Builder request = ModelInferRequest.newBuilder().setModelName("mnist-cnn");
    request
        .addInputsBuilder()
        .setName("input")
        .setDatatype("FP32")
        .addAllShape(List.of(1L, 1L, 28L, 28L))
        .getContentsBuilder()
        .addAllFp32Contents(
            () ->
                new java.util.Iterator<Float>() {
                  int i;

                  @Override
                  public boolean hasNext() {
                    return i < pixels.length;
                  }

                  @Override
                  public Float next() {
                    return pixels[i++];
                  }
                });
    return request.build();
  }
}
