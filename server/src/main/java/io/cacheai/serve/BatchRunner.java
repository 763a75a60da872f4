package io.cacheai.serve;

import inference.GrpcService.ModelInferResponse;
import io.cacheai.runtime.Tensor;
import io.cacheai.runtime.TensorSpec;
import io.grpc.Status;
import io.grpc.StatusException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Runs one execution of a model for one or more jobs and answers each: drop the jobs whose client
 * has gone, concatenate the inputs of the rest (when more than one), run the model once, cut the
 * outputs back into each job's rows, encode each response, record the statistics, complete each
 * job's future. Every job's future is completed exactly once, whatever happens.
 *
 * <p>When the model refuses a merged batch with an {@link IllegalArgumentException} (a value one
 * request sent, e.g. a NaN), each job is run again on its own so that only the guilty one fails.
 */
final class BatchRunner {
  private static final Logger log = Logger.getLogger(BatchRunner.class.getName());

  private final ServedModel served;
  private final StatisticsRecorder stats;

  BatchRunner(ServedModel served, StatisticsRecorder stats) {
    this.served = served;
    this.stats = stats;
  }

  /** Fails {@code job} now with {@code status}, counting it as failed. */
  void fail(InferJob job, Status status) {
    stats.failed(System.nanoTime() - job.arrivalNanos);
    job.result.completeExceptionally(status.asException());
  }

  /** Whether {@code job} may still run; when not, it is failed with the reason. */
  boolean keepIfLive(InferJob job) {
    Status reason = job.dropReason();
    if (reason == null) {
      return true;
    }
    fail(job, reason);
    return false;
  }

  /** Runs {@code jobs} (of one model version, mergeable) as one execution. */
  void run(List<InferJob> jobs) {
    long startNs = System.nanoTime();
    List<InferJob> live = new ArrayList<>(jobs.size());
    for (InferJob job : jobs) {
      if (keepIfLive(job)) {
        live.add(job);
      }
    }
    if (live.isEmpty()) {
      return;
    }
    try {
      execute(live, startNs);
    } catch (RuntimeException | LinkageError | AssertionError | StackOverflowError e) {
      log.log(Level.WARNING, "model " + served + " failed on a batch of " + live.size(), e);
      Status status =
          Status.INTERNAL
              .withDescription(
                  "model '"
                      + served
                      + "' failed: "
                      + e.getClass().getSimpleName()
                      + ": "
                      + e.getMessage())
              .withCause(e);
      live.stream().filter(job -> !job.result.isDone()).forEach(job -> fail(job, status));
    }
  }

  private void execute(List<InferJob> jobs, long startNs) {
    long rows = 0;
    for (InferJob job : jobs) {
      rows += job.batchSize;
    }
    Map<String, Tensor> inputs = jobs.size() == 1 ? jobs.get(0).request.inputs() : merge(jobs);
    long inferStartNs = System.nanoTime();
    Map<String, Tensor> results;
    try {
      results = served.model().infer(inputs);
    } catch (IllegalArgumentException e) {
      if (jobs.size() > 1) {
        jobs.forEach(job -> run(List.of(job)));
        return;
      }
      fail(
          jobs.get(0),
          Status.INVALID_ARGUMENT.withDescription(
              "model '" + served + "' refused the request: " + e.getMessage()));
      return;
    }
    long outputStartNs = System.nanoTime();
    Map<String, Tensor> all = results == null ? Map.of() : results;
    List<ModelInferResponse> responses = new ArrayList<>(jobs.size());
    List<Status> errors = new ArrayList<>(jobs.size());
    long row = 0;
    for (InferJob job : jobs) {
      try {
        Map<String, Tensor> mine = jobs.size() == 1 ? all : rowsOf(all, row, job.batchSize);
        responses.add(InferResponseEncoder.encode(job.request, mine));
        errors.add(null);
      } catch (RuntimeException e) {
        log.log(Level.WARNING, "model " + served + " returned a bad result", e);
        responses.add(null);
        errors.add(Status.INTERNAL.withDescription(e.getMessage()).withCause(e));
      }
      row += job.batchSize;
    }
    long endNs = System.nanoTime();
    long inputNs = inferStartNs - startNs;
    long inferNs = outputStartNs - inferStartNs;
    long outputNs = endNs - outputStartNs;
    stats.executed(rows, inputNs, inferNs, outputNs);
    // Jobs of one execution come through one server's pipeline: one metrics sink.
    jobs.get(0).metrics.executed(served.name(), served.versionString(), rows);
    for (int i = 0; i < jobs.size(); i++) {
      InferJob job = jobs.get(i);
      if (errors.get(i) != null) {
        fail(job, errors.get(i));
        continue;
      }
      long queueNs = startNs - job.arrivalNanos - job.decodeNs;
      long computeInputNs = job.decodeNs + inputNs;
      stats.succeeded(
          job.batchSize, endNs - job.arrivalNanos, queueNs, computeInputNs, inferNs, outputNs);
      job.metrics.requestComputed(
          served.name(), served.versionString(), queueNs, computeInputNs + inferNs + outputNs);
      job.result.complete(responses.get(i));
    }
  }

  private Map<String, Tensor> merge(List<InferJob> jobs) {
    Map<String, Tensor> merged = new LinkedHashMap<>();
    for (TensorSpec spec : served.model().inputs()) {
      List<Tensor> parts = new ArrayList<>(jobs.size());
      jobs.forEach(job -> parts.add(job.request.inputs().get(spec.name())));
      merged.put(spec.name(), BatchTensors.concat(parts));
    }
    return merged;
  }

  private static Map<String, Tensor> rowsOf(Map<String, Tensor> outputs, long from, long count) {
    Map<String, Tensor> mine = new LinkedHashMap<>();
    outputs.forEach((name, tensor) -> mine.put(name, BatchTensors.rows(tensor, from, count)));
    return mine;
  }

  /** The StatusException a failed future carries, whatever wraps it. */
  static StatusException statusOf(Throwable error) {
    Throwable t = error;
    while (t != null && !(t instanceof StatusException)) {
      t = t.getCause();
    }
    if (t instanceof StatusException status) {
      return status;
    }
    return Status.INTERNAL
        .withDescription(error.getClass().getSimpleName() + ": " + error.getMessage())
        .withCause(error)
        .asException();
  }
}
