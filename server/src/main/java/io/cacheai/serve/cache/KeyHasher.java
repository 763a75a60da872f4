package io.cacheai.serve.cache;

import com.dynatrace.hash4j.hashing.HashStream128;
import com.dynatrace.hash4j.hashing.HashValue128;
import com.dynatrace.hash4j.hashing.Hashing;
import java.nio.ByteBuffer;

/**
 * Turns {@link KeyMaterial} into a 128-bit key. A constructor parameter of {@link ResponseCache},
 * so that tests can give a deliberately weak one (a constant forces every key to collide) and show
 * that collisions cost only speed, never correctness.
 */
@FunctionalInterface
public interface KeyHasher {
  /** The 128-bit hash of the material's byte stream. */
  Key128 hash(KeyMaterial material);

  /**
   * XXH3-128 (hash4j), fed the material as a stream: bytes not backed by an accessible array go
   * through an 8 KiB scratch array in chunks, never concatenated into one copy.
   */
  static KeyHasher xxh3() {
    return material -> {
      HashingSink sink = new HashingSink(Hashing.xxh3_128().hashStream());
      material.writeTo(sink);
      HashValue128 value = sink.stream.get();
      return new Key128(value.getMostSignificantBits(), value.getLeastSignificantBits());
    };
  }

  /** Feeds a hash4j stream. */
  final class HashingSink implements MaterialSink {
    private static final int CHUNK_BYTES = 8192;
    private final HashStream128 stream;
    private byte[] chunk;

    HashingSink(HashStream128 stream) {
      this.stream = stream;
    }

    @Override
    public void putLong(long value) {
      stream.putLong(value);
    }

    @Override
    public void putBytes(ByteBuffer bytes) {
      ByteBuffer view = bytes.duplicate();
      if (view.hasArray()) {
        stream.putBytes(view.array(), view.arrayOffset() + view.position(), view.remaining());
        return;
      }
      if (chunk == null) {
        chunk = new byte[CHUNK_BYTES];
      }
      while (view.hasRemaining()) {
        int n = Math.min(CHUNK_BYTES, view.remaining());
        view.get(chunk, 0, n);
        stream.putBytes(chunk, 0, n);
      }
    }
  }
}
