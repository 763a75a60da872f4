package io.cacheai.bench;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.cacheai.onnx.OnnxImporter;
import io.cacheai.runtime.GraphModel;
import io.cacheai.runtime.Tensor;
import java.io.IOException;
import java.io.InputStream;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;
import java.util.Random;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * One request of an embedded MNIST model, end to end from input tensor to output tensor, through
 * cacheai's executor and through ONNX Runtime (the peer) on the same inputs, one thread each.
 */
@State(Scope.Thread)
public class ModelBenchmark {
  @Param({"mnist-mlp", "mnist-cnn"})
  public String model;

  @Param({"1", "64"})
  public int batch;

  private GraphModel cacheai;
  private OrtEnvironment ortEnvironment;
  private OrtSession ortSession;
  private long[] shape;
  private float[] pixels;

  @Setup(Level.Trial)
  public void setUp() throws IOException, OrtException, io.cacheai.onnx.OnnxImportException {
    Path onnx = extractEmbeddedModel(model);
    cacheai = new GraphModel(OnnxImporter.importFile(onnx));
    ortEnvironment = OrtEnvironment.getEnvironment();
    try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
      // One thread per request on both sides: concurrency comes from requests (FACTS.md).
      options.setIntraOpNumThreads(1);
      options.setInterOpNumThreads(1);
      options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
      ortSession = ortEnvironment.createSession(onnx.toString(), options);
    }
    shape = new long[] {batch, 1, 28, 28};
    pixels = new float[batch * 28 * 28];
    Random random = new Random(7);
    for (int i = 0; i < pixels.length; i++) {
      pixels[i] = random.nextFloat();
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() throws OrtException {
    cacheai.close();
    ortSession.close();
  }

  @Benchmark
  public float[] cacheai() {
    Map<String, Tensor> out = cacheai.infer(Map.of("input", Tensor.ofFloats(shape, pixels)));
    return out.get("logits").toFloatArray();
  }

  @Benchmark
  public float[] onnxRuntime() throws OrtException {
    try (OnnxTensor input =
            OnnxTensor.createTensor(ortEnvironment, FloatBuffer.wrap(pixels), shape);
        OrtSession.Result result = ortSession.run(Map.of("input", input))) {
      FloatBuffer logits = ((OnnxTensor) result.get(0)).getFloatBuffer();
      float[] values = new float[logits.remaining()];
      logits.get(values);
      return values;
    }
  }

  static Path extractEmbeddedModel(String name) throws IOException {
    String resource = "/io/cacheai/models/" + name + "/1/model.onnx";
    Path file = Files.createTempFile("cacheai-bench-" + name, ".onnx");
    file.toFile().deleteOnExit();
    try (InputStream in = ModelBenchmark.class.getResourceAsStream(resource)) {
      if (in == null) {
        throw new IOException("embedded model missing from the classpath: " + resource);
      }
      Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
    }
    return file;
  }
}
