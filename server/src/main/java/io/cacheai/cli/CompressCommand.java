package io.cacheai.cli;

import io.cacheai.bundle.BundleWriter;
import io.cacheai.bundle.PackedTensors;
import io.cacheai.compress.CalibrationMethod;
import io.cacheai.compress.Compressor;
import io.cacheai.compress.Dataset;
import io.cacheai.compress.LayerPrecision;
import io.cacheai.compress.lut.LutCandidates;
import io.cacheai.compress.lut.LutCompressor;
import io.cacheai.compress.lut.LutFineTune;
import io.cacheai.compress.lut.LutLayerReport;
import io.cacheai.compress.lut.LutOptions;
import io.cacheai.compress.lut.LutRest;
import io.cacheai.graph.Graph;
import io.cacheai.onnx.OnnxImporter;
import io.cacheai.proto.v1.Producer;
import io.cacheai.serve.ServerInfo;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code cacheai compress MODEL.onnx --calibration DATA --method int8|int4|mixed --out MODEL.cai}:
 * post-training quantization ({@link Compressor}) into a {@code .cai} bundle whose platform becomes
 * {@code cai_<method>}; {@code --method cacheai [--lut-rest int8|int4|mixed]}: lookup tables
 * ({@link LutCompressor}), then the other layers quantized ({@link LutRest}), platform {@code
 * cai_cacheai} or {@code cai_cacheai_<rest>}. Progress on stderr; the per-layer precisions, the
 * fallback's promotions, the calibration-set accuracy and the size ratio on stdout.
 */
@Command(
    name = "compress",
    mixinStandardHelpOptions = true,
    description = "Quantize an ONNX model (int8, 4-bit, mixed low-bit) into a .cai bundle.")
final class CompressCommand implements Callable<Integer> {
  @Spec private CommandSpec spec;

  @Parameters(index = "0", paramLabel = "MODEL.onnx", description = "The fp32 ONNX model.")
  private Path model;

  @Option(
      names = "--calibration",
      required = true,
      paramLabel = "DATA",
      description =
          "Calibration data: MNIST IDX images (labels beside), a raw CAIT tensor file, or a"
              + " folder of images (+ labels.txt; text lines for OCR recognizers).")
  private Path calibration;

  @Option(
      names = "--method",
      required = true,
      description =
          "int8 | int4 | mixed (int4/int3/int2 per layer to reach --target-ratio) | cacheai"
              + " (middle Gemm/MatMul layers as lookup tables)")
  private String method;

  @Option(
      names = "--lut-width",
      defaultValue = "" + LutOptions.DEFAULT_WIDTH,
      description =
          "cacheai: floats per key (w); int8 tables are about w/4 times smaller than fp32"
              + " (4-bit: w/2); 0 (default) = per layer, the smallest w for 10x")
  private int lutWidth;

  @Option(
      names = "--lut-encoder",
      defaultValue = "tree",
      description =
          "cacheai: tree (threshold tree, no multiply) | centroid; default ${DEFAULT-VALUE}")
  private String lutEncoder;

  @Option(
      names = "--lut-tree-fit",
      defaultValue = "output",
      description =
          "cacheai: what tree splits keep together: output (partial outputs, best measured) |"
              + " centroid (reproduce the k-means assignment); default ${DEFAULT-VALUE}")
  private String lutTreeFit;

  @Option(
      names = "--lut-layers",
      split = ",",
      description =
          "cacheai: node names to replace: Gemm, MatMul by a constant, Conv of group 1 (k×k as"
              + " im2col patches; see --lut-list; default: every middle Gemm/MatMul)")
  private java.util.List<String> lutLayers = java.util.List.of();

  @Option(
      names = "--lut-list",
      description =
          "cacheai: print the layers that can become tables (name, op, D, M, rows per sample at"
              + " the calibration shape, fp32 and table bytes) and write nothing")
  private boolean lutList;

  @Option(
      names = "--lut-lambda",
      defaultValue = "1.0",
      description = "cacheai: ridge term, relative to a key's mean count; default ${DEFAULT-VALUE}")
  private double lutLambda;

  @Option(
      names = "--lut-shift",
      defaultValue = "" + LutOptions.DEFAULT_SHIFT_RADIUS_PX,
      description =
          "Cache AI: fit on the calibration images shifted by up to N pixels each way, (2N+1)^2"
              + " rows per image (0: no shifts); default ${DEFAULT-VALUE}")
  private int lutShift;

  @Option(
      names = "--lut-refit-next",
      defaultValue = "true",
      arity = "1",
      description =
          "Cache AI: refit the exact layer after the last table layer to the fp32 outputs;"
              + " default ${DEFAULT-VALUE}")
  private boolean lutRefitNext;

  @Option(
      names = "--lut-table-bits",
      defaultValue = "" + LutOptions.DEFAULT_TABLE_BITS,
      description =
          "Cache AI: bits of a table entry, 8 (int8) or 4 (two per byte: half the table bytes,"
              + " so --lut-width 0 picks about half the w); default ${DEFAULT-VALUE}")
  private int lutTableBits;

  @Option(
      names = "--lut-groups",
      defaultValue = "" + LutOptions.DEFAULT_GROUPS,
      description =
          "Cache AI: split a table layer's M outputs into G groups, each with its own codebooks"
              + " over the whole input (rows of M/G entries: G times the keys in the same bytes);"
              + " tree encoder, Gemm/MatMul layers whose M G divides; 0 = auto (4 where the"
              + " ungrouped tables would have < 16 codebooks); default ${DEFAULT-VALUE}")
  private int lutGroups;

  @Option(
      names = "--lut-depth",
      defaultValue = "auto",
      description =
          "Cache AI: depth L of a Gemm/MatMul table layer's trees, auto | 2 | 3 | 4 (4, 8 or 16"
              + " keys per codebook; a shallower tree's codebook costs fewer table bytes, so the"
              + " same size holds more codebooks); k×k Conv tables stay 4; auto = 4. MNIST MLP"
              + " (10k test): depth 2, with --lut-fold and --lut-l2sp auto, 98.70% accuracy /"
              + " 99.05% agreement vs 98.18% / 98.39% at depth 4, but its trees read 255 of the"
              + " 256 rows before the tables, so the bundle is 3.98x smaller instead of 5.59x;"
              + " default ${DEFAULT-VALUE}")
  private String lutDepth;

  @Option(
      names = "--lut-fold",
      defaultValue = "auto",
      description =
          "Cache AI: fold each codebook's key-0 table row into the bias and do not store it (the"
              + " outputs are the same; the bytes saved buy more codebooks in the same size, MNIST"
              + " MLP depth 2: 4 x 43 codebooks instead of 4 x 32, 98.53% / 98.78% agreement vs"
              + " 98.44% / 98.54%):"
              + " auto | on | off; auto = on where a Gemm/MatMul table layer's trees are shallower"
              + " than depth 4, off at depth 4 (k×k Conv tables are never folded); default"
              + " ${DEFAULT-VALUE}")
  private String lutFold;

  @Option(
      names = "--lut-l2sp",
      defaultValue = "auto",
      description =
          "Cache AI: L2-SP weight L of the soft-key fine-tuning, + L·Σ (p − p_fp32)² over the"
              + " trained rows of the Gemm before the tables and the Gemms after them, both"
              + " phases: auto | a number in [0, 1]; auto = 0.0003 where the soft keys run and the"
              + " tables are folded (depth < 4), else 0; a number applies wherever the soft keys"
              + " run (PyTorch prototype, MNIST MLP depth 2 folded: +0.1..0.3 pt agreement);"
              + " default ${DEFAULT-VALUE}")
  private String lutL2sp;

  @Option(
      names = "--lut-prune",
      defaultValue = "true",
      arity = "1",
      description =
          "Cache AI: once the tables are final, drop the rows of the Gemm before a table layer"
              + " that no tree reads (same keys and logits, a smaller bundle); default"
              + " ${DEFAULT-VALUE}")
  private boolean lutPrune;

  @Option(
      names = "--lut-rest",
      description =
          "cacheai: the layers not turned into tables: fp32 | int8 | int4 | mixed (as --method;"
              + " mixed: those layers --target-ratio times smaller than fp32); default "
              + LutRest.DEFAULT)
  private String lutRest;

  @Option(
      names = "--lut-finetune-epochs",
      defaultValue = "" + LutFineTune.Options.DEFAULT_EPOCHS,
      description =
          "Cache AI: epochs of fine-tuning the last table layer's tables and the exact layers"
              + " after it against the fp32 logits (and the labels, if the data has them), keys"
              + " fixed; 0 = off; default ${DEFAULT-VALUE}")
  private int lutFineTuneEpochs;

  @Option(
      names = "--lut-soft-key-epochs",
      defaultValue = "" + LutFineTune.Options.DEFAULT_SOFT_KEY_EPOCHS,
      description =
          "Cache AI: epochs of fine-tuning with differentiable keys first (soft tree, straight-"
              + "through), training the Gemm before the last table layer and the tree too, where"
              + " that layer reads Relu(Gemm) (else skipped with a note); 0 = off; default"
              + " ${DEFAULT-VALUE}")
  private int lutSoftKeyEpochs;

  @Option(
      names = "--lut-finetune-samples",
      defaultValue = "0",
      description =
          "Cache AI: fine-tune on the first N samples of DATA as they are (e.g. all 60000 MNIST"
              + " training images while --samples builds the tables from fewer); 0 = the rows the"
              + " tables were fitted on; default ${DEFAULT-VALUE}")
  private int lutFineTuneSamples;

  @Option(
      names = "--lut-mixup",
      defaultValue = "auto",
      description =
          "Cache AI: extra fine-tune rows blended from two training rows (mixup, λ in [0.5, 1)),"
              + " labelled only by the fp32 model's logits on the blend, as a fraction of the"
              + " fine-tune rows (1 = as many blends as rows; 0 = off; up to 16). auto = "
              + LutFineTune.Options.DEFAULT_MIXUP
              + " where the soft keys run, else 0. Measured on the 10k MNIST test set, 60000"
              + " fine-tune rows, seed 1: the MLP (soft keys) 97.96% -> 98.18% accuracy, 98.15% ->"
              + " 98.39% agreement with fp32 (compress time 1.9x); the CNN (keys fixed) 98.96%"
              + " either way, agreement 99.03% -> 98.99%, so not there; default ${DEFAULT-VALUE}")
  private String lutMixup;

  @Option(
      names = "--seed",
      defaultValue = "1",
      description =
          "cacheai: k-means seed (same seed, same bundle; unused by the default tree fit);"
              + " default ${DEFAULT-VALUE}")
  private long seed;

  @Option(
      names = "--calibration-method",
      defaultValue = "percentile",
      description = "minmax | percentile (99.99) | mse; default ${DEFAULT-VALUE}")
  private String calibrationMethod;

  @Option(
      names = "--samples",
      defaultValue = "1000",
      description = "Calibration samples (the first N of DATA); default ${DEFAULT-VALUE}")
  private int samples;

  @Option(
      names = "--budget",
      description = "Tolerated top-1 loss in points on the calibration set (default 0.3 int8, 0.5)")
  private Double budgetPt;

  @Option(names = "--group-size", defaultValue = "32", description = "int4 group size")
  private int groupSize;

  @Option(names = "--first-layer-fp32", description = "Keep the first weighted layer in fp32.")
  private boolean firstLayerFp32;

  @Option(names = "--last-layer-fp32", description = "Keep the last weighted layer in fp32.")
  private boolean lastLayerFp32;

  @Option(
      names = "--target-ratio",
      defaultValue = "10",
      description = "mixed: size target as MODEL.onnx size / ratio; default ${DEFAULT-VALUE}")
  private double targetRatio;

  @Option(
      names = "--save-calibration",
      paramLabel = "FILE.cait",
      description =
          "Also write the calibration samples used (as prepared for the model) to a raw CAIT"
              + " tensor file, e.g. for tools/quant/ort_quantize_static.py.")
  private Path saveCalibration;

  @Option(names = "--out", required = true, paramLabel = "MODEL.cai", description = "The bundle.")
  private Path out;

  @Override
  public Integer call() throws Exception {
    if (method.equalsIgnoreCase(METHOD_CACHEAI)) {
      return cacheai();
    }
    long startNs = System.nanoTime();
    Compressor.Method m = Compressor.Method.parse(method);
    if (lutRest != null) {
      throw new IllegalArgumentException(
          "lut-rest=" + lutRest + " applies to --method cacheai only (method=" + method + ")");
    }
    Compressor.Options options = compressorOptions(m);
    Graph graph = OnnxImporter.importFile(model);
    Dataset data = readData(graph);
    if (saveCalibration != null) {
      data.range(0, Math.min(samples, data.count())).writeRaw(saveCalibration);
    }
    PrintWriter err = spec.commandLine().getErr();
    Compressor.Result result = Compressor.compress(graph, data, options, new ProgressBar(err));
    if (result.precisions().values().stream().allMatch(LayerPrecision.FP32::equals)) {
      // the fallback sent every layer back to fp32: such a bundle is the fp32 model under a
      // compressed label, which the server refuses to serve as cai_<method>; say why instead
      result.notes().forEach(line -> err.println("  note: " + line));
      throw new IllegalArgumentException(
          String.format(
              Locale.ROOT,
              "method=%s budget=%.2f pt: no layer stays quantized (every one went back to fp32 to"
                  + " keep the calibration score); raise --budget or use another method",
              m.label(),
              options.budgetPt()));
    }

    BundleWriter writer = new BundleWriter(result.graph().graph());
    result.graph().packed().forEach((name, tensor) -> PackedTensors.add(writer, name, tensor));
    writer.producer(
        Producer.newBuilder()
            .setCacheaiVersion(ServerInfo.version())
            .setSourceSha256(BundleCommand.sha256(model))
            .setSourceName(model.getFileName().toString())
            .setCompression(m.label())
            .build());
    writer.metadata("calibration", options.calibration().name().toLowerCase(Locale.ROOT));
    writer.metadata("calibration_samples", Integer.toString(Math.min(samples, data.count())));
    writer.metadata("layers", result.precisions().toString());
    long sizeBytes = writer.write(out);

    PrintWriter stdout = spec.commandLine().getOut();
    result
        .precisions()
        .forEach((layer, precision) -> stdout.printf("  layer %-24s %s%n", layer, precision));
    for (String line : result.notes()) {
      stdout.println("  note: " + line);
    }
    long onnxBytes = Files.size(model);
    stdout.printf(
        Locale.ROOT,
        "cacheai: wrote %s (%d bytes, %.2fx smaller than %s at %d bytes), method=%s,"
            + " calibration=%s on %d samples: score %.2f%% vs fp32 %.2f%%, agreement %.2f%%,"
            + " in %d ms%n",
        out,
        sizeBytes,
        (double) onnxBytes / sizeBytes,
        model.getFileName(),
        onnxBytes,
        m.label(),
        options.calibration().name().toLowerCase(Locale.ROOT),
        Math.min(samples, data.count()),
        result.scorePct(),
        result.fp32ScorePct(),
        result.agreementPct(),
        (System.nanoTime() - startNs) / 1_000_000);
    stdout.flush();
    return 0;
  }

  /**
   * The calibration data: a folder of images prepared for {@code graph}'s input (text lines at
   * height 48, padded to the widest), else a dataset file.
   */
  private Dataset readData(Graph graph) throws java.io.IOException {
    return Files.isDirectory(calibration)
        ? ImageFolderData.read(calibration, graph.inputs().get(0).shape())
        : Dataset.read(calibration);
  }

  /** The quantizer's options from the command line, for method {@code m}. */
  private Compressor.Options compressorOptions(Compressor.Method m) throws java.io.IOException {
    if (samples <= 0 || groupSize <= 0 || !(targetRatio >= 1)) {
      throw new IllegalArgumentException(
          "samples="
              + samples
              + " groupSize="
              + groupSize
              + " targetRatio="
              + targetRatio
              + " (samples, group size > 0; target ratio >= 1)");
    }
    Compressor.Options defaults =
        Compressor.Options.of(m, CalibrationMethod.parse(calibrationMethod), samples);
    return new Compressor.Options(
        m,
        defaults.calibration(),
        samples,
        budgetPt == null ? defaults.budgetPt() : budgetPt,
        groupSize,
        firstLayerFp32,
        lastLayerFp32,
        (long) (Files.size(model) / targetRatio));
  }

  /** The {@code --method} value of Cache AI (tables instead of weights). */
  static final String METHOD_CACHEAI = "cacheai";

  /** {@code --method cacheai}: {@link LutCompressor}, then the per-layer report on stdout. */
  private int cacheai() throws Exception {
    long startNs = System.nanoTime();
    if (samples <= 0) {
      throw new IllegalArgumentException("samples=" + samples + " (must be > 0)");
    }
    LutOptions options =
        LutOptions.defaults()
            .withWidth(lutWidth)
            .withEncoder(LutOptions.Encoder.parse(lutEncoder))
            .withLayers(lutLayers)
            .withLambda(lutLambda)
            .withTreeFit(LutOptions.TreeFit.parse(lutTreeFit))
            .withSeed(seed)
            .withSamples(samples)
            .withShiftRadiusPx(lutShift)
            .withRefitNext(lutRefitNext)
            .withTableBits(lutTableBits)
            .withGroups(lutGroups)
            .withPrune(lutPrune)
            .withDepth(LutOptions.parseDepth(lutDepth))
            .withFold(LutOptions.Fold.parse(lutFold))
            .withL2sp(LutOptions.parseL2sp(lutL2sp));
    Compressor.Method restMethod = LutRest.parse(lutRest == null ? LutRest.DEFAULT : lutRest);
    double mixup = mixupFraction(lutMixup);
    Compressor.Options restOptions = restMethod == null ? null : compressorOptions(restMethod);
    Graph graph = OnnxImporter.importFile(model);
    Dataset data = readData(graph);
    if (lutList) {
      PrintWriter stdout = spec.commandLine().getOut();
      stdout.println(
          "  layers that can become tables, at input "
              + io.cacheai.graph.Shapes.toString(data.batchShape(1))
              + " (name them with --lut-layers):");
      for (LutCandidates.Candidate c : LutCandidates.list(graph, data.batchShape(1))) {
        stdout.println("  " + c.line(options));
      }
      stdout.flush();
      return 0;
    }
    PrintWriter err = spec.commandLine().getErr();
    LutCompressor.Result result =
        LutCompressor.compress(
            graph,
            data,
            options,
            LutFineTune.Options.defaults()
                .withEpochs(lutFineTuneEpochs)
                .withSeed(seed)
                .withSamples(lutFineTuneSamples)
                .withMixup(mixup)
                .withSoftKeyEpochs(lutSoftKeyEpochs),
            new ProgressBar(err));
    LutRest.Result rest =
        LutRest.apply(graph, result, restOptions, targetRatio, data, new ProgressBar(err));
    BundleWriter writer = new BundleWriter(rest.graph().graph());
    rest.graph().packed().forEach((name, tensor) -> PackedTensors.add(writer, name, tensor));
    writer.producer(
        Producer.newBuilder()
            .setCacheaiVersion(ServerInfo.version())
            .setSourceSha256(BundleCommand.sha256(model))
            .setSourceName(model.getFileName().toString())
            .setCompression(rest.compression())
            .build());
    writer.metadata("calibration_samples", Integer.toString(Math.min(samples, data.count())));
    writer.metadata("layers", LutRest.describe(rest.layers()));
    writer.metadata(
        "lut",
        String.format(
            Locale.ROOT,
            "width=%s table_bits=%d encoder=%s tree_fit=%s lambda=%s shift_px=%d refit_next=%s"
                + " prune=%s seed=%d layers=%s%s%s%s%s",
            options.width() == 0 ? "auto" : Integer.toString(options.width()),
            options.tableBits(),
            options.encoder().label(),
            options.treeFit().name().toLowerCase(Locale.ROOT),
            options.lambda(),
            options.shiftRadiusPx(),
            options.refitNext(),
            options.prune(),
            options.seed(),
            result.layers().stream().map(LutLayerReport::layer).toList(),
            options.groups() == 1
                ? ""
                : " groups="
                    + (options.groups() == LutOptions.AUTO_GROUPS
                        ? "auto"
                        : Integer.toString(options.groups())),
            options.depth() == LutOptions.AUTO_DEPTH ? "" : " depth=" + options.depth(),
            options.fold() == LutOptions.Fold.AUTO ? "" : " fold=" + options.fold().label(),
            options.l2sp() == LutOptions.AUTO_L2SP
                ? ""
                : " l2sp="
                    + java.math.BigDecimal.valueOf(options.l2sp())
                        .stripTrailingZeros()
                        .toPlainString()));
    writer.metadata("lut_notes", String.join("; ", result.notes()));
    long sizeBytes = writer.write(out);

    PrintWriter stdout = spec.commandLine().getOut();
    stdout.println("  Cache AI layers (calibration data):");
    for (LutLayerReport layer : result.layers()) {
      stdout.println("  layer " + layer.line());
    }
    result.notes().forEach(note -> stdout.println("  " + note));
    stdout.printf(
        Locale.ROOT,
        "  other layers (--lut-rest %s; tables alone score %.2f%%):%n",
        restMethod == null ? "fp32" : restMethod.label(),
        rest.tablesScorePct());
    rest.layers()
        .forEach(
            (layer, kind) -> {
              if (!kind.equals(LutRest.LOOKUP)) {
                stdout.printf("  layer %-24s %s%n", layer, kind);
              }
            });
    for (String line : rest.notes()) {
      stdout.println("  note: " + line);
    }
    long onnxBytes = Files.size(model);
    stdout.printf(
        Locale.ROOT,
        "cacheai: wrote %s (%d bytes, %.2fx smaller than %s at %d bytes), method=cacheai"
            + " w=%s encoder=%s rest=%s on %d samples: score %.2f%% vs fp32 %.2f%%,"
            + " agreement %.2f%%, in %d ms%n",
        out,
        sizeBytes,
        (double) onnxBytes / sizeBytes,
        model.getFileName(),
        onnxBytes,
        options.width() == 0 ? "auto" : Integer.toString(options.width()),
        options.encoder().label(),
        restMethod == null ? "fp32" : restMethod.label(),
        Math.min(samples, data.count()),
        rest.scorePct(),
        rest.fp32ScorePct(),
        rest.agreementPct(),
        (System.nanoTime() - startNs) / 1_000_000);
    stdout.flush();
    return 0;
  }

  /** {@code --lut-mixup}: "auto" or a fraction (the range is checked by LutFineTune.Options). */
  static double mixupFraction(String value) {
    if (value.equalsIgnoreCase("auto")) {
      return LutFineTune.Options.AUTO_MIXUP;
    }
    try {
      double r = Double.parseDouble(value);
      if (!(r >= 0 && r <= 16)) {
        throw new NumberFormatException();
      }
      return r;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          "lut-mixup=" + value + " (auto, or a fraction of the fine-tune rows in 0..16)");
    }
  }
}
