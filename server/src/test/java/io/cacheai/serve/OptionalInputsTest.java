package io.cacheai.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import inference.GrpcService.ModelInferRequest;
import io.cacheai.runtime.DataType;
import io.cacheai.runtime.TensorSpec;
import io.grpc.Status;
import io.grpc.StatusException;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Inputs a model declares optional may be left out of a request; the others may not. */
class OptionalInputsTest {
  private static final TensorSpec A = new TensorSpec("a", DataType.FP32, new long[] {-1});
  private static final TensorSpec B = new TensorSpec("b", DataType.FP32, new long[] {-1});

  private final InferRequestDecoder decoder = new InferRequestDecoder();
  private final ServedModel served =
      new ServedModel(
          "m",
          1,
          new EchoModel(A, B) {
            @Override
            public Set<String> optionalInputs() {
              return Set.of("b");
            }
          },
          ModelConfig.DEFAULT);

  @Test
  void decode_optionalInputLeftOut_accepted() throws StatusException {
    ModelInferRequest request =
        ModelInferRequest.newBuilder()
            .setModelName("m")
            .addInputs(OipRequests.input("a", "FP32", 2).setContents(OipRequests.fp32(1f, 2f)))
            .build();
    assertThat(decoder.decode(request, served).inputs()).containsOnlyKeys("a");
  }

  @Test
  void decode_requiredInputLeftOut_invalidArgument() {
    ModelInferRequest request =
        ModelInferRequest.newBuilder()
            .setModelName("m")
            .addInputs(OipRequests.input("b", "FP32", 1).setContents(OipRequests.fp32(1f)))
            .build();
    assertThatThrownBy(() -> decoder.decode(request, served))
        .isInstanceOfSatisfying(
            StatusException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT))
        .hasMessageContaining("missing input 'a'");
  }
}
