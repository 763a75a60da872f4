package io.cacheai.ocr;

import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Random;
import javax.imageio.ImageIO;

/**
 * Renders a text line the way a scanned or printed prescription line looks to a recognizer: dark
 * ink on white, one of the DejaVu families (installed on the build machines, so Java2D renders them
 * headless and identically everywhere), anti-aliased, with seeded jitter in font size, ink
 * darkness, margins and baseline. Same seed, same pixels.
 */
public final class TextLineRenderer {
  /** Font families the lines are drawn in. */
  public static final List<String> FAMILIES =
      List.of("DejaVu Sans", "DejaVu Serif", "DejaVu Sans Mono");

  private final Random random;

  public TextLineRenderer(long seed) {
    this.random = new Random(seed);
  }

  /** One rendered line: the image and how it was drawn. */
  public record Rendered(String text, String family, int sizePx, BufferedImage image) {
    /** The image as PNG bytes. */
    public byte[] png() {
      return TextLineRenderer.png(image);
    }
  }

  /** Draws {@code text} with the next random font, size, ink and margins. */
  public Rendered render(String text) {
    String family = FAMILIES.get(random.nextInt(FAMILIES.size()));
    int sizePx = 26 + random.nextInt(15);
    int ink = random.nextInt(60);
    int left = 4 + random.nextInt(14);
    int right = 4 + random.nextInt(14);
    int top = 2 + random.nextInt(8);
    int bottom = 2 + random.nextInt(8);
    Font font = new Font(family, Font.PLAIN, sizePx);

    BufferedImage probe = new BufferedImage(1, 1, BufferedImage.TYPE_INT_RGB);
    Graphics2D p = probe.createGraphics();
    FontMetrics metrics = p.getFontMetrics(font);
    int textWidth = metrics.stringWidth(text);
    int ascent = metrics.getAscent();
    int descent = metrics.getDescent();
    p.dispose();

    BufferedImage image =
        new BufferedImage(
            left + textWidth + right, top + ascent + descent + bottom, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = image.createGraphics();
    try {
      g.setColor(Color.WHITE);
      g.fillRect(0, 0, image.getWidth(), image.getHeight());
      g.setRenderingHint(
          RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
      g.setRenderingHint(
          RenderingHints.KEY_FRACTIONALMETRICS, RenderingHints.VALUE_FRACTIONALMETRICS_ON);
      g.setColor(new Color(ink, ink, ink));
      g.setFont(font);
      g.drawString(text, left, top + ascent);
    } finally {
      g.dispose();
    }
    return new Rendered(text, family, sizePx, image);
  }

  /** PNG bytes of {@code image}. */
  public static byte[] png(BufferedImage image) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      if (!ImageIO.write(image, "png", out)) {
        throw new IllegalStateException("no PNG writer");
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }
}
