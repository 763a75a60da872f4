package io.cacheai.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.cacheai.client.InferenceClient;
import java.io.IOException;
import java.nio.file.Files;
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
    Path output = repository.resolve("server-output.txt");
    Process server =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(output.toFile())
            .start();
    List<String> lines = new ArrayList<>();
    ExecutorService callers = Executors.newFixedThreadPool(IN_FLIGHT);
    try {
      int serverPort = waitForPort(output, server);
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
        while (count(output, "slow-model: started") < IN_FLIGHT && System.nanoTime() < endNanos) {
          Thread.sleep(20);
        }
        assertThat(count(output, "slow-model: started")).as("calls in flight").isEqualTo(IN_FLIGHT);

        server.destroy(); // SIGTERM

        for (int i = 0; i < IN_FLIGHT; i++) {
          assertThat(calls.get(i).get(30, TimeUnit.SECONDS)).containsExactly(2 * i + 1, 1, 1, 1);
        }
      }
      assertThat(server.waitFor(30, TimeUnit.SECONDS)).as("exited within 30 s").isTrue();
      lines.addAll(Files.readAllLines(output));
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

  private static long count(Path output, String text) throws IOException {
    return Files.readAllLines(output).stream().filter(l -> l.contains(text)).count();
  }

  private static int waitForPort(Path output, Process server) throws Exception {
    long endNanos = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < endNanos && server.isAlive()) {
      for (String line : Files.readAllLines(output)) {
        Matcher m = LISTENING.matcher(line);
        if (m.find()) {
          return Integer.parseInt(m.group(1));
        }
      }
      Thread.sleep(50);
    }
    throw new AssertionError("no listening line within 60 s; output:\n" + Files.readString(output));
  }
}
