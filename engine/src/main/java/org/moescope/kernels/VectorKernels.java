package org.moescope.kernels;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;
import org.moescope.gguf.GgmlType;
import org.moescope.safetensors.DType;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * SIMD kernels on the JDK Vector API, split over all cores by a {@link WorkerPool}. Weights stay in their stored
 * dtype in the mapping; BF16 is the top half of a float, so widening is a sign-extend and a shift.
 *
 * <p>Two ways to multiply, chosen by the number of tokens:
 * <ul>
 * <li><b>Streaming</b> (at most {@value #STREAM_MAX_TOKENS} tokens: decode). Every weight is used once per token, so
 * the product is bound by memory bandwidth: rows are read straight from the mapping in order, widened in
 * registers.</li>
 * <li><b>Tiled</b> (prefill). The tokens are first laid out as panels of {@link #P} tokens, column-major within the
 * panel (panel[k][token]). A block of weight rows is widened once into a thread-local buffer and then
 * multiplied with each panel by an outer-product micro-kernel: per k, two activation vectors and {@link #MR}
 * broadcast weights feed 2·MR accumulators — on AVX2 (16 registers) 4 rows, 8 FMAs for 2 loads and 4 broadcasts;
 * on AVX-512 (32 registers) 8 rows, 16 FMAs for 2 loads and 8 broadcasts — no horizontal sums.</li>
 * </ul>
 * The mixture of experts groups tokens by expert; its SwiGLU kernel stages MR/2 gate rows and the same up rows
 * in one tile, so silu(gate) · up is applied to the tile and written straight into the panel layout the down
 * projection reads. Each phase (gate/up of all experts, down of all experts, the weighted sum) is one parallel region.
 */
public final class VectorKernels implements Kernels {
    static {
        SegmentClasses.load();
    }

    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    /** Shorts filling half a float register: one load widens to exactly one float vector. */
    static final VectorSpecies<Short> S = ShortVector.SPECIES_PREFERRED.withShape(
            VectorShape.forBitSize(F.vectorBitSize() / 2));
    static final int L = F.length();

    /**
     * Lane i takes lane i + h (mod L), for h = L/2, L/4, ..., 1: the folds of {@link #sumLanes}, also written out at
     * the end of the K-quant products (GgmlRows.dotQ4K).
     */
    static final VectorShuffle<Float>[] FOLDS = folds(F);
    /** The same for 256-bit vectors (the int8 path's QF where the preferred species is wider). */
    private static final VectorShuffle<Float>[] FOLDS_256 = folds(FloatVector.SPECIES_256);

    @SuppressWarnings("unchecked")
    private static VectorShuffle<Float>[] folds(VectorSpecies<Float> species) {
        int n = species.length();
        VectorShuffle<Float>[] folds = new VectorShuffle[Integer.numberOfTrailingZeros(n)];
        for (int i = 0, h = n / 2; h >= 1; h /= 2, i++) folds[i] = VectorShuffle.iota(species, h, 1, true);
        return folds;
    }

    /**
     * The sum of v's lanes in one fixed order: halves added lanewise (lane i + lane i + L/2, then + L/4, ...), lane 0
     * read. Why not {@code reduceLanes(ADD)}: the Vector API leaves its order open, and its interpreted and
     * C2-compiled forms add in different orders (seen on this JDK: different bits for the same vector), so a result
     * depended on whether the JIT had compiled the kernel yet: two traces of the same data parted by up to 2e-5 in
     * the logits after a thousand rows. Lanewise adds and rearranges are exact in every form. Costs ~1-2 ns a sum.
     * <p>A loop over the folds, not unrolled: in a caller with several sums (dotBf16Quad) the unrolled form's extra
     * parsed nodes made C2 stop inlining before the last calls, which then boxed their vectors (BF16 decode, 11 MB a
     * token, 0.85-0.9x). Where one sum ends a kernel too large to inline, the folds are written out unrolled instead
     * (GgmlRows.dotQ4K: inlined there, the loop was sometimes compiled rolled and boxed at every fold).
     */
    static float sumLanes(FloatVector v) {
        for (VectorShuffle<Float> fold : v.length() == L ? FOLDS : FOLDS_256) v = v.add(v.rearrange(fold));
        return v.lane(0);
    }
    /** Tokens per panel: two float vectors. */
    static final int P = 2 * L;
    /** Weight rows per micro-kernel tile, 2 accumulators each (see tile): 8 with AVX-512's 32 registers, else 4. */
    static final int MR = L >= 16 ? 8 : 4;
    /** Up to this many tokens the weights are streamed from the mapping instead of staged and tiled. */
    static final int STREAM_MAX_TOKENS = 2;
    /** Multiply-adds per job of a parallel region: small enough to balance two threads, large enough to amortise. */
    static final long JOB_MACS = 1L << 18;
    /** Regions with less work than this run on the calling thread. */
    static final long PARALLEL_MIN_MACS = 1L << 16;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private final WorkerPool pool;
    /**
     * Batch-invariant mode (see {@link #batchInvariant()}): every product streams, and jobs split the rows as for one
     * token, so a token's result never depends on how many other tokens share the call.
     */
    private final boolean invariant;
    /** Buffers of the calling thread's current call (panels, expert intermediates), grown on demand and kept. */
    private final ThreadLocal<Workspace> workspaces = ThreadLocal.withInitial(Workspace::new);
    /** Per-thread buffers of a job: staged weight rows, a tile, attention scores. */
    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    public VectorKernels() {
        this(WorkerPool.shared());
    }

    VectorKernels(WorkerPool pool) {
        this(pool, false);
    }

    private VectorKernels(WorkerPool pool, boolean invariant) {
        this.pool = pool;
        this.invariant = invariant;
    }

    /**
     * Kernels whose result for a token is bit-identical whichever tokens share the call: what a server batching
     * several sequences into one forward step needs for "same seed, same answer, alone or batched". The default
     * kernels switch from streaming to tiled products above {@value #STREAM_MAX_TOKENS} tokens (per expert in the
     * MoE) and size their jobs by the token count, and the tiled, single-row and four-row dot products add in
     * different orders. These never use the default tiles: BF16 products go through fixedOrderRows, whose tiles over
     * tokens add every output element in one fixed order (a decode batch's tokens share each widened weight vector,
     * and one token runs as fast as with the default kernels); other dtypes stream one token at a time with rows split
     * as for one token. An expert's tokens go through its gate and up projections together. Long prefills run at
     * about the default tiled kernels' FMA rate (see docs/serve.md).
     */
    public static VectorKernels batchInvariant() {
        return batchInvariant(WorkerPool.shared());
    }

    static VectorKernels batchInvariant(WorkerPool pool) {
        return new VectorKernels(pool, true);
    }

    /** Whether `tokens` tokens (of a matmul, or routed to one expert) stream rather than tile. */
    private boolean streams(int tokens) {
        return invariant || tokens <= STREAM_MAX_TOKENS;
    }

    /** The token count that sizes the jobs of a streamed product: one in batch-invariant mode. */
    private int jobTokens(int tokens) {
        return invariant ? 1 : tokens;
    }

    /** Threads a parallel region uses, the caller included. */
    public int threads() {
        return pool.parallelism();
    }

    private static final class Scratch {
        float[] stage = new float[0]; // (tiles, slices, MR, KC) widened weight rows, see stageTile
        float[] tiles = new float[0]; // (tiles, MR, P) micro-kernel results of a block
        float[] scores = new float[0];
        float[] aux = new float[0];
        float[] deinterleaved = new float[0]; // x in the order a streamed product reads it (BF16, I8, K-quants)
        float[] gathered = new float[0];
        float[] gathered(int n) {
            if (gathered.length < n) gathered = new float[n];
            return gathered;
        }

        float[] tiles(int n) {
            if (tiles.length < n) tiles = new float[n];
            return tiles;
        }

        float[] deinterleaved(int n) {
            if (deinterleaved.length < n) deinterleaved = new float[n];
            return deinterleaved;
        }

        float[] aux(int n) {
            if (aux.length < n) aux = new float[n];
            return aux;
        }

        float[] stage(int n) {
            if (stage.length < n) stage = new float[n];
            return stage;
        }

        float[] scores(int n) {
            if (scores.length < n) scores = new float[n];
            return scores;
        }
    }

    private static final class Workspace {
        float[] panels = new float[0];
        float[] inter = new float[0];
        float[] expertOut = new float[0];
        int[] ints = new int[0];
        int[] jobs = new int[0];
        /** x prepared for the K-quant products, per GgmlRows.layout (see prepare). */
        final float[][] preparedStore = {new float[0], new float[0]};

        float[] panels(int n) {
            if (panels.length < n) panels = new float[n];
            return panels;
        }

        float[] inter(int n) {
            if (inter.length < n) inter = new float[n];
            return inter;
        }

        float[] expertOut(int n) {
            if (expertOut.length < n) expertOut = new float[n];
            return expertOut;
        }

        int[] ints(int n) {
            if (ints.length < n) ints = new int[n];
            return ints;
        }

        /**
         * x's `tokens` rows prepared (GgmlRows.prepare) once for every layout the weights need, for the jobs of one
         * call to share: row t of layout l at [l][t · preparedSize(cols)], null for a layout no weight reads.
         * Prepared per job instead, the lm_head's 50k rows (197 jobs) prepared x 197 times a token.
         */
        float[][] prepare(float[] x, int tokens, int cols, Weight[]... weights) {
            float[][] prepared = new float[2][];
            int stride = GgmlRows.preparedSize(cols);
            for (Weight[] ws : weights) {
                for (Weight w : ws) {
                    int l = w.ggml() == null ? -1 : GgmlRows.layout(w.ggml());
                    if (l < 0 || prepared[l] != null) continue;
                    if (preparedStore[l].length < tokens * stride) preparedStore[l] = new float[tokens * stride];
                    GgmlRows.prepareRows(w.ggml(), x, 0, tokens, cols, preparedStore[l]);
                    prepared[l] = preparedStore[l];
                }
            }
            return prepared;
        }

        /** Job table, 3 ints a job: (item, first row, end row). */
        int[] jobs(int n) {
            if (jobs.length < 3 * n) jobs = new int[3 * n];
            return jobs;
        }
    }

    private static int panels(int tokens) {
        return (tokens + P - 1) / P;
    }

    /** Rows per job for a matrix whose rows cost macsPerRow each; a multiple of `multiple`. */
    private static int rowsPerJob(int rows, long macsPerRow, int multiple) {
        long r = Math.max(1, JOB_MACS / Math.max(1, macsPerRow));
        r = (r + multiple - 1) / multiple * multiple;
        return (int) Math.min(r, (rows + multiple - 1) / multiple * multiple);
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Dense matmuls

    @Override
    public void matmul(float[] out, float[] x, int tokens, Weight w) {
        matmul(x, tokens, new Weight[] {w}, new float[][] {out});
    }

    @Override
    public void matmul(float[] x, int tokens, Weight[] ws, float[][] outs) {
        int cols = ws[0].cols();
        for (Weight w : ws) {
            if (w.cols() != cols) throw new IllegalArgumentException(w.name() + ": " + w.cols() + " columns, expected " + cols);
        }
        Workspace work = workspaces.get();
        boolean stream = streams(tokens);
        long macs = 0;
        int jobCount = 0;
        for (Weight w : ws) {
            int per = stream ? rowsPerJob(w.rows(), (long) jobTokens(tokens) * cols, 4) : blockRows(cols);
            jobCount += (w.rows() + per - 1) / per;
            macs += (long) w.rows() * cols * tokens;
        }
        int[] jobs = work.jobs(jobCount);
        int n = 0;
        for (int i = 0; i < ws.length; i++) {
            int rows = ws[i].rows();
            int per = stream ? rowsPerJob(rows, (long) jobTokens(tokens) * cols, 4) : blockRows(cols);
            for (int r = 0; r < rows; r += per) {
                jobs[3 * n] = i;
                jobs[3 * n + 1] = r;
                jobs[3 * n + 2] = Math.min(rows, r + per);
                n++;
            }
        }
        int parallelJobs = macs >= PARALLEL_MIN_MACS ? jobCount : 1;
        if (stream) {
            float[][] prepared = work.prepare(x, tokens, cols, ws);
            region(parallelJobs, jobCount, job -> {
                Weight w = ws[jobs[3 * job]];
                streamRows(w, x, 0, tokens, cols, outs[jobs[3 * job]], 0, w.rows(), jobs[3 * job + 1], jobs[3 * job + 2],
                        prepared, 0);
            });
            return;
        }
        int np = panels(tokens);
        float[] panels = work.panels(np * cols * P);
        region(macs >= PARALLEL_MIN_MACS ? np : 1, np, p -> pack(x, null, 0, tokens, cols, p, panels, 0));
        region(parallelJobs, jobCount, job -> {
            Weight w = ws[jobs[3 * job]];
            tiledRows(w, panels, 0, tokens, outs[jobs[3 * job]], 0, w.rows(), jobs[3 * job + 1], jobs[3 * job + 2]);
        });
    }

    /**
     * Runs jobs [0, total) as `parallel` groups on the pool (1: all on the calling thread). Grouping keeps the job
     * order, so results do not depend on the split.
     */
    private void region(int parallel, int total, java.util.function.IntConsumer job) {
        if (parallel <= 1) {
            for (int j = 0; j < total; j++) job.accept(j);
        } else {
            pool.run(total, job);
        }
    }

    /**
     * Lays out panel p of the tokens: panel[p][k][j] = x[row of token p·P + j][k], zero past the last token.
     * Token i is row i of x, or row rowOf[rowBase + i] when rowOf is given (the tokens routed to one expert).
     */
    private static void pack(float[] x, int[] rowOf, int rowBase, int tokens, int cols, int p, float[] panels, int pOff) {
        int base = pOff + p * cols * P;
        int t0 = p * P;
        int width = Math.min(P, tokens - t0);
        for (int j = 0; j < P; j++) {
            if (j >= width) {
                for (int k = 0; k < cols; k++) panels[base + k * P + j] = 0f;
                continue;
            }
            int row = rowOf == null ? t0 + j : rowOf[rowBase + t0 + j];
            int src = row * cols;
            for (int k = 0; k < cols; k++) {
                panels[base + k * P + j] = x[src + k];
            }
        }
    }

    /**
     * Rows r0 .. r1 of out (tokens, outStride) at outOff, from panels at pOff. The rows (at most
     * {@link #blockRows}(cols) of them) are widened once into a thread-local block that stays in L2; then for each
     * panel, KC columns at a time (that slice of the panel, 16 KB, stays in L1 while every tile of the block uses it),
     * the micro-kernel runs over the block's MR-row tiles, and the finished tiles are scattered to out.
     */
    private void tiledRows(Weight w, float[] panels, int pOff, int tokens, float[] out, int outOff, int outStride,
                           int r0, int r1) {
        int cols = w.cols();
        Scratch sc = SCRATCH.get();
        int tiles = (r1 - r0 + MR - 1) / MR;
        int tileFloats = tileFloats(cols);
        float[] s = sc.stage(tiles * tileFloats);
        for (int b = 0; b < tiles; b++) {
            stageTile(w, w, r0 + b * MR, Math.min(MR, r1 - r0 - b * MR), s, b * tileFloats);
        }
        float[] acc = sc.tiles(tiles * MR * P);
        int np = panels(tokens);
        for (int p = 0; p < np; p++) {
            int width = Math.min(P, tokens - p * P);
            blockProduct(s, tiles, cols, panels, pOff + p * cols * P, width > L, acc);
            for (int b = 0; b < tiles; b++) {
                int r = r0 + b * MR;
                int nr = Math.min(MR, r1 - r);
                for (int t = 0; t < width; t++) {
                    int o = outOff + (p * P + t) * outStride + r;
                    for (int j = 0; j < nr; j++) {
                        out[o + j] = acc[b * MR * P + j * P + t];
                    }
                }
            }
        }
    }

    /**
     * Columns of a slice: the micro-kernel works through KC columns of the panel (KC · P floats, 16 KB, in L1) with
     * every tile of the block before moving on, and a staged tile row is KC floats long within a slice.
     */
    static final int KC = 256;

    /** Column slices of a row of cols columns. */
    private static int slices(int cols) {
        return (cols + KC - 1) / KC;
    }

    /** Floats of one staged tile: MR rows of KC floats per slice (the last slice padded). */
    static int tileFloats(int cols) {
        return slices(cols) * MR * KC;
    }

    /**
     * acc[b] (MR, P) = tile b of s · panel, for the `tiles` tiles of a staged block, KC columns at a time. Splitting
     * the columns keeps the order of every accumulation, so the result is the same as one pass over all columns.
     */
    static void blockProduct(float[] s, int tiles, int cols, float[] panel, int off, boolean wide, float[] acc) {
        int tileFloats = tileFloats(cols);
        for (int k0 = 0; k0 < cols; k0 += KC) {
            int n = Math.min(KC, cols - k0);
            for (int b = 0; b < tiles; b++) {
                tile(s, b * tileFloats + k0 * MR, n, panel, off + k0 * P, wide, acc, b * MR * P, k0 > 0);
            }
        }
    }

    /**
     * Stages one MR-row tile for the micro-kernel at s[at ..]: slice by slice, tile row j is KC floats after row
     * j - 1, widened from the stored dtype. Rows past n are zero. With a second weight `w2` (SwiGLU: gate then up),
     * the tile holds rows r .. r+n of w and the same rows of w2, MR/2 each; pass w2 == w for MR rows of w.
     *
     * <p>Why this layout: the micro-kernel's four broadcasts of column k are then s[sOff + k], s[sOff + KC + k], ...,
     * one index plus constant displacements, and staging is a plain widening copy. (Rows a variable `cols` apart
     * cost C2 an address computation per broadcast, 55-75% of the speed; rows interleaved by column cost 8 shuffles
     * per 8 columns of a tile, 11% of the experts' time.)
     */
    private static void stageTile(Weight w, Weight w2, int r, int n, float[] s, int at) {
        int cols = w.cols();
        int half = MR / 2;
        boolean pairs = w2 != w;
        for (int j = 0; j < MR; j++) {
            Weight src = pairs && j >= half ? w2 : w;
            int i = pairs ? j % half : j;
            for (int k0 = 0; k0 < cols; k0 += KC) {
                int o = at + k0 * MR + j * KC;
                int nq = Math.min(KC, cols - k0);
                if (i < n) {
                    widen(src, r + i, k0, nq, s, o);
                } else {
                    Arrays.fill(s, o, o + nq, 0f);
                }
            }
        }
    }

    /**
     * Bytes of widened weight rows a tiled job keeps in L2: three eighths of the L2 per core of the CPU it runs on
     * ({@link CpuCaches}), leaving the rest to the activation panel, the tile results and the rows streaming in, and at
     * most 192 KB. The fraction was tuned by hand on a Zen 3 (512 KB of L2: 192 KB) and is read at run time because the
     * machines this runs on change generation: on a CPU with less L2 (256 KB per core on older Intel cores) a 192 KB
     * block would spill the panel. Why not larger on a larger L2: on the Zen 5 VM (1 MB) 384 KB blocks ran BF16
     * prefill 3% slower than 192 KB in an in-process A/B (docs/performance.md, session 7) — a matrix then splits into
     * half as many jobs, and two threads balance them worse. 192 KB when the L2 size is unknown.
     */
    static final int BLOCK_BYTES = blockBytes(CpuCaches.DETECTED.l2());

    static int blockBytes(long l2) {
        return l2 <= 0 ? 192 << 10 : (int) Math.max(64 << 10, Math.min(192 << 10, l2 * 3 / 8));
    }

    /** Rows of a tiled job: as many MR-row tiles as fit BLOCK_BYTES once widened, at least one. */
    static int blockRows(int cols) {
        return Math.max(MR, BLOCK_BYTES / (4 * tileFloats(cols) / MR) / MR * MR);
    }

    /**
     * acc[accOff ..] (MR, P) = s[sOff ..] (MR rows KC apart, see stageTile) · panel (n columns, P), plus
     * what acc held when `accumulate`. With wide false only the first L tokens are computed (the last panel of a group
     * holding at most L tokens).
     *
     * <p>Why 4 rows on AVX2 and not 6: 6 x 2 accumulators leave 4 of the 16 ymm registers, and C2 sometimes hoists
     * all six broadcasts of an iteration, runs out of registers and spills accumulators to the stack, which halves the
     * speed (seen with -XX:+UseParallelGC, the launcher's collector). 8 accumulators + 2 activations + 4 broadcasts fit
     * whatever the schedule. With AVX-512's 32 registers 8 rows (16 accumulators) fit the same way and keep more FMAs
     * in flight than Zen 5's latency needs: KernelAB, both ways round, the experts at 512 tokens and a 1024x1024 BF16
     * product 1.09x (docs/performance.md, session 11). Each output element is the same sum in the same order either
     * way, so the results are the same bits.
     */
    static void tile(float[] s, int sOff, int n, float[] panel, int off, boolean wide, float[] acc, int accOff,
                     boolean accumulate) {
        // Two separate compiled methods: with the narrow loop inlined into the same method, C2's register
        // allocation of the wide loop got worse (seen as half speed in the MoE, whose last panels are often narrow).
        if (MR == 8) {
            if (wide) {
                tileWide8(s, sOff, n, panel, off, acc, accOff, accumulate);
            } else {
                tileNarrow8(s, sOff, n, panel, off, acc, accOff, accumulate);
            }
        } else if (wide) {
            tileWide(s, sOff, n, panel, off, acc, accOff, accumulate);
        } else {
            tileNarrow(s, sOff, n, panel, off, acc, accOff, accumulate);
        }
    }

    /** tileWide for 8 rows: 16 accumulators, with AVX-512's 32 registers (see MR). */
    private static void tileWide8(float[] s, int sOff, int n, float[] panel, int off, float[] acc, int accOff,
                                  boolean accumulate) {
        FloatVector a0, a1, a2, a3, a4, a5, a6, a7, b0, b1, b2, b3, b4, b5, b6, b7;
        if (accumulate) {
            a0 = FloatVector.fromArray(F, acc, accOff);
            b0 = FloatVector.fromArray(F, acc, accOff + L);
            a1 = FloatVector.fromArray(F, acc, accOff + 1 * P);
            b1 = FloatVector.fromArray(F, acc, accOff + 1 * P + L);
            a2 = FloatVector.fromArray(F, acc, accOff + 2 * P);
            b2 = FloatVector.fromArray(F, acc, accOff + 2 * P + L);
            a3 = FloatVector.fromArray(F, acc, accOff + 3 * P);
            b3 = FloatVector.fromArray(F, acc, accOff + 3 * P + L);
            a4 = FloatVector.fromArray(F, acc, accOff + 4 * P);
            b4 = FloatVector.fromArray(F, acc, accOff + 4 * P + L);
            a5 = FloatVector.fromArray(F, acc, accOff + 5 * P);
            b5 = FloatVector.fromArray(F, acc, accOff + 5 * P + L);
            a6 = FloatVector.fromArray(F, acc, accOff + 6 * P);
            b6 = FloatVector.fromArray(F, acc, accOff + 6 * P + L);
            a7 = FloatVector.fromArray(F, acc, accOff + 7 * P);
            b7 = FloatVector.fromArray(F, acc, accOff + 7 * P + L);
        } else {
            a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = b0 = b1 = b2 = b3 = b4 = b5 = b6 = b7 = FloatVector.zero(F);
        }
        for (int k = 0; k < n; k++) {
            int xo = off + k * P;
            FloatVector x0 = FloatVector.fromArray(F, panel, xo);
            FloatVector x1 = FloatVector.fromArray(F, panel, xo + L);
            FloatVector w = FloatVector.broadcast(F, s[sOff + k]);
            a0 = w.fma(x0, a0);
            b0 = w.fma(x1, b0);
            w = FloatVector.broadcast(F, s[sOff + 1 * KC + k]);
            a1 = w.fma(x0, a1);
            b1 = w.fma(x1, b1);
            w = FloatVector.broadcast(F, s[sOff + 2 * KC + k]);
            a2 = w.fma(x0, a2);
            b2 = w.fma(x1, b2);
            w = FloatVector.broadcast(F, s[sOff + 3 * KC + k]);
            a3 = w.fma(x0, a3);
            b3 = w.fma(x1, b3);
            w = FloatVector.broadcast(F, s[sOff + 4 * KC + k]);
            a4 = w.fma(x0, a4);
            b4 = w.fma(x1, b4);
            w = FloatVector.broadcast(F, s[sOff + 5 * KC + k]);
            a5 = w.fma(x0, a5);
            b5 = w.fma(x1, b5);
            w = FloatVector.broadcast(F, s[sOff + 6 * KC + k]);
            a6 = w.fma(x0, a6);
            b6 = w.fma(x1, b6);
            w = FloatVector.broadcast(F, s[sOff + 7 * KC + k]);
            a7 = w.fma(x0, a7);
            b7 = w.fma(x1, b7);
        }
        a0.intoArray(acc, accOff);
        b0.intoArray(acc, accOff + L);
        a1.intoArray(acc, accOff + 1 * P);
        b1.intoArray(acc, accOff + 1 * P + L);
        a2.intoArray(acc, accOff + 2 * P);
        b2.intoArray(acc, accOff + 2 * P + L);
        a3.intoArray(acc, accOff + 3 * P);
        b3.intoArray(acc, accOff + 3 * P + L);
        a4.intoArray(acc, accOff + 4 * P);
        b4.intoArray(acc, accOff + 4 * P + L);
        a5.intoArray(acc, accOff + 5 * P);
        b5.intoArray(acc, accOff + 5 * P + L);
        a6.intoArray(acc, accOff + 6 * P);
        b6.intoArray(acc, accOff + 6 * P + L);
        a7.intoArray(acc, accOff + 7 * P);
        b7.intoArray(acc, accOff + 7 * P + L);
    }

    /** tileNarrow for 8 rows. */
    private static void tileNarrow8(float[] s, int sOff, int n, float[] panel, int off, float[] acc, int accOff,
                                    boolean accumulate) {
        FloatVector a0, a1, a2, a3, a4, a5, a6, a7;
        if (accumulate) {
            a0 = FloatVector.fromArray(F, acc, accOff);
            a1 = FloatVector.fromArray(F, acc, accOff + 1 * P);
            a2 = FloatVector.fromArray(F, acc, accOff + 2 * P);
            a3 = FloatVector.fromArray(F, acc, accOff + 3 * P);
            a4 = FloatVector.fromArray(F, acc, accOff + 4 * P);
            a5 = FloatVector.fromArray(F, acc, accOff + 5 * P);
            a6 = FloatVector.fromArray(F, acc, accOff + 6 * P);
            a7 = FloatVector.fromArray(F, acc, accOff + 7 * P);
        } else {
            a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = FloatVector.zero(F);
        }
        for (int k = 0; k < n; k++) {
            FloatVector x0 = FloatVector.fromArray(F, panel, off + k * P);
            a0 = FloatVector.broadcast(F, s[sOff + k]).fma(x0, a0);
            a1 = FloatVector.broadcast(F, s[sOff + 1 * KC + k]).fma(x0, a1);
            a2 = FloatVector.broadcast(F, s[sOff + 2 * KC + k]).fma(x0, a2);
            a3 = FloatVector.broadcast(F, s[sOff + 3 * KC + k]).fma(x0, a3);
            a4 = FloatVector.broadcast(F, s[sOff + 4 * KC + k]).fma(x0, a4);
            a5 = FloatVector.broadcast(F, s[sOff + 5 * KC + k]).fma(x0, a5);
            a6 = FloatVector.broadcast(F, s[sOff + 6 * KC + k]).fma(x0, a6);
            a7 = FloatVector.broadcast(F, s[sOff + 7 * KC + k]).fma(x0, a7);
        }
        a0.intoArray(acc, accOff);
        a1.intoArray(acc, accOff + 1 * P);
        a2.intoArray(acc, accOff + 2 * P);
        a3.intoArray(acc, accOff + 3 * P);
        a4.intoArray(acc, accOff + 4 * P);
        a5.intoArray(acc, accOff + 5 * P);
        a6.intoArray(acc, accOff + 6 * P);
        a7.intoArray(acc, accOff + 7 * P);
    }

    private static void tileWide(float[] s, int sOff, int n, float[] panel, int off, float[] acc, int accOff,
                                 boolean accumulate) {
        FloatVector a0, a1, a2, a3, b0, b1, b2, b3;
        if (accumulate) {
            a0 = FloatVector.fromArray(F, acc, accOff);
            b0 = FloatVector.fromArray(F, acc, accOff + L);
            a1 = FloatVector.fromArray(F, acc, accOff + P);
            b1 = FloatVector.fromArray(F, acc, accOff + P + L);
            a2 = FloatVector.fromArray(F, acc, accOff + 2 * P);
            b2 = FloatVector.fromArray(F, acc, accOff + 2 * P + L);
            a3 = FloatVector.fromArray(F, acc, accOff + 3 * P);
            b3 = FloatVector.fromArray(F, acc, accOff + 3 * P + L);
        } else {
            a0 = a1 = a2 = a3 = b0 = b1 = b2 = b3 = FloatVector.zero(F);
        }
        for (int k = 0; k < n; k++) {
            int xo = off + k * P;
            FloatVector x0 = FloatVector.fromArray(F, panel, xo);
            FloatVector x1 = FloatVector.fromArray(F, panel, xo + L);
            FloatVector w = FloatVector.broadcast(F, s[sOff + k]);
            a0 = w.fma(x0, a0);
            b0 = w.fma(x1, b0);
            w = FloatVector.broadcast(F, s[sOff + KC + k]);
            a1 = w.fma(x0, a1);
            b1 = w.fma(x1, b1);
            w = FloatVector.broadcast(F, s[sOff + 2 * KC + k]);
            a2 = w.fma(x0, a2);
            b2 = w.fma(x1, b2);
            w = FloatVector.broadcast(F, s[sOff + 3 * KC + k]);
            a3 = w.fma(x0, a3);
            b3 = w.fma(x1, b3);
        }
        a0.intoArray(acc, accOff);
        b0.intoArray(acc, accOff + L);
        a1.intoArray(acc, accOff + P);
        b1.intoArray(acc, accOff + P + L);
        a2.intoArray(acc, accOff + 2 * P);
        b2.intoArray(acc, accOff + 2 * P + L);
        a3.intoArray(acc, accOff + 3 * P);
        b3.intoArray(acc, accOff + 3 * P + L);
    }

    private static void tileNarrow(float[] s, int sOff, int n, float[] panel, int off, float[] acc, int accOff,
                                   boolean accumulate) {
        FloatVector a0, a1, a2, a3;
        if (accumulate) {
            a0 = FloatVector.fromArray(F, acc, accOff);
            a1 = FloatVector.fromArray(F, acc, accOff + P);
            a2 = FloatVector.fromArray(F, acc, accOff + 2 * P);
            a3 = FloatVector.fromArray(F, acc, accOff + 3 * P);
        } else {
            a0 = a1 = a2 = a3 = FloatVector.zero(F);
        }
        for (int k = 0; k < n; k++) {
            FloatVector x0 = FloatVector.fromArray(F, panel, off + k * P);
            a0 = FloatVector.broadcast(F, s[sOff + k]).fma(x0, a0);
            a1 = FloatVector.broadcast(F, s[sOff + KC + k]).fma(x0, a1);
            a2 = FloatVector.broadcast(F, s[sOff + 2 * KC + k]).fma(x0, a2);
            a3 = FloatVector.broadcast(F, s[sOff + 3 * KC + k]).fma(x0, a3);
        }
        a0.intoArray(acc, accOff);
        a1.intoArray(acc, accOff + P);
        a2.intoArray(acc, accOff + 2 * P);
        a3.intoArray(acc, accOff + 3 * P);
    }

    /**
     * Streaming product for at most STREAM_MAX_TOKENS tokens: out[outOff + t·outStride + r] for rows r0 .. r1, x row t
     * at xOff + t·cols. Rows are read one after the other, so the weights are one sequential stream: reading four
     * rows side by side (sharing the activation loads) was slower on this machine's short rows (512 to 2048
     * columns, 1 to 4 KB), where four short streams defeat the hardware prefetcher.
     */
    private void streamRows(Weight w, float[] x, int xOff, int tokens, int cols, float[] out, int outStride, int r0, int r1) {
        streamRows(w, x, xOff, tokens, cols, out, 0, outStride, r0, r1);
    }

    private void streamRows(Weight w, float[] x, int xOff, int tokens, int cols, float[] out, int outOff, int outStride,
                            int r0, int r1) {
        streamRows(w, x, xOff, tokens, cols, out, outOff, outStride, r0, r1, null, 0);
    }

    /** ... with x's rows already prepared for the K-quant products at row pRow of `prepared` (Workspace.prepare), or null. */
    private void streamRows(Weight w, float[] x, int xOff, int tokens, int cols, float[] out, int outOff, int outStride,
                            int r0, int r1, float[][] prepared, int pRow) {
        Scratch sc = SCRATCH.get();
        if (w.ggml() != null) { // a GGUF block type (U8 below is MXFP4)
            ggmlRows(w, x, xOff, tokens, cols, out, outOff, outStride, r0, r1, sc, prepared, pRow);
            return;
        }
        switch (w.dtype()) {
            case BF16 -> {
                float[] xd = sc.deinterleaved(tokens * cols);
                for (int t = 0; t < tokens; t++) {
                    deinterleave(x, xOff + t * cols, cols, xd, t * cols);
                }
                MemorySegment seg = w.data();
                int vecCols = cols - cols % (2 * L);
                if (invariant) {
                    fixedOrderRows(w, xd, tokens, vecCols, cols, out, outOff, outStride, r0, r1);
                    for (int r = r0; r < r1; r++) {
                        long base = w.rowOffset(r);
                        for (int t = 0; t < tokens; t++) {
                            int o = outOff + t * outStride + r;
                            float v = out[o];
                            for (int i = vecCols; i < cols; i++) v += ScalarKernels.element(w, base, i) * x[xOff + t * cols + i];
                            out[o] = v;
                        }
                    }
                    return;
                }
                // Four streams: row r of each quarter of the range (see dotBf16Quad).
                int quarter = (r1 - r0) / 4;
                for (int r = r0; r < r0 + quarter; r++) {
                    for (int t = 0; t < tokens; t++) {
                        int o = outOff + t * outStride;
                        dotBf16Quad(seg, w.rowOffset(r), w.rowOffset(r + quarter), w.rowOffset(r + 2 * quarter),
                                w.rowOffset(r + 3 * quarter), vecCols, xd, t * cols, out, o + r, quarter);
                    }
                }
                for (int r = r0; r < r1; r++) {
                    boolean paired = r < r0 + 4 * quarter;
                    long base = w.rowOffset(r);
                    for (int t = 0; t < tokens; t++) {
                        int o = outOff + t * outStride + r;
                        float v = paired ? out[o] : dotBf16(seg, base, vecCols, xd, t * cols);
                        for (int i = vecCols; i < cols; i++) v += ScalarKernels.element(w, base, i) * x[xOff + t * cols + i];
                        out[o] = v;
                    }
                }
            }
            case F32 -> {
                for (int r = r0; r < r1; r++) {
                    for (int t = 0; t < tokens; t++) {
                        out[outOff + t * outStride + r] = dotF32(w, r, x, xOff + t * cols);
                    }
                }
            }
            case I8 -> {
                float[] xd = sc.deinterleaved(tokens * cols);
                for (int t = 0; t < tokens; t++) {
                    deinterleaveQ8(x, xOff + t * cols, cols, xd, t * cols);
                }
                // Four streams, as for BF16 (see dotBf16Quad); cols is a multiple of the group.
                int quarter = (r1 - r0) / 4;
                for (int r = r0; r < r0 + quarter; r++) {
                    for (int t = 0; t < tokens; t++) {
                        dotQ8Quad(w, r, quarter, cols, xd, t * cols, out, outOff + t * outStride + r);
                    }
                }
                for (int r = r0 + 4 * quarter; r < r1; r++) {
                    for (int t = 0; t < tokens; t++) {
                        out[outOff + t * outStride + r] = dotQ8(w, r, cols, xd, t * cols);
                    }
                }
            }
            case U8 -> {
                if (I.length() < 8) { // the FP4 magnitudes do not fit one register: widen row by row
                    float[] s = sc.stage(cols);
                    for (int r = r0; r < r1; r++) {
                        row(w, r, s, 0);
                        for (int t = 0; t < tokens; t++) out[outOff + t * outStride + r] = dot(s, 0, x, xOff + t * cols, cols);
                    }
                    return;
                }
                float[] xd = sc.deinterleaved(tokens * cols);
                for (int t = 0; t < tokens; t++) {
                    deinterleave(x, xOff + t * cols, cols, xd, t * cols);
                }
                for (int r = r0; r < r1; r++) {
                    for (int t = 0; t < tokens; t++) {
                        out[outOff + t * outStride + r] = dotMxfp4(w, r, cols, xd, t * cols);
                    }
                }
            }
            default -> stagedRows(w, x, xOff, tokens, cols, out, outOff, outStride, r0, r1, sc);
        }
    }

    /**
     * streamRows for a ggml block type: each row · token fused straight from the blocks (GgmlRows.dot, on x as it is
     * or prepared once per token and job), one (row, token) at a time, so a token's result does not depend on the
     * others (batch-invariant as it stands).
     */
    private void ggmlRows(Weight w, float[] x, int xOff, int tokens, int cols, float[] out, int outOff, int outStride,
                          int r0, int r1, Scratch sc, float[][] prepared, int pRow) {
        GgmlType type = w.ggml();
        if (!GgmlRows.fused(type)) {
            stagedRows(w, x, xOff, tokens, cols, out, outOff, outStride, r0, r1, sc);
            return;
        }
        float[] xs = x;
        int base = xOff, stride = cols;
        int layout = GgmlRows.layout(type);
        if (layout >= 0) {
            stride = GgmlRows.preparedSize(cols);
            if (prepared != null && prepared[layout] != null) {
                xs = prepared[layout];
                base = pRow * stride;
            } else {
                xs = sc.deinterleaved(tokens * stride);
                base = 0;
                GgmlRows.prepareRows(type, x, xOff, tokens, cols, xs);
            }
        }
        for (int r = r0; r < r1; r++) {
            for (int t = 0; t < tokens; t++) {
                out[outOff + t * outStride + r] = GgmlRows.dot(w, r, xs, base + t * stride);
            }
        }
    }

    /** streamRows for a dtype without a fused dot product: each row widened into scratch, then dotted. */
    private void stagedRows(Weight w, float[] x, int xOff, int tokens, int cols, float[] out, int outOff, int outStride,
                            int r0, int r1, Scratch sc) {
        float[] s = sc.stage(cols);
        for (int r = r0; r < r1; r++) {
            row(w, r, s, 0);
            for (int t = 0; t < tokens; t++) {
                out[outOff + t * outStride + r] = dot(s, 0, x, xOff + t * cols, cols);
            }
        }
    }

    private static final IntVector HIGH_HALVES = IntVector.broadcast(I, 0xFFFF0000);

    // ---------------------------------------------------------------------------------------------------------------
    // Batch-invariant BF16 products: one addition order per output element, tiled over tokens

    /**
     * out[outOff + t·outStride + r] = row r · token t over the first vecCols columns (a multiple of 2L), for rows
     * r0 .. r1 and all tokens, x deinterleaved at xd[t·cols] (see deinterleave). Every output element is added up in
     * one fixed order, whichever tile computes it: two accumulators, the even and the odd values of each block of 2L
     * columns fused into them in column order, then their sum and the same lane reduction ({@link #fixedOrderDot}). So
     * a token's result is the same bits alone, with 3 or with 15 other tokens, in any tile shape and job split. The
     * tiles (4 rows x 2 or 1 tokens) load and widen each weight vector once for both tokens, so with several tokens
     * the arithmetic is batched, not only the memory traffic: the 4 rows (a few KB) stay in L1 while the token pairs
     * pass over them. The 4 rows of a tile are one from each quarter of the range: four sequential streams, as
     * dotBf16Quad. Why pairs: a 4x4 tile with one accumulator per element (26 live registers) ran 20-25% slower than
     * 4x2 over the lm_head at 8 and 16 tokens, and one accumulator per element 3-5% slower than two (in-process,
     * alternating, on the Zen 5 VM); past ~3 tokens these products are bound by the FMA rate, not by memory
     * (docs/performance.md, session 6).
     */
    private static void fixedOrderRows(Weight w, float[] xd, int tokens, int vecCols, int cols, float[] out,
                                       int outOff, int outStride, int r0, int r1) {
        MemorySegment seg = w.data();
        int quarter = (r1 - r0) / 4;
        float[] sums = new float[8 * L];
        for (int r = r0; r < r0 + quarter; r++) {
            long a = w.rowOffset(r), b = w.rowOffset(r + quarter), c = w.rowOffset(r + 2 * quarter),
                    d = w.rowOffset(r + 3 * quarter);
            int t = 0;
            for (; t + 2 <= tokens; t += 2) {
                tile4x2(seg, a, b, c, d, vecCols, xd, t * cols, cols, sums);
                sumTile(sums, 2, out, outOff + t * outStride + r, quarter, outStride);
            }
            for (; t < tokens; t++) {
                tile4x1(seg, a, b, c, d, vecCols, xd, t * cols, sums);
                sumTile(sums, 1, out, outOff + t * outStride + r, quarter, outStride);
            }
        }
        for (int r = r0 + 4 * quarter; r < r1; r++) {
            long base = w.rowOffset(r);
            for (int t = 0; t < tokens; t++) {
                out[outOff + t * outStride + r] = fixedOrderDot(seg, base, vecCols, xd, t * cols);
            }
        }
    }

    /** The reference order of fixedOrderRows for one row and one token; the tiles compute exactly this. */
    static float fixedOrderDot(MemorySegment seg, long base, int cols, float[] xd, int xOff) {
        FloatVector even = FloatVector.zero(F), odd = even;
        for (int i = 0; i < cols; i += 2 * L) {
            IntVector v = IntVector.fromMemorySegment(I, seg, base + 2L * i, LE);
            even = v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(FloatVector.fromArray(F, xd, xOff + i), even);
            odd = v.and(HIGH_HALVES).reinterpretAsFloats().fma(FloatVector.fromArray(F, xd, xOff + i + L), odd);
        }
        return sumLanes(even.add(odd));
    }

    /**
     * out[o + j·step + u·outStride] = the lane sum of a tile's accumulator 4u + j (row j, token u), for tokens 1 or 2.
     * The sums are taken here, from the accumulators the tile stored, and not in the tile: C2 stops inlining in a
     * method with as many nodes as tile4x2 (NodeCountInliningCutoff), so seven of its eight sumLanes calls were real
     * calls that boxed their vector, which made the 8-sequence step twice as slow (docs/performance.md, session 8).
     * Here there is one call site, in a loop, inlined. Storing and reloading a vector changes no bit.
     */
    private static void sumTile(float[] sums, int tokens, float[] out, int o, int step, int outStride) {
        for (int u = 0; u < tokens; u++) {
            for (int j = 0; j < 4; j++) {
                out[o + j * step + u * outStride] = sumLanes(FloatVector.fromArray(F, sums, (4 * u + j) * L));
            }
        }
    }

    /** fixedOrderDot of rows a, b, c, d (byte offsets) with one token, before the lane sums: into sums (see sumTile). */
    private static void tile4x1(MemorySegment seg, long a, long b, long c, long d, int cols, float[] xd, int xOff,
                                float[] sums) {
        FloatVector ae = FloatVector.zero(F), ao = ae, be = ae, bo = ae, ce = ae, co = ae, de = ae, dd = ae;
        for (int i = 0; i < cols; i += 2 * L) {
            FloatVector e = FloatVector.fromArray(F, xd, xOff + i), od = FloatVector.fromArray(F, xd, xOff + i + L);
            IntVector v = IntVector.fromMemorySegment(I, seg, a + 2L * i, LE);
            ae = v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(e, ae);
            ao = v.and(HIGH_HALVES).reinterpretAsFloats().fma(od, ao);
            v = IntVector.fromMemorySegment(I, seg, b + 2L * i, LE);
            be = v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(e, be);
            bo = v.and(HIGH_HALVES).reinterpretAsFloats().fma(od, bo);
            v = IntVector.fromMemorySegment(I, seg, c + 2L * i, LE);
            ce = v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(e, ce);
            co = v.and(HIGH_HALVES).reinterpretAsFloats().fma(od, co);
            v = IntVector.fromMemorySegment(I, seg, d + 2L * i, LE);
            de = v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(e, de);
            dd = v.and(HIGH_HALVES).reinterpretAsFloats().fma(od, dd);
        }
        ae.add(ao).intoArray(sums, 0);
        be.add(bo).intoArray(sums, L);
        ce.add(co).intoArray(sums, 2 * L);
        de.add(dd).intoArray(sums, 3 * L);
    }

    /**
     * fixedOrderDot of rows a, b, c, d with tokens at xOff and xOff + xStride, before the lane sums: into sums (see
     * sumTile). 16 independent accumulator chains (row x token x even/odd), 2 widened weights and 4 activation
     * vectors live.
     */
    private static void tile4x2(MemorySegment seg, long a, long b, long c, long d, int cols, float[] xd, int xOff,
                                int xStride, float[] sums) {
        FloatVector a0e = FloatVector.zero(F), a0o = a0e, a1e = a0e, a1o = a0e, b0e = a0e, b0o = a0e, b1e = a0e, b1o = a0e;
        FloatVector c0e = a0e, c0o = a0e, c1e = a0e, c1o = a0e, d0e = a0e, d0o = a0e, d1e = a0e, d1o = a0e;
        int x1 = xOff + xStride;
        for (int i = 0; i < cols; i += 2 * L) {
            FloatVector e0 = FloatVector.fromArray(F, xd, xOff + i), o0 = FloatVector.fromArray(F, xd, xOff + i + L);
            FloatVector e1 = FloatVector.fromArray(F, xd, x1 + i), o1 = FloatVector.fromArray(F, xd, x1 + i + L);
            IntVector v = IntVector.fromMemorySegment(I, seg, a + 2L * i, LE);
            FloatVector we = v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), wo = v.and(HIGH_HALVES).reinterpretAsFloats();
            a0e = we.fma(e0, a0e);
            a0o = wo.fma(o0, a0o);
            a1e = we.fma(e1, a1e);
            a1o = wo.fma(o1, a1o);
            v = IntVector.fromMemorySegment(I, seg, b + 2L * i, LE);
            we = v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            wo = v.and(HIGH_HALVES).reinterpretAsFloats();
            b0e = we.fma(e0, b0e);
            b0o = wo.fma(o0, b0o);
            b1e = we.fma(e1, b1e);
            b1o = wo.fma(o1, b1o);
            v = IntVector.fromMemorySegment(I, seg, c + 2L * i, LE);
            we = v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            wo = v.and(HIGH_HALVES).reinterpretAsFloats();
            c0e = we.fma(e0, c0e);
            c0o = wo.fma(o0, c0o);
            c1e = we.fma(e1, c1e);
            c1o = wo.fma(o1, c1o);
            v = IntVector.fromMemorySegment(I, seg, d + 2L * i, LE);
            we = v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            wo = v.and(HIGH_HALVES).reinterpretAsFloats();
            d0e = we.fma(e0, d0e);
            d0o = wo.fma(o0, d0o);
            d1e = we.fma(e1, d1e);
            d1o = wo.fma(o1, d1o);
        }
        a0e.add(a0o).intoArray(sums, 0);
        b0e.add(b0o).intoArray(sums, L);
        c0e.add(c0o).intoArray(sums, 2 * L);
        d0e.add(d0o).intoArray(sums, 3 * L);
        a1e.add(a1o).intoArray(sums, 4 * L);
        b1e.add(b1o).intoArray(sums, 5 * L);
        c1e.add(c1o).intoArray(sums, 6 * L);
        d1e.add(d1o).intoArray(sums, 7 * L);
    }

    /**
     * One BF16 row · x over cols (a multiple of 2L), x given deinterleaved (see deinterleave). An int lane holds two
     * bf16 values: shifted left 16 it is the even one as a float, masked it is the odd one — one 2L-wide load, two
     * ALU ops, no shape change.
     */
    private static float dotBf16(MemorySegment seg, long base, int cols, float[] xd, int xOff) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F), a2 = FloatVector.zero(F), a3 = FloatVector.zero(F);
        int i = 0;
        for (; i <= cols - 4 * L; i += 4 * L) {
            long b = base + 2L * i;
            IntVector v = IntVector.fromMemorySegment(I, seg, b, LE);
            a0 = v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(FloatVector.fromArray(F, xd, xOff + i), a0);
            a1 = v.and(HIGH_HALVES).reinterpretAsFloats().fma(FloatVector.fromArray(F, xd, xOff + i + L), a1);
            v = IntVector.fromMemorySegment(I, seg, b + 4L * L, LE);
            a2 = v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(FloatVector.fromArray(F, xd, xOff + i + 2 * L), a2);
            a3 = v.and(HIGH_HALVES).reinterpretAsFloats().fma(FloatVector.fromArray(F, xd, xOff + i + 3 * L), a3);
        }
        for (; i < cols; i += 2 * L) {
            IntVector v = IntVector.fromMemorySegment(I, seg, base + 2L * i, LE);
            a0 = v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(FloatVector.fromArray(F, xd, xOff + i), a0);
            a1 = v.and(HIGH_HALVES).reinterpretAsFloats().fma(FloatVector.fromArray(F, xd, xOff + i + L), a1);
        }
        return sumLanes(a0.add(a1).add(a2.add(a3)));
    }

    /**
     * dotBf16 of four rows at once: out[o + j·step] = row j · x for the rows at byte offsets a, b, c, d, over cols (a
     * multiple of 2L), with each activation load shared by the four rows. The rows are far apart (the four quarters
     * of a job's range), so the core runs four sequential streams: the prefetcher restarts at every 4 KB page, and
     * more streams keep more misses in flight. On this machine one stream per core read 11 GB/s, two 17 GB/s; in an
     * in-process A/B (KernelAB, one token, both orders) four streams read 1.13-1.21x as fast as two on a 64 MB matrix
     * and 1.07-1.10x on OLMoE-1B-7B's experts.
     */
    private static void dotBf16Quad(MemorySegment seg, long a, long b, long c, long d, int cols, float[] xd, int xOff,
                                    float[] out, int o, int step) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, b0 = a0, b1 = a0, c0 = a0, c1 = a0, d0 = a0, d1 = a0;
        for (int i = 0; i < cols; i += 2 * L) {
            FloatVector even = FloatVector.fromArray(F, xd, xOff + i);
            FloatVector odd = FloatVector.fromArray(F, xd, xOff + i + L);
            IntVector v = IntVector.fromMemorySegment(I, seg, a + 2L * i, LE);
            a0 = v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(even, a0);
            a1 = v.and(HIGH_HALVES).reinterpretAsFloats().fma(odd, a1);
            v = IntVector.fromMemorySegment(I, seg, b + 2L * i, LE);
            b0 = v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(even, b0);
            b1 = v.and(HIGH_HALVES).reinterpretAsFloats().fma(odd, b1);
            v = IntVector.fromMemorySegment(I, seg, c + 2L * i, LE);
            c0 = v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(even, c0);
            c1 = v.and(HIGH_HALVES).reinterpretAsFloats().fma(odd, c1);
            v = IntVector.fromMemorySegment(I, seg, d + 2L * i, LE);
            d0 = v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(even, d0);
            d1 = v.and(HIGH_HALVES).reinterpretAsFloats().fma(odd, d1);
        }
        out[o] = sumLanes(a0.add(a1));
        out[o + step] = sumLanes(b0.add(b1));
        out[o + 2 * step] = sumLanes(c0.add(c1));
        out[o + 3 * step] = sumLanes(d0.add(d1));
    }

    /**
     * xd[off + b·2L ..] = within each block of 2L values of x, the L even-indexed ones then the L odd-indexed ones (the
     * order dotBf16 widens a row in); a tail shorter than 2L is copied as is.
     */
    private static void deinterleave(float[] x, int xOff, int cols, float[] xd, int off) {
        int vec = cols - cols % (2 * L);
        for (int b = 0; b < vec; b += 2 * L) {
            for (int j = 0; j < L; j++) {
                xd[off + b + j] = x[xOff + b + 2 * j];
                xd[off + b + L + j] = x[xOff + b + 2 * j + 1];
            }
        }
        System.arraycopy(x, xOff + vec, xd, off + vec, cols - vec);
    }

    // Q8_0 (I8) rows: one QI-lane int load holds 4·QI.length() int8 values; shifting each lane left by 24, 16, 8 or 0
    // bits and then arithmetically right by 24 yields its byte 0, 1, 2 or 3 as an int, converted to float in place. So
    // x is reordered to match (deinterleaveQ8), and a group's partial sum is scaled once. At most 256 bits: a group
    // (32 values) then spans whole loads. Why shifts: ByteVector.convertShape(B2F) from a 64-bit species read 7 GB/s
    // against the shifts' 16-21 GB/s in a probe, and this loop with the group sum in a helper method read 3 GB/s (C2
    // kept boxing the vectors).
    static final VectorSpecies<Integer> QI = I.vectorBitSize() > 256 ? IntVector.SPECIES_256 : I;
    static final VectorSpecies<Float> QF = QI.vectorBitSize() == F.vectorBitSize() ? F : FloatVector.SPECIES_256;
    private static final int QL = QI.length();
    /** Int loads per group of an I8 row. */
    private static final int Q_LOADS = Weight.GROUP / (4 * QL);
    private static final VectorOperators.Binary SHL = VectorOperators.LSHL, SAR = VectorOperators.ASHR;
    private static final VectorOperators.Conversion<Integer, Float> I2F = VectorOperators.I2F;
    /** Bytes filling a quarter of a float register: one load widens to one float vector (widen of I8 rows). */
    static final VectorSpecies<Byte> B = ByteVector.SPECIES_PREFERRED.withShape(
            VectorShape.forBitSize(F.vectorBitSize() / 4));

    /**
     * xd[off ..] = x[xOff .. xOff + cols) in the order the I8 dot products read it: within each run of 4·QL values (one
     * int load), value 4i + j goes to position j·QL + i.
     */
    private static void deinterleaveQ8(float[] x, int xOff, int cols, float[] xd, int off) {
        int run = 4 * QL;
        for (int b = 0; b < cols; b += run) {
            for (int i = 0; i < QL; i++) {
                for (int j = 0; j < 4; j++) {
                    xd[off + b + j * QL + i] = x[xOff + b + 4 * i + j];
                }
            }
        }
    }

    /** Σ over one I8 row r of w · x (x deinterleaved by deinterleaveQ8 at xOff). */
    private static float dotQ8(Weight w, int r, int cols, float[] xd, int xOff) {
        MemorySegment seg = w.data(), scales = w.scales();
        long base = w.rowOffset(r), sBase = w.scaleOffset(r);
        FloatVector acc = FloatVector.zero(QF);
        for (int g = 0; g < cols; g += Weight.GROUP) {
            FloatVector p = FloatVector.zero(QF);
            for (int v = 0; v < Q_LOADS; v++) {
                int c = g + v * 4 * QL;
                IntVector q = IntVector.fromMemorySegment(QI, seg, base + c, LE);
                p = ((FloatVector) q.lanewise(SHL, 24).lanewise(SAR, 24)
                        .convert(I2F, 0)).fma(FloatVector.fromArray(QF, xd, xOff + c), p);
                p = ((FloatVector) q.lanewise(SHL, 16).lanewise(SAR, 24)
                        .convert(I2F, 0)).fma(FloatVector.fromArray(QF, xd, xOff + c + QL), p);
                p = ((FloatVector) q.lanewise(SHL, 8).lanewise(SAR, 24)
                        .convert(I2F, 0)).fma(FloatVector.fromArray(QF, xd, xOff + c + 2 * QL), p);
                p = ((FloatVector) q.lanewise(SAR, 24)
                        .convert(I2F, 0)).fma(FloatVector.fromArray(QF, xd, xOff + c + 3 * QL), p);
            }
            acc = p.fma(FloatVector.broadcast(QF, scales.get(ScalarKernels.F32, sBase + 4L * (g / Weight.GROUP))), acc);
        }
        return sumLanes(acc);
    }

    /**
     * dotQ8 of rows r, r + step, r + 2·step, r + 3·step into out[o], out[o + step], ...: four far-apart streams, as
     * dotBf16Quad, with each activation load shared. Written out in one method: with the per-row group sum in a
     * helper, C2 kept allocating the vectors it returned (four to five times slower).
     */
    private static void dotQ8Quad(Weight w, int r, int step, int cols, float[] xd, int xOff, float[] out, int o) {
        MemorySegment seg = w.data(), scales = w.scales();
        long a = w.rowOffset(r), b = w.rowOffset(r + step), c = w.rowOffset(r + 2 * step), d = w.rowOffset(r + 3 * step);
        long sa = w.scaleOffset(r), sb = w.scaleOffset(r + step), sc = w.scaleOffset(r + 2 * step),
                sd = w.scaleOffset(r + 3 * step);
        FloatVector accA = FloatVector.zero(QF), accB = accA, accC = accA, accD = accA;
        for (int g = 0; g < cols; g += Weight.GROUP) {
            FloatVector pa = FloatVector.zero(QF), pb = pa, pc = pa, pd = pa;
            for (int v = 0; v < Q_LOADS; v++) {
                int k = g + v * 4 * QL;
                FloatVector x0 = FloatVector.fromArray(QF, xd, xOff + k);
                FloatVector x1 = FloatVector.fromArray(QF, xd, xOff + k + QL);
                FloatVector x2 = FloatVector.fromArray(QF, xd, xOff + k + 2 * QL);
                FloatVector x3 = FloatVector.fromArray(QF, xd, xOff + k + 3 * QL);
                IntVector q = IntVector.fromMemorySegment(QI, seg, a + k, LE);
                pa = ((FloatVector) q.lanewise(SHL, 24).lanewise(SAR, 24).convert(I2F, 0)).fma(x0, pa);
                pa = ((FloatVector) q.lanewise(SHL, 16).lanewise(SAR, 24).convert(I2F, 0)).fma(x1, pa);
                pa = ((FloatVector) q.lanewise(SHL, 8).lanewise(SAR, 24).convert(I2F, 0)).fma(x2, pa);
                pa = ((FloatVector) q.lanewise(SAR, 24).convert(I2F, 0)).fma(x3, pa);
                q = IntVector.fromMemorySegment(QI, seg, b + k, LE);
                pb = ((FloatVector) q.lanewise(SHL, 24).lanewise(SAR, 24).convert(I2F, 0)).fma(x0, pb);
                pb = ((FloatVector) q.lanewise(SHL, 16).lanewise(SAR, 24).convert(I2F, 0)).fma(x1, pb);
                pb = ((FloatVector) q.lanewise(SHL, 8).lanewise(SAR, 24).convert(I2F, 0)).fma(x2, pb);
                pb = ((FloatVector) q.lanewise(SAR, 24).convert(I2F, 0)).fma(x3, pb);
                q = IntVector.fromMemorySegment(QI, seg, c + k, LE);
                pc = ((FloatVector) q.lanewise(SHL, 24).lanewise(SAR, 24).convert(I2F, 0)).fma(x0, pc);
                pc = ((FloatVector) q.lanewise(SHL, 16).lanewise(SAR, 24).convert(I2F, 0)).fma(x1, pc);
                pc = ((FloatVector) q.lanewise(SHL, 8).lanewise(SAR, 24).convert(I2F, 0)).fma(x2, pc);
                pc = ((FloatVector) q.lanewise(SAR, 24).convert(I2F, 0)).fma(x3, pc);
                q = IntVector.fromMemorySegment(QI, seg, d + k, LE);
                pd = ((FloatVector) q.lanewise(SHL, 24).lanewise(SAR, 24).convert(I2F, 0)).fma(x0, pd);
                pd = ((FloatVector) q.lanewise(SHL, 16).lanewise(SAR, 24).convert(I2F, 0)).fma(x1, pd);
                pd = ((FloatVector) q.lanewise(SHL, 8).lanewise(SAR, 24).convert(I2F, 0)).fma(x2, pd);
                pd = ((FloatVector) q.lanewise(SAR, 24).convert(I2F, 0)).fma(x3, pd);
            }
            int s = 4 * (g / Weight.GROUP);
            accA = pa.fma(FloatVector.broadcast(QF, scales.get(ScalarKernels.F32, sa + s)), accA);
            accB = pb.fma(FloatVector.broadcast(QF, scales.get(ScalarKernels.F32, sb + s)), accB);
            accC = pc.fma(FloatVector.broadcast(QF, scales.get(ScalarKernels.F32, sc + s)), accC);
            accD = pd.fma(FloatVector.broadcast(QF, scales.get(ScalarKernels.F32, sd + s)), accD);
        }
        out[o] = sumLanes(accA);
        out[o + step] = sumLanes(accB);
        out[o + 2 * step] = sumLanes(accC);
        out[o + 3 * step] = sumLanes(accD);
    }

    // MXFP4 (U8) rows: L bytes widen to L ints (one byte each); a byte's low nibble is value 2i, its high nibble value
    // 2i + 1, so x is read deinterleaved in blocks of 2L (see deinterleave), as for BF16. A nibble's float is the
    // magnitude code (bits 0..2) looked up in a register, with bit 3 moved to the float's sign bit.
    /** L bytes of an MXFP4 row: one load widens to one int vector. */
    static final VectorSpecies<Byte> BQ = ByteVector.SPECIES_PREFERRED.withShape(VectorShape.forBitSize(I.vectorBitSize() / 4));
    /** Lanes 0..7: the float bits of the FP4 magnitudes 0, 0.5, 1, 1.5, 2, 3, 4, 6 (needs at least 8 int lanes). */
    private static final IntVector FP4_MAGNITUDES = I.length() < 8 ? null : IntVector.fromArray(I, fp4MagnitudeBits(), 0);

    /** With 16 or more int lanes, all 16 FP4 codes' float bits: one lookup a value. */
    private static final IntVector FP4_CODES = I.length() < 16 ? null : IntVector.fromArray(I, fp4MagnitudeBits(), 0);

    private static int[] fp4MagnitudeBits() {
        int[] bits = new int[I.length()];
        for (int i = 0; i < Math.min(16, bits.length); i++) bits[i] = Float.floatToRawIntBits(Weight.FP4[i]);
        return bits;
    }

    /** The floats of the FP4 codes in the int lanes of codes (0..15). */
    private static FloatVector fp4(IntVector codes) {
        if (FP4_CODES != null) { // AVX-512: one permute of the 16-entry table instead of four operations
            return codes.selectFrom(FP4_CODES).reinterpretAsFloats();
        }
        return codes.and(7).selectFrom(FP4_MAGNITUDES).or(codes.and(8).lanewise(VectorOperators.LSHL, 28))
                .reinterpretAsFloats();
    }

    /** Σ over one MXFP4 row r of w · x (x deinterleaved in blocks of 2L at xOff); each group's sum scaled once. */
    private static float dotMxfp4(Weight w, int r, int cols, float[] xd, int xOff) {
        MemorySegment seg = w.data(), scales = w.scales();
        long base = w.rowOffset(r), sBase = w.scaleOffset(r);
        FloatVector acc = FloatVector.zero(F);
        for (int g = 0; g < cols; g += Weight.MXFP4_GROUP) {
            FloatVector p = FloatVector.zero(F);
            for (int c = g; c < g + Weight.MXFP4_GROUP; c += 2 * L) {
                IntVector v = (IntVector) ByteVector.fromMemorySegment(BQ, seg, base + c / 2, LE)
                        .convertShape(VectorOperators.B2I, I, 0);
                p = fp4(v.and(0xF)).fma(FloatVector.fromArray(F, xd, xOff + c), p);
                p = fp4(v.lanewise(VectorOperators.ASHR, 4).and(0xF)).fma(FloatVector.fromArray(F, xd, xOff + c + L), p);
            }
            int e = scales.get(ValueLayout.JAVA_BYTE, sBase + g / Weight.MXFP4_GROUP) & 0xFF;
            acc = p.fma(FloatVector.broadcast(F, Math.scalb(1f, e - 127)), acc);
        }
        return sumLanes(acc);
    }

    /** Row r of an F32 weight · x[xOff ..], read straight from the mapping (the F32 path of the streamed matvec). */
    private static float dotF32(Weight w, int r, float[] x, int xOff) {
        int cols = w.cols();
        MemorySegment seg = w.data();
        long base = w.rowOffset(r);
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        int i = 0;
        for (; i < cols - 2 * L + 1; i += 2 * L) {
            acc0 = FloatVector.fromMemorySegment(F, seg, base + 4L * i, LE).fma(FloatVector.fromArray(F, x, xOff + i), acc0);
            acc1 = FloatVector.fromMemorySegment(F, seg, base + 4L * (i + L), LE)
                    .fma(FloatVector.fromArray(F, x, xOff + i + L), acc1);
        }
        for (; i <= cols - L; i += L) {
            acc0 = FloatVector.fromMemorySegment(F, seg, base + 4L * i, LE).fma(FloatVector.fromArray(F, x, xOff + i), acc0);
        }
        float s = sumLanes(acc0.add(acc1));
        for (; i < cols; i++) {
            s += x[xOff + i] * seg.get(ScalarKernels.F32, base + 4L * i);
        }
        return s;
    }

    /** Loads L bf16 values at byte offset off and widens them to floats. */
    static FloatVector bf16(MemorySegment seg, long off) {
        ShortVector s = ShortVector.fromMemorySegment(S, seg, off, LE);
        return ((IntVector) s.convertShape(VectorOperators.S2I, I, 0)).lanewise(VectorOperators.LSHL, 16)
                .reinterpretAsFloats();
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Mixture of experts

    @Override
    public void moe(float[] out, float[] x, int tokens, int[] topkIds, float[] topkWeights, int k, Experts experts) {
        Weight[] gate = experts.gate(), up = experts.up(), down = experts.down();
        int E = gate.length;
        int H = down[0].rows();
        int inter = gate[0].rows();
        int slots = tokens * k;
        Workspace work = workspaces.get();
        // Layout of ints: count (E), start (E+1), xAt (E), hAt (E), tokenOf (slots), slotOf (slots), cursor (E).
        int count = 0, start = E, xAt = 2 * E + 1, hAt = 3 * E + 1, tokenOf = 4 * E + 1, slotOf = tokenOf + slots;
        int cursor = slotOf + slots;
        final int[] in = work.ints(cursor + E);
        Arrays.fill(in, 0, E, 0);
        for (int s = 0; s < slots; s++) {
            int e = topkIds[s];
            if (e < 0 || e >= E) throw new IllegalArgumentException("expert id " + e + " out of range");
            in[count + e]++;
        }
        // Per expert: its slots (tokens in ascending order), where its panels and intermediate rows go.
        int panelFloats = 0, interFloats = 0;
        in[start] = 0;
        for (int e = 0; e < E; e++) {
            int n = in[count + e];
            in[start + e + 1] = in[start + e] + n;
            in[cursor + e] = in[start + e];
            in[xAt + e] = panelFloats;
            in[hAt + e] = interFloats;
            if (!streams(n)) {
                panelFloats += panels(n) * P * H;
                interFloats += panels(n) * P * inter;
            } else {
                interFloats += n * inter;
            }
        }
        for (int t = 0; t < tokens; t++) {
            for (int j = 0; j < k; j++) {
                int e = topkIds[t * k + j];
                int s = in[cursor + e]++;
                in[tokenOf + s] = t;
                in[slotOf + t * k + j] = s;
            }
        }
        float[] panels = work.panels(panelFloats);
        float[] h = work.inter(interFloats);
        float[] o = work.expertOut(slots * H);
        long macs = (long) slots * H * inter * 3;
        boolean parallel = macs >= PARALLEL_MIN_MACS;

        // Phase 1: the panels of every expert that runs tiled. Job = (expert, panel).
        int packJobs = 0;
        for (int e = 0; e < E; e++) {
            if (!streams(in[count + e])) packJobs += panels(in[count + e]);
        }
        int[] jobs = work.jobs(Math.max(packJobs, 1));
        int nj = 0;
        for (int e = 0; e < E; e++) {
            int n = in[count + e];
            if (streams(n)) continue;
            for (int p = 0; p < panels(n); p++) {
                jobs[3 * nj] = e;
                jobs[3 * nj + 1] = p;
                nj++;
            }
        }
        final int[] packTable = jobs;
        region(parallel ? nj : 1, nj, job -> {
            int e = packTable[3 * job];
            pack(x, in, tokenOf + in[start + e], in[count + e], H, packTable[3 * job + 1], panels, in[xAt + e]);
        });

        // Phase 2: h = silu(x · gateᵀ) ⊙ (x · upᵀ) for every expert. Job = (expert, block of intermediate rows).
        // In decode every expert streams the same token rows: prepared once here for all of them (see prepare).
        boolean allStream = tokens <= STREAM_MAX_TOKENS && !invariant;
        final float[][] prepared = allStream ? work.prepare(x, tokens, H, gate, up) : null;
        final int[] upTable = expertJobs(in, count, E, inter, H, true);
        int upJobs = upTable.length / 3;
        region(parallel ? upJobs : 1, upJobs, job -> {
            int e = upTable[3 * job];
            int n = in[count + e];
            int r0 = upTable[3 * job + 1], r1 = upTable[3 * job + 2];
            if (!streams(n)) {
                swigluTiled(experts, e, panels, in[xAt + e], n, h, in[hAt + e], r0, r1);
            } else {
                swigluStream(experts, e, x, in, tokenOf + in[start + e], n, h, in[hAt + e], r0, r1, prepared);
            }
        });

        // Phase 3: o[slot] = down · h. Job = (expert, block of hidden rows).
        // In decode every expert streams, and h holds the slots' rows in expert order (row in[hAt + e] / inter + i):
        // prepared once here, not by each of an expert's jobs (about 150 preparations a token on OLMoE's shape).
        final float[][] preparedH = allStream ? work.prepare(h, slots, inter, down) : null;
        final int[] downTable = expertJobs(in, count, E, H, inter, false);
        int downJobs = downTable.length / 3;
        region(parallel ? downJobs : 1, downJobs, job -> {
            int e = downTable[3 * job];
            int n = in[count + e];
            int r0 = downTable[3 * job + 1], r1 = downTable[3 * job + 2];
            int oOff = in[start + e] * H;
            if (!streams(n)) {
                tiledRows(down[e], h, in[hAt + e], n, o, oOff, H, r0, r1);
            } else {
                streamRows(down[e], h, in[hAt + e], n, inter, o, oOff, H, r0, r1, preparedH, in[hAt + e] / inter);
            }
            if (experts.downBias() != null) {
                for (int t = 0; t < n; t++) {
                    for (int r = r0; r < r1; r++) o[oOff + t * H + r] += experts.downBias(e, r);
                }
            }
        });

        // Phase 4: out[t] = Σ weight · o[slot] in ascending expert id. Job = block of tokens.
        int tokenBlock = 16;
        int blocks = (tokens + tokenBlock - 1) / tokenBlock;
        region(parallel ? blocks : 1, blocks, b -> {
            int[] order = new int[k];
            for (int t = b * tokenBlock; t < Math.min(tokens, (b + 1) * tokenBlock); t++) {
                Arrays.fill(out, t * H, (t + 1) * H, 0f);
                ScalarKernels.ascendingExperts(topkIds, t * k, k, order);
                for (int j : order) {
                    axpy(out, t * H, topkWeights[t * k + j], o, in[slotOf + t * k + j] * H, H);
                }
            }
        });
    }

    /**
     * Jobs (expert, r0, r1) covering the rows of every expert that has tokens: for a tiled expert one block of
     * widened rows (pairs: gate and up rows together, so half as many), for a streamed one by JOB_MACS.
     */
    private int[] expertJobs(int[] in, int count, int experts, int rows, int cols, boolean pairs) {
        int total = 0;
        for (int e = 0; e < experts; e++) {
            int n = in[count + e];
            if (n == 0) continue;
            int per = streams(n) ? rowsPerJob(rows, (long) jobTokens(n) * cols, 4)
                    : pairs ? blockRows(cols) / 2 : blockRows(cols);
            total += (rows + per - 1) / per;
        }
        int[] jobs = new int[3 * total];
        int j = 0;
        for (int e = 0; e < experts; e++) {
            int n = in[count + e];
            if (n == 0) continue;
            int per = streams(n) ? rowsPerJob(rows, (long) jobTokens(n) * cols, 4)
                    : pairs ? blockRows(cols) / 2 : blockRows(cols);
            for (int r = 0; r < rows; r += per) {
                jobs[3 * j] = e;
                jobs[3 * j + 1] = r;
                jobs[3 * j + 2] = Math.min(rows, r + per);
                j++;
            }
        }
        return jobs;
    }

    /**
     * Intermediate rows r0 .. r1 of one expert, tiled: MR/2 gate rows and the same up rows make one MR-row
     * tile, so silu(g) · u is formed from the tile and stored as panels (h[p][row][token]), the down projection's
     * input. Blocked like tiledRows.
     */
    private void swigluTiled(Experts experts, int e, float[] panels, int pOff, int tokens, float[] h, int hOff,
                             int r0, int r1) {
        Weight gate = experts.gate()[e], up = experts.up()[e];
        int cols = gate.cols();
        int inter = gate.rows();
        int half = MR / 2;
        Scratch sc = SCRATCH.get();
        int tiles = (r1 - r0 + half - 1) / half;
        int tileFloats = tileFloats(cols);
        float[] s = sc.stage(tiles * tileFloats);
        for (int b = 0; b < tiles; b++) {
            int r = r0 + b * half;
            stageTile(gate, up, r, Math.min(half, r1 - r), s, b * tileFloats);
        }
        float[] acc = sc.tiles(tiles * MR * P);
        int np = panels(tokens);
        for (int p = 0; p < np; p++) {
            boolean wide = tokens - p * P > L;
            int base = hOff + p * inter * P;
            blockProduct(s, tiles, cols, panels, pOff + p * cols * P, wide, acc);
            for (int b = 0; b < tiles; b++) {
                int r = r0 + b * half;
                int nr = Math.min(half, r1 - r);
                int a = b * MR * P;
                for (int j = 0; j < nr; j++) {
                    float gb = experts.gateBias(e, r + j), ub = experts.upBias(e, r + j);
                    activate(acc, a + j * P, a + (half + j) * P, gb, ub, experts.swigluLimit(), h, base + (r + j) * P);
                    if (wide) {
                        activate(acc, a + j * P + L, a + (half + j) * P + L, gb, ub, experts.swigluLimit(), h,
                                base + (r + j) * P + L);
                    } else {
                        Arrays.fill(h, base + (r + j) * P + L, base + (r + j) * P + P, 0f);
                    }
                }
            }
        }
    }

    /**
     * dst[d..d+L) = the experts' activation of gate a[g..g+L) + gb and up a[u..u+L) + ub (see Experts.activate):
     * silu(gate) · up when limit is 0 (the biases are then 0, and adding them changes nothing).
     */
    private static void activate(float[] a, int g, int u, float gb, float ub, float limit, float[] dst, int d) {
        FloatVector gv = FloatVector.fromArray(F, a, g).add(gb);
        FloatVector uv = FloatVector.fromArray(F, a, u).add(ub);
        if (limit == 0f) {
            FloatVector sig = Exp.exp(gv.neg()).add(1f);
            gv.div(sig).mul(uv).intoArray(dst, d);
            return;
        }
        gv = gv.min(limit);
        uv = uv.max(-limit).min(limit);
        FloatVector sig = Exp.exp(gv.mul(-Experts.SWIGLU_ALPHA)).add(1f);
        gv.div(sig).mul(uv.add(1f)).intoArray(dst, d);
    }

    /** Intermediate rows r0 .. r1 of one expert for its few tokens (rows of x listed in rowOf), token-major h. */
    private void swigluStream(Experts experts, int e, float[] x, int[] rowOf, int rowBase, int tokens, float[] h,
                              int hOff, int r0, int r1, float[][] prepared) {
        Weight gate = experts.gate()[e], up = experts.up()[e];
        int cols = gate.cols();
        int inter = gate.rows();
        Scratch sc = SCRATCH.get();
        if (invariant) {
            // All the expert's tokens in one product per weight (fixedOrderRows tiles over them); results as one by one.
            float[] xg = sc.gathered(tokens * cols);
            for (int i = 0; i < tokens; i++) System.arraycopy(x, rowOf[rowBase + i] * cols, xg, i * cols, cols);
            int n = r1 - r0;
            float[] u = sc.aux(tokens * n);
            streamRows(gate, xg, 0, tokens, cols, h, hOff, inter, r0, r1);
            streamRows(up, xg, 0, tokens, cols, u, -r0, n, r0, r1);
            for (int i = 0; i < tokens; i++) {
                int hRow = hOff + i * inter;
                for (int r = r0; r < r1; r++) {
                    h[hRow + r] = experts.activate(h[hRow + r] + experts.gateBias(e, r),
                            u[i * n + r - r0] + experts.upBias(e, r));
                }
            }
            return;
        }
        for (int i = 0; i < tokens; i++) {
            int row = rowOf[rowBase + i], xOff = row * cols;
            int hRow = hOff + i * inter;
            streamRows(gate, x, xOff, 1, cols, h, hRow, 0, r0, r1, prepared, row);
            float[] u = sc.aux(r1 - r0);
            streamRows(up, x, xOff, 1, cols, u, -r0, 0, r0, r1, prepared, row);
            for (int r = r0; r < r1; r++) {
                h[hRow + r] = experts.activate(h[hRow + r] + experts.gateBias(e, r), u[r - r0] + experts.upBias(e, r));
            }
        }
    }

    /**
     * Rows of w widened one at a time and added into every token's output; the columns are split between the cores
     * (each job widens its own column range of every row), so a row's weights are read once.
     */
    @Override
    public void matmulTransposed(float[] out, float[] x, int tokens, Weight w) {
        int rows = w.rows(), cols = w.cols();
        java.util.Arrays.fill(out, 0, tokens * cols, 0f);
        int chunk = Math.max(KC, (cols / Math.max(1, threads()) + KC - 1) / KC * KC); // KC: a multiple of Q8_0's group
        int jobs = (cols + chunk - 1) / chunk;
        long work = (long) rows * cols * tokens;
        region(work >= PARALLEL_MIN_MACS ? jobs : 1, jobs, job -> {
            int c0 = job * chunk;
            int n = Math.min(chunk, cols - c0);
            float[] row = SCRATCH.get().scores(n);
            for (int r = 0; r < rows; r++) {
                widen(w, r, c0, n, row, 0);
                for (int t = 0; t < tokens; t++) {
                    axpy(out, t * cols + c0, x[t * rows + r], row, 0, n);
                }
            }
        });
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Attention

    @Override
    public void attention(float[] out, float[] q, int tokens, float[] keys, float[] values, int[] cacheRow,
                          int[] visibleFrom, int heads, int kvHeads, int headDim, float scale, float[] sinks) {
        int dim = heads * headDim;
        int kvDim = kvHeads * headDim;
        int group = heads / kvHeads;
        long work = 0;
        for (int t = 0; t < tokens; t++) work += (long) (cacheRow[t] - visibleFrom[t] + 1) * dim * 2;
        // The query heads of one kv head read the same cache rows: a job takes `per` of them in turn, so for all but
        // the first the rows come from its own core's cache (grouped-query attention: 4-8 heads a kv head; absorbed
        // MLA: all heads one). Halved while that would leave fewer than two jobs a thread. Each head's result is the
        // same computation whichever job runs it.
        int perJob = headsPerJob(tokens, heads, group), jobsPerToken = heads / perJob;
        int jobs = tokens * jobsPerToken;
        region(work >= PARALLEL_MIN_MACS ? jobs : 1, jobs, job -> {
            int t = job / jobsPerToken;
            int from = visibleFrom[t];
            int seen = cacheRow[t] - from + 1;
            float[] scores = SCRATCH.get().scores(seen);
            int h0 = job % jobsPerToken * perJob;
            for (int hh = h0; hh < h0 + perJob; hh++) {
                int qOff = t * dim + hh * headDim;
                int kOff = from * kvDim + (hh / group) * headDim;
                int j = 0;
                for (; j + 4 <= seen; j += 4) {
                    scores4(q, qOff, keys, kOff + j * kvDim, kvDim, headDim, scale, scores, j);
                }
                for (; j < seen; j++) {
                    scores[j] = dot(q, qOff, keys, kOff + j * kvDim, headDim) * scale;
                }
                if (sinks == null) {
                    softmax(scores, 0, seen);
                } else {
                    ScalarKernels.softmaxWithSink(scores, 0, seen, sinks[hh]);
                }
                weightedSum(out, qOff, scores, seen, values, kOff, kvDim, headDim);
            }
        });
    }

    /** Query heads an attention job runs: the `group` sharing a kv head, halved while that leaves under two jobs a thread. */
    private int headsPerJob(int tokens, int heads, int group) {
        int per = group;
        while (per > 1 && per % 2 == 0 && (long) tokens * (heads / per) < 2L * threads()) per /= 2;
        return per;
    }

    /** scores[at .. at+4) = scale · q · (the 4 keys at kOff, kOff + stride, ...): one query load feeds four keys. */
    private static void scores4(float[] q, int qOff, float[] keys, int kOff, int stride, int n, float scale,
                                float[] scores, int at) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F), a2 = FloatVector.zero(F), a3 = FloatVector.zero(F);
        int k1 = kOff + stride, k2 = k1 + stride, k3 = k2 + stride;
        int i = 0;
        for (; i <= n - L; i += L) {
            FloatVector qv = FloatVector.fromArray(F, q, qOff + i);
            a0 = FloatVector.fromArray(F, keys, kOff + i).fma(qv, a0);
            a1 = FloatVector.fromArray(F, keys, k1 + i).fma(qv, a1);
            a2 = FloatVector.fromArray(F, keys, k2 + i).fma(qv, a2);
            a3 = FloatVector.fromArray(F, keys, k3 + i).fma(qv, a3);
        }
        float s0 = sumLanes(a0), s1 = sumLanes(a1);
        float s2 = sumLanes(a2), s3 = sumLanes(a3);
        for (; i < n; i++) {
            float qi = q[qOff + i];
            s0 += qi * keys[kOff + i];
            s1 += qi * keys[k1 + i];
            s2 += qi * keys[k2 + i];
            s3 += qi * keys[k3 + i];
        }
        scores[at] = s0 * scale;
        scores[at + 1] = s1 * scale;
        scores[at + 2] = s2 * scale;
        scores[at + 3] = s3 * scale;
    }

    /**
     * out[off .. off+n) = Σ_j p[j] · value row j (rows at vOff + j·stride), j ascending. Four vectors of the output
     * stay in registers over all rows, so each output element is written once instead of once per row.
     */
    private static void weightedSum(float[] out, int off, float[] p, int rows, float[] values, int vOff, int stride, int n) {
        int i = 0;
        for (; i <= n - 4 * L; i += 4 * L) {
            FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F), a2 = FloatVector.zero(F), a3 = FloatVector.zero(F);
            for (int j = 0, v = vOff + i; j < rows; j++, v += stride) {
                FloatVector pj = FloatVector.broadcast(F, p[j]);
                a0 = FloatVector.fromArray(F, values, v).fma(pj, a0);
                a1 = FloatVector.fromArray(F, values, v + L).fma(pj, a1);
                a2 = FloatVector.fromArray(F, values, v + 2 * L).fma(pj, a2);
                a3 = FloatVector.fromArray(F, values, v + 3 * L).fma(pj, a3);
            }
            a0.intoArray(out, off + i);
            a1.intoArray(out, off + i + L);
            a2.intoArray(out, off + i + 2 * L);
            a3.intoArray(out, off + i + 3 * L);
        }
        for (; i <= n - L; i += L) {
            FloatVector a = FloatVector.zero(F);
            for (int j = 0, v = vOff + i; j < rows; j++, v += stride) {
                a = FloatVector.fromArray(F, values, v).fma(FloatVector.broadcast(F, p[j]), a);
            }
            a.intoArray(out, off + i);
        }
        for (; i < n; i++) {
            float a = 0f;
            for (int j = 0; j < rows; j++) a += p[j] * values[vOff + j * stride + i];
            out[off + i] = a;
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Loss

    @Override
    public void crossEntropy(float[] logits, int rows, int vocab, int[] targets, float[] nll, int[] argmax) {
        region(rows, rows, r -> {
            int off = r * vocab;
            int i = 0;
            FloatVector m = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
            for (; i <= vocab - L; i += L) m = m.max(FloatVector.fromArray(F, logits, off + i));
            float max = m.reduceLanes(VectorOperators.MAX);
            for (; i < vocab; i++) max = Math.max(max, logits[off + i]);
            if (Float.isNaN(max)) {
                nll[r] = Float.NaN;
                argmax[r] = 0;
                return;
            }
            // The first maximum: skip the blocks that do not hold it, then scan.
            for (i = 0; i <= vocab - L; i += L) {
                if (FloatVector.fromArray(F, logits, off + i).compare(VectorOperators.EQ, max).anyTrue()) break;
            }
            while (logits[off + i] != max) i++;
            argmax[r] = i;
            // One exp per iteration: a second call site can exceed C2's inlining budget (NodeCountInliningCutoff),
            // and a vector method that is not inlined boxes its vectors (several times slower).
            FloatVector s = FloatVector.zero(F);
            for (i = 0; i <= vocab - L; i += L) s = s.add(Exp.exp(FloatVector.fromArray(F, logits, off + i).sub(max)));
            double sum = sumLanes(s);
            for (; i < vocab; i++) sum += Exp.exp(logits[off + i] - max);
            nll[r] = (float) (max + Math.log(sum) - logits[off + targets[r]]);
        });
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Vector primitives

    @Override
    public void row(Weight w, int r, float[] out, int off) {
        widen(w, r, 0, w.cols(), out, off);
    }

    /** out[off .. off+n) = columns k0 .. k0+n of row r of w, widened to floats. */
    private static void widen(Weight w, int r, int k0, int n, float[] out, int off) {
        if (w.ggml() != null) {
            GgmlRows.widen(w, r, k0, n, out, off);
            return;
        }
        MemorySegment seg = w.data();
        long base = w.rowOffset(r);
        switch (w.dtype()) {
            case F32 -> MemorySegment.copy(seg, ScalarKernels.F32, base + 4L * k0, out, off, n);
            case BF16 -> {
                int i = 0;
                for (; i <= n - L; i += L) {
                    bf16(seg, base + 2L * (k0 + i)).intoArray(out, off + i);
                }
                for (; i < n; i++) out[off + i] = ScalarKernels.element(w, base, k0 + i);
            }
            case I8 -> {
                // k0 and n are multiples of the group (KC is, and so are an I8 weight's columns). convertShape is
                // slow next to the shifts of dotQ8 but runs once per staged row, not once per token.
                MemorySegment scales = w.scales();
                long sBase = w.scaleOffset(r);
                int i = 0;
                for (; i <= n - L; i += L) {
                    int c = k0 + i;
                    float scale = scales.get(ScalarKernels.F32, sBase + 4L * (c / Weight.GROUP));
                    ((FloatVector) ByteVector.fromMemorySegment(B, seg, base + c, LE).convertShape(VectorOperators.B2F, F, 0))
                            .mul(scale).intoArray(out, off + i);
                }
                for (; i < n; i++) out[off + i] = ScalarKernels.element(w, base, k0 + i);
            }
            case F8_E4M3 -> {
                // A byte's 7 magnitude bits shifted to a float's exponent/mantissa boundary, the sign to bit 31, times
                // 2^120 is its E4M3 value (see Fp8.e4m3), times the block's scale. Vectors stay within one block when
                // the block is a multiple of L columns (128 in every release); otherwise element by element.
                int i = 0;
                if (w.blockCols() % L == 0 && k0 % L == 0) {
                    for (; i <= n - L; i += L) {
                        int c = k0 + i;
                        IntVector b = (IntVector) ByteVector.fromMemorySegment(B, seg, base + c, LE)
                                .convertShape(VectorOperators.B2I, I, 0);
                        IntVector bits = b.and(0x7F).lanewise(VectorOperators.LSHL, 20)
                                .or(b.and(0x80).lanewise(VectorOperators.LSHL, 24));
                        bits.reinterpretAsFloats().mul(0x1p120f * w.scale(r, c)).intoArray(out, off + i);
                    }
                }
                for (; i < n; i++) out[off + i] = ScalarKernels.element(w, base, k0 + i);
            }
            case U8 -> {
                // k0 and n are multiples of the group (KC is, and so are an MXFP4 weight's columns): once per staged row.
                MemorySegment scales = w.scales();
                long sBase = w.scaleOffset(r);
                for (int i = 0; i < n; i += Weight.MXFP4_GROUP) {
                    int c = k0 + i;
                    int e = scales.get(ValueLayout.JAVA_BYTE, sBase + c / Weight.MXFP4_GROUP) & 0xFF;
                    float scale = Math.scalb(1f, e - 127);
                    for (int j = 0; j < Weight.MXFP4_GROUP; j += 2) {
                        int b = seg.get(ValueLayout.JAVA_BYTE, base + (c + j) / 2);
                        out[off + i + j] = Weight.FP4[b & 0xF] * scale;
                        out[off + i + j + 1] = Weight.FP4[(b >> 4) & 0xF] * scale;
                    }
                }
            }
            default -> {
                for (int i = 0; i < n; i++) out[off + i] = ScalarKernels.element(w, base, k0 + i);
            }
        }
    }

    @Override
    public void layernorm(float[] out, int outOff, float[] x, int xOff, float[] weight, float[] bias, int n, float eps) {
        ScalarKernels.layerNorm(out, outOff, x, xOff, weight, bias, n, eps);
    }

    @Override
    public void rmsnorm(float[] out, int outOff, float[] x, int xOff, float[] weight, int n, float eps) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (; i <= n - L; i += L) {
            FloatVector v = FloatVector.fromArray(F, x, xOff + i);
            acc = v.fma(v, acc);
        }
        float ss = sumLanes(acc);
        for (; i < n; i++) ss += x[xOff + i] * x[xOff + i];
        float scale = (float) (1.0 / Math.sqrt(ss / n + eps));
        i = 0;
        for (; i <= n - L; i += L) {
            FloatVector.fromArray(F, x, xOff + i).mul(scale).mul(FloatVector.fromArray(F, weight, i)).intoArray(out, outOff + i);
        }
        for (; i < n; i++) out[outOff + i] = weight[i] * (x[xOff + i] * scale);
    }

    @Override
    public void softmax(float[] x, int off, int n) {
        int i = 0;
        FloatVector mv = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        for (; i <= n - L; i += L) mv = mv.max(FloatVector.fromArray(F, x, off + i));
        float max = mv.reduceLanes(VectorOperators.MAX);
        for (; i < n; i++) max = Math.max(max, x[off + i]);
        FloatVector sv = FloatVector.zero(F);
        i = 0;
        for (; i <= n - L; i += L) {
            FloatVector e = Exp.exp(FloatVector.fromArray(F, x, off + i).sub(max));
            e.intoArray(x, off + i);
            sv = sv.add(e);
        }
        float sum = sumLanes(sv);
        for (; i < n; i++) {
            x[off + i] = Exp.exp(x[off + i] - max);
            sum += x[off + i];
        }
        float inv = 1f / sum;
        i = 0;
        for (; i <= n - L; i += L) FloatVector.fromArray(F, x, off + i).mul(inv).intoArray(x, off + i);
        for (; i < n; i++) x[off + i] *= inv;
    }

    @Override
    public void siluMul(float[] gate, float[] up, int n) {
        int i = 0;
        for (; i <= n - L; i += L) {
            FloatVector g = FloatVector.fromArray(F, gate, i);
            FloatVector sig = Exp.exp(g.neg()).add(1f);
            g.div(sig).mul(FloatVector.fromArray(F, up, i)).intoArray(gate, i);
        }
        for (; i < n; i++) gate[i] = Exp.silu(gate[i]) * up[i];
    }

    @Override
    public float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        int i = 0;
        for (; i <= n - 2 * L; i += 2 * L) {
            acc0 = FloatVector.fromArray(F, a, aOff + i).fma(FloatVector.fromArray(F, b, bOff + i), acc0);
            acc1 = FloatVector.fromArray(F, a, aOff + i + L).fma(FloatVector.fromArray(F, b, bOff + i + L), acc1);
        }
        for (; i <= n - L; i += L) {
            acc0 = FloatVector.fromArray(F, a, aOff + i).fma(FloatVector.fromArray(F, b, bOff + i), acc0);
        }
        float s = sumLanes(acc0.add(acc1));
        for (; i < n; i++) s += a[aOff + i] * b[bOff + i];
        return s;
    }

    @Override
    public void axpy(float[] y, int yOff, float alpha, float[] x, int xOff, int n) {
        int i = 0;
        for (; i <= n - L; i += L) {
            FloatVector.fromArray(F, x, xOff + i).fma(FloatVector.broadcast(F, alpha), FloatVector.fromArray(F, y, yOff + i))
                    .intoArray(y, yOff + i);
        }
        for (; i < n; i++) y[yOff + i] += alpha * x[xOff + i];
    }
}
