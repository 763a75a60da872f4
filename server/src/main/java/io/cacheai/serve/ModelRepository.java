package io.cacheai.serve;

import io.cacheai.runtime.Model;
import io.grpc.Status;
import io.grpc.StatusException;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Objects;
import java.util.Optional;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.regex.Pattern;

/**
 * The models a server serves, loaded from a directory laid out like Triton's, and loaded, reloaded
 * or unloaded while serving:
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
 * are hidden entries. At start, a version that fails to load (missing file, loader error, platform
 * not the configured one) is logged and listed in {@link #failures()}, and the other versions and
 * models are served; a model whose {@code config.properties} is invalid is refused as a whole.
 *
 * <p><b>Hot reload.</b> {@link #loadModel} re-reads one model directory: versions whose file and
 * config are unchanged are kept as they are, changed and new versions load beside the running ones,
 * then the model's version map is swapped in one volatile write. Requests hold a {@link ModelLease}
 * on the version they run on, so a replaced version finishes its requests and is closed after the
 * last one (see {@link LoadedModel}); it is never closed under a running request. A reload that
 * fails in any version changes nothing. {@link #unloadModel} removes a model the same way.
 *
 * <p>Reads ({@link #find}, {@link #acquire}, ...) take no lock: they read an immutable snapshot.
 * Loads and unloads are serialized. {@link #close()} closes every model once (after the server has
 * terminated); closing twice is harmless.
 */
public final class ModelRepository implements AutoCloseable {
  /** The ONNX model file of a version directory. */
  public static final String MODEL_FILE = "model.onnx";

  /** The bundle file of a version directory; preferred over {@link #MODEL_FILE} when both exist. */
  public static final String BUNDLE_FILE = "model.cai";

  /** Index state of a served model version (Triton's spelling). */
  public static final String READY = "READY";

  /** Index state of a model or version not served (Triton's spelling). */
  public static final String UNAVAILABLE = "UNAVAILABLE";

  private static final Logger log = Logger.getLogger(ModelRepository.class.getName());
  private static final Pattern VERSION = Pattern.compile("[0-9]{1,18}");
  private static final Pattern MODEL_NAME = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._-]{0,199}");

  /** What the repository serves at one moment; replaced whole, never changed. */
  private record State(
      Map<String, NavigableMap<Long, LoadedModel>> models,
      Map<String, List<LoadFailure>> failures,
      Map<String, String> unavailable) {}

  /** What a version was loaded from; an equal one on reload means "unchanged, keep it". */
  private record Fingerprint(ModelConfig config, Object fileKey, long sizeBytes, long modifiedMs) {}

  /** One entry of {@link #index}: a model version, or a model without a served version. */
  public record IndexEntry(String name, String version, String state, String reason) {}

  private final Path directory;
  private final ModelLoader loader;
  private final List<LoadFailure> earlierFailures;
  private final Runnable afterClose;
  private volatile State state;
  private boolean closed; // guarded by this
  private final List<Runnable> changeListeners = new java.util.concurrent.CopyOnWriteArrayList<>();

  private ModelRepository(
      Path directory,
      ModelLoader loader,
      State state,
      List<LoadFailure> earlierFailures,
      Runnable afterClose) {
    this.directory = directory;
    this.loader = loader;
    this.state = state;
    this.earlierFailures = List.copyOf(earlierFailures);
    this.afterClose = afterClose;
  }

  /** A repository over already loaded models (which it now owns); no failures, no reloads. */
  public static ModelRepository of(List<ServedModel> served) {
    Map<String, NavigableMap<Long, ServedModel>> byName = new TreeMap<>();
    for (ServedModel model : served) {
      ServedModel previous =
          byName.computeIfAbsent(model.name(), n -> new TreeMap<>()).put(model.version(), model);
      if (previous != null) {
        throw new IllegalArgumentException("model " + model + " given twice");
      }
    }
    Map<String, NavigableMap<Long, LoadedModel>> models = new TreeMap<>();
    byName.forEach(
        (name, versions) -> {
          NavigableMap<Long, LoadedModel> loaded = new TreeMap<>();
          versions.forEach((v, model) -> loaded.put(v, new LoadedModel(model, null)));
          models.put(name, Collections.unmodifiableNavigableMap(loaded));
        });
    State state = new State(sorted(models), Map.of(), Map.of());
    return new ModelRepository(null, null, state, List.of(), () -> {});
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
    Map<String, NavigableMap<Long, LoadedModel>> models = new TreeMap<>();
    Map<String, List<LoadFailure>> failures = new TreeMap<>();
    for (Path modelDir : sortedEntries(directory)) {
      String name = modelDir.getFileName().toString();
      if (name.startsWith(".") || !Files.isDirectory(modelDir)) {
        continue;
      }
      List<LoadFailure> modelFailures = new ArrayList<>();
      NavigableMap<Long, LoadedModel> versions =
          loadModelDir(name, modelDir, loader, Map.of(), modelFailures);
      if (!versions.isEmpty()) {
        models.put(name, Collections.unmodifiableNavigableMap(versions));
      }
      if (!modelFailures.isEmpty()) {
        failures.put(name, List.copyOf(modelFailures));
      }
    }
    ModelRepository repository =
        new ModelRepository(
            directory,
            loader,
            new State(sorted(models), sorted(failures), Map.of()),
            earlierFailures,
            afterClose);
    for (LoadFailure failure : repository.failures()) {
      log.warning("model not served: " + failure);
    }
    return repository;
  }

  /**
   * Loads the versions of one model directory into {@code failures}-tolerant map: a version equal
   * to one in {@code current} (same fingerprint) is reused, others are loaded.
   */
  private static NavigableMap<Long, LoadedModel> loadModelDir(
      String name,
      Path modelDir,
      ModelLoader loader,
      Map<Long, LoadedModel> current,
      List<LoadFailure> failures)
      throws IOException {
    NavigableMap<Long, LoadedModel> versions = new TreeMap<>();
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
        Fingerprint fingerprint = fingerprint(versionDir, config);
        LoadedModel existing = current.get(version);
        if (existing != null && fingerprint.equals(existing.fingerprint())) {
          versions.put(version, existing);
          continue;
        }
        ServedModel served = loadVersion(name, version, versionDir, config, loader);
        versions.put(version, new LoadedModel(served, fingerprint));
      } catch (IOException | RuntimeException e) {
        log.log(Level.FINE, "loading " + name + "/" + dirName + " failed", e);
        String reason = e.getMessage() == null ? e.toString() : e.getMessage();
        failures.add(new LoadFailure(name, dirName, reason));
      }
    }
    return versions;
  }

  /** The file a version directory is loaded from: its bundle if it has one, else its ONNX file. */
  private static Path modelFile(Path versionDir) throws IOException {
    Path file = versionDir.resolve(BUNDLE_FILE);
    if (!Files.isRegularFile(file)) {
      file = versionDir.resolve(MODEL_FILE);
    }
    if (!Files.isRegularFile(file)) {
      throw new IOException("no " + MODEL_FILE + " or " + BUNDLE_FILE + " in " + versionDir);
    }
    return file;
  }

  private static Fingerprint fingerprint(Path versionDir, ModelConfig config) throws IOException {
    Path file = modelFile(versionDir);
    BasicFileAttributes attributes = Files.readAttributes(file, BasicFileAttributes.class);
    return new Fingerprint(
        config, attributes.fileKey(), attributes.size(), attributes.lastModifiedTime().toMillis());
  }

  private static ServedModel loadVersion(
      String name, long version, Path versionDir, ModelConfig config, ModelLoader loader)
      throws IOException {
    Path file = modelFile(versionDir);
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

  /**
   * Loads model {@code name} from the repository directory, or reloads it: unchanged versions are
   * kept, changed and new ones load beside the served ones, then one atomic switch; replaced
   * versions close once their running requests are done. All or nothing: when any version (or the
   * config) fails, the newly loaded versions are closed and what was served stays served.
   *
   * @throws StatusException NOT_FOUND when the directory has no such model, INVALID_ARGUMENT when
   *     it fails to load, FAILED_PRECONDITION when the repository has no directory, its directory
   *     is gone, or it is closed
   */
  public synchronized void loadModel(String name) throws StatusException {
    Path modelDir = modelDirectory(name);
    State before = state;
    NavigableMap<Long, LoadedModel> current = before.models.getOrDefault(name, new TreeMap<>());
    List<LoadFailure> failures = new ArrayList<>();
    NavigableMap<Long, LoadedModel> versions;
    try {
      versions = loadModelDir(name, modelDir, loader, current, failures);
    } catch (IOException e) {
      throw Status.INVALID_ARGUMENT
          .withDescription("model '" + name + "': cannot read " + modelDir + ": " + e.getMessage())
          .asException();
    }
    if (versions.isEmpty() && failures.isEmpty()) {
      failures.add(new LoadFailure(name, "", "no numeric version directory with " + MODEL_FILE));
    }
    if (!failures.isEmpty()) {
      versions.values().stream()
          .filter(v -> !current.containsValue(v))
          .forEach(LoadedModel::retire);
      throw Status.INVALID_ARGUMENT
          .withDescription(
              "model '"
                  + name
                  + "' failed to load: "
                  + failures
                  + (current.isEmpty() ? "" : "; versions " + current.keySet() + " stay served"))
          .asException();
    }
    Map<String, NavigableMap<Long, LoadedModel>> models = new TreeMap<>(before.models);
    models.put(name, Collections.unmodifiableNavigableMap(versions));
    Map<String, List<LoadFailure>> allFailures = new TreeMap<>(before.failures);
    allFailures.remove(name);
    Map<String, String> unavailable = new TreeMap<>(before.unavailable);
    unavailable.remove(name);
    state = new State(sorted(models), sorted(allFailures), sorted(unavailable));
    current.values().stream().filter(v -> !versions.containsValue(v)).forEach(LoadedModel::retire);
    log.info("model " + name + " loaded, versions " + versions.keySet());
    changed();
  }

  /**
   * Stops serving model {@code name}: it disappears at once for new requests; its versions close
   * once their running requests are done. Unloading a model of the directory that is not loaded
   * does nothing.
   *
   * @throws StatusException NOT_FOUND when the model is neither loaded nor in the directory
   */
  public synchronized void unloadModel(String name) throws StatusException {
    checkOpen();
    State before = state;
    NavigableMap<Long, LoadedModel> current = before.models.get(name);
    if (current == null) {
      if (!isModelDirectory(name)) {
        throw notFound(name);
      }
      return;
    }
    Map<String, NavigableMap<Long, LoadedModel>> models = new TreeMap<>(before.models);
    models.remove(name);
    Map<String, String> unavailable = new TreeMap<>(before.unavailable);
    unavailable.put(name, "unloaded");
    state = new State(sorted(models), before.failures, sorted(unavailable));
    current.values().forEach(LoadedModel::retire);
    log.info("model " + name + " unloaded");
    changed();
  }

  /**
   * Runs {@code listener} after each successful {@link #loadModel} or {@link #unloadModel}, on the
   * thread that made it (e.g. to turn readiness on or off as the repository fills or empties).
   */
  public void onChange(Runnable listener) {
    changeListeners.add(Objects.requireNonNull(listener, "listener"));
  }

  private void changed() {
    for (Runnable listener : changeListeners) {
      try {
        listener.run();
      } catch (RuntimeException e) {
        log.log(Level.WARNING, "a repository change listener failed", e);
      }
    }
  }

  private Path modelDirectory(String name) throws StatusException {
    checkOpen();
    if (directory == null) {
      throw Status.FAILED_PRECONDITION
          .withDescription("this server's models were given at start, not read from a directory")
          .asException();
    }
    if (!Files.isDirectory(directory)) {
      // Without this, the model would be reported NOT_FOUND "not in the repository" while listed
      // as served: say what is wrong instead.
      throw Status.FAILED_PRECONDITION
          .withDescription(
              "model repository "
                  + directory
                  + " is missing or not a directory (removed while serving?): cannot load model '"
                  + name
                  + "'; the loaded models keep serving: "
                  + state.models.keySet())
          .asException();
    }
    if (!isModelDirectory(name)) {
      throw notFound(name);
    }
    return directory.resolve(name);
  }

  private boolean isModelDirectory(String name) {
    return directory != null
        && MODEL_NAME.matcher(name).matches()
        && Files.isDirectory(directory.resolve(name));
  }

  private StatusException notFound(String name) {
    return Status.NOT_FOUND
        .withDescription(
            "model '"
                + name
                + "' is not in the repository"
                + (directory == null ? "" : " " + directory)
                + "; models: "
                + allNames())
        .asException();
  }

  private void checkOpen() throws StatusException {
    if (closed) {
      throw Status.FAILED_PRECONDITION
          .withDescription("the model repository is closed")
          .asException();
    }
  }

  /** The names of the served models, sorted. */
  public SortedSet<String> names() {
    return Collections.unmodifiableSortedSet(new TreeSet<>(state.models.keySet()));
  }

  /** The served versions of {@code name}, ascending; empty when the model is not served. */
  public SortedSet<Long> versions(String name) {
    NavigableMap<Long, LoadedModel> versions = state.models.get(name);
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
    return findLoaded(state, name, version).map(LoadedModel::served);
  }

  private static Optional<LoadedModel> findLoaded(State state, String name, String version) {
    NavigableMap<Long, LoadedModel> versions = state.models.get(name);
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

  /**
   * A lease on the served model {@code name} at {@code version} ("" = newest), which stays open
   * until the lease is closed, even if a reload replaces it meanwhile; empty when not served.
   */
  Optional<ModelLease> acquire(String name, String version) {
    for (int attempt = 0; attempt < 100; attempt++) {
      Optional<LoadedModel> found = findLoaded(state, name, version);
      if (found.isEmpty()) {
        return Optional.empty();
      }
      if (found.get().tryRetain()) {
        return Optional.of(new ModelLease(found.get()));
      }
      // Retired between the read and the retain: the replacement is already published.
      Thread.onSpinWait();
    }
    return Optional.empty();
  }

  /** The loaded versions of {@code name} (all models when empty), by name then version. */
  List<LoadedModel> loaded(String name) {
    List<LoadedModel> loaded = new ArrayList<>();
    state.models.forEach(
        (n, versions) -> {
          if (name.isEmpty() || n.equals(name)) {
            loaded.addAll(versions.values());
          }
        });
    return loaded;
  }

  /** Every served model version, by name then ascending version. */
  public List<ServedModel> all() {
    return loaded("").stream().map(LoadedModel::served).toList();
  }

  /** Whether no model is served at all. */
  public boolean isEmpty() {
    return state.models.isEmpty();
  }

  /**
   * The versions found but not served, with the reason for each: at start, or (for a model loaded
   * since) in its last successful load.
   */
  public List<LoadFailure> failures() {
    List<LoadFailure> all = new ArrayList<>(earlierFailures);
    state.failures.values().forEach(all::addAll);
    return all;
  }

  /**
   * Every model the repository knows: each served version as {@link #READY}; versions that failed
   * to load, and models unloaded or not loaded, as {@link #UNAVAILABLE} with the reason. Sorted by
   * name, then version.
   */
  public List<IndexEntry> index() {
    State now = state;
    SortedSet<String> names = new TreeSet<>(allNames());
    List<IndexEntry> entries = new ArrayList<>();
    for (String name : names) {
      NavigableMap<Long, LoadedModel> versions = now.models.get(name);
      List<LoadFailure> failed = new ArrayList<>(now.failures.getOrDefault(name, List.of()));
      earlierFailures.stream().filter(f -> f.model().equals(name)).forEach(failed::add);
      if (versions != null) {
        versions.keySet().forEach(v -> entries.add(new IndexEntry(name, v.toString(), READY, "")));
      }
      for (LoadFailure failure : failed) {
        entries.add(new IndexEntry(name, failure.version(), UNAVAILABLE, failure.reason()));
      }
      if (versions == null && failed.isEmpty()) {
        entries.add(
            new IndexEntry(
                name, "", UNAVAILABLE, now.unavailable.getOrDefault(name, "not loaded")));
      }
    }
    return entries;
  }

  private SortedSet<String> allNames() {
    State now = state;
    SortedSet<String> names = new TreeSet<>(now.models.keySet());
    names.addAll(now.failures.keySet());
    names.addAll(now.unavailable.keySet());
    earlierFailures.forEach(f -> names.add(f.model()));
    if (directory != null) {
      try {
        for (Path entry : sortedEntries(directory)) {
          String name = entry.getFileName().toString();
          if (!name.startsWith(".") && Files.isDirectory(entry)) {
            names.add(name);
          }
        }
      } catch (IOException e) {
        log.warning("cannot list the model repository " + directory + ": " + e.getMessage());
      }
    }
    return names;
  }

  /** Closes every served model once; later calls do nothing. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    State before = state;
    state = new State(Map.of(), before.failures, before.unavailable);
    before.models.values().forEach(versions -> versions.values().forEach(LoadedModel::retire));
    afterClose.run();
  }

  /** An unmodifiable copy that keeps the keys sorted (Map.copyOf would not). */
  private static <V> Map<String, V> sorted(Map<String, V> map) {
    return Collections.unmodifiableMap(new TreeMap<>(map));
  }

  private static List<Path> sortedEntries(Path directory) throws IOException {
    List<Path> entries = new ArrayList<>();
    try (DirectoryStream<Path> stream = Files.newDirectoryStream(directory)) {
      stream.forEach(entries::add);
    }
    Collections.sort(entries);
    return entries;
  }

  @Override
  public String toString() {
    return "ModelRepository " + Objects.requireNonNullElse(directory, "(given models)");
  }
}
