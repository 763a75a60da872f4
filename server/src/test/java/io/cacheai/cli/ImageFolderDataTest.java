package io.cacheai.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cacheai.compress.Dataset;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A folder of images as calibration / evaluation data, for classifiers and OCR recognizers. */
class ImageFolderDataTest {
  @TempDir Path dir;

  private void image(String name, int width, int height, Color color) throws IOException {
    BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = image.createGraphics();
    g.setColor(color);
    g.fillRect(0, 0, width, height);
    g.dispose();
    ImageIO.write(image, "png", dir.resolve(name).toFile());
  }

  @Test
  void read_classifier_scaledGreyInNameOrderWithIntegerLabels() throws Exception {
    image("b.png", 56, 56, Color.BLACK);
    image("a.png", 10, 10, Color.WHITE);
    Files.writeString(dir.resolve("labels.txt"), "a.png\t7\nb.png\t3\n");
    Dataset data = ImageFolderData.read(dir, new long[] {-1, 1, 28, 28});
    assertThat(data.count()).isEqualTo(2);
    assertThat(data.sampleShape()).containsExactly(1, 28, 28);
    assertThat(data.slice(0, 1)[0]).isEqualTo(1f); // a.png, white
    assertThat(data.slice(1, 1)[0]).isEqualTo(0f); // b.png, black
    assertThat(data.labels()).containsExactly(7, 3);
  }

  @Test
  void read_ocrRecognizer_height48PaddedToWidestTextLabelsIgnored() throws Exception {
    image("line1.png", 100, 24, Color.WHITE); // 200 wide at height 48
    image("line2.png", 400, 48, Color.WHITE); // 400 wide
    Files.writeString(dir.resolve("labels.txt"), "line1.png\tRx #30\nline2.png\t1 tab daily\n");
    Dataset data = ImageFolderData.read(dir, new long[] {-1, 3, -1, -1});
    assertThat(data.sampleShape()).containsExactly(3, 48, 400);
    assertThat(data.labels()).isNull();
    float[] first = data.slice(0, 1);
    assertThat(first[0]).isEqualTo(1f); // white → (255/255 − 0.5)/0.5
    assertThat(first[250]).isEqualTo(0f); // padding right of the 200-pixel line
  }

  @Test
  void read_missingLabel_refusedNamingTheImage() throws Exception {
    image("a.png", 28, 28, Color.WHITE);
    image("b.png", 28, 28, Color.WHITE);
    Files.writeString(dir.resolve("labels.txt"), "a.png\t1\n");
    assertThatThrownBy(() -> ImageFolderData.read(dir, new long[] {-1, 1, 28, 28}))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("no label for image 'b.png'");
  }

  @Test
  void read_noImages_or_notAnImageModel_refused() throws Exception {
    assertThatThrownBy(() -> ImageFolderData.read(dir, new long[] {-1, 1, 28, 28}))
        .hasMessageContaining("no image files");
    image("a.png", 28, 28, Color.WHITE);
    assertThatThrownBy(() -> ImageFolderData.read(dir, new long[] {-1, 784}))
        .hasMessageContaining("needs a model input [N,1|3,H,W]");
  }
}
