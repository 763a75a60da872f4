package io.cacheai.ocr;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CtcDictionaryTest {
  @TempDir Path dir;

  @Test
  void parse_keysWithFinalNewline_blankFirstSpaceLast() {
    CtcDictionary dictionary = CtcDictionary.parse("a\nb\r\n", "test");
    assertThat(dictionary.classCount()).isEqualTo(4);
    assertThat(dictionary.token(0)).isEmpty();
    assertThat(dictionary.token(1)).isEqualTo("a");
    assertThat(dictionary.token(2)).isEqualTo("b");
    assertThat(dictionary.token(3)).isEqualTo(" ");
  }

  @Test
  void parse_noFinalNewline_lastLineIsAKey() {
    assertThat(CtcDictionary.parse("a\nb", "test").classCount()).isEqualTo(4);
  }

  @Test
  void parse_empty_refusedNamingSource() {
    assertThatThrownBy(() -> CtcDictionary.parse("", "keys.txt"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("dictionary keys.txt: no keys");
  }

  @Test
  void read_notUtf8_refusedNamingFile() throws Exception {
    Path file = Files.write(dir.resolve("keys.txt"), new byte[] {'a', '\n', (byte) 0xff});
    assertThatThrownBy(() -> CtcDictionary.read(file))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("dictionary " + file + ": not valid UTF-8");
  }

  @Test
  void read_ppocrKeys_has6625Classes() throws Exception {
    Path file =
        Files.write(
            dir.resolve("ppocr_keys_v1.txt"), PpOcrModels.resource(PpOcrModels.KEYS_RESOURCE));
    CtcDictionary dictionary = CtcDictionary.read(file);
    assertThat(dictionary.classCount()).isEqualTo(6625);
    assertThat(dictionary.token(6624)).isEqualTo(" ");
  }
}
