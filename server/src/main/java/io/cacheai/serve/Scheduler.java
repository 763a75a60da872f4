package io.cacheai.serve;

/**
 * Decides when and with whom a job of one model version runs: {@link DirectScheduler} runs it at
 * once on the caller's thread, {@link DynamicBatcher} queues it to merge it with others. Either way
 * the job's future is completed exactly once.
 */
interface Scheduler extends AutoCloseable {
  /** Takes {@code job}; its future completes with the answer or a status error. */
  void submit(InferJob job);

  /** Jobs waiting, not yet running. */
  int queuedJobs();

  /** Stops the scheduler's threads; jobs still queued fail with UNAVAILABLE. */
  @Override
  void close();

  /** The scheduler {@code served}'s config asks for, or direct when its model cannot batch. */
  static Scheduler create(ServedModel served, StatisticsRecorder stats) {
    BatchRunner runner = new BatchRunner(served, stats);
    SchedulingConfig scheduling = served.config().scheduling();
    if (scheduling.dynamicBatching() && DynamicBatcher.canBatch(served.model())) {
      return new DynamicBatcher(served, runner);
    }
    if (scheduling.dynamicBatching()) {
      java.util.logging.Logger.getLogger(Scheduler.class.getName())
          .warning(
              "model "
                  + served
                  + ": dynamic_batching=true ignored, not every input and output has a dynamic"
                  + " first dimension (inputs "
                  + served.model().inputs()
                  + ", outputs "
                  + served.model().outputs()
                  + ")");
    }
    return new DirectScheduler(runner);
  }
}
