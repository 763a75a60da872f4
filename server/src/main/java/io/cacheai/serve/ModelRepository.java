package io.cacheai.serve;

import io.cacheai.runtime.Model;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Optional;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.regex.Pattern;

/**
 * The models a server serves, loaded once at start from a directory laid out like Triton's:
 *
 * <pre>
 * repository/
 *   mnist-mlp/                 model name (what requests put in model_name)
 *     config.properties        optional, see {@link ModelConfig}
 *     1/model.onnx             version 1
 *     2/model.onnx             version 2: the newest, served when a request gives no version
 *   mnist-cnn/
 *     1/model.onnx
 *     2/model.cai              a bundle ({@code cacheai bundle}); with model.onnx beside it,
 *                              model.cai is the one loaded
 *   ppocr-rec/
 *     config.properties        kind=ocr_recognizer, dictionary=ppocr_keys_v1.txt
 *     1/model.onnx             the recognizer, served wrapped (see {@link ModelKind})
 *     1/ppocr_keys_v1.txt
 * </pre>
 *
 * <p>Every numeric version directory is loaded and served; a request's empty {@code model_version}
 * means the highest number. Directories whose name is not a number are skipped with a warning, as
 * are hidden entries. A version that fails to load (missing file, loader error, platform not the
 * configured one) is logged and listed in {@link #failures()}, and the other versions and models
 * are served; a model whose {@code config.properties} is invalid is refused as a whole.
 *
 * <p>The repository is immutable after loading and safe to read from any thread. It owns the loaded
 * models: {@link #close()} closes each once, and must be called only when no request is running
 * (after the server has terminated). Closing twice is harmless.
 */
public final class ModelRepository implements AutoCloseable {
  /** The ONNX model file of a version directory. */
  public static final String MODEL_FILE = "model.onnx";

  /** The bundle file of a version directory; preferred over {@link #MODEL_FILE} when both exist. */
  public static final String BUNDLE_FILE = "model.cai";

  private static final Logger log = Logger.getLogger(ModelRepository.class.getName());
  private static final Pattern VERSION = Pattern.compile("[0-9]{1,18}");

  private final Map<String, NavigableMap<Long, ServedModel>> models;
  private final List<LoadFailure> failures;
  private final Runnable afterClose;
  private boolean closed;

  private ModelRepository(
      Map<String, NavigableMap<Long, ServedModel>> models,
      List<LoadFailure> failures,
      Runnable afterClose) {
    this.models = models;
    this.failures = List.copyOf(failures);
    this.afterClose = afterClose;
  }

  /** A repository over already loaded models (which it now owns); no failures. */
  public static ModelRepository of(List<ServedModel> served) {
    Map<String, NavigableMap<Long, ServedModel>> byName = new TreeMap<>();
    for (ServedModel model : served) {
      ServedModel previous =
          byName.computeIfAbsent(model.name(), n -> new TreeMap<>()).put(model.version(), model);
      if (previous != null) {
        throw new IllegalArgumentException("model " + model + " given twice");
      }
    }
    return new ModelRepository(byName, List.of(), () -> {});
  }

  /**
   * Loads every model version under {@code directory} through {@code loader}.
   *
   * @throws IOException when {@code directory} is not a readable directory (individual models that
   *     fail are reported in {@link #failures()} instead)
   */
  public static ModelRepository load(Path directory, ModelLoader loader) throws IOException {
    return load(directory, loader, List.of(), () -> {});
  }

  /**
   * As {@link #load(Path, ModelLoader)}, adding {@code earlierFailures} (found before loading, e.g.
   * missing embedded resources) to the report and running {@code afterClose} once the models are
   * closed (e.g. to delete a temporary directory).
   */
  static ModelRepository load(
      Path directory, ModelLoader loader, List<LoadFailure> earlierFailures, Runnable afterClose)
      throws IOException {
    if (!Files.isDirectory(directory)) {
      throw new IOException("model repository " + directory + " is not a directory");
    }
    Map<String, NavigableMap<Long, ServedModel>> byName = new TreeMap<>();
    List<LoadFailure> failures = new ArrayList<>(earlierFailures);
    for (Path modelDir : sortedEntries(directory)) {
      String name = modelDir.getFileName().toString();
      if (name.startsWith(".") || !Files.isDirectory(modelDir)) {
        continue;
      }
      NavigableMap<Long, ServedModel> versions = loadModel(name, modelDir, loader, failures);
      if (!versions.isEmpty()) {
        byName.put(name, versions);
      }
    }
    for (LoadFailure failure : failures) {
      log.warning("model not served: " + failure);
    }
    return new ModelRepository(byName, failures, afterClose);
  }

  private static NavigableMap<Long, ServedModel> loadModel(
      String name, Path modelDir, ModelLoader loader, List<LoadFailure> failures)
      throws IOException {
    NavigableMap<Long, ServedModel> versions = new TreeMap<>();
    ModelConfig config;
    try {
      config = ModelConfig.read(modelDir);
    } catch (IllegalArgumentException | IOException e) {
      failures.add(new LoadFailure(name, "", "invalid config: " + e.getMessage()));
      return versions;
    }
    for (Path versionDir : sortedEntries(modelDir)) {
      String dirName = versionDir.getFileName().toString();
      if (!Files.isDirectory(versionDir) || dirName.startsWith(".")) {
        continue;
      }
      if (!VERSION.matcher(dirName).matches()) {
        log.warning(
            "model " + name + ": skipping directory '" + dirName + "' (not a numeric version)");
        continue;
      }
      long version = Long.parseLong(dirName);
      if (versions.containsKey(version)) {
        // "01" and "1" name the same version.
        failures.add(new LoadFailure(name, dirName, "version " + version + " given twice"));
        continue;
      }
      try {
        versions.put(version, loadVersion(name, version, versionDir, config, loader));
      } catch (IOException | RuntimeException e) {
        log.log(Level.FINE, "loading " + name + "/" + dirName + " failed", e);
        String reason = e.getMessage() == null ? e.toString() : e.getMessage();
        failures.add(new LoadFailure(name, dirName, reason));
      }
    }
    return versions;
  }

  private static ServedModel loadVersion(
      String name, long version, Path versionDir, ModelConfig config, ModelLoader loader)
      throws IOException {
    Path file = versionDir.resolve(BUNDLE_FILE);
    if (!Files.isRegularFile(file)) {
      file = versionDir.resolve(MODEL_FILE);
    }
    if (!Files.isRegularFile(file)) {
      throw new IOException("no " + MODEL_FILE + " or " + BUNDLE_FILE + " in " + versionDir);
    }
    Model loaded = loader.load(name, file);
    if (loaded == null) {
      throw new IOException("loader returned no model for " + file);
    }
    Model model = config.kind().wrap(loaded, versionDir, config.kindSettings());
    if (config.platform().isPresent() && !config.platform().get().equals(model.platform())) {
      model.close();
      throw new IllegalArgumentException(
          "platform="
              + model.platform()
              + " of the loaded model differs from "
              + ModelConfig.PLATFORM
              + "="
              + config.platform().get()
              + " in "
              + ModelConfig.FILE_NAME);
    }
    return new ServedModel(name, version, model, config);
  }

  /** The names of the served models, sorted. */
  public SortedSet<String> names() {
    return Collections.unmodifiableSortedSet(new TreeSet<>(models.keySet()));
  }

  /** The served versions of {@code name}, ascending; empty when the model is not served. */
  public SortedSet<Long> versions(String name) {
    NavigableMap<Long, ServedModel> versions = models.get(name);
    return versions == null
        ? Collections.emptySortedSet()
        : Collections.unmodifiableSortedSet(new TreeSet<>(versions.keySet()));
  }

  /**
   * The served model {@code name} at {@code version}: the newest when {@code version} is empty,
   * nothing when the model or that version is not served (including a version that is not a
   * number).
   */
  public Optional<ServedModel> find(String name, String version) {
    NavigableMap<Long, ServedModel> versions = models.get(name);
    if (versions == null) {
      return Optional.empty();
    }
    if (version.isEmpty()) {
      return Optional.of(versions.lastEntry().getValue());
    }
    if (!VERSION.matcher(version).matches()) {
      return Optional.empty();
    }
    return Optional.ofNullable(versions.get(Long.parseLong(version)));
  }

  /** Every served model version, by name then ascending version. */
  public List<ServedModel> all() {
    List<ServedModel> all = new ArrayList<>();
    models.values().forEach(versions -> all.addAll(versions.values()));
    return all;
  }

  /** Whether no model is served at all. */
  public boolean isEmpty() {
    return models.isEmpty();
  }

  /** The versions found but not served, with the reason for each. */
  public List<LoadFailure> failures() {
    return failures;
  }

  /** Closes every served model once; later calls do nothing. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    for (ServedModel served : all()) {
      try {
        served.model().close();
      } catch (RuntimeException e) {
        log.log(Level.WARNING, "closing model " + served + " failed", e);
      }
    }
    afterClose.run();
  }

  private static List<Path> sortedEntries(Path directory) throws IOException {
    List<Path> entries = new ArrayList<>();
    try (DirectoryStream<Path> stream = Files.newDirectoryStream(directory)) {
      stream.forEach(entries::add);
    }
    Collections.sort(entries);
    return entries;
  }
}
