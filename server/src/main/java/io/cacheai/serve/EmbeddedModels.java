package io.cacheai.serve;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.logging.Logger;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The models shipped inside the jar, served when no repository directory is given.
 *
 * <p>A jar cannot be listed portably, so the resource {@value #INDEX} names the embedded models,
 * one {@code <name>/<version>} per line ({@code #} starts a comment). Each one is the resource
 * {@code io/cacheai/models/<name>/<version>/model.cai} (a bundle) or {@code model.onnx}, with an
 * optional {@code io/cacheai/models/<name>/config.properties}. They are copied into a fresh
 * temporary directory in the repository layout and loaded by {@link ModelRepository#load} through
 * the same {@link ModelLoader} as any repository, so embedded and on-disk models behave alike. The
 * directory is deleted when the returned repository is closed. An indexed model whose resource is
 * missing is reported in {@link ModelRepository#failures()}, like any model that fails to load.
 */
public final class EmbeddedModels {
  /** The classpath directory holding the embedded models. */
  public static final String ROOT = "io/cacheai/models/";

  /** The index resource listing {@code <name>/<version>} lines. */
  public static final String INDEX = ROOT + "index.txt";

  private static final Logger log = Logger.getLogger(EmbeddedModels.class.getName());
  private static final Pattern ENTRY = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*/[0-9]{1,18}");

  private EmbeddedModels() {}

  /** Loads the models the index of this class's class loader names. */
  public static ModelRepository load(ModelLoader loader) throws IOException {
    return load(loader, EmbeddedModels.class.getClassLoader());
  }

  /** Loads the models the index found through {@code classLoader} names. */
  public static ModelRepository load(ModelLoader loader, ClassLoader classLoader)
      throws IOException {
    List<String> entries = readIndex(classLoader);
    Path directory = Files.createTempDirectory("cacheai-models-");
    try {
      List<LoadFailure> missing = extract(entries, classLoader, directory);
      return ModelRepository.load(directory, loader, missing, () -> deleteTree(directory));
    } catch (IOException | RuntimeException e) {
      deleteTree(directory);
      throw e;
    }
  }

  /** The {@code <name>/<version>} entries of the index, in file order. */
  static List<String> readIndex(ClassLoader classLoader) throws IOException {
    try (InputStream in = classLoader.getResourceAsStream(INDEX)) {
      if (in == null) {
        throw new IOException("classpath resource " + INDEX + " not found");
      }
      List<String> entries = new ArrayList<>();
      BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
      int lineNumber = 0;
      for (String line; (line = reader.readLine()) != null; ) {
        lineNumber++;
        String entry = line.replaceFirst("#.*", "").trim();
        if (entry.isEmpty()) {
          continue;
        }
        if (!ENTRY.matcher(entry).matches()) {
          throw new IOException(
              INDEX + " line " + lineNumber + ": '" + entry + "' is not <name>/<version>");
        }
        entries.add(entry);
      }
      return entries;
    }
  }

  private static List<LoadFailure> extract(
      List<String> entries, ClassLoader classLoader, Path directory) throws IOException {
    List<LoadFailure> missing = new ArrayList<>();
    for (String entry : entries) {
      String name = entry.substring(0, entry.indexOf('/'));
      String version = entry.substring(entry.indexOf('/') + 1);
      // A bundle is preferred, as in a repository directory: model.cai, else model.onnx.
      String fileName = ModelRepository.BUNDLE_FILE;
      if (classLoader.getResource(ROOT + entry + "/" + fileName) == null) {
        fileName = ModelRepository.MODEL_FILE;
      }
      String resource = ROOT + entry + "/" + fileName;
      try (InputStream in = classLoader.getResourceAsStream(resource)) {
        if (in == null) {
          missing.add(
              new LoadFailure(name, version, "embedded resource " + resource + " not found"));
          continue;
        }
        Path versionDir = Files.createDirectories(directory.resolve(name).resolve(version));
        Files.copy(in, versionDir.resolve(fileName));
      }
      String configResource = ROOT + name + "/" + ModelConfig.FILE_NAME;
      Path configFile = directory.resolve(name).resolve(ModelConfig.FILE_NAME);
      try (InputStream in = classLoader.getResourceAsStream(configResource)) {
        if (in != null && !Files.exists(configFile)) {
          Files.copy(in, configFile);
        }
      }
    }
    return missing;
  }

  private static void deleteTree(Path directory) {
    try (Stream<Path> paths = Files.walk(directory)) {
      paths.sorted(Comparator.reverseOrder()).forEach(EmbeddedModels::delete);
    } catch (IOException | UncheckedIOException e) {
      log.warning("could not delete " + directory + ": " + e.getMessage());
    }
  }

  private static void delete(Path path) {
    try {
      Files.deleteIfExists(path);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
