package io.cacheai.bundle;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32C;

/**
 * The byte layout of a {@code .cai} model bundle: the one place it is written down. {@link
 * BundleWriter} produces it, {@link BundleReader} checks it.
 *
 * <pre>
 * offset 0                                                    all integers little-endian
 * +---------------------------------------------------------------------------------+
 * | header, 64 bytes                                                                |
 * |   0  magic           8 bytes  'C' 'A' 'I' 'B' 0x0D 0x0A 0x1A 0x0A               |
 * |   8  formatMajor     u16      a reader refuses a major it does not know         |
 * |  10  formatMinor     u16      minors only add optional manifest fields          |
 * |  12  headerLength    u32      64                                                |
 * |  16  fileLength      u64      the whole file (a truncated copy is caught here)  |
 * |  24  manifestOffset  u64      where the manifest starts (after the sections)    |
 * |  32  manifestLength  u64      manifest bytes                                    |
 * |  40  manifestCrc32c  u32      CRC-32C of the manifest bytes                     |
 * |  44  sectionCount    u32      entries of manifest.sections                      |
 * |  48  dataOffset      u64      first section: 64                                 |
 * |  56  headerCrc32c    u32      CRC-32C of header bytes [0, 56)                   |
 * |  60  reserved        u32      0                                                 |
 * +---------------------------------------------------------------------------------+
 * | section 0 at dataOffset: one tensor's bytes, then zero padding to a multiple of |
 * | section 1 ...            64: every section offset is 64-byte aligned            |
 * | ...                                                                             |
 * +---------------------------------------------------------------------------------+
 * | manifest at manifestOffset: serialized cacheai.v1.BundleManifest (bundle.proto) |
 * |   graph, tensors (name, dtype, shape, section, quantization), sections (offset, |
 * |   length, crc32c), producer, metadata.                                          |
 * |   It ends the file: manifestOffset + manifestLength = fileLength.               |
 * +---------------------------------------------------------------------------------+
 * </pre>
 *
 * <p>Why this shape: the header has fixed size and fixed offsets, so a reader checks magic, version
 * and lengths by reading 64 bytes, before mapping anything. Sections are 64-byte aligned (a cache
 * line, an AVX-512 register) so that a mapped section can go to a SIMD kernel as it is, without a
 * copy. The manifest comes last so that the writer can stream sections (computing their checksums
 * as it goes) and describe them afterwards, like a zip central directory. The magic's last four
 * bytes catch text-mode transfers that rewrite line endings (as PNG's do).
 */
public final class BundleDescriptor {
  /** "CAIB\r\n\x1a\n". */
  public static final byte[] MAGIC = {'C', 'A', 'I', 'B', 0x0D, 0x0A, 0x1A, 0x0A};

  /** The format major version this code writes and reads. */
  public static final int FORMAT_MAJOR = 1;

  /** The format minor version this code writes; any minor of {@link #FORMAT_MAJOR} is read. */
  public static final int FORMAT_MINOR = 0;

  public static final int HEADER_LENGTH = 64;
  public static final int SECTION_ALIGNMENT = 64;

  public static final int MAGIC_OFFSET = 0;
  public static final int FORMAT_MAJOR_OFFSET = 8;
  public static final int FORMAT_MINOR_OFFSET = 10;
  public static final int HEADER_LENGTH_OFFSET = 12;
  public static final int FILE_LENGTH_OFFSET = 16;
  public static final int MANIFEST_OFFSET_OFFSET = 24;
  public static final int MANIFEST_LENGTH_OFFSET = 32;
  public static final int MANIFEST_CRC32C_OFFSET = 40;
  public static final int SECTION_COUNT_OFFSET = 44;
  public static final int DATA_OFFSET_OFFSET = 48;
  public static final int HEADER_CRC32C_OFFSET = 56;
  public static final int RESERVED_OFFSET = 60;

  /** A manifest larger than this is refused before it is read (a corrupt length field). */
  public static final long MAX_MANIFEST_LENGTH = 256L << 20;

  private BundleDescriptor() {}

  /** The first multiple of {@link #SECTION_ALIGNMENT} at or after {@code offset}. */
  public static long alignedOffset(long offset) {
    return (offset + SECTION_ALIGNMENT - 1) & -SECTION_ALIGNMENT;
  }

  /** Whether {@code offset} is a multiple of {@link #SECTION_ALIGNMENT}. */
  public static boolean isAligned(long offset) {
    return (offset & (SECTION_ALIGNMENT - 1)) == 0;
  }

  /** A little-endian view of a header buffer, position 0 (for the accessors below). */
  public static ByteBuffer headerView(ByteBuffer header) {
    return header.duplicate().order(ByteOrder.LITTLE_ENDIAN).position(0);
  }

  public static boolean hasMagic(ByteBuffer header) {
    for (int i = 0; i < MAGIC.length; i++) {
      if (header.get(MAGIC_OFFSET + i) != MAGIC[i]) {
        return false;
      }
    }
    return true;
  }

  /** The magic bytes as found, hex, for messages. */
  public static String magicHex(ByteBuffer header) {
    StringBuilder hex = new StringBuilder();
    for (int i = 0; i < MAGIC.length; i++) {
      hex.append(String.format(i == 0 ? "%02x" : " %02x", header.get(MAGIC_OFFSET + i)));
    }
    return hex.toString();
  }

  /** The expected magic, hex and text, for messages. */
  public static String expectedMagic() {
    return "43 41 49 42 0d 0a 1a 0a (\""
        + new String(MAGIC, 0, 4, StandardCharsets.US_ASCII)
        + "\\r\\n\\x1a\\n\")";
  }

  public static int formatMajor(ByteBuffer header) {
    return Short.toUnsignedInt(header.getShort(FORMAT_MAJOR_OFFSET));
  }

  public static int formatMinor(ByteBuffer header) {
    return Short.toUnsignedInt(header.getShort(FORMAT_MINOR_OFFSET));
  }

  public static long headerLength(ByteBuffer header) {
    return Integer.toUnsignedLong(header.getInt(HEADER_LENGTH_OFFSET));
  }

  public static long fileLength(ByteBuffer header) {
    return header.getLong(FILE_LENGTH_OFFSET);
  }

  public static long manifestOffset(ByteBuffer header) {
    return header.getLong(MANIFEST_OFFSET_OFFSET);
  }

  public static long manifestLength(ByteBuffer header) {
    return header.getLong(MANIFEST_LENGTH_OFFSET);
  }

  public static int manifestCrc32c(ByteBuffer header) {
    return header.getInt(MANIFEST_CRC32C_OFFSET);
  }

  public static long sectionCount(ByteBuffer header) {
    return Integer.toUnsignedLong(header.getInt(SECTION_COUNT_OFFSET));
  }

  public static long dataOffset(ByteBuffer header) {
    return header.getLong(DATA_OFFSET_OFFSET);
  }

  public static int headerCrc32c(ByteBuffer header) {
    return header.getInt(HEADER_CRC32C_OFFSET);
  }

  /** CRC-32C of header bytes [0, {@link #HEADER_CRC32C_OFFSET}), what the header stores. */
  public static int computeHeaderCrc32c(ByteBuffer header) {
    CRC32C crc = new CRC32C();
    crc.update(header.duplicate().position(0).limit(HEADER_CRC32C_OFFSET));
    return (int) crc.getValue();
  }

  /** Fills a {@link #HEADER_LENGTH}-byte header, checksum included. */
  public static ByteBuffer writeHeader(
      long fileLength,
      long manifestOffset,
      long manifestLength,
      int manifestCrc32c,
      int sectionCount) {
    ByteBuffer header = ByteBuffer.allocate(HEADER_LENGTH).order(ByteOrder.LITTLE_ENDIAN);
    header.put(MAGIC_OFFSET, MAGIC);
    header.putShort(FORMAT_MAJOR_OFFSET, (short) FORMAT_MAJOR);
    header.putShort(FORMAT_MINOR_OFFSET, (short) FORMAT_MINOR);
    header.putInt(HEADER_LENGTH_OFFSET, HEADER_LENGTH);
    header.putLong(FILE_LENGTH_OFFSET, fileLength);
    header.putLong(MANIFEST_OFFSET_OFFSET, manifestOffset);
    header.putLong(MANIFEST_LENGTH_OFFSET, manifestLength);
    header.putInt(MANIFEST_CRC32C_OFFSET, manifestCrc32c);
    header.putInt(SECTION_COUNT_OFFSET, sectionCount);
    header.putLong(DATA_OFFSET_OFFSET, HEADER_LENGTH);
    header.putInt(HEADER_CRC32C_OFFSET, computeHeaderCrc32c(header));
    header.putInt(RESERVED_OFFSET, 0);
    return header;
  }
}
