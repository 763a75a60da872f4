package io.cacheai.cli;

import io.cacheai.compress.Compressor;
import java.io.PrintWriter;

/**
 * A one-line progress bar on stderr ({@code \r}-redrawn): {@code [########......] calibrate
 * 600/1000}. Redraws at most when the percentage changes; ends its line when a phase completes.
 */
final class ProgressBar implements Compressor.Progress {
  private static final int WIDTH = 30;
  private final PrintWriter err;
  private String phase = "";
  private int lastPercent = -1;

  ProgressBar(PrintWriter err) {
    this.err = err;
  }

  @Override
  public void update(String newPhase, int done, int total) {
    int percent = total == 0 ? 100 : (int) (100L * done / total);
    if (newPhase.equals(phase) && percent == lastPercent) {
      return;
    }
    phase = newPhase;
    lastPercent = percent;
    int filled = percent * WIDTH / 100;
    err.print(
        "\r["
            + "#".repeat(filled)
            + ".".repeat(WIDTH - filled)
            + "] "
            + phase
            + " "
            + done
            + "/"
            + total
            + "   ");
    if (done >= total) {
      err.println();
    }
    err.flush();
  }
}
