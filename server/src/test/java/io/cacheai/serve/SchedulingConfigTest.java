package io.cacheai.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.StringReader;
import java.util.Properties;
import org.junit.jupiter.api.Test;

/** The scheduling keys of config.properties: values, defaults, and refusals naming the key. */
class SchedulingConfigTest {
  private static ModelConfig parse(String text) throws IOException {
    Properties properties = new Properties();
    properties.load(new StringReader(text));
    return ModelConfig.parse(properties, "m/config.properties");
  }

  @Test
  void parse_allKeys_read() throws IOException {
    ModelConfig config =
        parse(
            "max_batch_size=32\ndynamic_batching=true\nmax_queue_delay_us=250\n"
                + "max_queue_size=64\nbatch_threads=2\nmax_concurrent_requests=100\n"
                + "request_timeout_ms=1500\n");
    assertThat(config.scheduling()).isEqualTo(new SchedulingConfig(true, 250, 64, 2, 100, 1500));
    assertThat(config.maxBatchSize()).isEqualTo(32);
  }

  @Test
  void parse_noKeys_defaults() throws IOException {
    assertThat(parse("").scheduling()).isEqualTo(SchedulingConfig.DEFAULT);
    assertThat(SchedulingConfig.DEFAULT.dynamicBatching()).isFalse();
    assertThat(SchedulingConfig.DEFAULT.batchThreads()).isEqualTo(1);
  }

  @Test
  void parse_batchingWithoutMaxBatchSize_refused() {
    assertThatThrownBy(() -> parse("dynamic_batching=true\n"))
        .hasMessage(
            "m/config.properties: dynamic_batching=true needs max_batch_size > 0"
                + " (the largest merged batch)");
  }

  @Test
  void parse_badValues_refusedNamingKey() {
    assertThatThrownBy(() -> parse("dynamic_batching=yes\n"))
        .hasMessage("m/config.properties: dynamic_batching=yes is not one of [true, false]");
    assertThatThrownBy(() -> parse("max_queue_size=0\n"))
        .hasMessage("m/config.properties: max_queue_size=0 must be in [1,1048576]");
    assertThatThrownBy(() -> parse("batch_threads=two\n"))
        .hasMessage("m/config.properties: batch_threads=two is not an integer");
    assertThatThrownBy(() -> parse("max_queue_delay_us=5000000\n"))
        .hasMessage("m/config.properties: max_queue_delay_us=5000000 must be in [0,1000000]");
    assertThatThrownBy(() -> parse("max_concurrent_requests=99999999999\n"))
        .hasMessage(
            "m/config.properties: max_concurrent_requests=99999999999 does not fit a 32-bit"
                + " integer");
    assertThatThrownBy(() -> parse("request_timeout_ms=-1\n"))
        .hasMessage("m/config.properties: request_timeout_ms=-1 must be in [0,9223372036854]");
  }

  @Test
  void canBatch_onlyWhenEveryTensorHasDynamicFirstDim() {
    assertThat(DynamicBatcher.canBatch(new AffineModel())).isTrue();
    assertThat(
            DynamicBatcher.canBatch(
                new EchoModel(
                    new io.cacheai.runtime.TensorSpec(
                        "v", io.cacheai.runtime.DataType.FP32, new long[] {3, -1}))))
        .isFalse();
  }
}
