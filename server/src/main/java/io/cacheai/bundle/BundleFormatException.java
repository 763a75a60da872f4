package io.cacheai.bundle;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A file that is not a bundle this code can use: wrong magic, unknown format version, truncated, a
 * field out of bounds, a checksum mismatch. The message names the file and the offending field as
 * {@code key=value} with what was expected, e.g. {@code bundle /m/1/model.cai: section 3 (tensor
 * 'fc1.weight'): crc32c=0x1a2b3c4d, computed 0x99aa00ff (corrupt data)}.
 */
public final class BundleFormatException extends IOException {
  private static final long serialVersionUID = 1L;

  public BundleFormatException(Path file, String problem) {
    super("bundle " + file + ": " + problem);
  }

  public BundleFormatException(Path file, String problem, Throwable cause) {
    super("bundle " + file + ": " + problem, cause);
  }
}
