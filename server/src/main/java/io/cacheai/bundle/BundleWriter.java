package io.cacheai.bundle;

import io.cacheai.graph.ConstTensor;
import io.cacheai.graph.Graph;
import io.cacheai.graph.Shapes;
import io.cacheai.proto.v1.BundleManifest;
import io.cacheai.proto.v1.BundleTensor;
import io.cacheai.proto.v1.DataType;
import io.cacheai.proto.v1.Producer;
import io.cacheai.proto.v1.Quantization;
import io.cacheai.proto.v1.Section;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import java.util.zip.CRC32C;

/**
 * Writes a {@code .cai} bundle (layout: {@link BundleDescriptor}) from a graph and, optionally,
 * extra tensors such as pre-quantized weights with their scales.
 *
 * <pre>{@code
 * new BundleWriter(graph)                                   // fp32 constants -> FP32 / INT64 sections
 *     .addTensor("fc1.weight.q", DataType.INT8, new long[] {128, 784}, int8Bytes,
 *         Quantization.newBuilder()
 *             .setGranularity(Quantization.Granularity.PER_CHANNEL).setAxis(0).setBits(8)
 *             .setSymmetric(true).addAllScales(scales).build())
 *     .producer(Producer.newBuilder().setCompression("int8").build())
 *     .write(Path.of("model.cai"));
 * }</pre>
 *
 * <p>The file appears whole or not at all: it is written to a hidden temporary file in the target's
 * directory ({@code .<name>.<random hex>.tmp}), forced to disk, then renamed over the target
 * atomically (a server loading {@code model.cai} never sees half a bundle). On any failure the
 * temporary file is deleted and the target is left as it was. Data buffers are read from their
 * position to their limit, not consumed; they must not change until {@link #write} returns.
 *
 * <p>A writer killed outright (SIGKILL, power loss) cannot delete its temporary file. The file is
 * hidden, so a model repository never loads it, and the next write to the same target deletes it:
 * each writer holds an exclusive lock ({@link FileLock}, released by the OS when its process dies)
 * on its temporary file while writing, and a write first deletes the target's temporary files on
 * which it can take that lock — the ones no live process is writing.
 */
public final class BundleWriter {
  private static final int COPY_CHUNK_BYTES = 1 << 20;

  /** Temporary files this JVM is writing now: never locked or deleted by its own cleanup. */
  private static final Set<Path> WRITING = ConcurrentHashMap.newKeySet();

  private final Graph graph;
  private final List<PendingTensor> extras = new ArrayList<>();
  private final Map<String, String> metadata = new LinkedHashMap<>();
  private Producer producer = Producer.getDefaultInstance();

  /** A writer of {@code graph}: each of its constants becomes a section. */
  public BundleWriter(Graph graph) {
    this.graph = graph;
  }

  /** Adds a dense, unquantized tensor (e.g. INT32 biases). */
  public BundleWriter addTensor(String name, DataType type, long[] shape, ByteBuffer data) {
    return addTensor(name, type, shape, data, "", null);
  }

  /** Adds a dense quantized tensor (INT8, UINT8, INT4_GROUP, ...) with its parameters. */
  public BundleWriter addTensor(
      String name, DataType type, long[] shape, ByteBuffer data, Quantization quantization) {
    return addTensor(name, type, shape, data, "", quantization);
  }

  /**
   * Adds a tensor. {@code layout} empty means dense row-major, and {@code data} must then hold
   * exactly the elements' bytes; otherwise it names a kernel's packed layout and {@code data} holds
   * whatever that layout needs. {@code quantization} may be null.
   */
  public BundleWriter addTensor(
      String name,
      DataType type,
      long[] shape,
      ByteBuffer data,
      String layout,
      Quantization quantization) {
    if (BundleDataTypes.bitsPerElement(type) == 0) {
      throw new IllegalArgumentException("tensor '" + name + "': data_type=" + type + " unknown");
    }
    long count = Shapes.elementCount(shape);
    if (layout.isEmpty() && data.remaining() != BundleDataTypes.denseLengthBytes(type, count)) {
      throw new IllegalArgumentException(
          "tensor '"
              + name
              + "': "
              + data.remaining()
              + " bytes given, a dense "
              + type
              + Shapes.toString(shape)
              + " needs "
              + BundleDataTypes.denseLengthBytes(type, count));
    }
    BundleTensor.Builder tensor =
        BundleTensor.newBuilder().setName(name).setDataType(type).setLayout(layout);
    for (long dim : shape) {
      tensor.addShape(dim);
    }
    if (quantization != null) {
      tensor.setQuantization(quantization);
    }
    ByteBuffer view = data.slice();
    extras.add(new PendingTensor(tensor, () -> view));
    return this;
  }

  /** Who made the bundle, from what, how (the CLI fills the cacheai version). */
  public BundleWriter producer(Producer producer) {
    this.producer = producer;
    return this;
  }

  /** A free-form metadata entry. */
  public BundleWriter metadata(String key, String value) {
    metadata.put(key, value);
    return this;
  }

  /**
   * Writes the bundle to {@code target} (atomically, see the class comment).
   *
   * @return the bundle's size in bytes
   */
  public long write(Path target) throws IOException {
    Path absolute = target.toAbsolutePath();
    Path directory = absolute.getParent();
    String name = absolute.getFileName().toString();
    Path temp =
        directory.resolve(
            "." + name + "." + Long.toHexString(ThreadLocalRandom.current().nextLong()) + ".tmp");
    WRITING.add(temp);
    boolean done = false;
    try {
      deleteAbandonedTemps(directory, name);
      // CREATE_NEW, not Files.createTempFile: that makes the file owner-only (0600); a bundle gets
      // the usual permissions of a new file (umask), as model.onnx did.
      try (FileChannel channel =
              FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
          FileLock lock = channel.lock()) {
        long size = writeTo(channel);
        try {
          Files.move(temp, absolute, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
          throw new IOException(
              "cannot rename " + temp + " to " + absolute + " atomically: " + e.getMessage(), e);
        }
        done = true;
        syncDirectory(directory);
        return size;
      }
    } finally {
      if (!done) {
        Files.deleteIfExists(temp);
      }
      WRITING.remove(temp);
    }
  }

  /**
   * Deletes the temporary files of {@code name} in {@code directory} that their writer abandoned
   * (killed before it could delete them): those not written by this JVM on which an exclusive lock
   * can be taken. A file another live process is writing is locked by it and kept.
   */
  static void deleteAbandonedTemps(Path directory, String name) {
    Pattern pattern = Pattern.compile("\\." + Pattern.quote(name) + "\\.[0-9a-f]{1,16}\\.tmp");
    try (DirectoryStream<Path> entries =
        Files.newDirectoryStream(directory, "." + globEscape(name) + ".*.tmp")) {
      for (Path entry : entries) {
        if (!pattern.matcher(entry.getFileName().toString()).matches() || WRITING.contains(entry)) {
          continue;
        }
        try (FileChannel channel = FileChannel.open(entry, StandardOpenOption.WRITE);
            FileLock lock = channel.tryLock()) {
          if (lock != null) {
            Files.deleteIfExists(entry);
          }
        } catch (IOException | OverlappingFileLockException e) {
          // Being written, already gone, or not ours to delete: leave it.
        }
      }
    } catch (IOException | RuntimeException e) {
      // Best effort: a leftover temporary file is hidden and harmless.
    }
  }

  private static String globEscape(String name) {
    return name.replaceAll("([\\\\*?\\[\\]{}])", "\\\\$1");
  }

  private long writeTo(FileChannel channel) throws IOException {
    List<PendingTensor> tensors = new ArrayList<>();
    graph.constants().forEach((name, constant) -> tensors.add(constantTensor(name, constant)));
    tensors.addAll(extras);

    BundleManifest.Builder manifest =
        BundleManifest.newBuilder()
            .setFormatMajor(BundleDescriptor.FORMAT_MAJOR)
            .setFormatMinor(BundleDescriptor.FORMAT_MINOR);
    long position = BundleDescriptor.HEADER_LENGTH;
    for (PendingTensor tensor : tensors) {
      position = BundleDescriptor.alignedOffset(position);
      Section section = writeSection(channel, position, tensor.data().get());
      tensor.builder().setSection(manifest.getSectionsCount());
      manifest.addSections(section);
      position += section.getLengthBytes();
    }

    // The manifest is built last: sections are known, and a graph that cannot be stored fails
    // here, after the data was streamed, which the temp file makes harmless.
    Map<String, BundleTensor> byName = new LinkedHashMap<>();
    for (PendingTensor tensor : tensors) {
      BundleTensor built = tensor.builder().build();
      if (byName.put(built.getName(), built) != null) {
        throw new IllegalArgumentException("tensor name '" + built.getName() + "' used twice");
      }
      manifest.addTensors(built);
    }
    for (BundleTensor tensor : byName.values()) {
      String problem = QuantizationCheck.problem(tensor, byName);
      if (problem != null) {
        throw new IllegalArgumentException("tensor '" + tensor.getName() + "': " + problem);
      }
    }
    Producer.Builder producerBuilder = producer.toBuilder();
    manifest
        .setGraph(GraphCodec.encode(graph))
        .setProducer(producerBuilder)
        .putAllMetadata(metadata);
    byte[] manifestBytes = manifest.build().toByteArray();
    long manifestOffset = BundleDescriptor.alignedOffset(position);
    CRC32C crc = new CRC32C();
    crc.update(manifestBytes);
    writeFully(channel, ByteBuffer.wrap(manifestBytes), manifestOffset);
    long fileLength = manifestOffset + manifestBytes.length;
    ByteBuffer header =
        BundleDescriptor.writeHeader(
            fileLength,
            manifestOffset,
            manifestBytes.length,
            (int) crc.getValue(),
            manifest.getSectionsCount());
    writeFully(channel, header, 0);
    channel.force(true);
    return fileLength;
  }

  private static Section writeSection(FileChannel channel, long offset, ByteBuffer data)
      throws IOException {
    CRC32C crc = new CRC32C();
    crc.update(data.duplicate());
    writeFully(channel, data.duplicate(), offset);
    return Section.newBuilder()
        .setOffset(offset)
        .setLengthBytes(data.remaining())
        .setCrc32C((int) crc.getValue())
        .build();
  }

  private static void writeFully(FileChannel channel, ByteBuffer data, long offset)
      throws IOException {
    long position = offset;
    while (data.hasRemaining()) {
      position += channel.write(data, position);
    }
  }

  /** A graph constant as a section: floats as FP32, integers as INT64, little-endian. */
  private static PendingTensor constantTensor(String name, ConstTensor constant) {
    long[] shape = constant.shape();
    long count = Shapes.elementCount(shape);
    Supplier<ByteBuffer> bytes;
    DataType type;
    if (constant.isFloat()) {
      type = DataType.FP32;
      bytes = () -> floatBytes(constant, count);
    } else {
      type = DataType.INT64;
      bytes = () -> longBytes(constant, count);
    }
    BundleTensor.Builder tensor = BundleTensor.newBuilder().setName(name).setDataType(type);
    for (long dim : shape) {
      tensor.addShape(dim);
    }
    return new PendingTensor(tensor, bytes);
  }

  /** The constant's floats, little-endian (made when its section is written, then dropped). */
  private static ByteBuffer floatBytes(ConstTensor constant, long count) {
    ByteBuffer bytes =
        ByteBuffer.allocate(Math.toIntExact(count * Float.BYTES)).order(ByteOrder.LITTLE_ENDIAN);
    FloatBuffer source = constant.floatBuffer();
    bytes.asFloatBuffer().put(source);
    return bytes;
  }

  private static ByteBuffer longBytes(ConstTensor constant, long count) {
    ByteBuffer bytes =
        ByteBuffer.allocate(Math.toIntExact(count * Long.BYTES)).order(ByteOrder.LITTLE_ENDIAN);
    LongBuffer longs = bytes.asLongBuffer();
    longs.put(constant.longs());
    return bytes;
  }

  private static void syncDirectory(Path directory) {
    // Makes the rename itself durable; not every platform can open a directory, which is fine.
    try (FileChannel dir = FileChannel.open(directory, StandardOpenOption.READ)) {
      dir.force(true);
    } catch (IOException | RuntimeException e) {
      // Best effort.
    }
  }

  /** A tensor to write; its bytes are produced when its section is written. */
  private record PendingTensor(BundleTensor.Builder builder, Supplier<ByteBuffer> data) {}
}
