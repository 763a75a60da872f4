package io.cacheai.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.onnxruntime.OrtException;
import io.cacheai.client.InferRequest;
import io.cacheai.client.InferResult;
import io.cacheai.client.InferenceClient;
import io.cacheai.client.InferenceException;
import io.cacheai.client.ModelMetadata;
import io.cacheai.ocr.OrtModel;
import io.cacheai.ocr.PpOcrModels;
import io.cacheai.ocr.TextLineRenderer;
import io.grpc.Status;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The OCR model kind end to end: a repository directory laid out as tools/ocr/fetch-ppocr.sh lays
 * it out ({@code kind=ocr_recognizer}), loaded with ONNX Runtime as the recognizer (our executor
 * takes over once it imports PP-OCRv4), served on loopback, called through the Java client SDK with
 * PNG bytes.
 */
class OcrServeTest {
  @TempDir static Path repositoryDir;
  private static ModelRepository repository;
  private static InferenceServer server;
  private static InferenceClient client;

  /** Loads model.onnx files with ONNX Runtime. */
  static final ModelLoader ORT_LOADER =
      (name, file) -> {
        try {
          return new OrtModel(Files.readAllBytes(file));
        } catch (OrtException e) {
          throw new IOException("model '" + name + "': " + e.getMessage(), e);
        }
      };

  /** The same model on our own executor, served once the importer claims all its ops. */
  static final String OURS = "ppocr-rec-cacheai";

  private static Set<String> missingOps;

  @BeforeAll
  static void start() throws Exception {
    PpOcrModels.writeRepositoryModel(repositoryDir, "ppocr-rec", "max_width=1600\n");
    missingOps = PpOcrModels.missingOps();
    if (missingOps.isEmpty()) {
      PpOcrModels.writeRepositoryModel(repositoryDir, OURS, "");
    }
    ModelLoader onnx = new OnnxModelLoader();
    repository =
        ModelRepository.load(
            repositoryDir,
            (name, file) ->
                name.equals(OURS) ? onnx.load(name, file) : ORT_LOADER.load(name, file));
    assertThat(repository.failures()).isEmpty();
    server = InferenceServer.builder(repository).bind("127.0.0.1").port(0).build().start();
    client = InferenceClient.builder().target("127.0.0.1:" + server.port()).build();
  }

  @AfterAll
  static void stop() throws Exception {
    client.close();
    server.stop();
    repository.close();
  }

  private static byte[] line(String text, long seed) {
    return new TextLineRenderer(seed).render(text).png();
  }

  @Test
  void metadata_describesImageInTextOut() {
    ModelMetadata metadata = client.modelMetadata("ppocr-rec");
    assertThat(metadata.platform()).isEqualTo("ocr_ctc+onnxruntime_fp32");
    assertThat(metadata.input("image").orElseThrow().datatype()).isEqualTo("BYTES");
    assertThat(metadata.input("image").orElseThrow().shape()).containsExactly(-1);
    assertThat(metadata.input("x").orElseThrow().shape()).containsExactly(-1, 3, 48, -1);
    assertThat(metadata.output("text").orElseThrow().datatype()).isEqualTo("BYTES");
    assertThat(metadata.output("confidence").orElseThrow().shape()).containsExactly(-1, -1);
    assertThat(metadata.output("mean_confidence").orElseThrow().datatype()).isEqualTo("FP32");
  }

  @Test
  void infer_pngOfAmoxicillin_readsItTypedAndRaw() {
    byte[] png = line("Amoxicillin 500mg", 7);
    for (boolean raw : new boolean[] {false, true}) {
      InferResult result =
          client.infer(
              InferRequest.builder("ppocr-rec")
                  .rawInputs(raw)
                  .addBytes("image", new long[] {1}, List.of(png))
                  .build());
      assertThat(result.rawOutputs()).isEqualTo(raw);
      assertThat(new String(result.asBytes("text").get(0), StandardCharsets.UTF_8))
          .isEqualTo("Amoxicillin 500mg");
      assertThat(result.shape("confidence")).containsExactly(1, 17);
      assertThat(result.asFloats("mean_confidence")[0]).isGreaterThan(0.9f);
    }
  }

  @Test
  void infer_onOurExecutor_pngOfAmoxicillinReadsAsIt() {
    Assumptions.assumeTrue(
        missingOps.isEmpty(),
        "PP-OCRv4 rec needs ops the importer does not claim yet: " + missingOps);
    assertThat(client.modelMetadata(OURS).platform()).isEqualTo("ocr_ctc+onnx_fp32");
    InferResult result =
        client.infer(
            InferRequest.builder(OURS)
                .addBytes("image", new long[] {1}, List.of(line("Amoxicillin 500mg", 7)))
                .build());
    assertThat(new String(result.asBytes("text").get(0), StandardCharsets.UTF_8))
        .isEqualTo("Amoxicillin 500mg");
  }

  @Test
  void infer_batchOfThree_textsInRequestOrder() {
    List<String> lines = List.of("Rx #30", "Take 2 tablets at bedtime", "Ibuprofen 200 mg");
    List<byte[]> pngs =
        List.of(line(lines.get(0), 1), line(lines.get(1), 2), line(lines.get(2), 3));
    InferResult result =
        client.infer(
            InferRequest.builder("ppocr-rec").addBytes("image", new long[] {3}, pngs).build());
    assertThat(result.asBytes("text"))
        .extracting(b -> new String(b, StandardCharsets.UTF_8))
        .containsExactlyElementsOf(lines);
  }

  @Test
  void infer_badPng_invalidArgumentNamingInput_thenServes() {
    byte[] png = line("Rx #30", 4);
    byte[] broken = java.util.Arrays.copyOf(png, 40);
    assertThatThrownBy(
            () ->
                client.infer(
                    InferRequest.builder("ppocr-rec")
                        .addBytes("image", new long[] {2}, List.of(png, broken))
                        .build()))
        .isInstanceOfSatisfying(
            InferenceException.class,
            e -> assertThat(e.code()).isEqualTo(Status.Code.INVALID_ARGUMENT))
        .hasMessageContaining("input 'image'[1]: undecodable image");
    assertThatThrownBy(
            () ->
                client.infer(
                    InferRequest.builder("ppocr-rec")
                        .addBytes("image", new long[] {1}, List.of("not a png".getBytes()))
                        .build()))
        .isInstanceOfSatisfying(
            InferenceException.class,
            e -> assertThat(e.code()).isEqualTo(Status.Code.INVALID_ARGUMENT))
        .hasMessageContaining("input 'image'[0]: not an image");
    InferResult result =
        client.infer(
            InferRequest.builder("ppocr-rec")
                .addBytes("image", new long[] {1}, List.of(png))
                .build());
    assertThat(new String(result.asBytes("text").get(0), StandardCharsets.UTF_8))
        .isEqualTo("Rx #30");
  }
}
