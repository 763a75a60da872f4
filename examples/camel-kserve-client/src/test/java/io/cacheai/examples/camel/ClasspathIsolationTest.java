package io.cacheai.examples.camel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import inference.GrpcPredictV2;
import io.grpc.internal.GrpcUtil;
import org.junit.jupiter.api.Test;

/**
 * The point of this module is a client nobody here wrote: prove that what runs is camel-kserve's
 * generated code on camel's own grpc and protobuf, with nothing of cacheai's beside it (both define
 * package {@code inference}, so a mix would silently test our stubs against our server).
 */
class ClasspathIsolationTest {

  @Test
  void inferenceStubs_comeFromCamelKserveJar() {
    String location =
        GrpcPredictV2.class.getProtectionDomain().getCodeSource().getLocation().toString();
    assertThat(location).contains("camel-kserve");
  }

  @Test
  void classpath_hasNoCacheaiClasses() {
    ClassLoader loader = getClass().getClassLoader();
    assertThat(loader.getResource("inference/GrpcService.class"))
        .as("cacheai's generated proto (inference.GrpcService)")
        .isNull();
    assertThatThrownBy(() -> Class.forName("io.cacheai.client.InferenceClient"))
        .isInstanceOf(ClassNotFoundException.class);
    assertThatThrownBy(() -> Class.forName("io.cacheai.cli.Main"))
        .isInstanceOf(ClassNotFoundException.class);
  }

  @Test
  void grpcAndProtobuf_areCamelsVersionsNotOurs() {
    assertThat(GrpcUtil.IMPLEMENTATION_VERSION).startsWith("1.78.");
    // RuntimeVersion exists from protobuf-java 4 on; camel-kserve 4.17.0 is built on 3.25.
    assertThatThrownBy(() -> Class.forName("com.google.protobuf.RuntimeVersion"))
        .isInstanceOf(ClassNotFoundException.class);
  }
}
