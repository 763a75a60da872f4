package io.cacheai.serve;

import inference.GrpcService.InferBatchStatistics;
import inference.GrpcService.InferStatistics;
import inference.GrpcService.ModelStatistics;
import inference.GrpcService.StatisticDuration;
import java.util.Map;
import java.util.TreeMap;

/**
 * The cumulative statistics of one loaded model version, in Triton's terms, answered by the
 * ModelStatistics rpc.
 *
 * <p>Per request: {@code success} or {@code fail} (time from arrival to answer), {@code queue}
 * (arrival to execution start), and the three compute phases of the execution the request ran in (a
 * request merged into a batch gets the whole batch's phase time, as in Triton). Per execution:
 * {@code execution_count} and one {@code batch_stats} entry per batch size. {@code inference_count}
 * sums the batch dimension of successful requests. Every update is taken under one lock, so a
 * snapshot never shows a request counted in one field and not yet in another; the executor records
 * a request before answering it, so a client that got its answer sees it counted.
 */
final class StatisticsRecorder {
  /** One {@link StatisticDuration} being accumulated. */
  private static final class Duration {
    long count;
    long ns;

    void add(long durationNs) {
      count++;
      ns += Math.max(0, durationNs);
    }

    StatisticDuration toProto() {
      return StatisticDuration.newBuilder().setCount(count).setNs(ns).build();
    }
  }

  /** The three compute phases of the executions of one batch size. */
  private static final class BatchEntry {
    final Duration input = new Duration();
    final Duration infer = new Duration();
    final Duration output = new Duration();
  }

  private final Duration success = new Duration();
  private final Duration fail = new Duration();
  private final Duration queue = new Duration();
  private final Duration computeInput = new Duration();
  private final Duration computeInfer = new Duration();
  private final Duration computeOutput = new Duration();
  private final Duration cacheHit = new Duration();
  private final Duration cacheMiss = new Duration();
  private final Map<Long, BatchEntry> batches = new TreeMap<>();
  private long inferenceCount;
  private long executionCount;
  private long lastInferenceMs;

  /** A request arrived (sets {@code last_inference}). */
  synchronized void arrived(long epochMs) {
    lastInferenceMs = Math.max(lastInferenceMs, epochMs);
  }

  /** A request failed after {@code totalNs}. */
  synchronized void failed(long totalNs) {
    fail.add(totalNs);
  }

  /** One execution of {@code batchSize} rows with its phase durations. */
  synchronized void executed(long batchSize, long inputNs, long inferNs, long outputNs) {
    executionCount++;
    BatchEntry entry = batches.computeIfAbsent(batchSize, b -> new BatchEntry());
    entry.input.add(inputNs);
    entry.infer.add(inferNs);
    entry.output.add(outputNs);
  }

  /** One request of {@code batchSize} rows answered successfully, with its own durations. */
  synchronized void succeeded(
      long batchSize, long totalNs, long queueNs, long inputNs, long inferNs, long outputNs) {
    inferenceCount += batchSize;
    success.add(totalNs);
    queue.add(queueNs);
    computeInput.add(inputNs);
    computeInfer.add(inferNs);
    computeOutput.add(outputNs);
  }

  /**
   * A request answered from the response cache: a success of {@code totalNs}, and a cache hit whose
   * lookup took {@code lookupNs} (as Triton counts them; no execution).
   */
  synchronized void cacheHit(long lookupNs, long totalNs) {
    success.add(totalNs);
    cacheHit.add(lookupNs);
  }

  /** A response-cache miss: the lookup and the store of the computed answer took {@code ns}. */
  synchronized void cacheMiss(long ns) {
    cacheMiss.add(ns);
  }

  /** A consistent snapshot as the protocol's message. */
  synchronized ModelStatistics snapshot(String name, String version) {
    ModelStatistics.Builder stats =
        ModelStatistics.newBuilder()
            .setName(name)
            .setVersion(version)
            .setLastInference(lastInferenceMs)
            .setInferenceCount(inferenceCount)
            .setExecutionCount(executionCount)
            .setInferenceStats(
                InferStatistics.newBuilder()
                    .setSuccess(success.toProto())
                    .setFail(fail.toProto())
                    .setQueue(queue.toProto())
                    .setComputeInput(computeInput.toProto())
                    .setComputeInfer(computeInfer.toProto())
                    .setComputeOutput(computeOutput.toProto())
                    .setCacheHit(cacheHit.toProto())
                    .setCacheMiss(cacheMiss.toProto()));
    batches.forEach(
        (size, entry) ->
            stats.addBatchStats(
                InferBatchStatistics.newBuilder()
                    .setBatchSize(size)
                    .setComputeInput(entry.input.toProto())
                    .setComputeInfer(entry.infer.toProto())
                    .setComputeOutput(entry.output.toProto())));
    return stats.build();
  }
}
