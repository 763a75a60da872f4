package io.cacheai.data;

import java.io.IOException;
import java.nio.file.Path;

/**
 * MNIST images and labels as the embedded models take them: pixels scaled to [0,1] (pixel / 255),
 * one [1,28,28] image after another.
 */
public record MnistDataset(int count, int rows, int cols, float[] pixels, int[] labels) {
  /** Reads {@code <dir>/<prefix>-images-idx3-ubyte[.gz]} and the matching labels file. */
  public static MnistDataset read(Path images, Path labels) throws IOException {
    IdxReader.IdxArray imageArray = IdxReader.read(images);
    IdxReader.IdxArray labelArray = IdxReader.read(labels);
    if (imageArray.dims().length != 3 || labelArray.dims().length != 1) {
      throw new IOException(
          "expected images [n,rows,cols] and labels [n], got ranks "
              + imageArray.dims().length
              + " and "
              + labelArray.dims().length);
    }
    int count = imageArray.dims()[0];
    if (labelArray.dims()[0] != count) {
      throw new IOException(count + " images but " + labelArray.dims()[0] + " labels");
    }
    float[] pixels = new float[imageArray.data().length];
    for (int i = 0; i < pixels.length; i++) {
      pixels[i] = imageArray.unsigned(i) / 255f;
    }
    int[] labelValues = new int[count];
    for (int i = 0; i < count; i++) {
      labelValues[i] = labelArray.unsigned(i);
    }
    return new MnistDataset(count, imageArray.dims()[1], imageArray.dims()[2], pixels, labelValues);
  }

  /** The MNIST test set committed under {@code tools/mnist/data} of the project at {@code root}. */
  public static MnistDataset testSet(Path root) throws IOException {
    Path dir = root.resolve("tools/mnist/data");
    return read(dir.resolve("t10k-images-idx3-ubyte.gz"), dir.resolve("t10k-labels-idx1-ubyte.gz"));
  }

  /** Pixels of images {@code [from, from + n)}, contiguous. */
  public float[] slice(int from, int n) {
    int size = rows * cols;
    float[] out = new float[n * size];
    System.arraycopy(pixels, from * size, out, 0, n * size);
    return out;
  }
}
