package io.cacheai.kernels;

import java.nio.FloatBuffer;

/**
 * One float image entering a whole-image int8 convolution ({@link Int8Conv#convImage}, {@link
 * Int8DirectConv#image}, {@link Int8KqConv#image}, {@link Int8LanesConv#image}): x [channels, h,
 * w], its zero-point padding {@code pads} = {padT, padB, padL, padR}, and the u8 quantization
 * ({@link U8Activations} rule) with {@code scale} and {@code zeroPoint}. Checked by the method it
 * is passed to, like every other argument, so an error names the field.
 */
public record ConvInput(
    FloatBuffer x, int channels, int h, int w, int[] pads, float scale, int zeroPoint) {}
