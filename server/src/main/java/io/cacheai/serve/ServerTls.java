package io.cacheai.serve;

import io.grpc.netty.GrpcSslContexts;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;

/**
 * TLS for the inference port, optionally mutual: the server's certificate chain and private key
 * (PEM; the key PKCS#8, "BEGIN PRIVATE KEY"), and, for mTLS, the CA bundle (PEM) that client
 * certificates must chain to — a client without one is refused during the handshake.
 *
 * <p>Off by default: on loopback inside a pod plaintext is the norm. Turn it on when the port is
 * reached across pods. Uses the JDK's TLS provider (no netty-tcnative needed). The health-only port
 * stays plaintext because kubelet gRPC probes do not speak TLS.
 */
public record ServerTls(Path certChain, Path privateKey, Path clientCa) {
  public ServerTls {
    Objects.requireNonNull(certChain, "certChain");
    Objects.requireNonNull(privateKey, "privateKey");
  }

  /** Whether clients must present a certificate signed by {@link #clientCa()}. */
  public boolean mutual() {
    return clientCa != null;
  }

  /** The Netty server context; every file is checked first, and a bad one is named. */
  SslContext sslContext() throws IOException {
    requireReadable("tls-cert", certChain);
    requireReadable("tls-key", privateKey);
    if (clientCa != null) {
      requireReadable("tls-client-ca", clientCa);
    }
    try {
      SslContextBuilder builder =
          GrpcSslContexts.configure(
              SslContextBuilder.forServer(certChain.toFile(), privateKey.toFile()),
              SslProvider.JDK);
      if (clientCa != null) {
        builder.trustManager(clientCa.toFile()).clientAuth(ClientAuth.REQUIRE);
      }
      return builder.build();
    } catch (IOException | IllegalArgumentException e) {
      throw new IOException(
          "cannot set up TLS from tls-cert="
              + certChain
              + " tls-key="
              + privateKey
              + (clientCa == null ? "" : " tls-client-ca=" + clientCa)
              + ": "
              + e.getMessage(),
          e);
    }
  }

  private static void requireReadable(String what, Path file) throws IOException {
    if (!Files.isRegularFile(file) || !Files.isReadable(file)) {
      throw new IOException(what + "=" + file + " is not a readable file");
    }
  }
}
