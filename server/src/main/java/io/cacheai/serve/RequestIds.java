package io.cacheai.serve;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.ForwardingServerCall.SimpleForwardingServerCall;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Gives every call a request id, so every log line about a request can be found from the id the
 * client or its gateway already logs: the {@code x-request-id} header when the client sends a
 * usable one (1 to {@value #MAX_LENGTH} printable ASCII characters, no quotes or backslashes, so it
 * is safe in a log line), else a fresh random 16-hex-digit id. The id is echoed in the response
 * headers and is in the call's {@link Context} while the call runs, where {@link #current()} (and
 * the JSON log formatter) read it.
 */
public final class RequestIds implements ServerInterceptor {
  /** The header carrying the id, both ways. */
  public static final Metadata.Key<String> HEADER =
      Metadata.Key.of("x-request-id", Metadata.ASCII_STRING_MARSHALLER);

  static final int MAX_LENGTH = 128;
  private static final Context.Key<String> KEY = Context.key("cacheai-request-id");

  /** The context key (package-private for tests). */
  static Context.Key<String> key() {
    return KEY;
  }

  /** The id of the request the current thread is serving, or null outside a request. */
  public static String current() {
    return KEY.get();
  }

  @Override
  public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(
      ServerCall<ReqT, RespT> call, Metadata headers, ServerCallHandler<ReqT, RespT> next) {
    String id = usable(headers.get(HEADER)) ? headers.get(HEADER) : newId();
    ServerCall<ReqT, RespT> echoing =
        new SimpleForwardingServerCall<>(call) {
          @Override
          public void sendHeaders(Metadata responseHeaders) {
            responseHeaders.put(HEADER, id);
            super.sendHeaders(responseHeaders);
          }
        };
    return Contexts.interceptCall(Context.current().withValue(KEY, id), echoing, headers, next);
  }

  static boolean usable(String id) {
    if (id == null || id.isEmpty() || id.length() > MAX_LENGTH) {
      return false;
    }
    for (int i = 0; i < id.length(); i++) {
      char c = id.charAt(i);
      if (c < 0x21 || c > 0x7e || c == '"' || c == '\\') {
        return false;
      }
    }
    return true;
  }

  static String newId() {
    return String.format("%016x", ThreadLocalRandom.current().nextLong());
  }
}
