package io.cacheai.bundle;

import io.cacheai.graph.Graph;
import io.cacheai.proto.v1.BundleManifest;
import io.cacheai.proto.v1.Producer;
import java.nio.MappedByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * An open {@code .cai} bundle: the file mapped read-only, its manifest, its tensors as views of the
 * mapping, and the fp32 graph whose float constants are such views. Made by {@link
 * BundleReader#open}, which has checked everything before handing it out.
 *
 * <p>Lifetime contract: the bundle owns the mapping. Every {@link MappedTensor}, every buffer they
 * return and the float constants of {@link #graph()} are views of it and valid only until {@link
 * #close()}, which unmaps the file at once (see {@link MappedFiles}); touching a view afterwards
 * would read unmapped memory and crash the JVM. So close a bundle only when no model built from it
 * runs any more — a served model closes its bundle from its own {@code close()}, which the server
 * calls after the last request. {@code close()} is idempotent; after it the accessors here throw
 * {@link IllegalStateException}.
 *
 * <p>The file must not be changed in place while mapped: truncating a mapped file makes later reads
 * fault (SIGBUS), which no Java check can catch. {@link BundleWriter} never does that — it renames
 * a new file over the old one, and an open bundle keeps reading the old, unlinked file.
 */
public final class Bundle implements AutoCloseable {
  private final Path file;
  private final BundleManifest manifest;
  private final Map<String, MappedTensor> tensors;
  private final Graph graph;
  private final long sizeBytes;
  private MappedByteBuffer mapping;

  Bundle(
      Path file,
      BundleManifest manifest,
      Map<String, MappedTensor> tensors,
      Graph graph,
      long sizeBytes,
      MappedByteBuffer mapping) {
    this.file = file;
    this.manifest = manifest;
    this.tensors = tensors;
    this.graph = graph;
    this.sizeBytes = sizeBytes;
    this.mapping = mapping;
  }

  public Path file() {
    return file;
  }

  public long sizeBytes() {
    return sizeBytes;
  }

  /** The parsed manifest (a heap object, valid after close too). */
  public BundleManifest manifest() {
    return manifest;
  }

  public Producer producer() {
    return manifest.getProducer();
  }

  /** Every stored tensor's name, in manifest order. */
  public List<String> tensorNames() {
    checkOpen();
    return List.copyOf(tensors.keySet());
  }

  public Optional<MappedTensor> findTensor(String name) {
    checkOpen();
    return Optional.ofNullable(tensors.get(name));
  }

  /** The tensor called {@code name}; throws naming the stored tensors when there is none. */
  public MappedTensor tensor(String name) {
    return findTensor(name)
        .orElseThrow(
            () ->
                new IllegalArgumentException(
                    "bundle "
                        + file
                        + " has no tensor '"
                        + name
                        + "'; it has "
                        + tensors.keySet()));
  }

  /** The graph, its float constants views of the mapping (no weights on the heap). */
  public Graph graph() {
    checkOpen();
    return graph;
  }

  public synchronized boolean isOpen() {
    return mapping != null;
  }

  /** Unmaps the file; later calls do nothing. See the lifetime contract above. */
  @Override
  public synchronized void close() {
    MappedByteBuffer toUnmap = mapping;
    mapping = null;
    MappedFiles.unmap(toUnmap);
  }

  private synchronized void checkOpen() {
    if (mapping == null) {
      throw new IllegalStateException("bundle " + file + " is closed");
    }
  }

  @Override
  public String toString() {
    return "bundle " + file + " (" + sizeBytes + " bytes, " + tensors.size() + " tensors)";
  }
}
