package io.cacheai.ocr;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.data.Offset.offset;

import java.awt.image.BufferedImage;
import java.util.List;
import org.junit.jupiter.api.Test;

class LinePreprocessorTest {
  private static final int H = OcrOptions.HEIGHT;

  private static float normalized(int grey) {
    return (grey / 255f - 0.5f) / 0.5f;
  }

  @Test
  void resizedWidth_keepsAspectRoundingUp() {
    assertThat(LinePreprocessor.resizedWidth(100, 50)).isEqualTo(96);
    assertThat(LinePreprocessor.resizedWidth(101, 48)).isEqualTo(101);
    assertThat(LinePreprocessor.resizedWidth(10, 49)).isEqualTo(10); // ceil(9.79)
    assertThat(LinePreprocessor.resizedWidth(1, 4800)).isEqualTo(1);
  }

  @Test
  void prepare_channelsAreBgr() {
    BufferedImage red = new BufferedImage(4, 4, BufferedImage.TYPE_INT_RGB);
    for (int y = 0; y < 4; y++) {
      for (int x = 0; x < 4; x++) {
        red.setRGB(x, y, 0xff0000);
      }
    }
    LinePreprocessor.PreparedLine line = LinePreprocessor.prepare(red, "t", 1280);
    assertThat(line.width()).isEqualTo(48);
    int plane = H * 48;
    assertThat(line.chw()[0]).isEqualTo(-1f); // B
    assertThat(line.chw()[plane]).isEqualTo(-1f); // G
    assertThat(line.chw()[2 * plane]).isEqualTo(1f); // R
  }

  @Test
  void prepare_bilinearLikeOpenCv_halfPixelCentresClampedEdges() {
    // A 2x1 image [0, 255] stretched to 96x48: OpenCV samples x at (d + 0.5) * 2 / 96 - 0.5.
    BufferedImage image = new BufferedImage(2, 1, BufferedImage.TYPE_INT_RGB);
    image.setRGB(0, 0, 0x000000);
    image.setRGB(1, 0, 0xffffff);
    LinePreprocessor.PreparedLine line = LinePreprocessor.prepare(image, "t", 1280);
    assertThat(line.width()).isEqualTo(96);
    float[] row = line.chw();
    assertThat(row[0]).isEqualTo(normalized(0)); // clamped to the left pixel
    assertThat(row[95]).isEqualTo(normalized(255)); // clamped to the right pixel
    // d = 48: position 0.5104 -> 0.5104 * 255 = 130.2 -> 130
    assertThat(row[48]).isEqualTo(normalized(130));
    // d = 30: position 0.1354 -> 34.5 -> Math.round 35 (OpenCV's fixed point gives 34 or 35)
    assertThat(row[30]).isCloseTo(normalized(35), offset(2.5f / 127.5f));
    // every row is the same (height 1 stretched)
    assertThat(row[47 * 96 + 48]).isEqualTo(row[48]);
  }

  @Test
  void prepare_transparentPixelsAreWhite() {
    BufferedImage image = new BufferedImage(4, 4, BufferedImage.TYPE_INT_ARGB);
    LinePreprocessor.PreparedLine line = LinePreprocessor.prepare(image, "t", 1280);
    for (float v : line.chw()) {
      assertThat(v).isEqualTo(1f);
    }
  }

  @Test
  void prepare_greyImage_readsGreyValuesNotSrgbConverted() {
    BufferedImage grey = new BufferedImage(8, 4, BufferedImage.TYPE_BYTE_GRAY);
    BufferedImage rgb = new BufferedImage(8, 4, BufferedImage.TYPE_INT_RGB);
    for (int y = 0; y < 4; y++) {
      for (int x = 0; x < 8; x++) {
        int v = 30 * x;
        grey.getRaster().setSample(x, y, 0, v);
        rgb.setRGB(x, y, (v << 16) | (v << 8) | v);
      }
    }
    assertThat(LinePreprocessor.prepare(grey, "t", 1280).chw())
        .containsExactly(LinePreprocessor.prepare(rgb, "t", 1280).chw());
  }

  @Test
  void prepare_tooWide_refusedNamingInputAndLimit() {
    BufferedImage image = new BufferedImage(1000, 20, BufferedImage.TYPE_INT_RGB);
    assertThatThrownBy(() -> LinePreprocessor.prepare(image, "input 'image'[3]", 1280))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(
            "input 'image'[3]: a 1000x20 line is 2400 pixels wide at height 48, more than"
                + " max_width=1280; split the line");
  }

  @Test
  void batch_padsEachLineOnTheRightWithZero() {
    LinePreprocessor.PreparedLine narrow =
        new LinePreprocessor.PreparedLine(filled(3 * H * 2, 0.5f), 2);
    LinePreprocessor.PreparedLine wide =
        new LinePreprocessor.PreparedLine(filled(3 * H * 5, 1f), 5);
    List<LinePreprocessor.PreparedLine> lines = List.of(narrow, wide);
    assertThat(LinePreprocessor.batchWidth(lines, 4)).isEqualTo(5);
    assertThat(LinePreprocessor.batchWidth(lines, 320)).isEqualTo(320);
    float[] x = LinePreprocessor.batch(lines, 5);
    assertThat(x).hasSize(2 * 3 * H * 5);
    // line 0, channel 2, last row: two values then three zeros
    int row = (0 * 3 * H + 3 * H - 1) * 5;
    assertThat(x[row]).isEqualTo(0.5f);
    assertThat(x[row + 1]).isEqualTo(0.5f);
    assertThat(x[row + 2]).isZero();
    assertThat(x[row + 4]).isZero();
    assertThat(x[(3 * H) * 5 + 4]).isEqualTo(1f);
  }

  private static float[] filled(int size, float value) {
    float[] values = new float[size];
    java.util.Arrays.fill(values, value);
    return values;
  }
}
