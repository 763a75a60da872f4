package io.cacheai.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import org.junit.jupiter.api.Test;

class FastMathTest {
  @Test
  void exp_withinOneTenMillionthOfMathExp() {
    Random random = new Random(3);
    double maxRelative = 0;
    for (int i = 0; i < 200_000; i++) {
      float x = -87f + 175f * random.nextFloat();
      double exact = Math.exp(x);
      maxRelative = Math.max(maxRelative, Math.abs(FastMath.exp(x) - exact) / exact);
    }
    assertThat(maxRelative).isLessThan(2e-7);
  }

  @Test
  void exp_clampsOutsideNormalRange() {
    assertThat(FastMath.exp(-1000f)).isPositive().isLessThan(2e-38f);
    assertThat(FastMath.exp(1000f)).isFinite().isGreaterThan(3e38f);
    assertThat(FastMath.exp(0f)).isEqualTo(1f);
    assertThat(FastMath.sigmoid(100f)).isEqualTo(1f);
    assertThat(FastMath.sigmoid(-100f)).isLessThan(1e-37f);
  }
}
