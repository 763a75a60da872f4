package io.cacheai.ocr;

import java.nio.FloatBuffer;
import java.util.Arrays;

/**
 * Greedy (best path) CTC decoding, as PaddleOCR's {@code CTCLabelDecode} does it: per time step
 * take the most probable class (the first one on a tie, like {@code numpy.argmax}), merge a run of
 * equal classes into one, drop the blank. The confidence of a decoded token is the probability of
 * its class at the first step of its run.
 *
 * <p>With {@code trimSpaces}, space tokens at the start and end of the line are dropped with their
 * confidences: a recognizer reads the blank margins around a line as spaces now and then (PP-OCRv4
 * rec does on about one line in five of our rendered test lines), and no caller wants them.
 *
 * <p>Input layout, one batch element: {@code steps × classes} probabilities, row-major (the
 * recognizer's softmax output {@code [N, T, C]} sliced at one {@code n}).
 */
public final class CtcGreedyDecoder {
  private final CtcDictionary dictionary;
  private final boolean trimSpaces;

  public CtcGreedyDecoder(CtcDictionary dictionary, boolean trimSpaces) {
    this.dictionary = dictionary;
    this.trimSpaces = trimSpaces;
  }

  /** A decoded line: the text and one confidence per decoded token. */
  public record Line(String text, float[] confidences) {
    /** The mean token confidence (PaddleOCR's line score); 0 for an empty line. */
    public float meanConfidence() {
      if (confidences.length == 0) {
        return 0f;
      }
      double sum = 0;
      for (float c : confidences) {
        sum += c;
      }
      return (float) (sum / confidences.length);
    }
  }

  /**
   * Decodes {@code steps × classes} probabilities starting at {@code offset} of {@code probs}
   * (absolute index, the buffer's position is not used).
   */
  public Line decode(FloatBuffer probs, int offset, int steps, int classes) {
    if (classes != dictionary.classCount()) {
      throw new IllegalArgumentException(
          "recognizer output has "
              + classes
              + " classes, the dictionary has "
              + dictionary.classCount()
              + " (blank + keys + space)");
    }
    int[] classOf = new int[steps];
    float[] confidences = new float[steps];
    int tokens = 0;
    int previous = -1;
    for (int t = 0; t < steps; t++) {
      int row = offset + t * classes;
      int best = 0;
      float bestProb = probs.get(row);
      for (int c = 1; c < classes; c++) {
        float p = probs.get(row + c);
        if (p > bestProb) {
          best = c;
          bestProb = p;
        }
      }
      if (best != previous && best != CtcDictionary.BLANK) {
        classOf[tokens] = best;
        confidences[tokens++] = bestProb;
      }
      previous = best;
    }
    int first = 0;
    int end = tokens;
    if (trimSpaces) {
      while (first < end && dictionary.token(classOf[first]).isBlank()) {
        first++;
      }
      while (end > first && dictionary.token(classOf[end - 1]).isBlank()) {
        end--;
      }
    }
    StringBuilder text = new StringBuilder();
    for (int i = first; i < end; i++) {
      text.append(dictionary.token(classOf[i]));
    }
    return new Line(text.toString(), Arrays.copyOfRange(confidences, first, end));
  }
}
