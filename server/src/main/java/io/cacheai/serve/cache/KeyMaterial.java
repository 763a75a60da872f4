package io.cacheai.serve.cache;

/**
 * Everything that decides a cached answer, written as one byte stream: for an inference request,
 * the model's identity, the inputs' names, types, shapes and bytes, and whatever else changes the
 * response. The cache hashes this stream into the key and keeps a full copy in the entry; a lookup
 * whose key matches is a hit only when the stream is byte for byte the stored one.
 *
 * <p>{@link #writeTo} must write the same bytes every time it is called on the same object (it is
 * called once to size, once to hash, and once to compare or store).
 */
@FunctionalInterface
public interface KeyMaterial {
  /** Writes the material, in a fixed order, to {@code sink}. */
  void writeTo(MaterialSink sink);
}
