package io.cacheai.compress;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The raw CAIT tensor file (layout drawn in {@link Dataset#readRaw}). */
class DatasetTest {
  @TempDir Path dir;

  private Path write(long[] dims, float[] values, int[] labels, int truncateBytes)
      throws IOException {
    int size = 8 + 8 * dims.length + 4 * values.length + (labels == null ? 0 : 4 * labels.length);
    ByteBuffer b = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
    b.putInt(Dataset.RAW_MAGIC).putInt(dims.length);
    for (long d : dims) {
      b.putLong(d);
    }
    for (float v : values) {
      b.putFloat(v);
    }
    if (labels != null) {
      for (int l : labels) {
        b.putInt(l);
      }
    }
    byte[] bytes = java.util.Arrays.copyOf(b.array(), size - truncateBytes);
    return Files.write(dir.resolve("data.cait"), bytes);
  }

  @Test
  void readRaw_withLabels() throws Exception {
    Dataset data =
        Dataset.read(write(new long[] {2, 3}, new float[] {1, 2, 3, 4, 5, 6}, new int[] {7, 9}, 0));
    assertThat(data.count()).isEqualTo(2);
    assertThat(data.sampleShape()).containsExactly(3);
    assertThat(data.slice(1, 1)).containsExactly(4, 5, 6);
    assertThat(data.labels()).containsExactly(7, 9);
  }

  @Test
  void writeRaw_thenRead_sameValuesShapeAndLabels() throws Exception {
    Dataset data =
        new Dataset(new float[] {1, -2, 3.5f, 4, 5, 6}, new long[] {1, 3}, new int[] {4, 2}, "t");
    Path file = dir.resolve("round.cait");
    data.writeRaw(file);
    Dataset back = Dataset.read(file);
    assertThat(back.values()).containsExactly(1, -2, 3.5f, 4, 5, 6);
    assertThat(back.sampleShape()).containsExactly(1, 3);
    assertThat(back.labels()).containsExactly(4, 2);
    new Dataset(new float[] {7, 8}, new long[] {1}, null, "u").writeRaw(file);
    assertThat(Dataset.read(file).labels()).isNull();
    assertThat(Dataset.read(file).values()).containsExactly(7, 8);
  }

  @Test
  void readRaw_withoutLabels_hasNone() throws Exception {
    Dataset data = Dataset.read(write(new long[] {3, 1}, new float[] {1, 2, 3}, null, 0));
    assertThat(data.count()).isEqualTo(3);
    assertThat(data.labels()).isNull();
  }

  @Test
  void readRaw_truncated_refusedNamingTheFileAndSizes() throws Exception {
    Path file = write(new long[] {2, 3}, new float[] {1, 2, 3, 4, 5, 6}, null, 5);
    assertThatThrownBy(() -> Dataset.read(file))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("data=" + file)
        .hasMessageContaining("the header promises 48");
  }
}
