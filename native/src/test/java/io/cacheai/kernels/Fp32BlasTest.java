package io.cacheai.kernels;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.FloatBuffer;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class Fp32BlasTest {
  /** fp32 sums of up to a few hundred terms of O(1) values against a double reference. */
  private static final float TOLERANCE = 1e-4f;

  @ParameterizedTest(name = "m={0} n={1} k={2} transA={3} transB={4}")
  @CsvSource({
    "1, 7, 5, false, false",
    "1, 7, 5, true, false",
    "1, 7, 5, false, true",
    "1, 7, 5, true, true",
    "13, 9, 31, false, false",
    "13, 9, 31, true, false",
    "13, 9, 31, false, true",
    "13, 9, 31, true, true",
    "64, 128, 300, false, true",
  })
  void gemm_matchesDoubleReference(int m, int n, int k, boolean transA, boolean transB) {
    Random random = new Random(42 + m * 31 + n);
    int lda = (transA ? m : k) + 3; // padded strides exercise ld handling
    int ldb = (transB ? k : n) + 2;
    int ldc = n + 1;
    float[] a = randomArray(random, (transA ? k : m) * lda);
    float[] b = randomArray(random, (transB ? n : k) * ldb);
    float[] c = randomArray(random, m * ldc);
    float alpha = 0.75f;
    float beta = 0.5f;

    int offset = 5; // matrices start at a non-zero position of a shared buffer
    FloatBuffer cBuffer = FloatBuffers.allocate(offset + c.length);
    cBuffer.position(offset).put(c).position(offset);
    Fp32Blas.gemm(
        transA,
        transB,
        m,
        n,
        k,
        alpha,
        FloatBuffers.of(a),
        lda,
        FloatBuffers.of(b),
        ldb,
        beta,
        cBuffer,
        ldc);

    for (int i = 0; i < m; i++) {
      for (int j = 0; j < n; j++) {
        double sum = 0;
        for (int p = 0; p < k; p++) {
          double av = transA ? a[p * lda + i] : a[i * lda + p];
          double bv = transB ? b[j * ldb + p] : b[p * ldb + j];
          sum += av * bv;
        }
        double expected = alpha * sum + beta * c[i * ldc + j];
        assertThat(cBuffer.get(offset + i * ldc + j))
            .as("C[%d][%d]", i, j)
            .isCloseTo((float) expected, org.assertj.core.data.Offset.offset(TOLERANCE));
      }
    }
  }

  @Test
  void gemv_matchesDoubleReference() {
    Random random = new Random(7);
    int rows = 33;
    int cols = 65;
    float[] a = randomArray(random, rows * cols);
    float[] x = randomArray(random, cols);
    FloatBuffer y = FloatBuffers.allocate(rows);
    Fp32Blas.gemv(false, rows, cols, 1f, FloatBuffers.of(a), cols, FloatBuffers.of(x), 0f, y);
    for (int i = 0; i < rows; i++) {
      double sum = 0;
      for (int j = 0; j < cols; j++) {
        sum += (double) a[i * cols + j] * x[j];
      }
      assertThat(y.get(i)).isCloseTo((float) sum, org.assertj.core.data.Offset.offset(TOLERANCE));
    }
  }

  @Test
  void gemm_refusesTooSmallBuffer() {
    FloatBuffer a = FloatBuffers.allocate(4 * 4);
    FloatBuffer b = FloatBuffers.allocate(4 * 4);
    FloatBuffer c = FloatBuffers.allocate(4 * 4 - 1);
    assertThatThrownBy(() -> Fp32Blas.gemm(false, false, 4, 4, 4, 1f, a, 4, b, 4, 0f, c, 4))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("C: needs 16 floats");
  }

  @Test
  void gemm_refusesHeapBuffer() {
    FloatBuffer heap = FloatBuffer.allocate(16);
    FloatBuffer direct = FloatBuffers.allocate(16);
    assertThatThrownBy(
            () -> Fp32Blas.gemm(false, false, 4, 4, 4, 1f, heap, 4, direct, 4, 0f, direct, 4))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("A must be a direct");
  }

  @Test
  void gemm_refusesStrideSmallerThanRow() {
    FloatBuffer buffer = FloatBuffers.allocate(64);
    assertThatThrownBy(
            () -> Fp32Blas.gemm(false, false, 4, 4, 4, 1f, buffer, 3, buffer, 4, 0f, buffer, 4))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("A: row stride 3");
  }

  @Test
  void threads_defaultToOne() {
    assertThat(Fp32Blas.threads()).isEqualTo(1);
  }

  @Test
  void allocate_isAlignedAndDirect() {
    FloatBuffer buffer = FloatBuffers.allocate(10);
    assertThat(buffer.isDirect()).isTrue();
    assertThat(buffer.capacity()).isEqualTo(10);
    long address = new org.bytedeco.javacpp.FloatPointer(buffer).address();
    assertThat(address % FloatBuffers.ALIGNMENT_BYTES).isZero();
  }

  private static float[] randomArray(Random random, int length) {
    float[] values = new float[length];
    for (int i = 0; i < length; i++) {
      values[i] = (float) random.nextGaussian();
    }
    return values;
  }
}
