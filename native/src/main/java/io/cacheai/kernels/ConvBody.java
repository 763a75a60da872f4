package io.cacheai.kernels;

/**
 * Which body of an int8 convolution kernel runs: the vector body picked for this CPU, or the plain
 * scalar C twin that tests compare it with (same rounding, so bit-identical results).
 */
public enum ConvBody {
  /** The fastest body this CPU runs (the scalar twin when its vector instructions are absent). */
  BEST,
  /** The scalar C twin, for tests. */
  SCALAR_TWIN;

  /** The {@code use_ref} flag of the native calls: 1 for the scalar twin. */
  int useRef() {
    return this == SCALAR_TWIN ? 1 : 0;
  }
}
