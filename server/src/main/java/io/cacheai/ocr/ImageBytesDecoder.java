package io.cacheai.ocr;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.Iterator;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;

/**
 * Decodes one encoded image (PNG, JPEG, or any other format the JDK's ImageIO reads: BMP, GIF,
 * TIFF) from request bytes, within {@link OcrOptions} limits.
 *
 * <p>The order matters for a server: the byte count is checked first, then the image header is read
 * for its width and height, and only an image within {@code maxImagePixels} is decoded — a small
 * file that declares a huge image (a decompression bomb) is refused before it costs memory. The
 * stream is cached in memory, never in a temporary file. Every failure is an {@link
 * IllegalArgumentException} whose message starts with {@code where} (e.g. {@code input
 * 'image'[2]}).
 */
final class ImageBytesDecoder {
  private ImageBytesDecoder() {}

  static BufferedImage decode(byte[] bytes, String where, OcrOptions options) {
    if (bytes.length == 0) {
      throw new IllegalArgumentException(where + ": empty, expected PNG or JPEG bytes");
    }
    if (bytes.length > options.maxImageBytes()) {
      throw new IllegalArgumentException(
          where
              + ": "
              + bytes.length
              + " bytes, more than max_image_bytes="
              + options.maxImageBytes());
    }
    try (ImageInputStream stream =
        new MemoryCacheImageInputStream(new ByteArrayInputStream(bytes))) {
      Iterator<ImageReader> readers = ImageIO.getImageReaders(stream);
      if (!readers.hasNext()) {
        throw new IllegalArgumentException(
            where
                + ": not an image ImageIO can read (PNG, JPEG, BMP, GIF, TIFF); first bytes "
                + hexPrefix(bytes));
      }
      ImageReader reader = readers.next();
      try {
        reader.setInput(stream, true, true);
        long width = reader.getWidth(0);
        long height = reader.getHeight(0);
        if (width < 1 || height < 1 || width * height > options.maxImagePixels()) {
          throw new IllegalArgumentException(
              where
                  + ": "
                  + reader.getFormatName()
                  + " image of "
                  + width
                  + "x"
                  + height
                  + " pixels, more than max_image_pixels="
                  + options.maxImagePixels());
        }
        BufferedImage image = reader.read(0);
        if (image == null) {
          throw new IllegalArgumentException(where + ": " + reader.getFormatName() + " held none");
        }
        return image;
      } finally {
        reader.dispose();
      }
    } catch (IOException e) {
      throw new IllegalArgumentException(where + ": undecodable image: " + describe(e), e);
    } catch (IllegalArgumentException e) {
      throw e;
    } catch (RuntimeException e) {
      // Some ImageIO plugins throw unchecked exceptions on corrupt data.
      throw new IllegalArgumentException(where + ": undecodable image: " + describe(e), e);
    }
  }

  private static String describe(Exception e) {
    return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
  }

  private static String hexPrefix(byte[] bytes) {
    StringBuilder hex = new StringBuilder();
    for (int i = 0; i < Math.min(8, bytes.length); i++) {
      hex.append(String.format("%02x", bytes[i] & 0xff));
    }
    return hex.toString();
  }
}
