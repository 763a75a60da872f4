/**
 * "Cache AI": building the lookup tables of {@code LookupGemm} nodes (MADDNESS, Blalock & Guttag
 * 2021; LUT-NN, Tang et al. 2023) from calibration activations. Per sub-space of an input row:
 * {@link io.cacheai.compress.lut.KMeans} prototypes, a depth-4 {@link
 * io.cacheai.compress.lut.TreeEncoderFit} that reproduces their assignment with threshold
 * comparisons only, then a ridge least-squares {@link io.cacheai.compress.lut.TableRefit} of the
 * tables against the exact layer outputs; {@link io.cacheai.compress.lut.LutCompressor} replaces
 * the chosen layers in order ({@link io.cacheai.compress.lut.LutLayerChoice} by default), each
 * fitted on the activations of the already-replaced ones; then {@link
 * io.cacheai.compress.lut.LutFineTune} trains the last table layer's tables and the exact layers
 * after it end to end, keys fixed.
 */
package io.cacheai.compress.lut;
