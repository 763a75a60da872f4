package io.cacheai.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.cacheai.client.InferenceClient;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SIGTERM with requests in flight, on the real server process: every in-flight call completes OK,
 * the process exits 0, and its stderr is JSON lines with a request id on each per-request line.
 */
class SigtermDrainTest {
  private static final int IN_FLIGHT = 4;
  private static final long MODEL_DELAY_MS = 1500;
  private static final Pattern LISTENING =
      Pattern.compile("cacheai: listening on 127\\.0\\.0\\.1:(\\d+)");
  private static final Pattern REQUEST_LINE =
      Pattern.compile(
          "^\\{\"ts\":\"[^\"]+\",\"level\":\"FINE\",.*\"message\":\"ModelInfer finished"
              + " model=slow version=1 code=OK durationUs=\\d+\",\"request_id\":\"[0-9a-f]{16}\"}$");

  @TempDir Path repository;

  @Test
  void sigterm_withCallsInFlight_allCompleteOkAndExitZero() throws Exception {
    SlowServeMain.writeModel(repository, "slow", MODEL_DELAY_MS);
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(
        List.of(
            "-cp",
            System.getProperty("java.class.path"),
            SlowServeMain.class.getName(),
            "serve",
            "--port",
            "0",
            "--metrics-port",
            "0",
            "--model-repository",
            repository.toString(),
            "--drain-timeout-seconds",
            "20",
            "--log-level",
            "FINE"));
    Process server = new ProcessBuilder(command).redirectErrorStream(true).start();
    List<String> lines = java.util.Collections.synchronizedList(new ArrayList<>());
    CompletableFuture<Integer> port = new CompletableFuture<>();
    Thread reader = new Thread(() -> read(server, lines, port), "server-output");
    reader.setDaemon(true);
    reader.start();
    ExecutorService callers = Executors.newFixedThreadPool(IN_FLIGHT);
    try {
      int serverPort = port.get(60, TimeUnit.SECONDS);
      List<CompletableFuture<float[]>> calls = new ArrayList<>();
      try (InferenceClient client =
          InferenceClient.builder()
              .target("127.0.0.1:" + serverPort)
              .defaultDeadline(Duration.ofSeconds(30))
              .build()) {
        for (int i = 0; i < IN_FLIGHT; i++) {
          float first = i;
          calls.add(
              CompletableFuture.supplyAsync(
                  () ->
                      client.inferFloats(
                          "slow", "x", new long[] {1, 4}, new float[] {first, 0, 0, 0}),
                  callers));
        }
        long endNanos = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (count(lines, "slow-model: started") < IN_FLIGHT && System.nanoTime() < endNanos) {
          Thread.sleep(20);
        }
        assertThat(count(lines, "slow-model: started")).as("calls in flight").isEqualTo(IN_FLIGHT);

        server.destroy(); // SIGTERM

        for (int i = 0; i < IN_FLIGHT; i++) {
          assertThat(calls.get(i).get(30, TimeUnit.SECONDS)).containsExactly(2 * i + 1, 1, 1, 1);
        }
      }
      assertThat(server.waitFor(30, TimeUnit.SECONDS)).as("exited within 30 s").isTrue();
      reader.join(5_000);
      java.nio.file.Files.write(Path.of("target/sigterm-drain-output.txt"), lines);
      assertThat(server.exitValue()).as("exit code; output:\n%s", lines).isZero();
      assertThat(lines)
          .anyMatch(l -> l.contains("\"message\":\"SIGTERM received: draining\""))
          .anyMatch(l -> l.contains("\"message\":\"stopped\""));
      assertThat(lines.stream().filter(l -> REQUEST_LINE.matcher(l).matches()).count())
          .as("one FINE line with a request id per call; output:\n%s", lines)
          .isEqualTo(IN_FLIGHT);
    } finally {
      callers.shutdownNow();
      if (server.isAlive()) {
        server.destroyForcibly();
        server.waitFor(10, TimeUnit.SECONDS);
      }
    }
  }

  private static long count(List<String> lines, String text) {
    synchronized (lines) {
      return lines.stream().filter(l -> l.contains(text)).count();
    }
  }

  private static void read(Process server, List<String> lines, CompletableFuture<Integer> port) {
    try (BufferedReader in =
        new BufferedReader(
            new InputStreamReader(server.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = in.readLine()) != null) {
        lines.add(line);
        Matcher m = LISTENING.matcher(line);
        if (m.find()) {
          port.complete(Integer.parseInt(m.group(1)));
        }
      }
      port.completeExceptionally(new IllegalStateException("server exited; output: " + lines));
    } catch (IOException e) {
      port.completeExceptionally(e);
    }
  }
}
