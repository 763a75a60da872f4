package io.cacheai.onnx;

/** An ONNX file cacheai cannot read or run; the message names the problem (and node, for ops). */
public final class OnnxImportException extends Exception {
  public OnnxImportException(String message) {
    super(message);
  }

  public OnnxImportException(String message, Throwable cause) {
    super(message, cause);
  }
}
