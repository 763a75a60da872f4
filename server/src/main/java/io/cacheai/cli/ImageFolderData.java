package io.cacheai.cli;

import io.cacheai.compress.Dataset;
import io.cacheai.ocr.OcrLineBatch;
import io.cacheai.ocr.OcrOptions;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;
import javax.imageio.ImageIO;

/**
 * Calibration and evaluation data from a folder of images, for {@code cacheai compress
 * --calibration DIR} and {@code cacheai eval --data DIR}. Images are the folder's {@code
 * .png/.jpg/.jpeg/.bmp/.gif} files in name order, prepared for the model's first input:
 *
 * <ul>
 *   <li>a text-line recognizer, input {@code [N,3,48|H,W]} with W (and H) dynamic (PP-OCR rec
 *       declares {@code [N,3,?,?]}): as the OCR wrapper does ({@link OcrLineBatch}), every line
 *       padded to the widest one (at least 320);
 *   <li>an image classifier, input {@code [N,1|3,H,W]} fixed: scaled to W×H, pixel / 255 ({@link
 *       ImageClassifierInput}, the convention of {@code cacheai infer}).
 * </ul>
 *
 * <p>Optional {@value #LABELS} in the folder, one line per image: {@code <file name><TAB><label>}.
 * Integer labels are classes (top-1 accuracy); other labels (a line's text) are accepted and
 * ignored here: sequence models are scored by agreement with the fp32 model. Every image needs a
 * label once the file exists.
 */
final class ImageFolderData {
  static final String LABELS = "labels.txt";
  private static final List<String> EXTENSIONS = List.of(".png", ".jpg", ".jpeg", ".bmp", ".gif");

  private ImageFolderData() {}

  /** Reads {@code dir} for a model whose first input has {@code inputShape}. */
  static Dataset read(Path dir, long[] inputShape) throws IOException {
    List<Path> files;
    try (Stream<Path> listing = Files.list(dir)) {
      files =
          listing
              .filter(ImageFolderData::isImage)
              .sorted((a, b) -> a.getFileName().toString().compareTo(b.getFileName().toString()))
              .toList();
    }
    if (files.isEmpty()) {
      throw new IOException("data=" + dir + ": no image files (" + EXTENSIONS + ")");
    }
    int[] labels = labels(dir, files);
    boolean ocr =
        inputShape.length == 4
            && inputShape[1] == 3
            && (inputShape[2] == OcrOptions.HEIGHT || inputShape[2] < 0)
            && inputShape[3] < 0;
    if (ocr) {
      List<BufferedImage> images = new ArrayList<>();
      List<String> names = new ArrayList<>();
      int width = OcrOptions.DEFAULT_MIN_WIDTH;
      for (Path file : files) {
        BufferedImage image = decode(file);
        images.add(image);
        names.add("data=" + file);
        width = Math.max(width, OcrLineBatch.resizedWidth(image));
      }
      if (width > OcrOptions.DEFAULT_MAX_WIDTH) {
        throw new IOException(
            "data="
                + dir
                + ": the widest line is "
                + width
                + " pixels at height 48, more than "
                + OcrOptions.DEFAULT_MAX_WIDTH);
      }
      return new Dataset(
          OcrLineBatch.prepare(images, names, width),
          new long[] {3, OcrOptions.HEIGHT, width},
          labels,
          dir.getFileName() + " (" + files.size() + " lines at 48x" + width + ")");
    }
    if (inputShape.length != 4
        || (inputShape[1] != 1 && inputShape[1] != 3)
        || inputShape[2] < 1
        || inputShape[3] < 1) {
      throw new IOException(
          "data="
              + dir
              + ": a folder of images needs a model input [N,1|3,H,W] (fixed H, W) or"
              + " [N,3,48,W] (text lines); this model's is "
              + Arrays.toString(inputShape));
    }
    ImageClassifierInput layout =
        new ImageClassifierInput((int) inputShape[1], (int) inputShape[2], (int) inputShape[3]);
    int length = layout.channels() * layout.height() * layout.width();
    float[] values = new float[Math.multiplyExact(files.size(), length)];
    for (int i = 0; i < files.size(); i++) {
      float[] pixels;
      try {
        pixels = layout.pixels(Files.readAllBytes(files.get(i)));
      } catch (IllegalArgumentException e) {
        throw new IOException("data=" + files.get(i) + ": " + e.getMessage(), e);
      }
      System.arraycopy(pixels, 0, values, i * length, length);
    }
    return new Dataset(
        values,
        new long[] {layout.channels(), layout.height(), layout.width()},
        labels,
        dir.getFileName() + " (" + files.size() + " images)");
  }

  private static boolean isImage(Path file) {
    String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
    return Files.isRegularFile(file) && EXTENSIONS.stream().anyMatch(name::endsWith);
  }

  private static BufferedImage decode(Path file) throws IOException {
    BufferedImage image = ImageIO.read(new ByteArrayInputStream(Files.readAllBytes(file)));
    if (image == null) {
      throw new IOException("data=" + file + ": not an image ImageIO can read");
    }
    return image;
  }

  /** Integer class labels in file order, or null (no labels file, or text labels). */
  private static int[] labels(Path dir, List<Path> files) throws IOException {
    Path path = dir.resolve(LABELS);
    if (!Files.exists(path)) {
      return null;
    }
    Map<String, String> byName = new HashMap<>();
    List<String> lines = Files.readAllLines(path);
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i);
      if (line.isBlank()) {
        continue;
      }
      int tab = line.indexOf('\t');
      if (tab <= 0) {
        throw new IOException(
            "data=" + path + " line " + (i + 1) + ": expected '<file name><TAB><label>'");
      }
      byName.put(line.substring(0, tab), line.substring(tab + 1));
    }
    int[] labels = new int[files.size()];
    boolean classes = true;
    for (int i = 0; i < files.size(); i++) {
      String name = files.get(i).getFileName().toString();
      String label = byName.get(name);
      if (label == null) {
        throw new IOException("data=" + path + ": no label for image '" + name + "'");
      }
      try {
        labels[i] = Integer.parseInt(label.strip());
      } catch (NumberFormatException e) {
        classes = false; // text labels (OCR lines): not class indices
      }
    }
    return classes ? labels : null;
  }
}
