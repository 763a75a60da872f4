package io.cacheai.serve;

import java.util.List;

/** Runs each job at once on the thread that submits it (the gRPC call's): no queue, no merging. */
final class DirectScheduler implements Scheduler {
  private final BatchRunner runner;

  DirectScheduler(BatchRunner runner) {
    this.runner = runner;
  }

  @Override
  public void submit(InferJob job) {
    runner.run(List.of(job));
  }

  @Override
  public int queuedJobs() {
    return 0;
  }

  @Override
  public void close() {}
}
