package io.cacheai.cli;

import io.cacheai.client.InferRequest;
import io.cacheai.client.InferResult;
import io.cacheai.client.InferenceClient;
import io.cacheai.client.InferenceException;
import io.cacheai.client.ModelMetadata;
import io.cacheai.client.TensorMetadata;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code cacheai infer}: sends files to a running server through the Java client SDK and prints one
 * line per file on stdout. What is sent depends on the model's metadata:
 *
 * <ul>
 *   <li>a model with a BYTES input (an OCR recognizer): the file's bytes, one image per request;
 *       prints {@code <file>\t<text>\t<mean confidence>};
 *   <li>a model with an FP32 {@code [N,C,H,W]} input, C = 1 or 3 (an image classifier such as
 *       {@code mnist-cnn}): the image decoded, resized to H×W, grey (C = 1) or RGB, pixel / 255;
 *       prints {@code <file>\t<top class>\t<its output value>};
 *   <li>{@code --raw-tensor FILE --shape 1,1,28,28}, any model: the file's little-endian FP32
 *       values as the input, raw; prints each output as {@code
 *       <name>\t<DATATYPE>\t<shape>\t<values>}.
 * </ul>
 *
 * <p>A file the server refuses is reported on stderr ({@code cacheai: infer: <file>: CODE: ...})
 * and the others are still sent; the exit code is then 1.
 */
@Command(
    name = "infer",
    mixinStandardHelpOptions = true,
    description = "Send images (or a raw FP32 tensor) to a running server and print the results.")
final class InferCommand implements Callable<Integer> {
  /** File name endings read as images when a directory is given. */
  static final Set<String> IMAGE_SUFFIXES =
      Set.of(".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff");

  @Spec private CommandSpec spec;

  @Option(names = "--model", required = true, description = "Model name on the server.")
  private String model;

  @Option(
      names = "--model-version",
      defaultValue = "",
      description = "Model version (default: the server's newest).")
  private String modelVersion;

  @Option(
      names = "--host",
      defaultValue = "127.0.0.1",
      description = "Server host (default: ${DEFAULT-VALUE}).")
  private String host;

  @Option(
      names = "--port",
      defaultValue = "8001",
      description = "Server port (default: ${DEFAULT-VALUE}).")
  private int port;

  @Option(
      names = "--input",
      description = "Input name (default: the model's BYTES input, else its FP32 input).")
  private String inputName;

  @Option(
      names = "--raw-tensor",
      paramLabel = "FILE",
      description = "Send FILE's little-endian FP32 values (needs --shape).")
  private Path rawTensor;

  @Option(
      names = "--shape",
      split = ",",
      paramLabel = "DIM",
      description = "Shape of --raw-tensor, e.g. 1,1,28,28.")
  private long[] shape;

  @Option(
      names = "--max-values",
      defaultValue = "64",
      description = "Values printed per output with --raw-tensor (default: ${DEFAULT-VALUE}).")
  private int maxValues;

  @Option(
      names = "--timeout-ms",
      defaultValue = "30000",
      description = "Deadline of each request, ms (default: ${DEFAULT-VALUE}).")
  private long timeoutMs;

  @Parameters(paramLabel = "FILE_OR_DIR", arity = "0..*", description = "Images, or directories.")
  private List<Path> paths = new ArrayList<>();

  @Override
  public Integer call() throws IOException {
    checkOptions();
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    try (InferenceClient client =
        InferenceClient.builder()
            .target(host + ":" + port)
            .defaultDeadline(Duration.ofMillis(timeoutMs))
            .build()) {
      ModelMetadata metadata = client.modelMetadata(model, modelVersion);
      if (rawTensor != null) {
        printOutputs(out, client.infer(rawRequest(metadata)));
        out.flush();
        return 0;
      }
      return sendImages(client, metadata, out, err);
    }
  }

  private void checkOptions() {
    if (port < 1 || port > 65535) {
      throw new ParameterException(spec.commandLine(), "--port=" + port + " must be in [1,65535]");
    }
    if (timeoutMs < 1) {
      throw new ParameterException(
          spec.commandLine(), "--timeout-ms=" + timeoutMs + " must be >= 1");
    }
    if (rawTensor != null && shape == null) {
      throw new ParameterException(
          spec.commandLine(), "--raw-tensor needs --shape, e.g. 1,1,28,28");
    }
    if (rawTensor == null && shape != null) {
      throw new ParameterException(spec.commandLine(), "--shape applies only to --raw-tensor");
    }
    if (rawTensor != null && !paths.isEmpty()) {
      throw new ParameterException(
          spec.commandLine(), "give --raw-tensor or image files, not both");
    }
    if (rawTensor == null && paths.isEmpty()) {
      throw new ParameterException(
          spec.commandLine(), "give at least one image file or directory, or --raw-tensor");
    }
  }

  private InferRequest rawRequest(ModelMetadata metadata) throws IOException {
    TensorMetadata input = chooseInput(metadata, "FP32");
    long elements = 1;
    for (long dim : shape) {
      if (dim < 0) {
        throw new ParameterException(
            spec.commandLine(), "--shape " + Arrays.toString(shape) + " has a negative dimension");
      }
      elements = Math.multiplyExact(elements, dim);
    }
    long sizeBytes = Files.size(rawTensor);
    if (sizeBytes != elements * Float.BYTES) {
      throw new IOException(
          "--raw-tensor "
              + rawTensor
              + " has "
              + sizeBytes
              + " bytes, --shape "
              + Arrays.toString(shape)
              + " needs "
              + elements * Float.BYTES
              + " (FP32, little-endian)");
    }
    float[] values = new float[(int) elements];
    ByteBuffer.wrap(Files.readAllBytes(rawTensor))
        .order(ByteOrder.LITTLE_ENDIAN)
        .asFloatBuffer()
        .get(values);
    return InferRequest.builder(model)
        .version(modelVersion)
        .rawInputs(true)
        .addFp32(input.name(), shape, values)
        .build();
  }

  private int sendImages(
      InferenceClient client, ModelMetadata metadata, PrintWriter out, PrintWriter err)
      throws IOException {
    TensorMetadata input = chooseInput(metadata, hasInput(metadata, "BYTES") ? "BYTES" : "FP32");
    boolean ocr = input.datatype().equals("BYTES");
    ImageClassifierInput classifier = ocr ? null : ImageClassifierInput.forInput(input, model);
    int failures = 0;
    for (Path file : imageFiles()) {
      try {
        byte[] bytes = Files.readAllBytes(file);
        InferRequest.Builder request = InferRequest.builder(model).version(modelVersion);
        if (ocr) {
          request.addBytes(input.name(), new long[] {1}, List.of(bytes));
        } else {
          request
              .rawInputs(true)
              .addFp32(input.name(), classifier.shape(), classifier.pixels(bytes));
        }
        InferResult result = client.infer(request.build());
        out.println(file + "\t" + (ocr ? ocrLine(result) : classLine(result)));
        out.flush();
      } catch (InferenceException | IllegalArgumentException | UncheckedIOException e) {
        // One file failing (refused by the server, not an image) does not stop the others.
        failures++;
        err.println("cacheai: infer: " + file + ": " + e.getMessage());
        err.flush();
      }
    }
    return failures == 0 ? 0 : 1;
  }

  /** {@code <text>\t<mean confidence>} from an OCR result. */
  private static String ocrLine(InferResult result) {
    if (!result.outputNames().contains("text") || !"BYTES".equals(result.datatype("text"))) {
      throw new IllegalArgumentException(
          "model answered outputs " + result.outputNames() + ", none is BYTES 'text'");
    }
    String text = new String(result.asBytes("text").get(0), StandardCharsets.UTF_8);
    float mean = Float.NaN;
    if (result.outputNames().contains("mean_confidence")) {
      mean = result.asFloats("mean_confidence")[0];
    }
    return text + "\t" + String.format(Locale.ROOT, "%.4f", mean);
  }

  /** {@code <top class>\t<value>} from the first FP32 output of a classifier. */
  private static String classLine(InferResult result) {
    String output =
        result.outputNames().stream()
            .filter(name -> "FP32".equals(result.datatype(name)))
            .findFirst()
            .orElseThrow(
                () ->
                    new IllegalArgumentException(
                        "model answered outputs " + result.outputNames() + ", none is FP32"));
    float[] values = result.asFloats(output);
    if (values.length == 0) {
      throw new IllegalArgumentException("output '" + output + "' is empty");
    }
    int best = 0;
    for (int i = 1; i < values.length; i++) {
      best = values[i] > values[best] ? i : best;
    }
    return best + "\t" + String.format(Locale.ROOT, "%.4f", values[best]);
  }

  private void printOutputs(PrintWriter out, InferResult result) {
    for (String name : result.outputNames()) {
      String datatype = result.datatype(name);
      List<String> values = new ArrayList<>();
      switch (datatype) {
        case "FP32" -> {
          for (float v : result.asFloats(name)) {
            values.add(Float.toString(v));
          }
        }
        case "INT64" -> {
          for (long v : result.asLongs(name)) {
            values.add(Long.toString(v));
          }
        }
        case "BYTES" ->
            result.asBytes(name).forEach(b -> values.add(new String(b, StandardCharsets.UTF_8)));
        default -> values.add("(" + datatype + " not printed)");
      }
      String shown = String.join(" ", values.subList(0, Math.min(values.size(), maxValues)));
      if (values.size() > maxValues) {
        shown += " ... (" + (values.size() - maxValues) + " more)";
      }
      out.println(
          name + "\t" + datatype + "\t" + Arrays.toString(result.shape(name)) + "\t" + shown);
    }
  }

  private static boolean hasInput(ModelMetadata metadata, String datatype) {
    return metadata.inputs().stream().anyMatch(t -> t.datatype().equals(datatype));
  }

  private TensorMetadata chooseInput(ModelMetadata metadata, String datatype) {
    if (inputName != null) {
      Optional<TensorMetadata> named = metadata.input(inputName);
      if (named.isEmpty()) {
        throw new ParameterException(
            spec.commandLine(),
            "--input="
                + inputName
                + ": model "
                + model
                + " has inputs "
                + metadata.inputs().stream().map(TensorMetadata::name).toList());
      }
      return named.get();
    }
    return metadata.inputs().stream()
        .filter(t -> t.datatype().equals(datatype))
        .findFirst()
        .orElseThrow(
            () ->
                new IllegalArgumentException(
                    "model "
                        + model
                        + " has no "
                        + datatype
                        + " input (inputs "
                        + metadata.inputs()
                        + "); use --raw-tensor"));
  }

  /** The files named, directories expanded to their image files (sorted, not recursive). */
  private List<Path> imageFiles() throws IOException {
    List<Path> files = new ArrayList<>();
    for (Path path : paths) {
      if (Files.isDirectory(path)) {
        try (Stream<Path> entries = Files.list(path)) {
          entries
              .filter(Files::isRegularFile)
              .filter(p -> IMAGE_SUFFIXES.stream().anyMatch(s -> lowerName(p).endsWith(s)))
              .sorted()
              .forEach(files::add);
        }
      } else if (Files.isRegularFile(path)) {
        files.add(path);
      } else {
        throw new IOException("no such file or directory: " + path);
      }
    }
    return files;
  }

  private static String lowerName(Path path) {
    return path.getFileName().toString().toLowerCase(Locale.ROOT);
  }
}
