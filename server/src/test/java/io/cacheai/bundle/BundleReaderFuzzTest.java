package io.cacheai.bundle;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.google.protobuf.InvalidProtocolBufferException;
import io.cacheai.proto.v1.BundleManifest;
import io.cacheai.proto.v1.Section;
import io.cacheai.runtime.GraphModel;
import io.cacheai.runtime.SmokeRun;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.CRC32C;

/**
 * Fuzzes {@link BundleReader#open} with files of arbitrary bytes, seeded with small bundles written
 * by {@link BundleWriter} (inputs directory {@code
 * src/test/resources/io/cacheai/bundle/BundleReaderFuzzTestInputs/<method>/}).
 *
 * <p>The contract checked: a file is opened or refused with a {@link BundleFormatException} with a
 * message — no other exception, no JVM crash; a bundle that opens builds a {@link GraphModel} (or
 * is refused with an {@link IllegalArgumentException}), and a model that was built runs (when
 * small, see {@link SmokeRun}).
 *
 * <p>Two entry points: {@link #open_anyBytes_refusedClearlyOrRuns} takes the bytes as the file;
 * {@link #open_checksumsRepaired_refusedClearlyOrRuns} first repairs what a random mutation almost
 * always breaks — the header, manifest and section CRC-32Cs and the file length — so that the
 * fuzzer reaches the manifest, section and graph checks behind them.
 */
class BundleReaderFuzzTest {
  private static final Path FILE = tempFile();

  @FuzzTest(maxDuration = "5m")
  void open_anyBytes_refusedClearlyOrRuns(byte[] bytes) throws IOException {
    openAndRun(bytes);
  }

  @FuzzTest(maxDuration = "5m")
  void open_checksumsRepaired_refusedClearlyOrRuns(byte[] bytes) throws IOException {
    openAndRun(repairChecksums(bytes));
  }

  private static void openAndRun(byte[] bytes) throws IOException {
    Files.write(FILE, bytes);
    Bundle bundle;
    try {
      bundle = BundleReader.open(FILE);
    } catch (BundleFormatException e) {
      assertThat(e.getMessage()).startsWith("bundle " + FILE).hasSizeGreaterThan(40);
      return;
    }
    try (bundle) {
      GraphModel model;
      try {
        model = new GraphModel(bundle.graph());
      } catch (IllegalArgumentException e) {
        assertThat(e.getMessage()).isNotBlank();
        return;
      }
      try (model) {
        SmokeRun.runIfSmall(model, bundle.graph());
      }
    }
  }

  /**
   * The file with its checksums and lengths made consistent: if the header's manifest offset lies
   * in the file and the manifest parses, each in-bounds section's CRC-32C is recomputed and the
   * manifest re-serialized; then the header's file length, manifest length and both CRC-32Cs.
   */
  static byte[] repairChecksums(byte[] bytes) {
    if (bytes.length < BundleDescriptor.HEADER_LENGTH) {
      return bytes;
    }
    ByteBuffer header =
        ByteBuffer.wrap(Arrays.copyOf(bytes, BundleDescriptor.HEADER_LENGTH))
            .order(ByteOrder.LITTLE_ENDIAN);
    long manifestOffset = BundleDescriptor.manifestOffset(header);
    if (manifestOffset < BundleDescriptor.HEADER_LENGTH || manifestOffset > bytes.length) {
      header.putInt(
          BundleDescriptor.HEADER_CRC32C_OFFSET, BundleDescriptor.computeHeaderCrc32c(header));
      byte[] repaired = bytes.clone();
      header.get(0, repaired, 0, BundleDescriptor.HEADER_LENGTH);
      return repaired;
    }
    int dataEnd = (int) manifestOffset;
    byte[] manifestBytes = Arrays.copyOfRange(bytes, dataEnd, bytes.length);
    try {
      BundleManifest.Builder manifest = BundleManifest.parseFrom(manifestBytes).toBuilder();
      for (int i = 0; i < manifest.getSectionsCount(); i++) {
        Section section = manifest.getSections(i);
        long offset = section.getOffset();
        long length = section.getLengthBytes();
        if (offset >= 0 && length >= 0 && offset <= dataEnd && length <= dataEnd - offset) {
          CRC32C crc = new CRC32C();
          crc.update(bytes, (int) offset, (int) length);
          manifest.setSections(i, section.toBuilder().setCrc32C((int) crc.getValue()));
        }
      }
      manifestBytes = manifest.build().toByteArray();
    } catch (InvalidProtocolBufferException e) {
      // keep the bytes as they are: the reader's protobuf error is what is fuzzed then
    }
    byte[] repaired = Arrays.copyOf(bytes, dataEnd + manifestBytes.length);
    System.arraycopy(manifestBytes, 0, repaired, dataEnd, manifestBytes.length);
    CRC32C manifestCrc = new CRC32C();
    manifestCrc.update(manifestBytes);
    header.putLong(BundleDescriptor.FILE_LENGTH_OFFSET, repaired.length);
    header.putLong(BundleDescriptor.MANIFEST_LENGTH_OFFSET, manifestBytes.length);
    header.putInt(BundleDescriptor.MANIFEST_CRC32C_OFFSET, (int) manifestCrc.getValue());
    header.putInt(
        BundleDescriptor.HEADER_CRC32C_OFFSET, BundleDescriptor.computeHeaderCrc32c(header));
    header.get(0, repaired, 0, BundleDescriptor.HEADER_LENGTH);
    return repaired;
  }

  private static Path tempFile() {
    try {
      Path directory = Files.createTempDirectory("cacheai-bundle-fuzz");
      directory.toFile().deleteOnExit();
      Path file = directory.resolve("fuzzed.cai");
      file.toFile().deleteOnExit();
      return file;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
