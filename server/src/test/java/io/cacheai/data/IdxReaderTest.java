package io.cacheai.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class IdxReaderTest {
  @Test
  void read_mnistTestSet_hasTenThousandLabelledImages() throws IOException {
    MnistDataset set = MnistDataset.testSet(Path.of(System.getProperty("user.dir")).getParent());
    assertThat(set.count()).isEqualTo(10_000);
    assertThat(set.rows()).isEqualTo(28);
    assertThat(set.cols()).isEqualTo(28);
    int[] perDigit = new int[10];
    for (int label : set.labels()) {
      perDigit[label]++;
    }
    // The MNIST test set's published label counts.
    assertThat(perDigit).containsExactly(980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009);
    float min = Float.MAX_VALUE;
    float max = -Float.MAX_VALUE;
    for (float p : set.pixels()) {
      min = Math.min(min, p);
      max = Math.max(max, p);
    }
    assertThat(min).isEqualTo(0f);
    assertThat(max).isEqualTo(1f);
  }

  @Test
  void read_wellFormed_returnsDimsAndBytes() throws IOException {
    byte[] file =
        ByteBuffer.allocate(4 + 8 + 6)
            .putInt(0x00000802)
            .putInt(2)
            .putInt(3)
            .put(new byte[] {1, 2, 3, 4, 5, (byte) 255})
            .array();
    IdxReader.IdxArray array = IdxReader.read(new ByteArrayInputStream(file), "x");
    assertThat(array.dims()).containsExactly(2, 3);
    assertThat(array.unsigned(5)).isEqualTo(255);
  }

  @Test
  void read_truncated_isRefused() {
    byte[] file = ByteBuffer.allocate(4 + 8 + 5).putInt(0x00000802).putInt(2).putInt(3).array();
    assertThatThrownBy(() -> IdxReader.read(new ByteArrayInputStream(file), "x"))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("truncated");
  }

  @Test
  void read_wrongMagic_isRefused() {
    byte[] file = ByteBuffer.allocate(8).putInt(0x00000D01).putInt(1).array();
    assertThatThrownBy(() -> IdxReader.read(new ByteArrayInputStream(file), "x"))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("not an unsigned-byte IDX file");
  }
}
