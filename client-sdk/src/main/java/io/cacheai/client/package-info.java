/**
 * A Java client for any Open Inference Protocol (KServe v2) gRPC server.
 *
 * <p>{@link io.cacheai.client.InferenceClient} is the entry point: health, metadata and inference
 * with plain Java types ({@link io.cacheai.client.ModelMetadata}, {@code float[]}, {@link
 * io.cacheai.client.InferResult}) instead of protobuf messages. {@link
 * io.cacheai.client.InferRequest} encodes inputs either as typed contents or as little-endian raw
 * bytes (layout in {@code RawContents}); results decode whichever the server sent. Every gRPC
 * failure surfaces as {@link io.cacheai.client.InferenceException} with its status code.
 *
 * <p>The package depends only on the generated {@code inference} stubs and grpc-java, so it talks
 * to cacheai, KServe, Triton or any other v2 server alike.
 */
package io.cacheai.client;
