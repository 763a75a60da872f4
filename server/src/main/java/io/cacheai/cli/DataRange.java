package io.cacheai.cli;

import io.cacheai.compress.Dataset;

/** A {@code FROM:TO} sample range option (TO exclusive; empty TO = to the end). */
record DataRange(int from, int to) {
  static DataRange parse(String text) {
    String[] parts = text.split(":", -1);
    try {
      if (parts.length == 2) {
        int from = parts[0].isEmpty() ? 0 : Integer.parseInt(parts[0]);
        int to = parts[1].isEmpty() ? Integer.MAX_VALUE : Integer.parseInt(parts[1]);
        if (from >= 0 && to > from) {
          return new DataRange(from, to);
        }
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new IllegalArgumentException("range='" + text + "' (expected FROM:TO, 0 <= FROM < TO)");
  }

  Dataset apply(Dataset data) {
    return data.range(Math.min(from, data.count()), Math.min(to, data.count()));
  }
}
