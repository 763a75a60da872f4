package io.cacheai.ocr;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.FloatBuffer;
import org.junit.jupiter.api.Test;

class CtcGreedyDecoderTest {
  // classes: 0 blank, 1 "l", 2 "o", 3 " "
  private final CtcDictionary dictionary = CtcDictionary.parse("l\no\n", "test");

  /** One row per step: the winning class gets {@code p}, the rest share what is left. */
  private static FloatBuffer steps(int[] classes, float[] probs) {
    float[] values = new float[classes.length * 4];
    for (int t = 0; t < classes.length; t++) {
      for (int c = 0; c < 4; c++) {
        values[t * 4 + c] = c == classes[t] ? probs[t] : (1 - probs[t]) / 3;
      }
    }
    return FloatBuffer.wrap(values);
  }

  @Test
  void decode_mergesRunsDropsBlanks_confidenceFromFirstStepOfRun() {
    // l l _ l o o _  ->  "llo": the blank separates the two l's, the repeats merge.
    FloatBuffer probs =
        steps(
            new int[] {1, 1, 0, 1, 2, 2, 0},
            new float[] {0.9f, 0.5f, 0.8f, 0.7f, 0.6f, 0.99f, 0.9f});
    CtcGreedyDecoder.Line line = new CtcGreedyDecoder(dictionary, false).decode(probs, 0, 7, 4);
    assertThat(line.text()).isEqualTo("llo");
    assertThat(line.confidences()).containsExactly(0.9f, 0.7f, 0.6f);
    assertThat(line.meanConfidence()).isCloseTo((0.9f + 0.7f + 0.6f) / 3, within(1e-6f));
  }

  @Test
  void decode_offsetSelectsTheBatchElement() {
    FloatBuffer probs = steps(new int[] {1, 1, 2, 2}, new float[] {0.9f, 0.9f, 0.8f, 0.8f});
    CtcGreedyDecoder decoder = new CtcGreedyDecoder(dictionary, false);
    assertThat(decoder.decode(probs, 0, 2, 4).text()).isEqualTo("l");
    assertThat(decoder.decode(probs, 8, 2, 4).text()).isEqualTo("o");
  }

  @Test
  void decode_trimSpaces_dropsEdgeSpacesAndTheirConfidencesOnly() {
    // " lo l " with spaces at both ends and one inside.
    FloatBuffer probs =
        steps(new int[] {3, 1, 2, 3, 1, 3}, new float[] {0.5f, 0.91f, 0.92f, 0.93f, 0.94f, 0.6f});
    CtcGreedyDecoder.Line trimmed = new CtcGreedyDecoder(dictionary, true).decode(probs, 0, 6, 4);
    assertThat(trimmed.text()).isEqualTo("lo l");
    assertThat(trimmed.confidences()).containsExactly(0.91f, 0.92f, 0.93f, 0.94f);
    probs.rewind();
    assertThat(new CtcGreedyDecoder(dictionary, false).decode(probs, 0, 6, 4).text())
        .isEqualTo(" lo l ");
  }

  @Test
  void decode_allBlank_emptyTextZeroMean() {
    CtcGreedyDecoder.Line line =
        new CtcGreedyDecoder(dictionary, true)
            .decode(steps(new int[] {0, 0}, new float[] {0.9f, 0.9f}), 0, 2, 4);
    assertThat(line.text()).isEmpty();
    assertThat(line.confidences()).isEmpty();
    assertThat(line.meanConfidence()).isZero();
  }

  @Test
  void decode_tie_firstClassWins() {
    FloatBuffer probs = FloatBuffer.wrap(new float[] {0.1f, 0.45f, 0.45f, 0f});
    assertThat(new CtcGreedyDecoder(dictionary, false).decode(probs, 0, 1, 4).text())
        .isEqualTo("l");
  }

  @Test
  void decode_classCountDiffersFromDictionary_refused() {
    assertThatThrownBy(
            () -> new CtcGreedyDecoder(dictionary, true).decode(FloatBuffer.allocate(10), 0, 2, 5))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("recognizer output has 5 classes, the dictionary has 4");
  }

  private static org.assertj.core.data.Offset<Float> within(float tolerance) {
    return org.assertj.core.data.Offset.offset(tolerance);
  }
}
