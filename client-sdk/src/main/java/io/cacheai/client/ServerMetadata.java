package io.cacheai.client;

import java.util.List;
import java.util.Objects;

/**
 * The server's self-description.
 *
 * @param name the server's name, e.g. {@code cacheai}
 * @param version the server's version
 * @param extensions the protocol extensions it supports
 */
public record ServerMetadata(String name, String version, List<String> extensions) {

  public ServerMetadata {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(version, "version");
    extensions = List.copyOf(extensions);
  }
}
