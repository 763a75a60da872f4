package io.cacheai.kernels;

import static io.cacheai.kernels.IntBuffersForTests.bytes;
import static io.cacheai.kernels.IntBuffersForTests.ints;
import static io.cacheai.kernels.IntBuffersForTests.toArray;
import static io.cacheai.kernels.IntBuffersForTests.zeroBytes;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.IntBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class Int8GemmTest {
  @AfterEach
  void restoreDispatch() {
    IntKernels.forceScalar(false);
    IntKernels.forceNoVnni(false);
  }

  @Test
  void blockSizes_agreeWithC() {
    assertThat(IntKernelsNative.blockSizeBytes(0)).isEqualTo(2 * Int8Gemm.PANEL_CHANNELS);
    assertThat(IntKernelsNative.blockSizeBytes(1)).isEqualTo(Q4Gemm.BLOCK_SIZE_BYTES);
  }

  @Test
  void avx2_isActiveOnThisMachine() {
    // The build machine has AVX2 (../shared/FACTS.md); if this fails, the fast path never ran.
    assertThat(IntKernels.avx2()).isTrue();
  }

  @Test
  void vnni_isActiveOnThisMachine() {
    // The build machine (Zen 5) has AVX-512 VNNI: the default tests below run the vpdpbusd body.
    assertThat(IntKernels.vnni()).isTrue();
    IntKernels.forceNoVnni(true);
    assertThat(IntKernels.vnni()).isFalse();
    assertThat(IntKernels.avx2()).isTrue();
  }

  /** Which body runs: 0 = default (VNNI here), 1 = AVX2 (VNNI off), 2 = scalar. */
  private static void selectPath(int path) {
    IntKernels.forceNoVnni(path >= 1);
    IntKernels.forceScalar(path == 2);
  }

  @ParameterizedTest(name = "path={0}")
  @ValueSource(ints = {0, 1, 2})
  void gemmAndGemv_eachForcedPath_equalJavaReference(int path) {
    selectPath(path);
    assertThat(IntKernels.vnni()).isEqualTo(path == 0);
    assertThat(IntKernels.avx2()).isEqualTo(path != 2);
    Random random = new Random(77 + path);
    // m crosses the 8-row VNNI tile and 64-row block, n leaves one odd panel and a partial one,
    // k = odd (odd k-pair count inside the 1024 block) and k crossing blocks.
    int[][] shapes = {{1, 16, 4}, {9, 19, 1}, {70, 50, 2 * 1024 + 333}, {17, 33, 1027}, {3, 48, 6}};
    for (int[] shape : shapes) {
      int m = shape[0];
      int n = shape[1];
      int k = shape[2];
      byte[] a = randomBytes(random, m * k);
      byte[] w = randomBytes(random, n * k);
      ByteBuffer packed = pack(w, n, k, 0);
      IntBuffer c = ints(m * n, 0);
      Int8Gemm.gemm(bytes(a, 0), m, k, packed, n, c);
      assertThat(toArray(c, m * n))
          .as("path=%d m=%d n=%d k=%d", path, m, n, k)
          .isEqualTo(javaGemm(a, w, m, n, k));
      IntBuffer y = ints(n, 0);
      Int8Gemm.gemv(bytes(Arrays.copyOf(a, k), 0), k, packed, n, y);
      assertThat(toArray(y, n))
          .as("gemv path=%d n=%d k=%d", path, n, k)
          .isEqualTo(javaGemm(Arrays.copyOf(a, k), w, 1, n, k));
    }
    // Adversarial: 255 x -128 and 255 x 127 at a large odd K, every product at its extreme.
    for (int weight : new int[] {-128, 127}) {
      int m = 10;
      int n = 33;
      int k = 20001;
      byte[] a = new byte[m * k];
      Arrays.fill(a, (byte) 255);
      byte[] w = new byte[n * k];
      Arrays.fill(w, (byte) weight);
      IntBuffer c = ints(m * n, 0);
      Int8Gemm.gemm(bytes(a, 0), m, k, pack(w, n, k, 0), n, c);
      int[] expected = new int[m * n];
      Arrays.fill(expected, 255 * weight * k);
      assertThat(toArray(c, m * n)).as("path=%d weight=%d", path, weight).isEqualTo(expected);
    }
  }

  @Test
  void gemm_seededRandomShapes_equalJavaReferenceAndScalarTwin() {
    Random random = new Random(20261129);
    for (int trial = 0; trial < 40; trial++) {
      int m = 1 + random.nextInt(65);
      int n = 1 + random.nextInt(70);
      int k = 1 + 2 * random.nextInt(200); // odd k
      byte[] a = randomBytes(random, m * k);
      byte[] w = randomBytes(random, n * k);
      int[] expected = javaGemm(a, w, m, n, k);
      ByteBuffer packed = pack(w, n, k, 3);

      IntBuffer c = ints(m * n, 5);
      Int8Gemm.gemm(bytes(a, 7), m, k, packed, n, c);
      assertThat(toArray(c, m * n)).as("native m=%d n=%d k=%d", m, n, k).isEqualTo(expected);

      IntBuffer cRef = ints(m * n, 0);
      Int8Gemm.gemmRef(bytes(a, 0), m, k, packed, n, cRef);
      assertThat(toArray(cRef, m * n)).as("ref m=%d n=%d k=%d", m, n, k).isEqualTo(expected);
    }
  }

  @Test
  void gemm_largeKAcrossBlocks_equalsJavaReference() {
    Random random = new Random(3);
    int m = 65;
    int n = 37;
    int k = 2 * 1024 + 333; // crosses the 1024-k packing blocks, odd
    byte[] a = randomBytes(random, m * k);
    byte[] w = randomBytes(random, n * k);
    IntBuffer c = ints(m * n, 0);
    Int8Gemm.gemm(bytes(a, 0), m, k, pack(w, n, k, 0), n, c);
    assertThat(toArray(c, m * n)).isEqualTo(javaGemm(a, w, m, n, k));
  }

  @ParameterizedTest(name = "weight={0}")
  @ValueSource(ints = {127, -128, -127})
  void gemm_all255TimesExtremeWeight_isExactNoSaturation(int weight) {
    int m = 9;
    int n = 19;
    int k = 4097;
    byte[] a = new byte[m * k];
    Arrays.fill(a, (byte) 255);
    byte[] w = new byte[n * k];
    Arrays.fill(w, (byte) weight);
    ByteBuffer packed = pack(w, n, k, 0);
    int[] expected = new int[m * n];
    Arrays.fill(expected, 255 * weight * k);

    IntBuffer c = ints(m * n, 0);
    Int8Gemm.gemm(bytes(a, 0), m, k, packed, n, c);
    assertThat(toArray(c, m * n)).isEqualTo(expected);

    IntBuffer y = ints(n, 0);
    Int8Gemm.gemv(bytes(Arrays.copyOf(a, k), 0), k, packed, n, y);
    assertThat(toArray(y, n)).isEqualTo(Arrays.copyOf(expected, n));
  }

  @Test
  void gemv_maxK_all255TimesMinus128_isExact() {
    int n = 16;
    int k = Int8Gemm.MAX_K;
    byte[] a = new byte[k];
    Arrays.fill(a, (byte) 255);
    byte[] w = new byte[n * k];
    Arrays.fill(w, (byte) -128);
    IntBuffer y = ints(n, 0);
    Int8Gemm.gemv(bytes(a, 0), k, pack(w, n, k, 0), n, y);
    int[] expected = new int[n];
    Arrays.fill(expected, -255 * 128 * k);
    assertThat(toArray(y, n)).isEqualTo(expected);
  }

  @ParameterizedTest(name = "n={0} k={1}")
  @CsvSource({"1, 1", "7, 33", "16, 64", "33, 4097", "129, 9000"})
  void gemv_equalsJavaReference_andScalarPath(int n, int k) {
    Random random = new Random(n * 31L + k);
    byte[] a = randomBytes(random, k);
    byte[] w = randomBytes(random, n * k);
    int[] expected = javaGemm(a, w, 1, n, k);
    ByteBuffer packed = pack(w, n, k, 0);

    IntBuffer y = ints(n, 2);
    Int8Gemm.gemv(bytes(a, 1), k, packed, n, y);
    assertThat(toArray(y, n)).isEqualTo(expected);

    IntKernels.forceScalar(true);
    assertThat(IntKernels.avx2()).isFalse();
    IntBuffer yScalar = ints(n, 0);
    Int8Gemm.gemv(bytes(a, 0), k, packed, n, yScalar);
    assertThat(toArray(yScalar, n)).isEqualTo(expected);
  }

  @Test
  void gemm_weightsFromReadOnlyMappedFile_readInPlace(@TempDir Path dir) throws IOException {
    Random random = new Random(11);
    int m = 5;
    int n = 21;
    int k = 77;
    byte[] a = randomBytes(random, m * k);
    byte[] w = randomBytes(random, n * k);
    ByteBuffer packed = pack(w, n, k, 0);
    byte[] packedBytes = new byte[packed.remaining()];
    packed.duplicate().get(packedBytes);
    Path file = dir.resolve("weights.bin");
    int offset = 64;
    byte[] fileBytes = new byte[offset + packedBytes.length];
    System.arraycopy(packedBytes, 0, fileBytes, offset, packedBytes.length);
    Files.write(file, fileBytes);
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
      MappedByteBuffer mapped = channel.map(FileChannel.MapMode.READ_ONLY, 0, fileBytes.length);
      ByteBuffer slice = mapped.slice(offset, packedBytes.length);
      assertThat(slice.isReadOnly()).isTrue();
      IntBuffer c = ints(m * n, 0);
      Int8Gemm.gemm(bytes(a, 0).asReadOnlyBuffer(), m, k, slice, n, c);
      assertThat(toArray(c, m * n)).isEqualTo(javaGemm(a, w, m, n, k));
    }
  }

  @Test
  void weightRowSums_matchJava() {
    byte[] w = {1, -2, 3, 127, -128, 5};
    assertThat(Int8Gemm.weightRowSums(bytes(w, 0), 2, 3)).containsExactly(2, 4);
  }

  @Test
  void gemm_shortActivations_rejectedWithContext() {
    ByteBuffer packed = zeroBytes(Int8Gemm.packedSizeBytes(8, 10), 0);
    assertThatThrownBy(() -> Int8Gemm.gemm(zeroBytes(29, 0), 3, 10, packed, 8, ints(24, 0)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("a: needs=30")
        .hasMessageContaining("remaining=29");
  }

  @Test
  void gemm_shortPackedWeights_rejectedWithContext() {
    ByteBuffer packed = zeroBytes(Int8Gemm.packedSizeBytes(8, 10) - 1, 0);
    assertThatThrownBy(() -> Int8Gemm.gemm(zeroBytes(30, 0), 3, 10, packed, 8, ints(24, 0)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("packedWeights: needs=160");
  }

  @Test
  void gemm_badOutputs_rejected() {
    ByteBuffer packed = zeroBytes(Int8Gemm.packedSizeBytes(8, 10), 0);
    ByteBuffer a = zeroBytes(30, 0);
    assertThatThrownBy(() -> Int8Gemm.gemm(a, 3, 10, packed, 8, ints(23, 0)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("c: needs=24");
    assertThatThrownBy(() -> Int8Gemm.gemm(a, 3, 10, packed, 8, IntBuffer.allocate(24)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("c must be a direct buffer");
    IntBuffer bigEndian = ByteBuffer.allocateDirect(96).order(ByteOrder.BIG_ENDIAN).asIntBuffer();
    assertThatThrownBy(() -> Int8Gemm.gemm(a, 3, 10, packed, 8, bigEndian))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("c order=BIG_ENDIAN");
    assertThatThrownBy(() -> Int8Gemm.gemm(a, 3, 10, packed, 8, ints(24, 0).asReadOnlyBuffer()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("c is read-only");
  }

  @Test
  void gemm_badDimensions_rejected() {
    assertThatThrownBy(() -> Int8Gemm.packedSizeBytes(-1, 4))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("[n,k]=[-1, 4]");
    assertThatThrownBy(
            () ->
                Int8Gemm.gemv(
                    zeroBytes(Int8Gemm.MAX_K + 2, 0),
                    Int8Gemm.MAX_K + 2,
                    zeroBytes(1, 0),
                    1,
                    ints(1, 0)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("k=65538 exceeds MAX_K=65536");
    assertThatThrownBy(() -> Int8Gemm.pack(ByteBuffer.allocate(4), 2, 2, zeroBytes(64, 0)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("weights must be a direct buffer");
  }

  @Test
  void gemm_zeroK_writesZeros() {
    IntBuffer c = ints(new int[] {7, 7, 7, 7}, 0);
    Int8Gemm.gemm(zeroBytes(0, 0), 2, 0, zeroBytes(0, 0), 2, c);
    assertThat(toArray(c, 4)).containsExactly(0, 0, 0, 0);
  }

  static ByteBuffer pack(byte[] w, int n, int k, int offset) {
    ByteBuffer packed = zeroBytes(Int8Gemm.packedSizeBytes(n, k), offset);
    Int8Gemm.pack(bytes(w, 0), n, k, packed);
    return packed;
  }

  static int[] javaGemm(byte[] a, byte[] w, int m, int n, int k) {
    int[] c = new int[m * n];
    for (int i = 0; i < m; i++) {
      for (int j = 0; j < n; j++) {
        int sum = 0;
        for (int t = 0; t < k; t++) {
          sum += (a[i * k + t] & 0xFF) * w[j * k + t];
        }
        c[i * n + j] = sum;
      }
    }
    return c;
  }

  static byte[] randomBytes(Random random, int length) {
    byte[] out = new byte[length];
    random.nextBytes(out);
    return out;
  }

  /** The one-call layer equals quantize → gemv/gemm → toF32, bit for bit, with saturating x. */
  @ParameterizedTest(name = "m={0} k={1} n={2}")
  @CsvSource({"1, 800, 120", "1, 83, 10", "5, 37, 19", "3, 1, 17"})
  void quantizedLayer_equalsTheThreeSteps(int m, int k, int n) {
    Random random = new Random(7L * m + k + n);
    float[] x = new float[m * k];
    for (int i = 0; i < x.length; i++) {
      x[i] = i % 11 == 0 ? (i % 2 == 0 ? 1e9f : -1e9f) : (float) (random.nextGaussian() * 3);
    }
    byte[] w = new byte[n * k];
    for (int i = 0; i < w.length; i++) {
      w[i] = (byte) (random.nextInt(256) - 128);
    }
    ByteBuffer packed = zeroBytes(Int8Gemm.packedSizeBytes(n, k), 0);
    Int8Gemm.pack(bytes(w, 0), n, k, packed);
    int[] bias = new int[n];
    float[] scale = new float[n];
    for (int j = 0; j < n; j++) {
      bias[j] = random.nextInt(2001) - 1000;
      scale[j] = 0.001f * (1 + random.nextInt(9));
    }
    for (boolean relu : new boolean[] {false, true}) {
      RequantParams params =
          new RequantParams(ints(bias, 0), IntBuffersForTests.floats(scale, 0), 0, relu);
      java.nio.FloatBuffer input = IntBuffersForTests.floats(x, 0);
      ByteBuffer a = zeroBytes((long) m * k, 0);
      U8Activations.quantize(input, m * k, 0.05f, 17, a);
      IntBuffer acc = ints(m * n, 0);
      Int8Gemm.gemm(a, m, k, packed, n, acc);
      java.nio.FloatBuffer expected = IntBuffersForTests.floats(new float[m * n], 0);
      Requantize.toF32(acc, m, n, params, expected);
      java.nio.FloatBuffer y = IntBuffersForTests.floats(new float[m * n], 0);
      Int8Gemm.quantizedLayer(
          input, m, k, 0.05f, 17, packed, n, params, zeroBytes((long) m * k, 0), ints(m * n, 0), y);
      assertThat(IntBuffersForTests.toArray(y, m * n))
          .as("relu=%s", relu)
          .containsExactly(IntBuffersForTests.toArray(expected, m * n));
    }
    assertThatThrownBy(
            () ->
                Int8Gemm.quantizedLayer(
                    IntBuffersForTests.floats(x, 0),
                    m,
                    k,
                    0.05f,
                    17,
                    packed,
                    n,
                    new RequantParams(null, IntBuffersForTests.floats(scale, 0), 0, false),
                    zeroBytes((long) m * k, 0),
                    ints(m * n - 1, 0),
                    IntBuffersForTests.floats(new float[m * n], 0)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("acc");
  }
}
