package io.cacheai.serve.cache;

import java.nio.ByteBuffer;

/**
 * Receives the bytes of a {@link KeyMaterial}, in order. The cache has three sinks: one that counts
 * them (the entry size), one that hashes them (the key), one that compares them with a stored entry
 * (the check that makes a false hit impossible) and one that stores them. All see the same calls,
 * so what is hashed is exactly what is compared.
 */
public interface MaterialSink {
  /** Eight bytes, little-endian. */
  void putLong(long value);

  /** The remaining bytes of {@code bytes}; its position and limit are left unchanged. */
  void putBytes(ByteBuffer bytes);

  /** A length-prefixed byte array, so that ("ab","c") and ("a","bc") differ. */
  default void putLengthPrefixed(byte[] bytes) {
    putLong(bytes.length);
    putBytes(ByteBuffer.wrap(bytes));
  }
}
