package io.cacheai.ocr;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.awt.image.BufferedImage;

/**
 * Fuzzes the OCR model's image decoding — {@link ImageBytesDecoder} (ImageIO: PNG, JPEG, BMP, GIF,
 * TIFF) then {@link LinePreprocessor} — with arbitrary bytes, seeded with small rendered text lines
 * in each format (inputs directory {@code
 * src/test/resources/io/cacheai/ocr/ImageDecodeFuzzTestInputs/<method>/}).
 *
 * <p>The contract checked, the one the recognizer's callers rely on: an {@link
 * IllegalArgumentException} whose message starts with the input's name, or a prepared line 48
 * pixels high and at most {@code max_width} wide. The options are the defaults the server uses.
 */
class ImageDecodeFuzzTest {
  private static final String WHERE = "input 'image'[0]";
  private static final OcrOptions OPTIONS = OcrOptions.DEFAULT;

  @FuzzTest(maxDuration = "5m")
  void decodeAndPrepare_anyBytes_refusedClearlyOrPrepared(byte[] bytes) {
    LinePreprocessor.PreparedLine line;
    try {
      BufferedImage image = ImageBytesDecoder.decode(bytes, WHERE, OPTIONS);
      line = LinePreprocessor.prepare(image, WHERE, OPTIONS.maxWidth());
    } catch (IllegalArgumentException e) {
      assertThat(e.getMessage()).startsWith(WHERE + ": ");
      return;
    }
    assertThat(line.width()).isBetween(1, OPTIONS.maxWidth());
    assertThat(line.chw()).hasSize(3 * OcrOptions.HEIGHT * line.width());
  }
}
