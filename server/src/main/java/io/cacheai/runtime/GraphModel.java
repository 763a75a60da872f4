package io.cacheai.runtime;

import io.cacheai.graph.ConstTensor;
import io.cacheai.graph.Graph;
import io.cacheai.graph.Node;
import io.cacheai.graph.PackedTensor;
import io.cacheai.graph.ShapeInference;
import io.cacheai.graph.Shapes;
import io.cacheai.graph.ValueInfo;
import io.cacheai.kernels.FloatBuffers;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * Runs a {@link Graph} in fp32: the executor behind every ONNX model cacheai serves.
 *
 * <p>For each distinct set of input shapes (in practice: each batch size) it builds an {@link
 * ExecutionPlan} once — shapes, kernels with their attributes resolved, arena offsets — and caches
 * it. Requests borrow a {@link Frame} (arena + scratch) from a pool, so concurrent requests never
 * share mutable memory and a steady load allocates no tensors beyond the outputs it returns.
 * Constants live in direct buffers shared read-only by all requests.
 */
public final class GraphModel implements Model, LookupHitRatios {
  /** Plans kept per model; a request with yet another shape set replaces an arbitrary one. */
  private static final int MAX_CACHED_PLANS = 64;

  private final Graph graph;
  private final boolean fuseElementwise;
  private final Map<String, Integer> ids = new HashMap<>();
  private final FloatBuffer[] constantViews;
  private final KernelFactory kernelFactory;
  private final List<TensorSpec> inputs;
  private final List<TensorSpec> outputs;
  private final Map<ShapeKey, ExecutionPlan> plans = new ConcurrentHashMap<>();
  private final ConcurrentLinkedQueue<Frame> frames = new ConcurrentLinkedQueue<>();

  /** One pooled frame kept outside the queue: a steady sequential load allocates no queue node. */
  private final java.util.concurrent.atomic.AtomicReference<Frame> spare =
      new java.util.concurrent.atomic.AtomicReference<>();

  private volatile LastPlan lastPlan;
  private final int[] inputIds;
  private final int[] outputIds;
  private final NodeProfile profile;

  /** Prepares {@code graph} to run; refuses it (IllegalArgumentException) if it cannot. */
  public GraphModel(Graph graph) {
    this(graph, Map.of(), Int8Gemm.reference(), true); // no int8 nodes: the kernel is never used
  }

  /**
   * As {@link #GraphModel(Graph)}; {@code fuseElementwise} false runs every node as its own kernel
   * (tests compare both ways).
   */
  GraphModel(Graph graph, boolean fuseElementwise) {
    this(graph, Map.of(), Int8Gemm.reference(), fuseElementwise);
  }

  /**
   * Prepares a quantized graph: its {@code ai.cacheai} nodes read their weights from {@code packed}
   * (views of a mapped bundle, used in place) and run their int8 products on {@code int8Gemm}.
   */
  public GraphModel(Graph graph, Map<String, PackedTensor> packed, Int8Gemm int8Gemm) {
    this(graph, packed, int8Gemm, true);
  }

  private GraphModel(
      Graph graph, Map<String, PackedTensor> packed, Int8Gemm int8Gemm, boolean fuseElementwise) {
    checkWiring(graph);
    this.graph = graph;
    this.fuseElementwise = fuseElementwise;
    this.profile =
        new NodeProfile(graph.nodes().isEmpty() ? "graph" : graph.nodes().get(0).describe());
    List<String> names = new ArrayList<>();
    graph.inputs().forEach(input -> names.add(input.name()));
    names.addAll(graph.constants().keySet());
    graph.nodes().forEach(node -> names.add(node.outputs().get(0)));
    for (String name : names) {
      ids.putIfAbsent(name, ids.size());
    }
    constantViews = new FloatBuffer[ids.size()];
    graph
        .constants()
        .forEach(
            (name, constant) -> {
              if (constant.isFloat()) {
                constantViews[ids.get(name)] = directView(constant);
              }
            });
    kernelFactory = new KernelFactory(graph, ids, Map.copyOf(packed), int8Gemm);
    inputIds = graph.inputs().stream().mapToInt(v -> ids.get(v.name())).toArray();
    outputIds = graph.outputs().stream().mapToInt(v -> ids.get(v.name())).toArray();

    if (graph.fixedExceptBatch()) {
      // Specs: a dimension that differs between batch 1 and batch 2 is the batch dimension.
      ShapeInference.Result one = ShapeInference.analyze(graph, shapesByName(inputShapes(1)));
      ShapeInference.Result two = ShapeInference.analyze(graph, shapesByName(inputShapes(2)));
      inputs = graph.inputs().stream().map(v -> spec(v.name(), one, two)).toList();
      outputs = graph.outputs().stream().map(v -> spec(v.name(), one, two)).toList();
      plan(inputShapes(1)); // builds every kernel once, so a bad node fails here, not per request
    } else {
      // Dims besides the batch vary per request (e.g. an image width): the declared shapes say
      // which; every plan is built for the request's concrete shapes.
      inputs =
          graph.inputs().stream()
              .map(v -> new TensorSpec(v.name(), DataType.FP32, v.shape()))
              .toList();
      outputs =
          graph.outputs().stream()
              .map(v -> new TensorSpec(v.name(), DataType.FP32, v.shape()))
              .toList();
    }
  }

  /**
   * Every value is defined once (graph input, constant or one node's first output) before a node
   * reads it, and every graph output is defined. The importer checks this for ONNX files; a graph
   * from elsewhere (a bundle's manifest) gets the same check here, before values get ids.
   */
  private static void checkWiring(Graph graph) {
    Set<String> defined = new HashSet<>();
    for (ValueInfo input : graph.inputs()) {
      if (!defined.add(input.name())) {
        throw new IllegalArgumentException("graph input '" + input.name() + "' is listed twice");
      }
    }
    for (String name : graph.constants().keySet()) {
      if (!defined.add(name)) {
        throw new IllegalArgumentException("constant '" + name + "' is also a graph input");
      }
    }
    for (Node node : graph.nodes()) {
      for (String input : node.inputs()) {
        if (!input.isEmpty() && !defined.contains(input)) {
          throw new IllegalArgumentException(
              node.describe() + ": input '" + input + "' is not defined before it is used");
        }
      }
      if (node.outputs().isEmpty() || node.outputs().get(0).isEmpty()) {
        throw new IllegalArgumentException(node.describe() + ": has no output");
      }
      if (!defined.add(node.outputs().get(0))) {
        throw new IllegalArgumentException(
            node.describe() + ": output '" + node.outputs().get(0) + "' is already defined");
      }
    }
    Set<String> outputs = new HashSet<>();
    for (ValueInfo output : graph.outputs()) {
      if (!defined.contains(output.name()) || !outputs.add(output.name())) {
        throw new IllegalArgumentException(
            "graph output '" + output.name() + "' is never defined or listed twice");
      }
    }
  }

  /**
   * The constant as the kernels take it: a buffer-backed constant already in direct native-order
   * memory (a mapped bundle) is used in place; an array-backed one is copied once to direct memory.
   */
  private static FloatBuffer directView(ConstTensor constant) {
    FloatBuffer view = constant.floatBuffer();
    if (view.isDirect() && view.order() == ByteOrder.nativeOrder()) {
      return view;
    }
    return FloatBuffers.of(constant.floats());
  }

  @Override
  public String platform() {
    return "onnx_fp32";
  }

  @Override
  public List<TensorSpec> inputs() {
    return inputs;
  }

  @Override
  public List<TensorSpec> outputs() {
    return outputs;
  }

  /**
   * The live key hit rate of each Cache AI ({@code LookupGemm}) layer with a tree encoder: sampled
   * runs compare the tree's keys with the exact nearest-centroid keys. Empty for other models.
   */
  @Override
  public Map<String, Double> lookupKeyHitRatios() {
    return kernelFactory.keyHitRatios();
  }

  /** The graph this model runs. */
  public Graph graph() {
    return graph;
  }

  @Override
  public Map<String, Tensor> infer(Map<String, Tensor> request) {
    int count = inputIds.length;
    Tensor[] tensors = new Tensor[count];
    LastPlan last = lastPlan;
    boolean same = last != null;
    for (int i = 0; i < count; i++) {
      TensorSpec spec = inputs.get(i);
      Tensor tensor = request.get(spec.name());
      if (tensor == null) {
        throw new IllegalArgumentException("input '" + spec.name() + "' is missing");
      }
      if (tensor.dataType() != DataType.FP32) {
        throw new IllegalArgumentException(
            "input '"
                + spec.name()
                + "': datatype "
                + tensor.dataType().wireName()
                + " does not match model datatype FP32");
      }
      long[] shape = tensor.shapeView();
      if (!spec.accepts(shape)) {
        throw new IllegalArgumentException(
            "input '"
                + spec.name()
                + "': shape "
                + Tensor.shapeString(shape)
                + " does not match expected "
                + spec.shapeString());
      }
      tensors[i] = tensor;
      same = same && Arrays.equals(shape, last.shapes()[i]);
    }
    ExecutionPlan plan;
    if (same) {
      plan = last.plan(); // the shapes of the previous request: no key, no hash
    } else {
      long[][] shapes = new long[count][];
      for (int i = 0; i < count; i++) {
        shapes[i] = tensors[i].shape();
      }
      plan = plans.get(new ShapeKey(shapes));
      if (plan == null) {
        plan = plan(shapes);
      }
      lastPlan = new LastPlan(shapes, plan);
    }
    Frame frame = spare.getAndSet(null);
    if (frame == null) {
      frame = frames.poll();
      if (frame == null) {
        frame = new Frame();
      }
    }
    try {
      frame.prepare(plan);
      for (int i = 0; i < count; i++) {
        FloatBuffer source = tensors[i].dataView().asFloatBuffer();
        frame.buffer(inputIds[i]).put(0, source, 0, source.remaining());
      }
      for (Kernel kernel : plan.kernelArray()) {
        kernel.run(frame);
      }
      if (NodeProfile.ENABLED) {
        profile.requestDone();
      }
      List<ValueInfo> graphOutputs = graph.outputs();
      if (graphOutputs.size() == 1) {
        return Map.of(graphOutputs.get(0).name(), output(plan, frame, 0));
      }
      Map<String, Tensor> result = new LinkedHashMap<>();
      for (int o = 0; o < graphOutputs.size(); o++) {
        result.put(graphOutputs.get(o).name(), output(plan, frame, o));
      }
      return result;
    } finally {
      if (!spare.compareAndSet(null, frame)) {
        frames.offer(frame);
      }
    }
  }

  /** Graph output {@code o} of a request: a copy of its buffer, or its plan-time value. */
  private Tensor output(ExecutionPlan plan, Frame frame, int o) {
    int id = outputIds[o];
    ConstTensor known = plan.analysis().values().get(graph.outputs().get(o).name());
    if (known != null) {
      return constantTensor(known);
    }
    FloatBuffer buffer = frame.buffer(id);
    return Tensor.ofFloatsOwned(plan.shape(id), buffer, buffer.capacity());
  }

  /** The plan of the previous request's input shapes: most requests have the same ones. */
  private record LastPlan(long[][] shapes, ExecutionPlan plan) {}

  /**
   * Per-kernel times of this model's requests when the JVM runs with {@code -Dcacheai.profile=true}
   * (empty otherwise); see {@link NodeProfile}.
   */
  public NodeProfile profile() {
    return profile;
  }

  /** The cached plan for these input shapes (tests look at its memory layout). */
  ExecutionPlan planFor(long[][] inputShapes) {
    return plans.get(new ShapeKey(inputShapes));
  }

  @Override
  public void close() {
    profile.close();
    plans.clear();
    lastPlan = null;
    spare.set(null);
    frames.clear();
  }

  private long[][] inputShapes(long batch) {
    return graph.inputs().stream().map(v -> v.shapeForBatch(batch)).toArray(long[][]::new);
  }

  private Map<String, long[]> shapesByName(long[][] shapes) {
    Map<String, long[]> byName = new HashMap<>();
    for (int i = 0; i < shapes.length; i++) {
      byName.put(graph.inputs().get(i).name(), shapes[i]);
    }
    return byName;
  }

  /**
   * Builds the plan for one set of input shapes: shapes and plan-time values of everything, a
   * kernel per node computed per request, and arena slots for the float values those produce.
   */
  private ExecutionPlan plan(long[][] shapes) {
    ShapeInference.Result analysis = ShapeInference.analyze(graph, shapesByName(shapes));
    Map<String, long[]> valueShapes = analysis.shapes();
    int count = ids.size();
    long[][] shapeById = new long[count][];
    ids.forEach((name, id) -> shapeById[id] = valueShapes.get(name));
    ExecutionPlan plan;
    try {
      // Before any kernel computes an int extent from them: every value fits one buffer.
      for (Node node : graph.nodes()) {
        String output = node.outputs().get(0);
        long elements = Shapes.elementCount(valueShapes.get(output));
        if (elements > ExecutionPlan.MAX_BUFFER_FLOATS) {
          throw new IllegalArgumentException(
              node.describe()
                  + ": output '"
                  + output
                  + "' of shape "
                  + Shapes.toString(valueShapes.get(output))
                  + " has "
                  + elements
                  + " elements; one buffer holds at most "
                  + ExecutionPlan.MAX_BUFFER_FLOATS);
        }
      }
      FloatBuffer[] views = constantViews.clone();
      boolean[] arenaValue = new boolean[count];
      int[] firstUse = new int[count];
      int[] lastUse = new int[count];
      Arrays.fill(firstUse, -1);
      Arrays.fill(lastUse, -1);
      graph.inputs().forEach(input -> arenaValue[ids.get(input.name())] = true);
      List<Kernel> kernels = new ArrayList<>();
      List<Int8SequenceKernel.Placed> placed = new ArrayList<>();
      List<Node> nodes = graph.nodes();
      Map<Integer, ElementwiseFusion.Chain> chains =
          fuseElementwise ? ElementwiseFusion.find(graph, analysis) : Map.of();
      Map<Integer, Kernel> fusedAtChainEnd = new HashMap<>();
      Map<Integer, Node> convOfChainEnd = new HashMap<>();
      Set<Integer> fusedConvs = new HashSet<>();
      fuseConvEpilogues(analysis, chains, fusedAtChainEnd, convOfChainEnd, fusedConvs);
      if (fuseElementwise) {
        fuseInt8Relus(analysis, chains, fusedAtChainEnd, convOfChainEnd, fusedConvs);
        fuseInt8Pools(analysis, chains, fusedAtChainEnd, convOfChainEnd, fusedConvs);
        fuseInt8GemmChains(analysis, chains, fusedAtChainEnd, convOfChainEnd, fusedConvs);
      }
      for (int i = 0; i < nodes.size(); i++) {
        Node node = nodes.get(i);
        String output = node.outputs().get(0);
        int out = ids.get(output);
        ConstTensor folded = analysis.values().get(output);
        if (folded != null) {
          if (folded.isFloat()) {
            views[out] = FloatBuffers.of(folded.floats());
          }
          continue;
        }
        ElementwiseFusion.Chain chain = chains.get(i);
        if (chain != null && chain.last() != i || fusedConvs.contains(i)) {
          continue; // an intermediate of a fused chain (or its convolution): never materialized
        }
        arenaValue[out] = true;
        firstUse[out] = i;
        lastUse[out] = Math.max(lastUse[out], i);
        Kernel fused = fusedAtChainEnd.get(i);
        List<String> reads =
            fused != null
                ? convOfChainEnd.get(i).inputs()
                : chain == null ? node.inputs() : List.of(chain.input());
        for (String input : reads) {
          if (!input.isEmpty()) {
            lastUse[ids.get(input)] = Math.max(lastUse[ids.get(input)], i);
          }
        }
        Kernel kernel =
            fused != null
                ? fused
                : chain == null
                    ? kernelFactory.create(node, analysis)
                    : new ElementwiseChainKernel(ids.get(chain.input()), out, chain.steps());
        List<Integer> readIds = new ArrayList<>();
        for (String input : reads) {
          if (!input.isEmpty()) {
            readIds.add(ids.get(input));
          }
        }
        placed.add(
            new Int8SequenceKernel.Placed(
                kernel,
                (fused != null ? convOfChainEnd.get(i).describe() + " + " : "")
                    + node.describe()
                    + " ["
                    + kernel.getClass().getSimpleName()
                    + "]",
                readIds,
                out));
      }
      Set<Integer> graphOutputIds = new HashSet<>();
      for (ValueInfo output : graph.outputs()) {
        lastUse[ids.get(output.name())] = nodes.size();
        graphOutputIds.add(ids.get(output.name()));
      }
      if (fuseElementwise) {
        placed = Int8SequenceKernel.fuse(placed, graphOutputIds);
      }
      for (Int8SequenceKernel.Placed p : placed) {
        kernels.add(profile.wrap(p.label(), p.kernel()));
      }
      plan =
          new ExecutionPlan(
              shapeById, arenaValue, firstUse, lastUse, nodes.size(), kernels, views, analysis);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "input shapes " + Arrays.deepToString(shapes) + ": " + e.getMessage(), e);
    }
    if (plans.size() >= MAX_CACHED_PLANS) {
      plans.keySet().stream().findAny().ifPresent(plans::remove);
    }
    plans.put(new ShapeKey(shapes), plan);
    return plan;
  }

  /**
   * Finds elementwise chains that read a convolution's output and nothing else does (hard-swish
   * after a PP-OCR LCNet conv): the convolution then runs at the chain's end, writes the chain's
   * output and applies the chain in its store ({@link KernelFactory#convWithEpilogue}), and the
   * convolution's own output never exists. Fills the three maps: the fused kernel and the Conv node
   * by chain-end index, and the indices of the absorbed Conv nodes.
   */
  private void fuseConvEpilogues(
      ShapeInference.Result analysis,
      Map<Integer, ElementwiseFusion.Chain> chains,
      Map<Integer, Kernel> fusedAtChainEnd,
      Map<Integer, Node> convOfChainEnd,
      Set<Integer> fusedConvs) {
    if (chains.isEmpty()) {
      return;
    }
    List<Node> nodes = graph.nodes();
    Map<String, Integer> producer = new HashMap<>();
    Map<String, Set<Integer>> readers = new HashMap<>();
    for (int i = 0; i < nodes.size(); i++) {
      producer.put(nodes.get(i).outputs().get(0), i);
      for (String input : nodes.get(i).inputs()) {
        readers.computeIfAbsent(input, k -> new HashSet<>()).add(i);
      }
    }
    Set<String> graphOutputs = new HashSet<>();
    graph.outputs().forEach(output -> graphOutputs.add(output.name()));
    for (ElementwiseFusion.Chain chain : new HashSet<>(chains.values())) {
      Integer conv = producer.get(chain.input());
      if (conv == null
          || nodes.get(conv).op() != io.cacheai.graph.OpType.CONV
              && nodes.get(conv).op() != io.cacheai.graph.OpType.QLINEAR_CONV
          || graphOutputs.contains(chain.input())
          || analysis.values().containsKey(chain.input())
          || !chain.nodes().containsAll(readers.getOrDefault(chain.input(), Set.of()))) {
        continue;
      }
      int end = chain.last();
      Kernel kernel =
          kernelFactory.convWithEpilogue(
              nodes.get(conv), analysis, ids.get(nodes.get(end).outputs().get(0)), chain.steps());
      if (kernel != null) {
        fusedAtChainEnd.put(end, kernel);
        convOfChainEnd.put(end, nodes.get(conv));
        fusedConvs.add(conv);
      }
    }
  }

  /**
   * Who writes and who reads each value of the graph, as the plan-time fusions need it: the index
   * of the node producing it, how many node inputs read it, and the graph's outputs (which must
   * stay materialized whoever reads them).
   */
  private record DataFlow(
      Map<String, Integer> producer, Map<String, Integer> readerCount, Set<String> graphOutputs) {
    static DataFlow of(Graph graph) {
      List<Node> nodes = graph.nodes();
      Map<String, Integer> producer = new HashMap<>();
      Map<String, Integer> readerCount = new HashMap<>();
      for (int i = 0; i < nodes.size(); i++) {
        producer.put(nodes.get(i).outputs().get(0), i);
        for (String input : nodes.get(i).inputs()) {
          readerCount.merge(input, 1, Integer::sum);
        }
      }
      Set<String> graphOutputs = new HashSet<>();
      graph.outputs().forEach(output -> graphOutputs.add(output.name()));
      return new DataFlow(producer, readerCount, graphOutputs);
    }
  }

  /**
   * Finds a ReLU that alone reads an int8 node's output (QLinearConv / QLinearGemm, e.g. the MNIST
   * CNN's layers; LowBitConv / LowBitGemm too): the int8 kernel then runs at the ReLU's place with
   * the ReLU in its output stage ({@link KernelFactory#int8}), and the unclamped output never
   * exists. Same maps as {@link #fuseConvEpilogues}.
   */
  private void fuseInt8Relus(
      ShapeInference.Result analysis,
      Map<Integer, ElementwiseFusion.Chain> chains,
      Map<Integer, Kernel> fusedAtChainEnd,
      Map<Integer, Node> convOfChainEnd,
      Set<Integer> fusedConvs) {
    List<Node> nodes = graph.nodes();
    DataFlow flow = DataFlow.of(graph);
    Map<String, Integer> producer = flow.producer();
    Map<String, Integer> readerCount = flow.readerCount();
    Set<String> graphOutputs = flow.graphOutputs();
    for (int i = 0; i < nodes.size(); i++) {
      Node relu = nodes.get(i);
      if (relu.op() != io.cacheai.graph.OpType.RELU
          || chains.containsKey(i)
          || fusedAtChainEnd.containsKey(i)
          || analysis.values().containsKey(relu.outputs().get(0))) {
        continue;
      }
      String x = relu.inputs().get(0);
      Integer int8 = producer.get(x);
      if (int8 == null
          || fusedConvs.contains(int8)
          || graphOutputs.contains(x)
          || analysis.values().containsKey(x)
          || readerCount.getOrDefault(x, 0) != 1) {
        continue;
      }
      Node node = nodes.get(int8);
      Kernel kernel =
          kernelFactory.int8(
              node,
              analysis.shapes().get(node.inputs().get(0)),
              ids.get(relu.outputs().get(0)),
              true,
              io.cacheai.kernels.Fp32Kernels.Epilogue.NONE);
      if (kernel != null) {
        fusedAtChainEnd.put(i, kernel);
        convOfChainEnd.put(i, node);
        fusedConvs.add(int8);
      }
    }
  }

  /**
   * Finds a MaxPool that alone reads a QLinearConv's output, directly or through a ReLU already
   * fused into it ({@link #fuseInt8Relus}): the convolution then runs at the pool's place and
   * stores the window maxima ({@link KernelFactory#int8} with a pool), so neither the unpooled
   * output nor a pool pass exists. Same maps as {@link #fuseConvEpilogues}; the absorbed ReLU joins
   * the skipped nodes.
   */
  private void fuseInt8Pools(
      ShapeInference.Result analysis,
      Map<Integer, ElementwiseFusion.Chain> chains,
      Map<Integer, Kernel> fusedAtChainEnd,
      Map<Integer, Node> convOfChainEnd,
      Set<Integer> fusedConvs) {
    List<Node> nodes = graph.nodes();
    DataFlow flow = DataFlow.of(graph);
    Map<String, Integer> producer = flow.producer();
    Map<String, Integer> readerCount = flow.readerCount();
    Set<String> graphOutputs = flow.graphOutputs();
    for (int i = 0; i < nodes.size(); i++) {
      Node pool = nodes.get(i);
      if (pool.op() != io.cacheai.graph.OpType.MAX_POOL
          || chains.containsKey(i)
          || fusedAtChainEnd.containsKey(i)
          || analysis.values().containsKey(pool.outputs().get(0))) {
        continue;
      }
      String x = pool.inputs().get(0);
      Integer source = producer.get(x);
      if (source == null
          || graphOutputs.contains(x)
          || analysis.values().containsKey(x)
          || readerCount.getOrDefault(x, 0) != 1) {
        continue;
      }
      boolean throughRelu = fusedAtChainEnd.containsKey(source);
      Node conv = throughRelu ? convOfChainEnd.get(source) : nodes.get(source);
      if (throughRelu && nodes.get(source).op() != io.cacheai.graph.OpType.RELU
          || !throughRelu && fusedConvs.contains(source)
          || conv.op() != io.cacheai.graph.OpType.QLINEAR_CONV
              && conv.op() != io.cacheai.graph.OpType.LOW_BIT_CONV) {
        continue;
      }
      Kernel kernel =
          kernelFactory.int8(
              conv,
              analysis.shapes().get(conv.inputs().get(0)),
              ids.get(pool.outputs().get(0)),
              throughRelu,
              io.cacheai.kernels.Fp32Kernels.Epilogue.NONE,
              pool);
      if (kernel != null) {
        if (throughRelu) {
          fusedAtChainEnd.remove(source);
          convOfChainEnd.remove(source);
        }
        fusedAtChainEnd.put(i, kernel);
        convOfChainEnd.put(i, conv);
        fusedConvs.add(source);
        fusedConvs.add(producer.get(conv.outputs().get(0)));
      }
    }
  }

  /**
   * Finds runs of QLinearGemm layers, or of q4g32 LowBitGemm layers (each with its fused ReLU, if
   * any) where each layer's output is read only by the next one (an MLP head): the run becomes one
   * {@link Int8GemmChainKernel} or {@link Q4GemmChainKernel} at the last layer's place (one native
   * call per request), the earlier layers and ReLUs join the skipped nodes, and their outputs never
   * reach the arena. Native kernels only. Same maps as {@link #fuseConvEpilogues}.
   */
  private void fuseInt8GemmChains(
      ShapeInference.Result analysis,
      Map<Integer, ElementwiseFusion.Chain> chains,
      Map<Integer, Kernel> fusedAtChainEnd,
      Map<Integer, Node> convOfChainEnd,
      Set<Integer> fusedConvs) {
    List<Node> nodes = graph.nodes();
    DataFlow flow = DataFlow.of(graph);
    Map<String, Integer> readerCount = flow.readerCount();
    Set<String> graphOutputs = flow.graphOutputs();
    // one unit per int8 or q4g32 Gemm layer: its kernel, the index it runs at, what it writes
    record Unit(int end, int gemm, Kernel kernel, int rows, String output) {}
    Map<String, Unit> byInput = new HashMap<>();
    List<Unit> units = new java.util.ArrayList<>();
    for (int i = 0; i < nodes.size(); i++) {
      Node node = nodes.get(i);
      Kernel found = null;
      int gemm = i;
      if (fusedAtChainEnd.get(i) instanceof QLinearGemmKernel
          || fusedAtChainEnd.get(i) instanceof LowBitGemmKernel) {
        found = fusedAtChainEnd.get(i);
        gemm = nodes.indexOf(convOfChainEnd.get(i));
      } else if ((node.op() == io.cacheai.graph.OpType.QLINEAR_GEMM
              || node.op() == io.cacheai.graph.OpType.LOW_BIT_GEMM)
          && !fusedConvs.contains(i)
          && !chains.containsKey(i)
          && !analysis.values().containsKey(node.outputs().get(0))) {
        found =
            kernelFactory.int8(
                node,
                analysis.shapes().get(node.inputs().get(0)),
                ids.get(node.outputs().get(0)),
                false,
                io.cacheai.kernels.Fp32Kernels.Epilogue.NONE);
      }
      Unit unit = null;
      if (found instanceof QLinearGemmKernel q && q.runsNative()) {
        unit = new Unit(i, gemm, q, q.rows(), node.outputs().get(0));
      } else if (found instanceof LowBitGemmKernel q && q.runsNative()) {
        unit = new Unit(i, gemm, q, q.rows(), node.outputs().get(0));
      }
      if (unit != null) {
        units.add(unit);
        byInput.put(nodes.get(unit.gemm()).inputs().get(0), unit);
      }
    }
    Set<Unit> linked = new HashSet<>();
    for (Unit head : units) {
      if (linked.contains(head)) {
        continue;
      }
      List<Unit> run = new java.util.ArrayList<>(List.of(head));
      Unit last = head;
      while (true) {
        String value = last.output();
        Unit next = byInput.get(value);
        if (next == null
            || graphOutputs.contains(value)
            || analysis.values().containsKey(value)
            || readerCount.getOrDefault(value, 0) != 1
            || next.rows() != head.rows()
            || next.kernel().getClass() != head.kernel().getClass()) {
          break;
        }
        run.add(next);
        last = next;
      }
      if (run.size() < 2) {
        continue;
      }
      linked.addAll(run);
      int chainOut = ids.get(last.output());
      Kernel kernel =
          head.kernel() instanceof LowBitGemmKernel
              ? new Q4GemmChainKernel(
                  run.stream().map(u -> (LowBitGemmKernel) u.kernel()).toList(), chainOut)
              : new Int8GemmChainKernel(
                  run.stream().map(u -> (QLinearGemmKernel) u.kernel()).toList(), chainOut);
      for (Unit unit : run) {
        fusedAtChainEnd.remove(unit.end());
        convOfChainEnd.remove(unit.end());
        if (unit != last) {
          fusedConvs.add(unit.end());
        }
        fusedConvs.add(unit.gemm());
      }
      fusedConvs.remove(last.end());
      fusedAtChainEnd.put(last.end(), kernel);
      convOfChainEnd.put(last.end(), nodes.get(head.gemm()));
    }
  }

  /** A graph output known at plan time (e.g. a Shape): FP32 or INT64. */
  private static Tensor constantTensor(ConstTensor value) {
    if (value.isFloat()) {
      return Tensor.ofFloats(value.shape(), value.floats());
    }
    long[] longs = value.longs();
    java.nio.ByteBuffer bytes =
        java.nio.ByteBuffer.allocate(longs.length * Long.BYTES)
            .order(java.nio.ByteOrder.LITTLE_ENDIAN);
    bytes.asLongBuffer().put(longs);
    return Tensor.of(DataType.INT64, value.shape(), bytes);
  }

  private static TensorSpec spec(
      String name, ShapeInference.Result one, ShapeInference.Result two) {
    long[] a = one.shapes().get(name);
    long[] b = two.shapes().get(name);
    long[] shape = a.clone();
    for (int i = 0; i < shape.length; i++) {
      if (a[i] != b[i]) {
        shape[i] = TensorSpec.DYNAMIC;
      }
    }
    ConstTensor known = one.values().get(name);
    DataType type = known != null && !known.isFloat() ? DataType.INT64 : DataType.FP32;
    return new TensorSpec(name, type, shape);
  }

  /** Input shapes as a map key. */
  private record ShapeKey(long[][] shapes) {
    @Override
    public boolean equals(Object other) {
      return other instanceof ShapeKey key && Arrays.deepEquals(shapes, key.shapes);
    }

    @Override
    public int hashCode() {
      return Arrays.deepHashCode(shapes);
    }
  }
}
