package io.cacheai.ocr;

import java.util.List;

/** Line accuracy and character error rate of recognized text against the rendered text. */
public record OcrAccuracy(int lines, int exactLines, long editDistance, long referenceChars) {
  /** Compares {@code recognized.get(i)} with {@code expected.get(i)} for every line. */
  public static OcrAccuracy of(List<String> expected, List<String> recognized) {
    if (expected.size() != recognized.size()) {
      throw new IllegalArgumentException(expected.size() + " references, " + recognized.size());
    }
    int exact = 0;
    long distance = 0;
    long chars = 0;
    for (int i = 0; i < expected.size(); i++) {
      String e = expected.get(i);
      String r = recognized.get(i);
      exact += e.equals(r) ? 1 : 0;
      distance += levenshtein(e, r);
      chars += e.codePointCount(0, e.length());
    }
    return new OcrAccuracy(expected.size(), exact, distance, chars);
  }

  /** Share of lines read exactly. */
  public double lineAccuracy() {
    return (double) exactLines / lines;
  }

  /** Character error rate: edits (insert, delete, substitute) per reference character. */
  public double characterErrorRate() {
    return (double) editDistance / referenceChars;
  }

  /** Edit distance over code points. */
  static int levenshtein(String a, String b) {
    int[] x = a.codePoints().toArray();
    int[] y = b.codePoints().toArray();
    int[] previous = new int[y.length + 1];
    int[] current = new int[y.length + 1];
    for (int j = 0; j <= y.length; j++) {
      previous[j] = j;
    }
    for (int i = 1; i <= x.length; i++) {
      current[0] = i;
      for (int j = 1; j <= y.length; j++) {
        int substitute = previous[j - 1] + (x[i - 1] == y[j - 1] ? 0 : 1);
        current[j] = Math.min(substitute, Math.min(previous[j], current[j - 1]) + 1);
      }
      int[] swap = previous;
      previous = current;
      current = swap;
    }
    return previous[y.length];
  }

  @Override
  public String toString() {
    return String.format(
        java.util.Locale.ROOT,
        "%d/%d lines exact (%.1f %%), CER %.4f (%d edits / %d chars)",
        exactLines,
        lines,
        100 * lineAccuracy(),
        characterErrorRate(),
        editDistance,
        referenceChars);
  }
}
