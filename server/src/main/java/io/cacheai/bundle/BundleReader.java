package io.cacheai.bundle;

import static io.cacheai.bundle.BundleDescriptor.HEADER_LENGTH;

import com.google.protobuf.InvalidProtocolBufferException;
import io.cacheai.graph.ConstTensor;
import io.cacheai.graph.Graph;
import io.cacheai.proto.v1.BundleManifest;
import io.cacheai.proto.v1.BundleTensor;
import io.cacheai.proto.v1.DataType;
import io.cacheai.proto.v1.Section;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32C;

/**
 * Opens {@code .cai} bundles (layout: {@link BundleDescriptor}), checking every number the file
 * holds before it is used, so that a corrupt, truncated or foreign file is refused with one {@link
 * BundleFormatException} naming the field, never an out-of-bounds access or a JVM crash later.
 *
 * <p>In order: the header is <em>read</em> (64 bytes, not mapped) and its magic, format major
 * version, checksum, header length, file length (against the real size: truncation) and manifest
 * bounds are checked; then the manifest is read and its checksum and protobuf checked; then every
 * section's bounds (inside the data area, 64-byte aligned, no overlap) and every tensor's length
 * (dense: element count × element size) — all before the file is mapped. Only then is the file
 * mapped read-only, and each section's CRC-32C verified once over the mapping; that pass is the
 * only cost that grows with the file (≈ the time to read it from the page cache; see the README).
 */
public final class BundleReader {
  private BundleReader() {}

  /** Opens, checks and maps {@code file}. The caller owns the returned bundle and closes it. */
  public static Bundle open(Path file) throws IOException {
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
      long size = channel.size();
      ByteBuffer header = readHeader(file, channel, size);
      long manifestOffset = BundleDescriptor.manifestOffset(header);
      long manifestLength = BundleDescriptor.manifestLength(header);
      BundleManifest manifest = readManifest(file, channel, header, manifestOffset, manifestLength);
      checkSections(file, manifest, BundleDescriptor.dataOffset(header), manifestOffset);
      checkTensors(file, manifest);
      checkQuantization(file, manifest);
      if (size > Integer.MAX_VALUE) {
        throw new BundleFormatException(
            file,
            "fileLength="
                + size
                + " exceeds the "
                + Integer.MAX_VALUE
                + " bytes one mapping can hold (bundles over 2 GiB are not supported yet)");
      }

      MappedByteBuffer mapping = MappedFiles.mapReadOnly(channel, file, 0, size);
      try {
        Map<String, MappedTensor> tensors = verifyAndSlice(file, manifest, mapping);
        Graph graph = decodeGraph(file, manifest, tensors);
        return new Bundle(file, manifest, tensors, graph, size, mapping);
      } catch (IOException | RuntimeException e) {
        MappedFiles.unmap(mapping);
        throw e;
      }
    }
  }

  private static ByteBuffer readHeader(Path file, FileChannel channel, long size)
      throws IOException {
    if (size < HEADER_LENGTH) {
      throw new BundleFormatException(
          file, "fileLength=" + size + " is shorter than the " + HEADER_LENGTH + "-byte header");
    }
    ByteBuffer header = ByteBuffer.allocate(HEADER_LENGTH).order(ByteOrder.LITTLE_ENDIAN);
    readFully(channel, header, 0);
    if (!BundleDescriptor.hasMagic(header)) {
      throw new BundleFormatException(
          file,
          "magic="
              + BundleDescriptor.magicHex(header)
              + " is not a cacheai bundle (expected "
              + BundleDescriptor.expectedMagic()
              + ")");
    }
    int major = BundleDescriptor.formatMajor(header);
    int minor = BundleDescriptor.formatMinor(header);
    if (major != BundleDescriptor.FORMAT_MAJOR) {
      throw new BundleFormatException(
          file,
          "formatVersion="
              + major
              + "."
              + minor
              + " is not supported (this cacheai reads "
              + BundleDescriptor.FORMAT_MAJOR
              + ".x; "
              + (major > BundleDescriptor.FORMAT_MAJOR
                  ? "rebuild the bundle with this version or upgrade cacheai)"
                  : "rebuild the bundle)"));
    }
    int storedCrc = BundleDescriptor.headerCrc32c(header);
    int computedCrc = BundleDescriptor.computeHeaderCrc32c(header);
    if (storedCrc != computedCrc) {
      throw new BundleFormatException(
          file,
          "headerCrc32c="
              + hex(storedCrc)
              + ", computed "
              + hex(computedCrc)
              + " (corrupt header)");
    }
    long headerLength = BundleDescriptor.headerLength(header);
    if (headerLength != HEADER_LENGTH) {
      throw new BundleFormatException(
          file, "headerLength=" + headerLength + ", expected " + HEADER_LENGTH);
    }
    long fileLength = BundleDescriptor.fileLength(header);
    if (fileLength != size) {
      throw new BundleFormatException(
          file,
          "fileLength="
              + Long.toUnsignedString(fileLength)
              + " in the header but the file has "
              + size
              + " bytes ("
              + (size < fileLength ? "truncated" : "trailing bytes")
              + ")");
    }
    long dataOffset = BundleDescriptor.dataOffset(header);
    if (dataOffset != HEADER_LENGTH) {
      throw new BundleFormatException(
          file, "dataOffset=" + Long.toUnsignedString(dataOffset) + ", expected " + HEADER_LENGTH);
    }
    long manifestOffset = BundleDescriptor.manifestOffset(header);
    long manifestLength = BundleDescriptor.manifestLength(header);
    if (manifestOffset < dataOffset
        || manifestOffset > size
        || manifestLength < 0
        || manifestLength > BundleDescriptor.MAX_MANIFEST_LENGTH
        || manifestOffset + manifestLength != size) {
      throw new BundleFormatException(
          file,
          "manifestOffset="
              + Long.toUnsignedString(manifestOffset)
              + " manifestLength="
              + Long.toUnsignedString(manifestLength)
              + " must end the "
              + size
              + "-byte file, start at or after dataOffset="
              + dataOffset
              + " and be at most "
              + BundleDescriptor.MAX_MANIFEST_LENGTH
              + " bytes");
    }
    return header;
  }

  private static BundleManifest readManifest(
      Path file, FileChannel channel, ByteBuffer header, long offset, long length)
      throws IOException {
    ByteBuffer bytes = ByteBuffer.allocate((int) length);
    readFully(channel, bytes, offset);
    bytes.flip();
    CRC32C crc = new CRC32C();
    crc.update(bytes.duplicate());
    int stored = BundleDescriptor.manifestCrc32c(header);
    if ((int) crc.getValue() != stored) {
      throw new BundleFormatException(
          file,
          "manifestCrc32c="
              + hex(stored)
              + ", computed "
              + hex((int) crc.getValue())
              + " (corrupt manifest)");
    }
    BundleManifest manifest;
    try {
      manifest = BundleManifest.parseFrom(bytes);
    } catch (InvalidProtocolBufferException e) {
      throw new BundleFormatException(file, "manifest is not valid protobuf: " + e.getMessage(), e);
    }
    int major = BundleDescriptor.formatMajor(header);
    int minor = BundleDescriptor.formatMinor(header);
    if (manifest.getFormatMajor() != major || manifest.getFormatMinor() != minor) {
      throw new BundleFormatException(
          file,
          "manifest format_major.format_minor="
              + manifest.getFormatMajor()
              + "."
              + manifest.getFormatMinor()
              + " differs from the header's "
              + major
              + "."
              + minor);
    }
    long sectionCount = BundleDescriptor.sectionCount(header);
    if (manifest.getSectionsCount() != sectionCount) {
      throw new BundleFormatException(
          file,
          "sectionCount="
              + sectionCount
              + " in the header but the manifest lists "
              + manifest.getSectionsCount());
    }
    return manifest;
  }

  /** Each section inside [dataOffset, manifestOffset), aligned, and no two overlapping. */
  private static void checkSections(
      Path file, BundleManifest manifest, long dataOffset, long manifestOffset)
      throws BundleFormatException {
    List<Integer> byOffset = new ArrayList<>();
    for (int i = 0; i < manifest.getSectionsCount(); i++) {
      Section section = manifest.getSections(i);
      long offset = section.getOffset();
      long length = section.getLengthBytes();
      // Unsigned 64-bit values read as negative longs when huge: both fail the checks below.
      if (!BundleDescriptor.isAligned(offset)) {
        throw new BundleFormatException(
            file,
            "section "
                + i
                + ": offset="
                + Long.toUnsignedString(offset)
                + " is not a multiple of "
                + BundleDescriptor.SECTION_ALIGNMENT
                + " (misaligned)");
      }
      if (offset < dataOffset
          || length < 0
          || offset > manifestOffset
          || length > manifestOffset - offset) {
        throw new BundleFormatException(
            file,
            "section "
                + i
                + ": offset="
                + Long.toUnsignedString(offset)
                + " lengthBytes="
                + Long.toUnsignedString(length)
                + " is outside the data area ["
                + dataOffset
                + ", "
                + manifestOffset
                + ") (out of bounds)");
      }
      byOffset.add(i);
    }
    byOffset.sort(Comparator.comparingLong(i -> manifest.getSections(i).getOffset()));
    for (int k = 1; k < byOffset.size(); k++) {
      Section previous = manifest.getSections(byOffset.get(k - 1));
      Section next = manifest.getSections(byOffset.get(k));
      if (previous.getOffset() + previous.getLengthBytes() > next.getOffset()) {
        throw new BundleFormatException(
            file,
            "section "
                + byOffset.get(k - 1)
                + " (offset="
                + previous.getOffset()
                + " lengthBytes="
                + previous.getLengthBytes()
                + ") overlaps section "
                + byOffset.get(k)
                + " (offset="
                + next.getOffset()
                + ")");
      }
    }
  }

  /** Unique names, known types, valid shapes, a section each, dense lengths that match. */
  private static void checkTensors(Path file, BundleManifest manifest)
      throws BundleFormatException {
    Map<String, Integer> seen = new LinkedHashMap<>();
    for (int i = 0; i < manifest.getTensorsCount(); i++) {
      BundleTensor tensor = manifest.getTensors(i);
      String where = "tensor " + i + " '" + tensor.getName() + "'";
      if (seen.put(tensor.getName(), i) != null) {
        throw new BundleFormatException(file, where + ": name used twice");
      }
      DataType type = tensor.getDataType();
      if (BundleDataTypes.bitsPerElement(type) == 0) {
        throw new BundleFormatException(
            file,
            where
                + ": data_type="
                + type
                + " is not known (known: FP32, INT8, UINT8, INT32, INT64, FP16, INT4_GROUP,"
                + " INT3_GROUP)");
      }
      long count = 1;
      for (long dim : tensor.getShapeList()) {
        if (dim < 0) {
          throw new BundleFormatException(file, where + ": shape=" + tensor.getShapeList());
        }
        try {
          count = Math.multiplyExact(count, dim);
        } catch (ArithmeticException e) {
          throw new BundleFormatException(
              file, where + ": shape=" + tensor.getShapeList() + " overflows");
        }
      }
      int sectionIndex = tensor.getSection();
      if (sectionIndex < 0 || sectionIndex >= manifest.getSectionsCount()) {
        throw new BundleFormatException(
            file,
            where
                + ": section="
                + Integer.toUnsignedString(sectionIndex)
                + " but there are "
                + manifest.getSectionsCount()
                + " sections");
      }
      long length = manifest.getSections(sectionIndex).getLengthBytes();
      long expected = BundleDataTypes.denseLengthBytes(type, count);
      if (tensor.getLayout().isEmpty() && length != expected) {
        throw new BundleFormatException(
            file,
            where
                + ": section "
                + sectionIndex
                + " lengthBytes="
                + length
                + " but a dense "
                + type
                + tensor.getShapeList()
                + " needs "
                + expected);
      }
    }
  }

  /** Each tensor's quantization parameters agree with its type and shape. */
  private static void checkQuantization(Path file, BundleManifest manifest)
      throws BundleFormatException {
    Map<String, BundleTensor> byName = new LinkedHashMap<>();
    manifest.getTensorsList().forEach(t -> byName.put(t.getName(), t));
    for (int i = 0; i < manifest.getTensorsCount(); i++) {
      String problem = QuantizationCheck.problem(manifest.getTensors(i), byName);
      if (problem != null) {
        throw new BundleFormatException(
            file, "tensor " + i + " '" + manifest.getTensors(i).getName() + "': " + problem);
      }
    }
  }

  /** Verifies each section's checksum over the mapping and makes the tensors' views. */
  private static Map<String, MappedTensor> verifyAndSlice(
      Path file, BundleManifest manifest, MappedByteBuffer mapping) throws BundleFormatException {
    ByteBuffer[] sections = new ByteBuffer[manifest.getSectionsCount()];
    String[] owners = new String[sections.length];
    for (BundleTensor tensor : manifest.getTensorsList()) {
      owners[tensor.getSection()] = tensor.getName();
    }
    CRC32C crc = new CRC32C();
    for (int i = 0; i < sections.length; i++) {
      Section section = manifest.getSections(i);
      ByteBuffer view =
          mapping
              .slice((int) section.getOffset(), (int) section.getLengthBytes())
              .asReadOnlyBuffer()
              .order(ByteOrder.LITTLE_ENDIAN);
      crc.reset();
      crc.update(view.duplicate());
      if ((int) crc.getValue() != section.getCrc32C()) {
        throw new BundleFormatException(
            file,
            "section "
                + i
                + (owners[i] == null ? "" : " (tensor '" + owners[i] + "')")
                + ": crc32c="
                + hex(section.getCrc32C())
                + ", computed "
                + hex((int) crc.getValue())
                + " (corrupt data)");
      }
      sections[i] = view;
    }
    Map<String, MappedTensor> tensors = new LinkedHashMap<>();
    for (BundleTensor tensor : manifest.getTensorsList()) {
      tensors.put(tensor.getName(), new MappedTensor(tensor, sections[tensor.getSection()]));
    }
    return tensors;
  }

  /** The graph, float constants as views of the mapping, integer ones copied (a few longs). */
  private static Graph decodeGraph(
      Path file, BundleManifest manifest, Map<String, MappedTensor> tensors)
      throws BundleFormatException {
    try {
      return GraphCodec.decode(manifest.getGraph(), name -> constant(tensors.get(name), name));
    } catch (IllegalArgumentException | ArithmeticException e) {
      throw new BundleFormatException(file, e.getMessage(), e);
    }
  }

  private static ConstTensor constant(MappedTensor tensor, String name) {
    if (tensor == null) {
      throw new IllegalArgumentException("graph.constants: no tensor '" + name + "'");
    }
    if (!tensor.layout().isEmpty() || tensor.quantization().isPresent()) {
      throw new IllegalArgumentException(
          "graph constant '" + name + "' must be a dense unquantized FP32 or INT64 tensor");
    }
    return switch (tensor.dataType()) {
      case FP32 -> ConstTensor.ofFloatBuffer(tensor.shape(), tensor.floats());
      case INT64 -> {
        long[] longs = new long[Math.toIntExact(tensor.sizeBytes() / Long.BYTES)];
        tensor.bytes().asLongBuffer().get(longs);
        yield ConstTensor.ofLongs(tensor.shape(), longs);
      }
      default ->
          throw new IllegalArgumentException(
              "graph constant '"
                  + name
                  + "': data_type="
                  + tensor.dataType()
                  + " (graph constants are FP32 or INT64)");
    };
  }

  private static void readFully(FileChannel channel, ByteBuffer buffer, long offset)
      throws IOException {
    long position = offset;
    while (buffer.hasRemaining()) {
      int read = channel.read(buffer, position);
      if (read < 0) {
        throw new IOException("unexpected end of file at offset " + position);
      }
      position += read;
    }
  }

  private static String hex(int value) {
    return String.format("0x%08x", value);
  }

  static String shapeString(long[] shape) {
    return Arrays.toString(shape);
  }
}
