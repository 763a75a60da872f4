package io.cacheai.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import inference.GrpcService.ModelInferRequest;
import inference.GrpcService.ModelInferRequest.InferInputTensor;
import io.cacheai.runtime.DataType;
import io.cacheai.runtime.TensorSpec;
import io.grpc.Status;
import io.grpc.StatusException;
import java.lang.management.ManagementFactory;
import org.junit.jupiter.api.Test;

/** Decoder cases found by {@link InferRequestDecoderFuzzTest}, as plain regression tests. */
class InferRequestDecoderTest {
  private final ServedModel echo =
      new ServedModel(
          "echo",
          1,
          new EchoModel(new TensorSpec("text", DataType.BYTES, new long[] {-1})),
          ModelConfig.DEFAULT);

  /**
   * A 30-byte request declaring 2³⁰ BYTES elements over empty raw contents made the decoder size a
   * list for the declared count — 4 GiB of references — before reading a byte.
   */
  @Test
  void decode_bytesShapeFarLargerThanRawContents_refusedWithoutAllocatingForTheShape() {
    ModelInferRequest request =
        ModelInferRequest.newBuilder()
            .setModelName("echo")
            .addInputs(
                InferInputTensor.newBuilder()
                    .setName("text")
                    .setDatatype("BYTES")
                    .addShape(1L << 30))
            .addRawInputContents(ByteString.EMPTY)
            .build();
    com.sun.management.ThreadMXBean threads =
        (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    long before = threads.getCurrentThreadAllocatedBytes();
    assertThatThrownBy(() -> new InferRequestDecoder().decode(request, echo))
        .isInstanceOfSatisfying(
            StatusException.class,
            e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
              assertThat(e.getStatus().getDescription())
                  .isEqualTo(
                      "input 'text': raw_input_contents[0] holds 0 BYTES elements, shape"
                          + " [1073741824] needs 1073741824");
            });
    long allocatedBytes = threads.getCurrentThreadAllocatedBytes() - before;
    assertThat(allocatedBytes).isLessThan(16L << 20);
  }
}
