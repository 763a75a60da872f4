package io.cacheai.bench;

import io.cacheai.kernels.FloatBuffers;
import io.cacheai.kernels.Fp32Blas;
import io.cacheai.kernels.Int8Gemm;
import io.cacheai.kernels.LutKernels;
import io.cacheai.kernels.RequantParams;
import io.cacheai.kernels.Requantize;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * A lookup layer ({@link LutKernels}: encode the fp32 input to keys, then gather-accumulate int8
 * tables into fp32 outputs) against the exact fp32 layer (OpenBLAS sgemv, or sgemm for rows > 1)
 * and the int8 layer ({@link Int8Gemm} + {@link Requantize#toF32}) on the same shapes, single
 * thread, same run. Shapes: {@code d→m} = 800→120 (the MNIST CNN's fc layer), 1024→1024 and
 * 4096→4096, at rows 1 and 16, lookup widths 4 and 8 (tree encoder) and width 4 with the exact
 * centroid encoder.
 *
 * <p>Grouped tables at K = 16, 8 and 4 keys ({@link #lutGroupedDepth4} .. {@link
 * #lutGroupedDepth2}): the MNIST MLP's replaced layer {@code /3/Gemm} (256→128) as main's
 * compressor writes it at {@code --lut-depth} 4, 3 and 2 — 4 groups of 32 outputs, each group its
 * own C_g = ⌈d/w⌉ codebooks over the whole row, 4-bit tables — called as the runtime's {@code
 * LookupGemmKernel} calls the kernels (row laid out once per group, one encode over C = 4·C_g
 * sub-vectors, then one 4-bit gather per group and row). Shape {@code 256x128} is that layer.
 * {@link #lutGroupedDepth2Folded}: depth 2 with key 0 folded ({@code fold_key0} = 1, 3 stored rows
 * per codebook), w = 6, 4 × 43 codebooks — the same table bytes as depth 2's 4 × 32 within a row.
 *
 * <p>Every call takes the next of {@link #INPUTS} different inputs, so the keys (and the table rows
 * read) change from call to call as they do in serving; a fixed input would leave the few rows it
 * selects in cache. The int8 layer's activation quantization (fp32 → u8) is not counted, which
 * favours the int8 peer.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class LutKernelBenchmark {
  /** Distinct inputs cycled through. */
  static final int INPUTS = 32;

  @Param({"800x120", "1024x1024", "4096x4096", "256x128"})
  public String shape;

  @Param({"1", "16"})
  public int rows;

  private int d;
  private int m;
  private int next;

  private FloatBuffer weightsF32; // [m, d]
  private FloatBuffer[] xF32; // INPUTS x [rows, d]
  private FloatBuffer outF32; // [rows, m]
  private ByteBuffer weightsS8Packed;
  private ByteBuffer[] xU8; // INPUTS x [rows, d]
  private IntBuffer outS32; // [rows, m]
  private RequantParams requant;
  private Lookup width4;
  private Lookup width8;

  /** One lookup layer of a given width: tree and centroid encoders, tables, scale, bias. */
  static final class Lookup {
    final int width;
    final int codebooks;
    final IntBuffer splitDims;
    final FloatBuffer thresholds;
    final FloatBuffer centroids;
    final ByteBuffer keys;
    final ByteBuffer tables;
    final boolean s4;

    Lookup(Random random, int d, int m, int rows, int width) {
      this(random, d, m, rows, width, 8);
    }

    /** {@code tableBits} 8: int8 tables [C][16][m]; 4: "lut16x4", C·16·ceil(m/2) bytes. */
    Lookup(Random random, int d, int m, int rows, int width, int tableBits) {
      this.width = width;
      this.s4 = tableBits == 4;
      this.codebooks = d / width;
      splitDims =
          ByteBuffer.allocateDirect(codebooks * 4 * Integer.BYTES)
              .order(ByteOrder.nativeOrder())
              .asIntBuffer();
      thresholds = FloatBuffers.allocate(codebooks * 15);
      for (int c = 0; c < codebooks; c++) {
        for (int l = 0; l < 4; l++) {
          splitDims.put(c * 4 + l, random.nextInt(width));
        }
        for (int n = 0; n < 15; n++) {
          thresholds.put(c * 15 + n, (float) random.nextGaussian() * 0.5f);
        }
      }
      centroids = FloatBuffers.allocate(codebooks * 16 * width);
      for (int i = 0; i < codebooks * 16 * width; i++) {
        centroids.put(i, (float) random.nextGaussian());
      }
      keys = ByteBuffer.allocateDirect(rows * codebooks);
      int rowBytes = s4 ? (m + 1) / 2 : m;
      tables = ByteBuffer.allocateDirect(codebooks * 16 * rowBytes);
      byte[] row = new byte[rowBytes];
      for (int i = 0; i < codebooks * 16; i++) {
        random.nextBytes(row);
        tables.put(row);
      }
      tables.clear();
    }
  }

  @Setup
  public void setUp() {
    String[] dm = shape.split("x");
    d = Integer.parseInt(dm[0]);
    m = Integer.parseInt(dm[1]);
    Random random = new Random(1);
    weightsF32 = FloatBuffers.allocate(m * d);
    for (int i = 0; i < m * d; i++) {
      weightsF32.put(i, random.nextFloat() - 0.5f);
    }
    FloatBuffer allX = FloatBuffers.allocate(INPUTS * rows * d);
    for (int i = 0; i < INPUTS * rows * d; i++) {
      allX.put(i, (float) random.nextGaussian());
    }
    xF32 = new FloatBuffer[INPUTS];
    for (int i = 0; i < INPUTS; i++) {
      xF32[i] = FloatBuffers.view(allX, i * rows * d, rows * d);
    }
    outF32 = FloatBuffers.allocate(rows * m);

    ByteBuffer weightsS8 = ByteBuffer.allocateDirect(m * d);
    for (int i = 0; i < m * d; i++) {
      weightsS8.put(i, (byte) (random.nextInt(255) - 127));
    }
    weightsS8Packed = ByteBuffer.allocateDirect((int) Int8Gemm.packedSizeBytes(m, d));
    Int8Gemm.pack(weightsS8, m, d, weightsS8Packed);
    ByteBuffer allU8 = ByteBuffer.allocateDirect(INPUTS * rows * d);
    for (int i = 0; i < INPUTS * rows * d; i++) {
      allU8.put(i, (byte) random.nextInt(256));
    }
    xU8 = new ByteBuffer[INPUTS];
    for (int i = 0; i < INPUTS; i++) {
      xU8[i] = allU8.slice(i * rows * d, rows * d);
    }
    outS32 =
        ByteBuffer.allocateDirect(rows * m * Integer.BYTES)
            .order(ByteOrder.nativeOrder())
            .asIntBuffer();
    IntBuffer bias =
        ByteBuffer.allocateDirect(m * Integer.BYTES).order(ByteOrder.nativeOrder()).asIntBuffer();
    FloatBuffer scale = FloatBuffers.allocate(m);
    for (int j = 0; j < m; j++) {
      bias.put(j, random.nextInt(1000) - 500);
      scale.put(j, 1e-4f);
    }
    requant = new RequantParams(bias, scale, 0, false);
    width4 = new Lookup(random, d, m, rows, 4);
    width8 = new Lookup(random, d, m, rows, 8);
    width8s4 = new Lookup(random, d, m, rows, 8, 4);
    // about 10x smaller than the fp32 layer with widths that divide 800: int8 tables need w = 40,
    // 4-bit tables w = 20 (twice the codebooks in the same bytes)
    width40 = new Lookup(random, d, m, rows, 40);
    width20s4 = new Lookup(random, d, m, rows, 20, 4);
    lutScale = scale;
    lutBias = FloatBuffers.allocate(m);
    // the grouped layouts draw from their own generator: the data above stays what it was
    Random groupedRandom = new Random(2);
    groupedDepth4 = new GroupedLookup(groupedRandom, d, m, rows, 4, 29, lutScale, lutBias);
    groupedDepth3 = new GroupedLookup(groupedRandom, d, m, rows, 3, 15, lutScale, lutBias);
    groupedDepth2 = new GroupedLookup(groupedRandom, d, m, rows, 2, 8, lutScale, lutBias);
    groupedDepth2Folded =
        new GroupedLookup(groupedRandom, d, m, rows, 2, 6, true, lutScale, lutBias);
  }

  /** Groups of the MLP's grouped tables: 128 outputs in 4 groups of 32. */
  static final int GROUPS = 4;

  private GroupedLookup groupedDepth4;
  private GroupedLookup groupedDepth3;
  private GroupedLookup groupedDepth2;
  private GroupedLookup groupedDepth2Folded;

  /**
   * Grouped 4-bit tables as {@code LookupGemmKernel} holds them: G groups of m/G outputs, each with
   * C_g = ⌈d/w⌉ codebooks of K = 2^depth keys over the whole (zero-padded) row; C = G·C_g.
   *
   * <pre>
   *   wide       f32 [rows][G][C_g·w]   the row, zero-padded to C_g·w, once per group
   *   splitDims  s32 [C][depth]         thresholds f32 [C][K−1]
   *   keys       u8  [rows][C]          group g: keys g·C_g .. (g+1)·C_g − 1 of a row
   *   tables     s4  [C][K][(m/G)/2]    group g: bytes g·C_g·K·(m/G)/2 .. of the same length
   *              (folded: [C][K−1][(m/G)/2], key 0's row not stored, K−1 for K in the offsets)
   * </pre>
   */
  static final class GroupedLookup {
    final int depth;
    final int keysPerCodebook;
    final boolean fold;
    final int width;
    final int perGroup;
    final int codebooks;
    final int groupOutputs;
    final IntBuffer splitDims;
    final FloatBuffer thresholds;
    final ByteBuffer keys;
    final ByteBuffer tables;
    final ByteBuffer[] groupTables = new ByteBuffer[GROUPS];
    final FloatBuffer[] groupScale = new FloatBuffer[GROUPS];
    final FloatBuffer[] groupBias = new FloatBuffer[GROUPS];
    final FloatBuffer wide;
    final float[] line;

    GroupedLookup(
        Random random,
        int d,
        int m,
        int rows,
        int depth,
        int width,
        FloatBuffer scale,
        FloatBuffer bias) {
      this(random, d, m, rows, depth, width, false, scale, bias);
    }

    GroupedLookup(
        Random random,
        int d,
        int m,
        int rows,
        int depth,
        int width,
        boolean fold,
        FloatBuffer scale,
        FloatBuffer bias) {
      this.depth = depth;
      this.fold = fold;
      this.keysPerCodebook = LutKernels.keysOf(depth);
      this.width = width;
      this.perGroup = (d + width - 1) / width;
      this.codebooks = GROUPS * perGroup;
      this.groupOutputs = m / GROUPS;
      int nodes = keysPerCodebook - 1;
      splitDims =
          ByteBuffer.allocateDirect(codebooks * depth * Integer.BYTES)
              .order(ByteOrder.nativeOrder())
              .asIntBuffer();
      thresholds = FloatBuffers.allocate(codebooks * nodes);
      for (int c = 0; c < codebooks; c++) {
        for (int l = 0; l < depth; l++) {
          splitDims.put(c * depth + l, random.nextInt(width));
        }
        for (int n = 0; n < nodes; n++) {
          thresholds.put(c * nodes + n, (float) random.nextGaussian() * 0.5f);
        }
      }
      keys = ByteBuffer.allocateDirect(rows * codebooks);
      int storedRows = fold ? keysPerCodebook - 1 : keysPerCodebook;
      int groupTableBytes = perGroup * storedRows * ((groupOutputs + 1) / 2);
      tables = ByteBuffer.allocateDirect(GROUPS * groupTableBytes);
      byte[] all = new byte[GROUPS * groupTableBytes];
      random.nextBytes(all);
      tables.put(all).clear();
      for (int g = 0; g < GROUPS; g++) {
        groupTables[g] = tables.slice(g * groupTableBytes, groupTableBytes);
        groupScale[g] = scale.slice(g * groupOutputs, groupOutputs);
        groupBias[g] = bias.slice(g * groupOutputs, groupOutputs);
      }
      wide = FloatBuffers.allocate(rows * codebooks * width);
      line = new float[codebooks * width];
    }
  }

  private Lookup width8s4;
  private Lookup width40;
  private Lookup width20s4;
  private FloatBuffer lutScale;
  private FloatBuffer lutBias;

  private FloatBuffer nextX() {
    next = (next + 1) % INPUTS;
    return xF32[next];
  }

  /** The exact fp32 layer: OpenBLAS sgemv (rows = 1, what Fp32Blas routes to) or sgemm. */
  @Benchmark
  public FloatBuffer fp32Blas() {
    FloatBuffer x = nextX();
    if (rows == 1) {
      Fp32Blas.gemv(false, m, d, 1f, weightsF32, d, x, 0f, outF32);
    } else {
      Fp32Blas.gemm(false, true, rows, m, d, 1f, x, d, weightsF32, d, 0f, outF32, m);
    }
    return outF32;
  }

  /** The int8 layer: u8 × packed s8 → s32 (GEMV at rows = 1), then s32 + bias → × scale → fp32. */
  @Benchmark
  public FloatBuffer int8() {
    next = (next + 1) % INPUTS;
    if (rows == 1) {
      Int8Gemm.gemv(xU8[next], d, weightsS8Packed, m, outS32);
    } else {
      Int8Gemm.gemm(xU8[next], rows, d, weightsS8Packed, m, outS32);
    }
    Requantize.toF32(outS32, rows, m, requant, outF32);
    return outF32;
  }

  @Benchmark
  public FloatBuffer lutTreeW4() {
    return lookupTree(width4);
  }

  @Benchmark
  public FloatBuffer lutTreeW8() {
    return lookupTree(width8);
  }

  /** 4-bit tables at w = 8: the same codebooks as {@link #lutTreeW8}, half the table bytes. */
  @Benchmark
  public FloatBuffer lutTreeW8S4() {
    return lookupTree(width8s4);
  }

  /** int8 tables at w = 40: about 10x smaller than fp32 at 800→120. */
  @Benchmark
  public FloatBuffer lutTreeW40() {
    return lookupTree(width40);
  }

  /** 4-bit tables at w = 20: about 10x smaller than fp32, twice the codebooks of w = 40. */
  @Benchmark
  public FloatBuffer lutTreeW20S4() {
    return lookupTree(width20s4);
  }

  @Benchmark
  public FloatBuffer lutCentroidsW4() {
    Lookup l = width4;
    LutKernels.encodeCentroids(nextX(), rows, d, l.codebooks, l.width, l.centroids, l.keys);
    LutKernels.accumulate(l.keys, rows, l.codebooks, m, l.tables, lutScale, lutBias, outF32);
    return outF32;
  }

  private FloatBuffer lookupTree(Lookup l) {
    // d is a multiple of every width here but 20/40 at 1024 and 4096: encode the first C·w inputs
    LutKernels.encodeTree(
        nextX(),
        rows,
        l.codebooks * l.width,
        l.codebooks,
        l.width,
        l.splitDims,
        l.thresholds,
        l.keys);
    if (l.s4) {
      LutKernels.accumulateS4(l.keys, rows, l.codebooks, m, l.tables, lutScale, lutBias, outF32);
    } else {
      LutKernels.accumulate(l.keys, rows, l.codebooks, m, l.tables, lutScale, lutBias, outF32);
    }
    return outF32;
  }

  /** The MLP's /3/Gemm layout at --lut-depth 4: w = 29, 4 groups × 9 codebooks of 16 keys. */
  @Benchmark
  public FloatBuffer lutGroupedDepth4() {
    return lookupGrouped(groupedDepth4);
  }

  /** At --lut-depth 3: w = 15, 4 groups × 18 codebooks of 8 keys. */
  @Benchmark
  public FloatBuffer lutGroupedDepth3() {
    return lookupGrouped(groupedDepth3);
  }

  /** At --lut-depth 2: w = 8, 4 groups × 32 codebooks of 4 keys. */
  @Benchmark
  public FloatBuffer lutGroupedDepth2() {
    return lookupGrouped(groupedDepth2);
  }

  /** At --lut-depth 2 with key 0 folded: w = 6, 4 groups × 43 codebooks of 4 keys, 3 rows each. */
  @Benchmark
  public FloatBuffer lutGroupedDepth2Folded() {
    return lookupGrouped(groupedDepth2Folded);
  }

  /** What {@code LookupGemmKernel.run} does for grouped 4-bit tables with a tree encoder. */
  private FloatBuffer lookupGrouped(GroupedLookup l) {
    FloatBuffer x = nextX();
    int padded = l.codebooks * l.width;
    int groupWidth = padded / GROUPS;
    float[] line = l.line;
    Arrays.fill(line, 0, padded, 0f);
    for (int r = 0; r < rows; r++) {
      for (int g = 0; g < GROUPS; g++) {
        x.get(r * d, line, g * groupWidth, d);
      }
      l.wide.put(r * padded, line, 0, padded);
    }
    LutKernels.encodeTree(
        l.wide, rows, padded, l.codebooks, l.width, l.depth, l.splitDims, l.thresholds, l.keys);
    for (int g = 0; g < GROUPS; g++) {
      for (int r = 0; r < rows; r++) {
        ByteBuffer k = l.keys.slice(r * l.codebooks + g * l.perGroup, l.perGroup);
        FloatBuffer o = outF32.slice(r * m + g * l.groupOutputs, l.groupOutputs);
        if (l.fold) {
          LutKernels.accumulateS4Folded(
              k,
              1,
              l.perGroup,
              l.keysPerCodebook,
              l.groupOutputs,
              l.groupTables[g],
              l.groupScale[g],
              l.groupBias[g],
              o);
        } else {
          LutKernels.accumulateS4(
              k,
              1,
              l.perGroup,
              l.keysPerCodebook,
              l.groupOutputs,
              l.groupTables[g],
              l.groupScale[g],
              l.groupBias[g],
              o);
        }
      }
    }
    return outF32;
  }

  /**
   * Thread CPU time per call of each benchmark (median of {@code rounds}) for every shape and row
   * count, printed as the README table. On a machine shared with other work, wall-clock figures
   * measure the neighbours as much as the kernel; CPU time of the calling thread does not. Usage:
   * {@code java -cp benchmarks.jar io.cacheai.bench.LutKernelBenchmark [rounds]}.
   */
  public static void main(String[] args) {
    if (args.length > 0 && args[0].equals("s4")) {
      mainS4(args.length > 1 ? Integer.parseInt(args[1]) : 21);
      return;
    }
    if (args.length > 0 && args[0].equals("keys")) {
      mainKeys(args.length > 1 ? Integer.parseInt(args[1]) : 21);
      return;
    }
    int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 21;
    System.out.println(
        "| layer d→m | rows | fp32 OpenBLAS µs | int8 µs | LUT tree w=4 µs | LUT tree w=8 µs"
            + " | LUT centroids w=4 µs | fp32 / LUT w4 | int8 / LUT w4 | fp32 / LUT w8 | int8 / LUT w8 |");
    System.out.println("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (String shape : new String[] {"800x120", "1024x1024", "4096x4096"}) {
      for (int rows : new int[] {1, 16}) {
        LutKernelBenchmark bench = new LutKernelBenchmark();
        bench.shape = shape;
        bench.rows = rows;
        bench.setUp();
        Map<String, Runnable> kernels = new LinkedHashMap<>();
        kernels.put("fp32", bench::fp32Blas);
        kernels.put("int8", bench::int8);
        kernels.put("lutW4", bench::lutTreeW4);
        kernels.put("lutW8", bench::lutTreeW8);
        kernels.put("lutC4", bench::lutCentroidsW4);
        long work = (long) rows * bench.d * bench.m;
        int callsPerRound = (int) Math.max(2, Math.min(2000, 400_000_000L / work / 10));
        Map<String, Double> medianUs =
            medianCpuUs(kernels, 3 * callsPerRound + INPUTS, callsPerRound, rounds);
        double fp32 = medianUs.get("fp32");
        double int8 = medianUs.get("int8");
        double w4 = medianUs.get("lutW4");
        double w8 = medianUs.get("lutW8");
        System.out.printf(
            Locale.ROOT,
            "| %s→%s | %d | %.2f | %.2f | %.2f | %.2f | %.2f | %.1f× | %.1f× | %.1f× | %.1f× |%n",
            bench.d,
            bench.m,
            rows,
            fp32,
            int8,
            w4,
            w8,
            medianUs.get("lutC4"),
            fp32 / w4,
            int8 / w4,
            fp32 / w8,
            int8 / w8);
        bench = null;
        System.gc();
      }
    }
  }

  /**
   * Each kernel's thread CPU time per call in µs, the median of {@code rounds} rounds of {@code
   * callsPerRound} calls, after {@code warmUpCalls} untimed calls (JIT, caches, page faults).
   */
  static Map<String, Double> medianCpuUs(
      Map<String, Runnable> kernels, int warmUpCalls, int callsPerRound, int rounds) {
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    Map<String, Double> medianUs = new LinkedHashMap<>();
    for (var kernel : kernels.entrySet()) {
      for (int i = 0; i < warmUpCalls; i++) {
        kernel.getValue().run();
      }
      double[] us = new double[rounds];
      for (int r = 0; r < rounds; r++) {
        long start = threads.getCurrentThreadCpuTime();
        for (int i = 0; i < callsPerRound; i++) {
          kernel.getValue().run();
        }
        us[r] = (threads.getCurrentThreadCpuTime() - start) / 1e3 / callsPerRound;
      }
      Arrays.sort(us);
      medianUs.put(kernel.getKey(), us[rounds / 2]);
    }
    return medianUs;
  }

  /**
   * {@code LutKernelBenchmark s4 [rounds]}: int8 vs 4-bit tables on the 800→120 layer, thread CPU
   * time per call (median of {@code rounds}), as the README's 4-bit table.
   */
  static void mainS4(int rounds) {
    System.out.println(
        "| layer d→m | rows | fp32 OpenBLAS µs | int8 layer µs | LUT int8 w=8 µs | LUT 4-bit w=8 µs"
            + " | LUT int8 w=40 (≈10×) µs | LUT 4-bit w=20 (≈10×) µs | fp32 / 4-bit w=20 |");
    System.out.println("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (int rows : new int[] {1, 16}) {
      LutKernelBenchmark bench = new LutKernelBenchmark();
      bench.shape = "800x120";
      bench.rows = rows;
      bench.setUp();
      Map<String, Runnable> kernels = new LinkedHashMap<>();
      kernels.put("fp32", bench::fp32Blas);
      kernels.put("int8", bench::int8);
      kernels.put("w8", bench::lutTreeW8);
      kernels.put("w8s4", bench::lutTreeW8S4);
      kernels.put("w40", bench::lutTreeW40);
      kernels.put("w20s4", bench::lutTreeW20S4);
      int callsPerRound = rows == 1 ? 2000 : 200;
      Map<String, Double> medianUs =
          medianCpuUs(kernels, 3 * callsPerRound + INPUTS, callsPerRound, rounds);
      System.out.printf(
          Locale.ROOT,
          "| 800→120 | %d | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.1f× |%n",
          rows,
          medianUs.get("fp32"),
          medianUs.get("int8"),
          medianUs.get("w8"),
          medianUs.get("w8s4"),
          medianUs.get("w40"),
          medianUs.get("w20s4"),
          medianUs.get("fp32") / medianUs.get("w20s4"));
    }
  }

  /**
   * {@code LutKernelBenchmark keys [rounds]}: the MLP's grouped /3/Gemm (256→128, 4-bit tables) at
   * tree depth 4, 3 and 2 against fp32 and int8, thread CPU time per call (median of {@code
   * rounds}), as the README's table in "Shallower trees".
   */
  static void mainKeys(int rounds) {
    System.out.println(
        "| layer d→m | rows | fp32 OpenBLAS µs | int8 layer µs | LUT depth 4 (K=16, w=29, 4×9) µs"
            + " | LUT depth 3 (K=8, w=15, 4×18) µs | LUT depth 2 (K=4, w=8, 4×32) µs"
            + " | fp32 / LUT d4, d3, d2 | int8 / LUT d4, d3, d2 |");
    System.out.println("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (int rows : new int[] {1, 16}) {
      LutKernelBenchmark bench = new LutKernelBenchmark();
      bench.shape = "256x128";
      bench.rows = rows;
      bench.setUp();
      Map<String, Runnable> kernels = new LinkedHashMap<>();
      kernels.put("fp32", bench::fp32Blas);
      kernels.put("int8", bench::int8);
      kernels.put("d4", bench::lutGroupedDepth4);
      kernels.put("d3", bench::lutGroupedDepth3);
      kernels.put("d2", bench::lutGroupedDepth2);
      int callsPerRound = rows == 1 ? 2000 : 200;
      // 20 000 warm-up calls at least: the shared lookupGrouped is compiled by C2 before depth 4 is
      // timed
      Map<String, Double> medianUs =
          medianCpuUs(kernels, Math.max(3 * callsPerRound + INPUTS, 20_000), callsPerRound, rounds);
      double fp32 = medianUs.get("fp32");
      double int8 = medianUs.get("int8");
      double d4 = medianUs.get("d4");
      double d3 = medianUs.get("d3");
      double d2 = medianUs.get("d2");
      System.out.printf(
          Locale.ROOT,
          "| 256→128 | %d | %.2f | %.2f | %.2f | %.2f | %.2f | %.1f×, %.1f×, %.1f× | %.1f×, %.1f×,"
              + " %.1f× |%n",
          rows,
          fp32,
          int8,
          d4,
          d3,
          d2,
          fp32 / d4,
          fp32 / d3,
          fp32 / d2,
          int8 / d4,
          int8 / d3,
          int8 / d2);
    }
  }
}
