package io.cacheai.compress.lut;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cacheai.compress.Dataset;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class MixupRowsTest {
  private static final long[] SHAPE = {1, 2, 3};

  private static Dataset rows(int n, boolean labelled) {
    SplittableRandom random = new SplittableRandom(5);
    float[] values = new float[n * 6];
    for (int k = 0; k < values.length; k++) {
      values[k] = (float) (random.nextDouble() * 4 - 2);
    }
    int[] labels = null;
    if (labelled) {
      labels = new int[n];
      for (int i = 0; i < n; i++) {
        labels[i] = i % 10;
      }
    }
    return new Dataset(values, SHAPE, labels, "test rows");
  }

  @Test
  void withMixes_appendsBlendsDrawnAsDocumented() {
    Dataset in = rows(5, true);
    float[] before = in.values().clone();
    Dataset out = MixupRows.withMixes(in, 7, 42);

    assertThat(out.count()).isEqualTo(12);
    assertThat(out.sampleShape()).isEqualTo(SHAPE);
    assertThat(in.values()).isEqualTo(before); // the input is not touched
    assertThat(Arrays.copyOfRange(out.values(), 0, 30)).isEqualTo(before);
    assertThat(Arrays.copyOfRange(out.labels(), 0, 5)).containsExactly(0, 1, 2, 3, 4);
    assertThat(Arrays.copyOfRange(out.labels(), 5, 12)).containsOnly(-1);

    // the draws the class javadoc documents, recomputed
    SplittableRandom random = new SplittableRandom(42);
    int differentPairs = 0;
    for (int e = 0; e < 7; e++) {
      int a = random.nextInt(5);
      int b = random.nextInt(5);
      float lambda = (float) (0.5 + 0.5 * random.nextDouble());
      assertThat(lambda).isBetween(0.5f, 1f).isLessThan(1f);
      differentPairs += a != b ? 1 : 0;
      for (int k = 0; k < 6; k++) {
        float va = before[a * 6 + k];
        float vb = before[b * 6 + k];
        float mixed = out.values()[(5 + e) * 6 + k];
        assertThat(mixed)
            .as("row %d value %d", 5 + e, k)
            .isEqualTo(lambda * va + (1f - lambda) * vb);
        // nearer a than b: λ ≥ 0.5
        assertThat(Math.abs(mixed - va)).isLessThanOrEqualTo(Math.abs(mixed - vb) + 1e-6f);
      }
    }
    assertThat(differentPairs).as("blends of two different rows").isGreaterThan(0);
  }

  @Test
  void withMixes_sameSeedSameRows_otherSeedOther() {
    Dataset in = rows(20, true);
    Dataset a = MixupRows.withMixes(in, 30, 1);
    Dataset b = MixupRows.withMixes(in, 30, 1);
    Dataset c = MixupRows.withMixes(in, 30, 2);
    assertThat(a.values()).isEqualTo(b.values());
    assertThat(a.labels()).isEqualTo(b.labels());
    assertThat(Arrays.copyOfRange(c.values(), 120, 300))
        .isNotEqualTo(Arrays.copyOfRange(a.values(), 120, 300));
  }

  @Test
  void withMixes_noLabels_staysUnlabelled() {
    Dataset out = MixupRows.withMixes(rows(4, false), 4, 3);
    assertThat(out.count()).isEqualTo(8);
    assertThat(out.labels()).isNull();
  }

  @Test
  void withMixes_zeroExtra_returnsTheInput() {
    Dataset in = rows(3, true);
    assertThat(MixupRows.withMixes(in, 0, 1)).isSameAs(in);
  }

  @Test
  void withMixes_nonsense_refused() {
    Dataset in = rows(3, true);
    assertThatThrownBy(() -> MixupRows.withMixes(in, -1, 1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("extraRows=-1");
    Dataset empty = new Dataset(new float[0], SHAPE, new int[0], "empty");
    assertThatThrownBy(() -> MixupRows.withMixes(empty, 2, 1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("0 rows");
    assertThatThrownBy(() -> MixupRows.withMixes(in, Integer.MAX_VALUE / 4, 1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("over 2^31 floats");
    assertThatThrownBy(() -> MixupRows.withMixes(null, 2, 1))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
