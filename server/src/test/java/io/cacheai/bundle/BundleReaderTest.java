package io.cacheai.bundle;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cacheai.proto.v1.BundleManifest;
import io.cacheai.proto.v1.Quantization;
import io.cacheai.proto.v1.Section;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Random;
import java.util.function.UnaryOperator;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every way a bundle can be damaged is refused with one {@link BundleFormatException} naming the
 * file and the field: never another exception, never a crash.
 */
class BundleReaderTest {
  @TempDir Path dir;
  private Path file;
  private byte[] good;

  @BeforeEach
  void writeGoodBundle() throws Exception {
    file = BundleFixtures.writeBundle("mnist-cnn", dir.resolve("model.cai"));
    good = Files.readAllBytes(file);
    try (Bundle bundle = BundleReader.open(file)) {
      assertThat(bundle.tensorNames()).isNotEmpty();
    }
  }

  @Test
  void open_flippedByteInSection_checksumErrorNamesSectionAndTensor() throws Exception {
    BundleManifest manifest = manifestOf(good);
    Section section = manifest.getSections(2);
    byte[] bad = good.clone();
    bad[(int) (section.getOffset() + section.getLengthBytes() / 2)] ^= 0x01;
    Files.write(file, bad);
    String tensor = manifest.getTensors(2).getName();
    assertRefused("section 2 (tensor '" + tensor + "'): crc32c=", "(corrupt data)");
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 1, 8, 63})
  void open_truncatedInsideHeader_refusedAsShorterThanHeader(int length) throws Exception {
    Files.write(file, Arrays.copyOf(good, length));
    assertRefused("fileLength=" + length + " is shorter than the 64-byte header");
  }

  @ParameterizedTest
  @ValueSource(ints = {64, 65, 200, 5000, -100, -1})
  void open_truncatedAfterHeader_refusedAsTruncated(int at) throws Exception {
    int length = at >= 0 ? at : good.length + at;
    Files.write(file, Arrays.copyOf(good, length));
    assertRefused(
        "fileLength=" + good.length + " in the header but the file has " + length + " bytes",
        "(truncated)");
  }

  @Test
  void open_trailingBytes_refused() throws Exception {
    Files.write(file, Arrays.copyOf(good, good.length + 3));
    assertRefused("(trailing bytes)");
  }

  @Test
  void open_badMagic_refusedNamingExpectedMagic() throws Exception {
    byte[] bad = good.clone();
    bad[0] = 'P';
    bad[1] = 'K';
    Files.write(file, bad);
    assertRefused("magic=50 4b 49 42 0d 0a 1a 0a is not a cacheai bundle (expected 43 41 49 42");
  }

  @Test
  void open_onnxFileInsteadOfBundle_refusedByMagic() throws Exception {
    Files.write(file, BundleFixtures.embeddedOnnx("mnist-mlp"));
    assertRefused("is not a cacheai bundle");
  }

  @Test
  void open_version99_refusedWithSupportedVersion() throws Exception {
    ByteBuffer header = header(good);
    header.putShort(BundleDescriptor.FORMAT_MAJOR_OFFSET, (short) 99);
    header.putInt(
        BundleDescriptor.HEADER_CRC32C_OFFSET, BundleDescriptor.computeHeaderCrc32c(header));
    writeWithHeader(header);
    assertRefused("formatVersion=99.0 is not supported (this cacheai reads 1.x;");
  }

  @Test
  void open_headerFieldCorrupted_headerChecksumError() throws Exception {
    ByteBuffer header = header(good);
    header.putLong(BundleDescriptor.MANIFEST_OFFSET_OFFSET, 1L << 40);
    writeWithHeader(header);
    assertRefused("headerCrc32c=", "(corrupt header)");
  }

  @Test
  void open_manifestOffsetOutOfBounds_refused() throws Exception {
    ByteBuffer header = header(good);
    header.putLong(BundleDescriptor.MANIFEST_OFFSET_OFFSET, 1L << 40);
    header.putInt(
        BundleDescriptor.HEADER_CRC32C_OFFSET, BundleDescriptor.computeHeaderCrc32c(header));
    writeWithHeader(header);
    assertRefused("manifestOffset=1099511627776", "must end the " + good.length + "-byte file");
  }

  @Test
  void open_flippedByteInManifest_manifestChecksumError() throws Exception {
    byte[] bad = good.clone();
    bad[bad.length - 5] ^= 0x40;
    Files.write(file, bad);
    assertRefused("manifestCrc32c=", "(corrupt manifest)");
  }

  @Test
  void open_manifestNotProtobuf_refused() throws Exception {
    rewriteManifestBytes(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff});
    assertRefused("manifest is not valid protobuf");
  }

  @Test
  void open_misalignedSection_refused() throws Exception {
    rewriteManifest(m -> withSection(m, 1, s -> s.toBuilder().setOffset(s.getOffset() + 4)));
    assertRefused("section 1: offset=", "is not a multiple of 64 (misaligned)");
  }

  @Test
  void open_overlappingSections_refused() throws Exception {
    BundleManifest manifest = manifestOf(good);
    long firstOffset = manifest.getSections(0).getOffset();
    rewriteManifest(m -> withSection(m, 1, s -> s.toBuilder().setOffset(firstOffset)));
    assertRefused("overlaps section");
  }

  @Test
  void open_sectionPastTheDataArea_refusedOutOfBounds() throws Exception {
    rewriteManifest(m -> withSection(m, 0, s -> s.toBuilder().setLengthBytes(1L << 33)));
    assertRefused("section 0: offset=64 lengthBytes=8589934592 is outside the data area");
  }

  @Test
  void open_sectionOffsetHugeUnsigned_refusedOutOfBounds() throws Exception {
    rewriteManifest(m -> withSection(m, 0, s -> s.toBuilder().setOffset(-64L)));
    assertRefused("section 0: offset=18446744073709551552", "(out of bounds)");
  }

  @Test
  void open_tensorShapeDisagreesWithSectionLength_refused() throws Exception {
    rewriteManifest(
        m -> m.toBuilder().setTensors(0, m.getTensors(0).toBuilder().setShape(0, 7)).build());
    assertRefused("lengthBytes=", "but a dense FP32");
  }

  @Test
  void open_tensorPointsAtMissingSection_refused() throws Exception {
    rewriteManifest(
        m -> m.toBuilder().setTensors(0, m.getTensors(0).toBuilder().setSection(999)).build());
    assertRefused("section=999 but there are");
  }

  @Test
  void open_unknownOpType_refusedNamingNodeAndSupportedOps() throws Exception {
    rewriteManifest(
        m -> {
          BundleManifest.Builder b = m.toBuilder();
          b.getGraphBuilder().getNodesBuilder(0).setOpType("Frobnicate");
          return b.build();
        });
    assertRefused("graph.nodes[0]", "op_type=Frobnicate is not supported (supported: Add,");
  }

  @Test
  void open_missingConstantTensor_refused() throws Exception {
    rewriteManifest(
        m -> {
          BundleManifest.Builder b = m.toBuilder();
          b.getGraphBuilder().addConstants("nope");
          return b.build();
        });
    assertRefused("graph.constants: no tensor 'nope'");
  }

  @Test
  void open_quantizationOnAnFp32Tensor_refused() throws Exception {
    rewriteManifest(
        m ->
            m.toBuilder()
                .setTensors(
                    0,
                    m.getTensors(0).toBuilder()
                        .setQuantization(
                            Quantization.newBuilder()
                                .setGranularity(Quantization.Granularity.PER_TENSOR)
                                .setBits(8)
                                .addScales(1f)))
                .build());
    assertRefused("tensor 0 '", "data_type=FP32 cannot carry quantization");
  }

  @Test
  void open_sectionCountDisagreesWithHeader_refused() throws Exception {
    rewriteManifest(m -> m.toBuilder().addSections(m.getSections(0)).build(), 0);
    assertRefused("sectionCount=", "but the manifest lists");
  }

  /**
   * A bounded sweep of single-bit flips over the whole file: each is refused with a {@link
   * BundleFormatException} or (padding, the reserved field) opens fine; nothing else ever escapes.
   */
  @Test
  void open_singleBitFlipsAnywhere_neverAnythingButFormatException() throws Exception {
    Random random = new Random(7);
    int refused = 0;
    for (int trial = 0; trial < 200; trial++) {
      int position = trial < 64 ? trial : random.nextInt(good.length);
      byte[] bad = good.clone();
      bad[position] ^= (byte) (1 << random.nextInt(8));
      Files.write(file, bad);
      try (Bundle bundle = BundleReader.open(file)) {
        assertThat(bundle.graph().nodes()).isNotEmpty();
      } catch (BundleFormatException e) {
        assertThat(e.getMessage()).startsWith("bundle " + file + ": ");
        refused++;
      }
    }
    assertThat(refused).isGreaterThan(150);
  }

  private void assertRefused(String... fragments) {
    assertThatThrownBy(() -> BundleReader.open(file).close())
        .isInstanceOf(BundleFormatException.class)
        .hasMessageStartingWith("bundle " + file + ": ")
        .hasMessageContainingAll(fragments);
  }

  private static ByteBuffer header(byte[] bytes) {
    return ByteBuffer.wrap(Arrays.copyOf(bytes, BundleDescriptor.HEADER_LENGTH))
        .order(ByteOrder.LITTLE_ENDIAN);
  }

  private void writeWithHeader(ByteBuffer header) throws IOException {
    byte[] bad = good.clone();
    System.arraycopy(header.array(), 0, bad, 0, BundleDescriptor.HEADER_LENGTH);
    Files.write(file, bad);
  }

  private static BundleManifest manifestOf(byte[] bytes) throws IOException {
    ByteBuffer header = header(bytes);
    int offset = (int) BundleDescriptor.manifestOffset(header);
    int length = (int) BundleDescriptor.manifestLength(header);
    return BundleManifest.parseFrom(ByteBuffer.wrap(bytes, offset, length));
  }

  private static BundleManifest withSection(
      BundleManifest manifest,
      int index,
      java.util.function.Function<Section, Section.Builder> change) {
    return manifest.toBuilder()
        .setSections(index, change.apply(manifest.getSections(index)))
        .build();
  }

  /** Replaces the manifest by a changed one, fixing header lengths and checksums around it. */
  private void rewriteManifest(UnaryOperator<BundleManifest> change) throws IOException {
    BundleManifest changed = change.apply(manifestOf(good));
    rewriteManifest(changed.toByteArray(), changed.getSectionsCount());
  }

  private void rewriteManifest(UnaryOperator<BundleManifest> change, int sectionCountDelta)
      throws IOException {
    BundleManifest original = manifestOf(good);
    BundleManifest changed = change.apply(original);
    rewriteManifest(changed.toByteArray(), original.getSectionsCount() + sectionCountDelta);
  }

  private void rewriteManifestBytes(byte[] manifest) throws IOException {
    rewriteManifest(manifest, manifestOf(good).getSectionsCount());
  }

  private void rewriteManifest(byte[] manifest, int sectionCount) throws IOException {
    long manifestOffset = BundleDescriptor.manifestOffset(header(good));
    CRC32C crc = new CRC32C();
    crc.update(manifest);
    ByteBuffer header =
        BundleDescriptor.writeHeader(
            manifestOffset + manifest.length,
            manifestOffset,
            manifest.length,
            (int) crc.getValue(),
            sectionCount);
    try (FileChannel channel =
        FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
      channel.write(ByteBuffer.wrap(good, 0, (int) manifestOffset));
      channel.write(ByteBuffer.wrap(manifest));
      channel.write(header, 0);
    }
  }
}
