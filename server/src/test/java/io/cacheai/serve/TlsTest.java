package io.cacheai.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cacheai.client.InferenceClient;
import io.cacheai.client.InferenceException;
import io.grpc.Status;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * TLS and mutual TLS on 127.0.0.1 with certificates made at test time, through the client SDK's TLS
 * options: the happy paths, and the refusals (no client certificate under mTLS, plaintext against
 * TLS, a server certificate the client does not trust).
 */
class TlsTest {
  @TempDir static Path dir;
  private static TestCertificates certs;

  @BeforeAll
  static void makeCertificates() throws Exception {
    certs = TestCertificates.create(dir);
  }

  private static ModelRepository repository() {
    return ModelRepository.of(
        List.of(new ServedModel("affine", 1, new AffineModel(), ModelConfig.DEFAULT)));
  }

  private static float[] infer(InferenceClient client) {
    return client.inferFloats("affine", "x", new long[] {1, 4}, new float[] {1, 2, 3, 4});
  }

  private static InferenceClient.Builder client(InferenceServer server) {
    return InferenceClient.builder()
        .target("127.0.0.1:" + server.port())
        .defaultDeadline(Duration.ofSeconds(20));
  }

  @Test
  void tls_clientTrustingTheCa_infers() throws Exception {
    try (ModelRepository repository = repository();
        InferenceServer server =
            InferenceServer.builder(repository)
                .port(0)
                .tls(new ServerTls(certs.serverCertPem(), certs.serverKeyPem(), null))
                .build()
                .start();
        InferenceClient client = client(server).tlsTrustRoots(certs.caPem()).build()) {
      assertThat(infer(client)).containsExactly(3, 5, 7, 9);
    }
  }

  @Test
  void tls_plaintextClient_unavailable() throws Exception {
    try (ModelRepository repository = repository();
        InferenceServer server =
            InferenceServer.builder(repository)
                .port(0)
                .tls(new ServerTls(certs.serverCertPem(), certs.serverKeyPem(), null))
                .build()
                .start();
        InferenceClient client = client(server).build()) {
      assertThatThrownBy(() -> infer(client))
          .isInstanceOfSatisfying(
              InferenceException.class,
              e -> assertThat(e.code()).isEqualTo(Status.Code.UNAVAILABLE));
    }
  }

  @Test
  void tls_clientNotTrustingTheServer_unavailable() throws Exception {
    try (ModelRepository repository = repository();
        InferenceServer server =
            InferenceServer.builder(repository)
                .port(0)
                .tls(new ServerTls(certs.serverCertPem(), certs.serverKeyPem(), null))
                .build()
                .start();
        // The client's own certificate is not a CA: the server's chain cannot be verified.
        InferenceClient client = client(server).tlsTrustRoots(certs.clientCertPem()).build()) {
      assertThatThrownBy(() -> infer(client))
          .isInstanceOfSatisfying(
              InferenceException.class,
              e -> assertThat(e.code()).isEqualTo(Status.Code.UNAVAILABLE));
    }
  }

  @Test
  void mtls_clientWithCertificate_infers() throws Exception {
    try (ModelRepository repository = repository();
        InferenceServer server = mtlsServer(repository);
        InferenceClient client =
            client(server)
                .tlsTrustRoots(certs.caPem())
                .tlsClientCertificate(certs.clientCertPem(), certs.clientKeyPem())
                .build()) {
      assertThat(infer(client)).containsExactly(3, 5, 7, 9);
    }
  }

  @Test
  void mtls_clientWithoutCertificate_refusedUnavailable() throws Exception {
    try (ModelRepository repository = repository();
        InferenceServer server = mtlsServer(repository);
        InferenceClient client = client(server).tlsTrustRoots(certs.caPem()).build()) {
      assertThatThrownBy(() -> infer(client))
          .isInstanceOfSatisfying(
              InferenceException.class,
              e -> assertThat(e.code()).isEqualTo(Status.Code.UNAVAILABLE));
    }
  }

  @Test
  void build_missingKeyFile_namesTheFile() {
    try (ModelRepository repository = repository()) {
      Path missing = dir.resolve("missing.key");
      assertThatThrownBy(
              () ->
                  InferenceServer.builder(repository)
                      .port(0)
                      .tls(new ServerTls(certs.serverCertPem(), missing, null))
                      .build())
          .isInstanceOf(UncheckedIOException.class)
          .hasMessageContaining("tls-key=" + missing + " is not a readable file");
    }
  }

  private static InferenceServer mtlsServer(ModelRepository repository) throws Exception {
    return InferenceServer.builder(repository)
        .port(0)
        .tls(new ServerTls(certs.serverCertPem(), certs.serverKeyPem(), certs.caPem()))
        .build()
        .start();
  }
}
