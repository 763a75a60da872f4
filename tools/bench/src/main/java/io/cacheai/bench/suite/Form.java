package io.cacheai.bench.suite;

import java.util.List;
import java.util.Locale;

/**
 * One way of running a model that the suite compares: ONNX Runtime on the ONNX file (the peer and
 * the reference every ratio is taken against), cacheai's own executor on an fp32 bundle, or a
 * bundle written by {@code cacheai compress --method <method>}.
 *
 * <p>Compressed forms are named by the compressor's method name and nothing else, so a method the
 * compressor learns later (e.g. {@code cacheai}, the lookup-table method) is measured as soon as
 * {@code Compressor.Method.parse} accepts it; until then its rows say why they were skipped.
 *
 * @param name the form's id in the CSV and on the command line
 * @param kind how it runs
 * @param method the compressor method name for {@link Kind#COMPRESSED}, else null
 */
public record Form(String name, Kind kind, String method) {
  /** How a form is produced and run. */
  public enum Kind {
    /** ONNX Runtime (Java API) on the ONNX file, one intra-op thread. */
    ONNX_RUNTIME,
    /** cacheai's executor on the fp32 bundle of {@code cacheai bundle}. */
    FP32_BUNDLE,
    /** cacheai's executor on the bundle of {@code cacheai compress --method}. */
    COMPRESSED
  }

  /** The reference form: every ratio and agreement is taken against it. */
  public static final Form ORT_FP32 = new Form("ort-fp32", Kind.ONNX_RUNTIME, null);

  public static final Form OURS_FP32 = new Form("fp32", Kind.FP32_BUNDLE, null);

  /** The default forms: ORT, our fp32, then every compressor method in order of decreasing size. */
  public static final List<String> DEFAULT_NAMES =
      List.of("ort-fp32", "fp32", "int8", "int4", "mixed", "cacheai");

  /** {@code ort-fp32}, {@code fp32}, or any other name as a compressor method. */
  public static Form parse(String name) {
    String n = name.trim().toLowerCase(Locale.ROOT);
    if (n.isEmpty()) {
      throw new IllegalArgumentException("form '' (e.g. ort-fp32, fp32, int8, int4, mixed)");
    }
    return switch (n) {
      case "ort-fp32" -> ORT_FP32;
      case "fp32" -> OURS_FP32;
      default -> new Form(n, Kind.COMPRESSED, n);
    };
  }

  /** A human label for tables and charts. */
  public String label() {
    return switch (kind) {
      case ONNX_RUNTIME -> "ORT fp32";
      case FP32_BUNDLE -> "ours fp32";
      case COMPRESSED -> "ours " + method;
    };
  }
}
