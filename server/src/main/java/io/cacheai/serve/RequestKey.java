package io.cacheai.serve;

import io.cacheai.runtime.DataType;
import io.cacheai.runtime.Tensor;
import io.cacheai.serve.cache.KeyMaterial;
import io.cacheai.serve.cache.MaterialSink;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.TreeMap;

/**
 * What decides the response to a decoded request, as cache {@link KeyMaterial}. Written in this
 * order (every string and byte run length-prefixed, every number 8 bytes little-endian):
 *
 * <pre>
 *  FORMAT                              bumps when this layout changes
 *  model name, version, identity       identity: which loaded instance (see CachedResponses)
 *  raw flag                            raw and typed responses differ on the wire
 *  output count, output names          the requested outputs, in the requested order
 *  input count, then per input, sorted by name:
 *    name, datatype, rank, dims...,
 *    numeric: byte length, the little-endian element bytes (streamed from the tensor)
 *    BYTES:   element count, then each element length-prefixed
 * </pre>
 *
 * Not in the key: the request id (set on every response, never cached) and request parameters,
 * which this server does not read (a parameter that starts to change the answer must join the key).
 */
final class RequestKey implements KeyMaterial {
  private static final long FORMAT = 1;

  private final DecodedRequest request;
  private final long identity;
  private final Map<String, Tensor> sortedInputs;

  RequestKey(DecodedRequest request, long identity) {
    this.request = request;
    this.identity = identity;
    this.sortedInputs = new TreeMap<>(request.inputs());
  }

  @Override
  public void writeTo(MaterialSink sink) {
    ServedModel served = request.model();
    sink.putLong(FORMAT);
    sink.putLengthPrefixed(served.name().getBytes(StandardCharsets.UTF_8));
    sink.putLong(served.version());
    sink.putLong(identity);
    sink.putLong(request.raw() ? 1 : 0);
    sink.putLong(request.outputNames().size());
    for (String name : request.outputNames()) {
      sink.putLengthPrefixed(name.getBytes(StandardCharsets.UTF_8));
    }
    sink.putLong(sortedInputs.size());
    for (Map.Entry<String, Tensor> input : sortedInputs.entrySet()) {
      Tensor tensor = input.getValue();
      sink.putLengthPrefixed(input.getKey().getBytes(StandardCharsets.UTF_8));
      sink.putLengthPrefixed(tensor.dataType().wireName().getBytes(StandardCharsets.UTF_8));
      long[] shape = tensor.shape();
      sink.putLong(shape.length);
      for (long dim : shape) {
        sink.putLong(dim);
      }
      if (tensor.dataType() == DataType.BYTES) {
        sink.putLong(tensor.elements().size());
        for (byte[] element : tensor.elements()) {
          sink.putLengthPrefixed(element);
        }
      } else {
        ByteBuffer data = tensor.data();
        sink.putLong(data.remaining());
        sink.putBytes(data);
      }
    }
  }
}
