package io.cacheai.ocr;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

class ImageBytesDecoderTest {
  private static final String WHERE = "input 'image'[1]";

  private static byte[] encode(BufferedImage image, String format) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    assertThat(ImageIO.write(image, format, out)).isTrue();
    return out.toByteArray();
  }

  @Test
  void decode_pngAndJpeg_giveTheImage() throws Exception {
    BufferedImage image = new BufferedImage(30, 12, BufferedImage.TYPE_INT_RGB);
    for (String format : new String[] {"png", "jpeg"}) {
      BufferedImage decoded =
          ImageBytesDecoder.decode(encode(image, format), WHERE, OcrOptions.DEFAULT);
      assertThat(decoded.getWidth()).isEqualTo(30);
      assertThat(decoded.getHeight()).isEqualTo(12);
    }
  }

  @Test
  void decode_garbage_refusedNamingTheElement() {
    assertThatThrownBy(
            () -> ImageBytesDecoder.decode("hello, world".getBytes(), WHERE, OcrOptions.DEFAULT))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith(WHERE + ": not an image ImageIO can read")
        .hasMessageEndingWith("first bytes 68656c6c6f2c2077");
  }

  @Test
  void decode_truncatedPng_refusedAsUndecodable() throws Exception {
    byte[] png = encode(new BufferedImage(300, 40, BufferedImage.TYPE_INT_RGB), "png");
    byte[] truncated = Arrays.copyOf(png, png.length / 2);
    assertThatThrownBy(() -> ImageBytesDecoder.decode(truncated, WHERE, OcrOptions.DEFAULT))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith(WHERE + ": undecodable image: ");
  }

  @Test
  void decode_empty_refused() {
    assertThatThrownBy(() -> ImageBytesDecoder.decode(new byte[0], WHERE, OcrOptions.DEFAULT))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(WHERE + ": empty, expected PNG or JPEG bytes");
  }

  @Test
  void decode_overByteLimit_refusedBeforeDecoding() throws Exception {
    byte[] png = encode(new BufferedImage(30, 12, BufferedImage.TYPE_INT_RGB), "png");
    OcrOptions small = new OcrOptions(1280, 320, png.length - 1, 1 << 20);
    assertThatThrownBy(() -> ImageBytesDecoder.decode(png, WHERE, small))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(
            WHERE + ": " + png.length + " bytes, more than max_image_bytes=" + (png.length - 1));
  }

  @Test
  void decode_overPixelLimit_refusedFromTheHeader() throws Exception {
    byte[] png = encode(new BufferedImage(100, 20, BufferedImage.TYPE_BYTE_GRAY), "png");
    OcrOptions small = new OcrOptions(1280, 320, 1 << 20, 1999);
    assertThatThrownBy(() -> ImageBytesDecoder.decode(png, WHERE, small))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(WHERE + ": png image of 100x20 pixels, more than max_image_pixels=1999");
  }
}
