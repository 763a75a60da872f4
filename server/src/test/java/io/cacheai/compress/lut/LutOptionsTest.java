package io.cacheai.compress.lut;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/**
 * {@link LutOptions}' tree depth: {@code --lut-depth} values, and the auto width and groups it
 * gives the MNIST MLP's 256→128 layer (131 584 fp32 bytes, so at most 13 158 B at 10×).
 */
class LutOptionsTest {
  @Test
  void parseDepth_autoAndTwoToFour_elseRefusedNamingTheOption() {
    assertThat(LutOptions.parseDepth("auto")).isEqualTo(LutOptions.AUTO_DEPTH);
    assertThat(LutOptions.parseDepth("2")).isEqualTo(2);
    assertThat(LutOptions.parseDepth("3")).isEqualTo(3);
    assertThat(LutOptions.parseDepth("4")).isEqualTo(4);
    for (String bad : new String[] {"1", "5", "0", "two", ""}) {
      assertThatThrownBy(() -> LutOptions.parseDepth(bad))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("--lut-depth '" + bad + "'");
    }
    assertThatThrownBy(() -> LutOptions.defaults().withDepth(5))
        .hasMessageContaining("lut-depth=5");
    assertThat(LutOptions.defaults().depth()).isEqualTo(LutOptions.AUTO_DEPTH);
    assertThat(LutOptions.defaults().keys()).isEqualTo(16);
    assertThat(LutOptions.defaults().withDepth(2).keys()).isEqualTo(4);
  }

  @Test
  void widthAndGroups_shallowerTrees_moreCodebooksInTheSameBytes() {
    // the groups rule is judged at 16 keys (11 codebooks < 16): 4 groups at every depth
    for (int depth = 2; depth <= 4; depth++) {
      assertThat(LutOptions.defaults().withDepth(depth).groupsFor(256, 128)).isEqualTo(4);
    }
    // K·16 B of 4-bit rows + 4·(L + K − 1) B of tree per codebook: 332, 168, 84 B
    assertThat(LutOptions.defaults().withDepth(4).widthFor(256, 128, 4)).isEqualTo(29); // 4 × 9
    assertThat(LutOptions.defaults().withDepth(3).widthFor(256, 128, 4)).isEqualTo(15); // 4 × 18
    assertThat(LutOptions.defaults().withDepth(2).widthFor(256, 128, 4)).isEqualTo(8); // 4 × 32
    assertThat(LutLayerBuilder.lookupBytes(128, 128, 8, LutOptions.Encoder.TREE, 4, 4, 2))
        .isEqualTo(128 * 4 * 16 + 8 * 128 + 128 * (2 + 3) * 4);
    // the 16-key overload is the depth-4 formula
    assertThat(LutLayerBuilder.lookupBytes(36, 128, 29, LutOptions.Encoder.TREE, 4, 4))
        .isEqualTo(LutLayerBuilder.lookupBytes(36, 128, 29, LutOptions.Encoder.TREE, 4, 4, 4))
        .isEqualTo(36 * 16 * 16 + 1024 + 36 * 19 * 4);
  }
}
