package io.cacheai.cli;

import io.cacheai.bundle.BundleWriter;
import io.cacheai.graph.Graph;
import io.cacheai.onnx.OnnxImporter;
import io.cacheai.proto.v1.Producer;
import io.cacheai.serve.BundleModelLoader;
import io.cacheai.serve.ServerInfo;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code cacheai bundle MODEL.onnx --out MODEL.cai}: imports an ONNX model and packs its fp32 graph
 * into a {@code .cai} bundle (no compression; {@code compress} writes quantized bundles). Prints
 * one line with the bundle's size and the time taken.
 */
@Command(
    name = "bundle",
    mixinStandardHelpOptions = true,
    description = "Pack an ONNX model's fp32 graph into a memory-mappable .cai bundle.")
final class BundleCommand implements Callable<Integer> {
  @Spec private CommandSpec spec;

  @Parameters(index = "0", paramLabel = "MODEL.onnx", description = "The ONNX model to pack.")
  private Path model;

  @Option(
      names = "--out",
      required = true,
      paramLabel = "MODEL.cai",
      description = "The bundle to write (replaced atomically if it exists).")
  private Path out;

  @Override
  public Integer call() throws Exception {
    long startNs = System.nanoTime();
    Graph graph = OnnxImporter.importFile(model);
    Producer producer =
        Producer.newBuilder()
            .setCacheaiVersion(ServerInfo.version())
            .setSourceSha256(sha256(model))
            .setSourceName(model.getFileName().toString())
            .setCompression(BundleModelLoader.COMPRESSION_NONE)
            .build();
    long sizeBytes = new BundleWriter(graph).producer(producer).write(out);
    long elapsedMs = (System.nanoTime() - startNs) / 1_000_000;
    PrintWriter stdout = spec.commandLine().getOut();
    stdout.printf(
        "cacheai: wrote %s (%d bytes, %d constants, fp32) from %s (%d bytes) in %d ms%n",
        out, sizeBytes, graph.constants().size(), model, Files.size(model), elapsedMs);
    stdout.flush();
    return 0;
  }

  private static String sha256(Path file) throws IOException {
    try (InputStream in =
        new DigestInputStream(Files.newInputStream(file), MessageDigest.getInstance("SHA-256"))) {
      in.transferTo(java.io.OutputStream.nullOutputStream());
      return HexFormat.of().formatHex(((DigestInputStream) in).getMessageDigest().digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required of every JDK", e);
    }
  }
}
