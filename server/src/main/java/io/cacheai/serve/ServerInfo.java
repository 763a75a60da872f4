package io.cacheai.serve;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/** What the server reports about itself in {@code ServerMetadata}. */
public final class ServerInfo {
  /** The protocol's server name. */
  public static final String NAME = "cacheai";

  private static final String POM_PROPERTIES =
      "/META-INF/maven/io.cacheai/cacheai-server/pom.properties";

  private ServerInfo() {}

  /**
   * The server's version: from the Maven metadata packaged in the jar, else the jar manifest, else
   * "dev" (running from a build directory, as tests do).
   */
  public static String version() {
    try (InputStream in = ServerInfo.class.getResourceAsStream(POM_PROPERTIES)) {
      if (in != null) {
        Properties properties = new Properties();
        properties.load(in);
        String version = properties.getProperty("version");
        if (version != null && !version.isBlank()) {
          return version;
        }
      }
    } catch (IOException e) {
      // fall through to the manifest
    }
    String manifest = ServerInfo.class.getPackage().getImplementationVersion();
    return manifest != null ? manifest : "dev";
  }
}
