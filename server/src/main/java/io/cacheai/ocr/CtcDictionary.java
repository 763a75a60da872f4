package io.cacheai.ocr;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The classes of a CTC text recognizer, as PaddleOCR numbers them: class 0 is the CTC blank, class
 * {@code i} (1 ≤ i ≤ n) is line {@code i} of the keys file, and class {@code n + 1} is a space
 * (PaddleOCR's {@code use_space_char=True}, appended after the keys).
 *
 * <pre>
 * class:  0       1        2        ...  n        n+1
 * token:  blank   line 1   line 2   ...  line n   " "
 * </pre>
 *
 * <p>The keys file is UTF-8, one token per line ({@code \n} or {@code \r\n}); a final line break
 * does not start another token, as with Python's {@code readlines()}. PP-OCRv4's {@code
 * ppocr_keys_v1.txt} has 6623 lines, so its recognizer has 6625 classes.
 */
public final class CtcDictionary {
  /** A keys file larger than this is refused (ppocr_keys_v1.txt is 26 KiB). */
  public static final long MAX_FILE_BYTES = 16L << 20;

  /** The class index of the CTC blank. */
  public static final int BLANK = 0;

  private final String[] tokens;

  private CtcDictionary(String[] tokens) {
    this.tokens = tokens;
  }

  /**
   * Reads a keys file.
   *
   * @throws IOException when it cannot be read
   * @throws IllegalArgumentException naming the file when it is too large, empty or not UTF-8
   */
  public static CtcDictionary read(Path file) throws IOException {
    long sizeBytes = Files.size(file);
    if (sizeBytes > MAX_FILE_BYTES) {
      throw new IllegalArgumentException(
          "dictionary " + file + ": " + sizeBytes + " bytes, more than " + MAX_FILE_BYTES);
    }
    String text;
    try {
      text =
          StandardCharsets.UTF_8
              .newDecoder()
              .onMalformedInput(CodingErrorAction.REPORT)
              .onUnmappableCharacter(CodingErrorAction.REPORT)
              .decode(ByteBuffer.wrap(Files.readAllBytes(file)))
              .toString();
    } catch (CharacterCodingException e) {
      throw new IllegalArgumentException("dictionary " + file + ": not valid UTF-8", e);
    }
    return parse(text, file.toString());
  }

  /** Parses the text of a keys file; {@code source} names it in error messages. */
  public static CtcDictionary parse(String text, String source) {
    List<String> keys = new ArrayList<>();
    int start = 0;
    while (start < text.length()) {
      int end = text.indexOf('\n', start);
      int next = end < 0 ? text.length() : end + 1;
      String line = text.substring(start, end < 0 ? text.length() : end);
      keys.add(line.endsWith("\r") ? line.substring(0, line.length() - 1) : line);
      start = next;
    }
    if (keys.isEmpty()) {
      throw new IllegalArgumentException("dictionary " + source + ": no keys");
    }
    String[] tokens = new String[keys.size() + 2];
    tokens[BLANK] = "";
    for (int i = 0; i < keys.size(); i++) {
      tokens[i + 1] = keys.get(i);
    }
    tokens[tokens.length - 1] = " ";
    return new CtcDictionary(tokens);
  }

  /** Blank + keys + space: the size of the recognizer's class dimension. */
  public int classCount() {
    return tokens.length;
  }

  /** The text of class {@code classIndex}; empty for the blank. */
  public String token(int classIndex) {
    return tokens[classIndex];
  }
}
