package io.cacheai.runtime;

import io.cacheai.graph.ConvTransposeGeometry;
import io.cacheai.graph.Graph;
import io.cacheai.graph.Node;
import io.cacheai.graph.OpParams;
import io.cacheai.graph.OpType;
import io.cacheai.graph.PackedTensor;
import io.cacheai.graph.ResizeGeometry;
import io.cacheai.graph.ShapeInference;
import io.cacheai.graph.Shapes;
import io.cacheai.graph.Window2d;
import io.cacheai.kernels.Fp32Kernels;
import java.util.Arrays;
import java.util.Map;

/**
 * Builds the {@link Kernel} of a node for concrete shapes: attributes and parameter inputs (slice
 * bounds, axes) are resolved here, once per plan. Nodes whose value is known at plan time (shape
 * computations) get no kernel; see {@link ShapeInference}.
 */
final class KernelFactory {
  private final Graph graph;
  private final Map<String, Integer> ids;
  private final Map<String, PackedTensor> packed;
  private final Int8Gemm int8Gemm;

  /**
   * The q4g32 blocks of each LowBitGemm weight (by tensor name), transcoded once for every plan and
   * every kernel built on it: the Gemm-chain fusion builds a kernel it may not keep and the plan
   * then builds the layer's own, and each batch size has a plan. Empty: not transcodable (or no
   * native kernels), the kernel's reference path runs.
   */
  private final Map<String, java.util.Optional<java.nio.ByteBuffer>> q4Blocks =
      new java.util.concurrent.ConcurrentHashMap<>();

  /** Live key hit counters of the Cache AI layers, by node name, shared by every plan. */
  private final Map<String, KeyHitCounter> keyHits = new java.util.concurrent.ConcurrentHashMap<>();

  KernelFactory(
      Graph graph, Map<String, Integer> ids, Map<String, PackedTensor> packed, Int8Gemm int8Gemm) {
    this.graph = graph;
    this.ids = ids;
    this.packed = packed;
    this.int8Gemm = int8Gemm;
  }

  Kernel create(Node node, ShapeInference.Result analysis) {
    Map<String, long[]> shapes = analysis.shapes();
    int out = id(node.outputs().get(0));
    long[] outShape = shapes.get(node.outputs().get(0));
    long[] in0 = shapes.get(node.inputs().get(0));
    var attributes = node.attributes();
    return switch (node.op()) {
      case ADD -> binary(BinaryKernel.Op.ADD, node, shapes, outShape, out);
      case SUB -> binary(BinaryKernel.Op.SUB, node, shapes, outShape, out);
      case MUL -> binary(BinaryKernel.Op.MUL, node, shapes, outShape, out);
      case DIV -> binary(BinaryKernel.Op.DIV, node, shapes, outShape, out);
      case POW -> binary(BinaryKernel.Op.POW, node, shapes, outShape, out);
      case RELU -> new UnaryKernel(UnaryKernel.Op.RELU, input(node, 0), out);
      case SIGMOID -> new UnaryKernel(UnaryKernel.Op.SIGMOID, input(node, 0), out);
      case SQRT -> new UnaryKernel(UnaryKernel.Op.SQRT, input(node, 0), out);
      case ABS -> new UnaryKernel(UnaryKernel.Op.ABS, input(node, 0), out);
      case NEG -> new UnaryKernel(UnaryKernel.Op.NEG, input(node, 0), out);
      case EXP -> new UnaryKernel(UnaryKernel.Op.EXP, input(node, 0), out);
      case TANH -> new UnaryKernel(UnaryKernel.Op.TANH, input(node, 0), out);
      case HARD_SIGMOID ->
          new UnaryKernel(
              UnaryKernel.Op.HARD_SIGMOID,
              input(node, 0),
              out,
              attributes.getFloat("alpha", 0.2f),
              attributes.getFloat("beta", 0.5f),
              -1,
              -1);
      case CLIP -> clip(node, out);
      case IDENTITY, FLATTEN, RESHAPE, SQUEEZE, UNSQUEEZE, CAST ->
          new CopyKernel(input(node, 0), out);
      case SOFTMAX -> softmax(node, in0, out);
      case GEMM ->
          new GemmKernel(
              input(node, 0),
              input(node, 1),
              node.hasInput(2) ? input(node, 2) : -1,
              out,
              in0,
              node.hasInput(2) ? shapes.get(node.inputs().get(2)) : null,
              attributes.getLong("transA", 0) != 0,
              attributes.getLong("transB", 0) != 0,
              attributes.getFloat("alpha", 1f),
              attributes.getFloat("beta", 1f),
              outShape);
      case MAT_MUL ->
          new MatMulKernel(
              input(node, 0), input(node, 1), out, in0, shapes.get(node.inputs().get(1)));
      case CONV -> conv(node, analysis, in0, out);
      case CONV_TRANSPOSE -> {
        long[] weightShape = shapes.get(node.inputs().get(1));
        yield new ConvTransposeKernel(
            input(node, 0),
            input(node, 1),
            node.hasInput(2) ? input(node, 2) : -1,
            out,
            in0,
            weightShape,
            (int) attributes.getLong("group", 1),
            ConvTransposeGeometry.resolve(node, in0, weightShape));
      }
      case RESIZE ->
          new ResizeKernel(
              input(node, 0),
              out,
              in0,
              ResizeGeometry.resolve(graph, node, in0, analysis.values()));
      case MAX_POOL, AVERAGE_POOL -> {
        if (attributes.getLong("storage_order", 0) != 0) {
          throw new IllegalArgumentException(
              node.describe() + ": storage_order=1 is not supported");
        }
        yield new PoolKernel(
            input(node, 0),
            out,
            in0,
            Window2d.resolve(node, in0, attributes.getLongs("kernel_shape")),
            node.op() == OpType.MAX_POOL,
            attributes.getLong("count_include_pad", 0) != 0);
      }
      case GLOBAL_AVERAGE_POOL -> {
        boolean[] reduced = new boolean[in0.length];
        Arrays.fill(reduced, 2, reduced.length, true);
        yield new ReduceMeanKernel(input(node, 0), out, in0, reduced);
      }
      case REDUCE_MEAN ->
          new ReduceMeanKernel(
              input(node, 0),
              out,
              in0,
              OpParams.reducedAxes(graph, node, in0.length, analysis.values()));
      case SLICE ->
          new SliceKernel(
              input(node, 0), out, in0, OpParams.slice(graph, node, in0, analysis.values()));
      case TRANSPOSE ->
          new TransposeKernel(input(node, 0), out, in0, OpParams.perm(node, in0.length));
      case CONCAT -> {
        int[] inputs = new int[node.inputs().size()];
        long[][] inShapes = new long[inputs.length][];
        for (int i = 0; i < inputs.length; i++) {
          inputs[i] = input(node, i);
          inShapes[i] = shapes.get(node.inputs().get(i));
        }
        int axis =
            Shapes.normalizeAxis(attributes.getLong("axis", 0), outShape.length, node.describe());
        yield new ConcatKernel(inputs, inShapes, axis, out);
      }
      case BATCH_NORMALIZATION ->
          new BatchNormKernel(
              input(node, 0),
              out,
              in0,
              input(node, 1),
              input(node, 2),
              input(node, 3),
              input(node, 4),
              attributes.getFloat("epsilon", 1e-5f));
      case QLINEAR_GEMM, QLINEAR_CONV -> int8(node, in0, out, false, Fp32Kernels.Epilogue.NONE);
      case LOW_BIT_GEMM -> lowBitGemm(node, in0, out, false);
      case LOW_BIT_CONV -> lowBitConv(node, in0, out, false, null);
      case LOOKUP_GEMM -> lookupGemm(node, in0, out);
      case LOOKUP_CONV -> lookupConv(node, in0, out);
      case SHAPE, CONSTANT ->
          throw new IllegalStateException(node.describe() + ": evaluated when the plan is built");
    };
  }

  /**
   * The kernel of int8 or low-bit node {@code node} (QLinearGemm, QLinearConv, LowBitGemm,
   * LowBitConv) writing value {@code out}, with a following ReLU ({@code relu}) or elementwise
   * chain ({@code epilogue}, convolutions only) fused into its output; null when this node cannot
   * take them.
   */
  Kernel int8(Node node, long[] in0, int out, boolean relu, Fp32Kernels.Epilogue epilogue) {
    return int8(node, in0, out, relu, epilogue, null);
  }

  /**
   * As {@link #int8(Node, long[], int, boolean, Fp32Kernels.Epilogue)}, with MaxPool node {@code
   * pool} (null: none) fused into a QLinearConv's store; null when it cannot be fused here (see
   * {@link QLinearConvKernel#fusablePool}).
   */
  Kernel int8(
      Node node, long[] in0, int out, boolean relu, Fp32Kernels.Epilogue epilogue, Node pool) {
    var attributes = node.attributes();
    if (pool != null) {
      return int8Pooled(node, in0, out, relu, pool);
    }
    if (node.op() == OpType.QLINEAR_GEMM) {
      return epilogue.steps() > 0
          ? null
          : new QLinearGemmKernel(
              input(node, 0),
              out,
              in0,
              packed(node, "weight", PackedTensor.Format.S8_PANEL16),
              optionalPacked(node, "bias", PackedTensor.Format.S32),
              attributes.getFloat("x_scale", 0f),
              (int) attributes.getLong("x_zero_point", 0),
              int8Gemm,
              relu);
    }
    if (node.op() == OpType.LOW_BIT_CONV) {
      return epilogue.steps() > 0 ? null : lowBitConv(node, in0, out, relu, null);
    }
    if (node.op() == OpType.LOW_BIT_GEMM) {
      return epilogue.steps() > 0 ? null : lowBitGemm(node, in0, out, relu);
    }
    if (node.op() != OpType.QLINEAR_CONV) {
      return null;
    }
    PackedTensor weight = packed(node, "weight", PackedTensor.Format.S8_PANEL16);
    long[] weightShape = attributes.getLongs("weight_shape");
    return new QLinearConvKernel(
        input(node, 0),
        out,
        in0,
        Window2d.resolve(
            node, in0, java.util.Arrays.copyOfRange(weightShape, 2, weightShape.length)),
        weight,
        optionalPacked(node, "bias", PackedTensor.Format.S32),
        attributes.getFloat("x_scale", 0f),
        (int) attributes.getLong("x_zero_point", 0),
        int8Gemm,
        relu,
        epilogue);
  }

  /** A LowBitGemm kernel on the weight's q4g32 blocks, transcoded once ({@link #q4Blocks}). */
  private LowBitGemmKernel lowBitGemm(Node node, long[] in0, int out, boolean relu) {
    PackedTensor weight = packed(node, "weight", null);
    java.nio.ByteBuffer blocks =
        q4Blocks
            .computeIfAbsent(
                node.attributes().getString("weight", ""),
                name -> java.util.Optional.ofNullable(LowBitGemmKernel.nativeBlocks(weight)))
            .orElse(null);
    return new LowBitGemmKernel(
        input(node, 0),
        out,
        in0,
        weight,
        optionalPacked(node, "bias", PackedTensor.Format.F32),
        relu,
        blocks);
  }

  /**
   * The kernel of a {@code LowBitConv} node writing {@code out}, with a following ReLU fused when
   * {@code relu}: native when this factory runs the native int8 kernels, else the fp32 fallback.
   * With MaxPool node {@code pool} (null: none) fused into its store: null when that cannot be done
   * here (no native path for this weight or window, see {@link LowBitConvKernel}).
   */
  private Kernel lowBitConv(Node node, long[] in0, int out, boolean relu, Node pool) {
    var attributes = node.attributes();
    PackedTensor weight = packed(node, "weight", null);
    long[] weightShape = attributes.getLongs("weight_shape");
    int groups = (int) attributes.getLong("group", 1);
    Window2d window =
        Window2d.resolve(
            node, in0, java.util.Arrays.copyOfRange(weightShape, 2, weightShape.length));
    long[] outShape = {in0[0], weightShape[0], window.outH(), window.outW()};
    Window2d poolWindow =
        pool == null
            ? null
            : Window2d.resolve(pool, outShape, pool.attributes().getLongs("kernel_shape"));
    if (poolWindow != null
        && !QLinearConvKernel.fusablePool(poolWindow, window, true, Fp32Kernels.Epilogue.NONE)) {
      return null;
    }
    try {
      return lowBitConvKernel(
          node, in0, out, relu, weight, weightShape, groups, window, poolWindow);
    } catch (IllegalArgumentException e) {
      if (poolWindow == null) {
        throw e;
      }
      return null; // the pool cannot be fused here: it stays a MaxPool of its own
    }
  }

  private Kernel lowBitConvKernel(
      Node node,
      long[] in0,
      int out,
      boolean relu,
      PackedTensor weight,
      long[] weightShape,
      int groups,
      Window2d window,
      Window2d poolWindow) {
    ConvKernel conv = new ConvKernel(input(node, 0), -1, -1, out, in0, weightShape, groups, window);
    long[] outShape = {in0[0], weightShape[0], window.outH(), window.outW()};
    return new LowBitConvKernel(
        conv,
        input(node, 0),
        out,
        in0,
        outShape,
        window,
        groups,
        weight,
        optionalPacked(node, "bias", PackedTensor.Format.F32),
        relu,
        int8Gemm instanceof NativeInt8Gemm,
        poolWindow);
  }

  private Kernel int8Pooled(Node node, long[] in0, int out, boolean relu, Node pool) {
    if (node.op() == OpType.LOW_BIT_CONV
        && pool.op() == OpType.MAX_POOL
        && pool.outputs().size() == 1
        && pool.attributes().getLong("storage_order", 0) == 0
        && int8Gemm instanceof NativeInt8Gemm) {
      return lowBitConv(node, in0, out, relu, pool);
    }
    if (node.op() != OpType.QLINEAR_CONV
        || pool.op() != OpType.MAX_POOL
        || pool.outputs().size() != 1
        || pool.attributes().getLong("storage_order", 0) != 0
        || !QLinearConvKernel.directAvailable(int8Gemm)) {
      return null;
    }
    long[] weightShape = node.attributes().getLongs("weight_shape");
    Window2d window =
        Window2d.resolve(
            node, in0, java.util.Arrays.copyOfRange(weightShape, 2, weightShape.length));
    long[] convOut = {in0[0], weightShape[0], window.outH(), window.outW()};
    Window2d poolWindow =
        Window2d.resolve(pool, convOut, pool.attributes().getLongs("kernel_shape"));
    if (!QLinearConvKernel.fusablePool(poolWindow, window, true, Fp32Kernels.Epilogue.NONE)) {
      return null;
    }
    return new QLinearConvKernel(
        input(node, 0),
        out,
        in0,
        window,
        packed(node, "weight", PackedTensor.Format.S8_PANEL16),
        optionalPacked(node, "bias", PackedTensor.Format.S32),
        node.attributes().getFloat("x_scale", 0f),
        (int) node.attributes().getLong("x_zero_point", 0),
        int8Gemm,
        relu,
        Fp32Kernels.Epilogue.NONE,
        poolWindow);
  }

  private Kernel binary(
      BinaryKernel.Op op, Node node, Map<String, long[]> shapes, long[] outShape, int out) {
    return new BinaryKernel(
        op,
        input(node, 0),
        input(node, 1),
        out,
        shapes.get(node.inputs().get(0)),
        shapes.get(node.inputs().get(1)),
        outShape);
  }

  private Kernel clip(Node node, int out) {
    if (graph.opsetVersion() < 11) {
      return new UnaryKernel(
          UnaryKernel.Op.CLIP,
          input(node, 0),
          out,
          node.attributes().getFloat("min", -Float.MAX_VALUE),
          node.attributes().getFloat("max", Float.MAX_VALUE),
          -1,
          -1);
    }
    return new UnaryKernel(
        UnaryKernel.Op.CLIP,
        input(node, 0),
        out,
        Float.NEGATIVE_INFINITY,
        Float.POSITIVE_INFINITY,
        node.hasInput(1) ? input(node, 1) : -1,
        node.hasInput(2) ? input(node, 2) : -1);
  }

  /**
   * The kernel of Conv {@code node} with the elementwise chain {@code steps} fused into its store,
   * writing value {@code out} (the chain's output); null when this convolution cannot take it (a
   * step the native epilogue lacks, a grouped convolution, or no packed product on this CPU).
   */
  Kernel convWithEpilogue(
      Node node, ShapeInference.Result analysis, int out, ElementwiseChainKernel.Step[] steps) {
    Fp32Kernels.Epilogue epilogue = ElementwiseFusion.epilogue(steps);
    long[] in0 = analysis.shapes().get(node.inputs().get(0));
    if (epilogue != null && node.op() == OpType.QLINEAR_CONV) {
      // the chain runs as the native fp32 epilogue: only beside the native int8 kernels
      return int8Gemm instanceof NativeInt8Gemm ? int8(node, in0, out, false, epilogue) : null;
    }
    if (epilogue == null || node.op() != OpType.CONV) {
      return null;
    }
    Kernel plain = conv(node, analysis, in0, out, null);
    if (plain instanceof DepthwiseConvKernel) {
      return conv(node, analysis, in0, out, epilogue);
    }
    return plain instanceof ConvKernel c && c.runsPacked()
        ? conv(node, analysis, in0, out, epilogue)
        : null;
  }

  private Kernel conv(Node node, ShapeInference.Result analysis, long[] in0, int out) {
    return conv(node, analysis, in0, out, null);
  }

  private Kernel conv(
      Node node,
      ShapeInference.Result analysis,
      long[] in0,
      int out,
      Fp32Kernels.Epilogue epilogue) {
    long[] weightShape = analysis.shapes().get(node.inputs().get(1));
    long[] kernel = Arrays.copyOfRange(weightShape, 2, weightShape.length);
    int group = (int) node.attributes().getLong("group", 1);
    Window2d window = Window2d.resolve(node, in0, kernel);
    int bias = node.hasInput(2) ? input(node, 2) : -1;
    if (group > 1 && group == in0[1] && weightShape[0] == group) {
      return new DepthwiseConvKernel(
          input(node, 0),
          input(node, 1),
          bias,
          out,
          in0,
          window,
          epilogue == null ? Fp32Kernels.Epilogue.NONE : epilogue);
    }
    String weightName = node.inputs().get(1);
    boolean constantWeights =
        graph.constants().containsKey(weightName) || analysis.values().containsKey(weightName);
    return new ConvKernel(
        input(node, 0),
        input(node, 1),
        bias,
        out,
        in0,
        weightShape,
        group,
        window,
        constantWeights,
        epilogue);
  }

  /**
   * The stored tensor a quantized node names in attribute {@code key}, checked to be of {@code
   * format} (null: any low-bit grouped format) and to match the node's {@code weight_shape}.
   */
  private PackedTensor packed(Node node, String key, PackedTensor.Format format) {
    String name = node.attributes().getString(key, "");
    PackedTensor tensor = packed.get(name);
    if (tensor == null) {
      throw new IllegalArgumentException(
          node.describe() + ": " + key + "='" + name + "' is not a stored quantized tensor");
    }
    boolean formatOk = format == null ? tensor.format().grouped() : tensor.format() == format;
    if (!formatOk) {
      throw new IllegalArgumentException(
          node.describe()
              + ": "
              + key
              + "='"
              + name
              + "' has format "
              + tensor.format()
              + ", expected "
              + (format == null ? "a grouped low-bit format" : format));
    }
    long[] declared = node.attributes().getLongs("weight_shape");
    if (key.equals("weight")
        && (declared == null
            || declared.length < 2
            || tensor.rows() != declared[0]
            || tensor.rowLength() != Shapes.product(declared, 1, declared.length))) {
      throw new IllegalArgumentException(
          node.describe()
              + ": weight '"
              + name
              + "' has shape "
              + Shapes.toString(tensor.shape())
              + ", weight_shape="
              + java.util.Arrays.toString(node.attributes().getLongs("weight_shape")));
    }
    return tensor;
  }

  /**
   * A LookupGemm's kernel, once every stored tensor is found in its format and of the shape the
   * node's {@code weight_shape} [M,D] and {@code width} w imply (C = ceil(D/w) codebooks): an error
   * names the node and the tensor.
   */
  private Kernel lookupGemm(Node node, long[] in0, int out) {
    LookupTables t = lookupTables(node);
    if (in0.length < 2 || in0[in0.length - 1] != t.d()) {
      throw new IllegalArgumentException(
          node.describe()
              + ": input shape "
              + Shapes.toString(in0)
              + ", expected [...,"
              + t.d()
              + "]");
    }
    // every leading axis is a row: x [..., D] is read as [rows, D]
    long[] rows = {Shapes.product(in0, 0, in0.length - 1), t.d()};
    return new LookupGemmKernel(
        input(node, 0),
        out,
        rows,
        t.width(),
        t.groups(),
        t.keys(),
        t.foldKey0(),
        t.tree(),
        t.tables(),
        LookupKernels.best(),
        keyHits(node));
  }

  /**
   * A LookupConv's kernel: the tables checked as a LookupGemm's, then the conv geometry (group 1, D
   * = C·kH·kW of the [N,C,H,W] input) resolved here, once per plan.
   */
  private Kernel lookupConv(Node node, long[] in0, int out) {
    LookupTables t = lookupTables(node);
    if (t.keys() != LookupKernels.KEYS) {
      throw new IllegalArgumentException(
          node.describe()
              + ": keys="
              + t.keys()
              + " (a LookupConv accepts only keys="
              + LookupKernels.KEYS
              + ", depth-4 trees)");
    }
    if (t.groups() != 1) {
      throw new IllegalArgumentException(
          node.describe() + ": groups=" + t.groups() + " (a LookupConv accepts only groups=1)");
    }
    if (t.foldKey0()) {
      throw new IllegalArgumentException(
          node.describe()
              + ": fold_key0=1 (a LookupConv accepts only unfolded tables, fold_key0=0)");
    }
    long[] kernel = node.attributes().getLongs("kernel_shape");
    if (in0.length != 4
        || kernel == null
        || kernel.length != 2
        || node.attributes().getLong("group", 1) != 1
        || in0[1] * kernel[0] * kernel[1] != t.d()) {
      throw new IllegalArgumentException(
          node.describe()
              + ": input shape "
              + Shapes.toString(in0)
              + " kernel_shape="
              + (kernel == null ? "missing" : Arrays.toString(kernel))
              + " group="
              + node.attributes().getLong("group", 1)
              + ", expected [N,C,H,W] with C x kH x kW = D = "
              + t.d()
              + " and group 1");
    }
    return new LookupConvKernel(
        input(node, 0),
        out,
        in0,
        Window2d.resolve(node, in0, kernel),
        t.width(),
        t.tree(),
        t.tables(),
        LookupKernels.best(),
        keyHits(node));
  }

  private KeyHitCounter keyHits(Node node) {
    return keyHits.computeIfAbsent(
        node.name().isEmpty() ? node.outputs().get(0) : node.name(), name -> new KeyHitCounter());
  }

  /**
   * A table node's checked tensors; D and M from its {@code weight_shape} [M,D], G from its {@code
   * groups} (default 1: C = ceil(D/w) codebooks over all M outputs; G &gt; 1: G groups of ceil(D/w)
   * codebooks, each over its M/G outputs, tables [C,K,M/G], see {@link LookupGemmKernel}), K from
   * its {@code keys} (keys per codebook: 4, 8 or 16, default 16; a tree of depth log2 K, so
   * split_dims [C,log2 K], thresholds [C,K−1], centroids [C,K,w]); {@code fold_key0} 0 (default) or
   * 1: key 0's table rows are not stored, tables [C,K−1,M/G] (see {@link LookupGemmKernel}).
   */
  private record LookupTables(
      long m,
      long d,
      int width,
      int groups,
      int keys,
      boolean foldKey0,
      boolean tree,
      LookupGemmKernel.Tables tables) {}

  private LookupTables lookupTables(Node node) {
    var attributes = node.attributes();
    long[] weightShape = attributes.getLongs("weight_shape");
    long width = attributes.getLong("width", 0);
    String encoder = attributes.getString("encoder", "tree");
    if (weightShape == null || weightShape.length != 2 || width <= 0 || width > 4096) {
      throw new IllegalArgumentException(
          node.describe()
              + ": weight_shape="
              + (weightShape == null ? "missing" : Arrays.toString(weightShape))
              + " width="
              + width
              + " (expected [M,D] and 0 < width <= 4096)");
    }
    if (!encoder.equals("tree") && !encoder.equals("centroid")) {
      throw new IllegalArgumentException(
          node.describe() + ": encoder='" + encoder + "' (accepted: tree, centroid)");
    }
    long m = weightShape[0];
    long groups = attributes.getLong("groups", 1);
    if (groups < 1 || groups > m || m % groups != 0) {
      throw new IllegalArgumentException(
          node.describe()
              + ": groups="
              + groups
              + " (expected a divisor of M="
              + m
              + ", the outputs)");
    }
    long keys = attributes.getLong("keys", LookupKernels.KEYS);
    if (keys != 4 && keys != 8 && keys != 16) {
      throw new IllegalArgumentException(
          node.describe() + ": keys=" + keys + " (keys per codebook; accepted: 4, 8, 16)");
    }
    long fold = attributes.getLong("fold_key0", 0);
    if (fold != 0 && fold != 1) {
      throw new IllegalArgumentException(
          node.describe()
              + ": fold_key0="
              + fold
              + " (accepted: 0, all K table rows stored; 1, key 0's row folded into the bias)");
    }
    int depth = LookupKernels.depthOf((int) keys);
    long codebooks = groups * ((weightShape[1] + width - 1) / width);
    boolean tree = encoder.equals("tree");
    // The stored tensor's layout says the table bits: "lut16" int8 or "lut16x4" 4-bit entries
    // (its byte length was checked against that layout when the bundle was read).
    PackedTensor stored = packed.get(attributes.getString("tables", ""));
    PackedTensor tables =
        packed(
            node,
            "tables",
            stored != null && stored.format() == PackedTensor.Format.S4_LUT16
                ? PackedTensor.Format.S4_LUT16
                : PackedTensor.Format.S8_LUT16);
    requireShape(node, "tables", tables, codebooks, keys - fold, m / groups);
    PackedTensor scale = packed(node, "scale", PackedTensor.Format.F32);
    requireShape(node, "scale", scale, m);
    PackedTensor bias = null;
    if (!attributes.getString("bias", "").isEmpty()) {
      bias = packed(node, "bias", PackedTensor.Format.F32);
      requireShape(node, "bias", bias, m);
    }
    PackedTensor splitDims = null;
    PackedTensor thresholds = null;
    if (tree) {
      splitDims = packed(node, "split_dims", PackedTensor.Format.S32);
      requireShape(node, "split_dims", splitDims, codebooks, depth);
      java.nio.IntBuffer dims = splitDims.data().asIntBuffer();
      for (int i = 0; i < dims.capacity(); i++) {
        if (dims.get(i) < 0 || dims.get(i) >= width) {
          throw new IllegalArgumentException(
              node.describe()
                  + ": split_dims='"
                  + attributes.getString("split_dims", "")
                  + "' element "
                  + i
                  + " = "
                  + dims.get(i)
                  + " outside [0, width="
                  + width
                  + ")");
        }
      }
      thresholds = packed(node, "thresholds", PackedTensor.Format.F32);
      requireShape(node, "thresholds", thresholds, codebooks, keys - 1);
    }
    PackedTensor centroids = null;
    if (!tree || !attributes.getString("centroids", "").isEmpty()) {
      centroids = packed(node, "centroids", PackedTensor.Format.F32);
      requireShape(node, "centroids", centroids, codebooks, keys, width);
    }
    return new LookupTables(
        m,
        weightShape[1],
        (int) width,
        (int) groups,
        (int) keys,
        fold == 1,
        tree,
        new LookupGemmKernel.Tables(tables, scale, bias, splitDims, thresholds, centroids));
  }

  private static void requireShape(Node node, String key, PackedTensor tensor, long... expected) {
    if (!Arrays.equals(tensor.shape(), expected)) {
      throw new IllegalArgumentException(
          node.describe()
              + ": "
              + key
              + "='"
              + node.attributes().getString(key, "")
              + "' has shape "
              + Shapes.toString(tensor.shape())
              + ", expected "
              + Shapes.toString(expected));
    }
  }

  private PackedTensor optionalPacked(Node node, String key, PackedTensor.Format format) {
    if (node.attributes().getString(key, "").isEmpty()) {
      return null;
    }
    PackedTensor bias = packed(node, key, format);
    long channels = node.attributes().getLongs("weight_shape")[0];
    if (bias.shape().length != 1 || bias.shape()[0] != channels) {
      throw new IllegalArgumentException(
          node.describe()
              + ": bias shape "
              + Shapes.toString(bias.shape())
              + ", expected ["
              + channels
              + "]");
    }
    return bias;
  }

  /** The Cache AI layers' live key hit rates, by node name (those sampled at least once). */
  Map<String, Double> keyHitRatios() {
    Map<String, Double> ratios = new java.util.TreeMap<>();
    keyHits.forEach(
        (name, counter) -> {
          double ratio = counter.ratio();
          if (!Double.isNaN(ratio)) {
            ratios.put(name, ratio);
          }
        });
    return ratios;
  }

  private Kernel softmax(Node node, long[] shape, int out) {
    int rank = shape.length;
    boolean legacy = graph.opsetVersion() < 13;
    int axis =
        Shapes.normalizeAxis(
            node.attributes().getLong("axis", legacy ? 1 : -1), rank, node.describe());
    long outer = Shapes.product(shape, 0, axis);
    long reduced = legacy ? Shapes.product(shape, axis, rank) : shape[axis];
    long inner = legacy ? 1 : Shapes.product(shape, axis + 1, rank);
    return new SoftmaxKernel(input(node, 0), out, outer, reduced, inner);
  }

  private int input(Node node, int index) {
    return id(node.inputs().get(index));
  }

  private int id(String name) {
    Integer id = ids.get(name);
    if (id == null) {
      throw new IllegalStateException("no value id for '" + name + "'");
    }
    return id;
  }
}
