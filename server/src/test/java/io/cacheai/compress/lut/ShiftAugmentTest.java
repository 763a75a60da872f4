package io.cacheai.compress.lut;

import static org.assertj.core.api.Assertions.assertThat;

import io.cacheai.compress.Dataset;
import org.junit.jupiter.api.Test;

class ShiftAugmentTest {
  /** Two 1×3×3 images; pixel value = 10·(sample+1) + index, background 0 at the corners. */
  private static Dataset images() {
    float[] v = new float[18];
    for (int s = 0; s < 2; s++) {
      for (int k = 0; k < 9; k++) {
        v[s * 9 + k] = (k == 0 || k == 2 || k == 6 || k == 8) ? 0 : 10 * (s + 1) + k;
      }
    }
    return new Dataset(v, new long[] {1, 3, 3}, new int[] {7, 4}, "two");
  }

  @Test
  void shifted_radiusOne_nineCopiesInOffsetOrder() {
    Dataset out = ShiftAugment.shifted(images(), 1);
    assertThat(out.count()).isEqualTo(18);
    assertThat(out.labels()).containsExactly(7, 7, 7, 7, 7, 7, 7, 7, 7, 4, 4, 4, 4, 4, 4, 4, 4, 4);
    // copy 4 is (dx, dy) = (0, 0): the image itself
    assertThat(out.slice(4, 1)).containsExactly(images().slice(0, 1));
    // copy 5 is dx = +1: every row moved right, the column shifted in is background (0)
    assertThat(out.slice(5, 1)).containsExactly(0, 0, 11, 0, 13, 14, 0, 0, 17);
    // sample 1, copy 1 is dy = -1: rows moved up, the last row background
    assertThat(out.slice(9 + 1, 1)).containsExactly(23, 24, 25, 0, 27, 0, 0, 0, 0);
  }

  @Test
  void shifted_radiusZeroOrNotImages_unchanged() {
    Dataset data = images();
    assertThat(ShiftAugment.shifted(data, 0)).isSameAs(data);
    Dataset flat = new Dataset(new float[8], new long[] {4}, null, "flat");
    assertThat(ShiftAugment.shifted(flat, 1)).isSameAs(flat);
  }
}
