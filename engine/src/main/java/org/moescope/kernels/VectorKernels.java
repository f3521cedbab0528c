package org.moescope.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;
import org.moescope.safetensors.DType;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.stream.IntStream;

/**
 * SIMD kernels on the JDK Vector API, matmuls split over all cores. Half-width weights (BF16, F16) stay half-width in
 * memory and are widened inside the loop: BF16 is the top half of a float, so widening is a sign-extend and a shift.
 */
public final class VectorKernels implements Kernels {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    /** Shorts filling half a float register: one load widens to exactly one float vector. */
    static final VectorSpecies<Short> S = ShortVector.SPECIES_PREFERRED.withShape(
            VectorShape.forBitSize(F.vectorBitSize() / 2));
    static final int L = F.length();
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    /** Below this many tokens a matmul streams the weights once per token instead of staging rows in cache. */
    private static final int STAGED_MIN_TOKENS = 3;
    private static final int BLOCK_ROWS = 4;
    /** Multiply-adds below which a matmul runs on the calling thread. */
    static final long PARALLEL_MIN_MACS = 1L << 17;

    private static final ThreadLocal<float[]> SCRATCH = ThreadLocal.withInitial(() -> new float[0]);

    private static float[] scratch(int n) {
        float[] s = SCRATCH.get();
        if (s.length < n) {
            s = new float[n];
            SCRATCH.set(s);
        }
        return s;
    }

    @Override
    public void matmul(float[] out, float[] x, int tokens, Weight w) {
        int rows = w.rows();
        int blocks = (rows + BLOCK_ROWS - 1) / BLOCK_ROWS;
        // Enough tasks for load balance, few enough that fork/join overhead stays small.
        int threads = Runtime.getRuntime().availableProcessors();
        int tasks = Math.min(blocks, threads * 8);
        // Small products finish faster on the calling thread than the fork/join hand-off takes.
        boolean parallel = (long) rows * w.cols() * tokens >= PARALLEL_MIN_MACS;
        IntStream range = IntStream.range(0, tasks);
        (parallel ? range.parallel() : range).forEach(task -> {
            int b0 = (int) ((long) blocks * task / tasks);
            int b1 = (int) ((long) blocks * (task + 1) / tasks);
            int r0 = b0 * BLOCK_ROWS;
            int r1 = Math.min(rows, b1 * BLOCK_ROWS);
            if (tokens < STAGED_MIN_TOKENS) {
                streamRows(out, x, tokens, w, r0, r1);
            } else {
                stagedRows(out, x, tokens, w, r0, r1);
            }
        });
    }

    /** Few tokens: each weight element is used `tokens` times, so read it straight from the mapping. */
    private void streamRows(float[] out, float[] x, int tokens, Weight w, int r0, int r1) {
        int cols = w.cols();
        float[] row = w.dtype() == DType.F16 ? scratch(cols) : null;
        for (int r = r0; r < r1; r++) {
            for (int t = 0; t < tokens; t++) {
                float v;
                if (row != null) {
                    if (t == 0) row(w, r, row, 0);
                    v = dot(row, 0, x, t * cols, cols);
                } else {
                    v = dotMapped(w, r, x, t * cols);
                }
                out[t * w.rows() + r] = v;
            }
        }
    }

    private static float dotMapped(Weight w, int r, float[] x, int xOff) {
        int cols = w.cols();
        MemorySegment seg = w.data();
        long base = w.rowOffset(r);
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        int i = 0;
        int upper2 = cols - 2 * L + 1;
        if (w.dtype() == DType.BF16) {
            for (; i < upper2; i += 2 * L) {
                acc0 = bf16(seg, base + 2L * i).fma(FloatVector.fromArray(F, x, xOff + i), acc0);
                acc1 = bf16(seg, base + 2L * (i + L)).fma(FloatVector.fromArray(F, x, xOff + i + L), acc1);
            }
            for (; i <= cols - L; i += L) {
                acc0 = bf16(seg, base + 2L * i).fma(FloatVector.fromArray(F, x, xOff + i), acc0);
            }
        } else {
            for (; i < upper2; i += 2 * L) {
                acc0 = FloatVector.fromMemorySegment(F, seg, base + 4L * i, LE).fma(FloatVector.fromArray(F, x, xOff + i), acc0);
                acc1 = FloatVector.fromMemorySegment(F, seg, base + 4L * (i + L), LE)
                        .fma(FloatVector.fromArray(F, x, xOff + i + L), acc1);
            }
            for (; i <= cols - L; i += L) {
                acc0 = FloatVector.fromMemorySegment(F, seg, base + 4L * i, LE).fma(FloatVector.fromArray(F, x, xOff + i), acc0);
            }
        }
        float s = acc0.add(acc1).reduceLanes(VectorOperators.ADD);
        for (; i < cols; i++) {
            s += ScalarKernels.element(w, base, i) * x[xOff + i];
        }
        return s;
    }

    /** Loads L bf16 values at byte offset off and widens them to floats. */
    static FloatVector bf16(MemorySegment seg, long off) {
        ShortVector s = ShortVector.fromMemorySegment(S, seg, off, LE);
        return ((IntVector) s.convertShape(VectorOperators.S2I, I, 0)).lanewise(VectorOperators.LSHL, 16)
                .reinterpretAsFloats();
    }

    /**
     * Many tokens: widen a block of 4 rows into cache once, then run a 4-rows x 2-tokens register tile over all tokens,
     * so each loaded weight vector feeds two FMAs and each loaded activation vector feeds four.
     */
    private void stagedRows(float[] out, float[] x, int tokens, Weight w, int r0, int r1) {
        int cols = w.cols();
        int rows = w.rows();
        float[] s = scratch(BLOCK_ROWS * cols);
        for (int r = r0; r < r1; r += BLOCK_ROWS) {
            int n = Math.min(BLOCK_ROWS, r1 - r);
            for (int j = 0; j < n; j++) {
                row(w, r + j, s, j * cols);
            }
            if (n < BLOCK_ROWS) {
                for (int j = 0; j < n; j++) {
                    for (int t = 0; t < tokens; t++) {
                        out[t * rows + r + j] = dot(s, j * cols, x, t * cols, cols);
                    }
                }
                continue;
            }
            int t = 0;
            for (; t + 1 < tokens; t += 2) {
                tile4x2(s, cols, x, t * cols, (t + 1) * cols, out, t * rows + r, (t + 1) * rows + r);
            }
            for (; t < tokens; t++) {
                for (int j = 0; j < BLOCK_ROWS; j++) {
                    out[t * rows + r + j] = dot(s, j * cols, x, t * cols, cols);
                }
            }
        }
    }

    private static void tile4x2(float[] s, int cols, float[] x, int xa, int xb, float[] out, int oa, int ob) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F), a2 = FloatVector.zero(F), a3 = FloatVector.zero(F);
        FloatVector b0 = FloatVector.zero(F), b1 = FloatVector.zero(F), b2 = FloatVector.zero(F), b3 = FloatVector.zero(F);
        int i = 0;
        for (; i <= cols - L; i += L) {
            FloatVector xva = FloatVector.fromArray(F, x, xa + i);
            FloatVector xvb = FloatVector.fromArray(F, x, xb + i);
            FloatVector w0 = FloatVector.fromArray(F, s, i);
            a0 = w0.fma(xva, a0);
            b0 = w0.fma(xvb, b0);
            FloatVector w1 = FloatVector.fromArray(F, s, cols + i);
            a1 = w1.fma(xva, a1);
            b1 = w1.fma(xvb, b1);
            FloatVector w2 = FloatVector.fromArray(F, s, 2 * cols + i);
            a2 = w2.fma(xva, a2);
            b2 = w2.fma(xvb, b2);
            FloatVector w3 = FloatVector.fromArray(F, s, 3 * cols + i);
            a3 = w3.fma(xva, a3);
            b3 = w3.fma(xvb, b3);
        }
        float[] sa = {a0.reduceLanes(VectorOperators.ADD), a1.reduceLanes(VectorOperators.ADD),
                a2.reduceLanes(VectorOperators.ADD), a3.reduceLanes(VectorOperators.ADD)};
        float[] sb = {b0.reduceLanes(VectorOperators.ADD), b1.reduceLanes(VectorOperators.ADD),
                b2.reduceLanes(VectorOperators.ADD), b3.reduceLanes(VectorOperators.ADD)};
        for (; i < cols; i++) {
            for (int j = 0; j < 4; j++) {
                sa[j] += s[j * cols + i] * x[xa + i];
                sb[j] += s[j * cols + i] * x[xb + i];
            }
        }
        for (int j = 0; j < 4; j++) {
            out[oa + j] = sa[j];
            out[ob + j] = sb[j];
        }
    }

    @Override
    public void row(Weight w, int r, float[] out, int off) {
        int cols = w.cols();
        MemorySegment seg = w.data();
        long base = w.rowOffset(r);
        switch (w.dtype()) {
            case F32 -> MemorySegment.copy(seg, ScalarKernels.F32, base, out, off, cols);
            case BF16 -> {
                int i = 0;
                for (; i <= cols - L; i += L) {
                    bf16(seg, base + 2L * i).intoArray(out, off + i);
                }
                for (; i < cols; i++) out[off + i] = ScalarKernels.element(w, base, i);
            }
            default -> {
                for (int i = 0; i < cols; i++) out[off + i] = ScalarKernels.element(w, base, i);
            }
        }
    }

    @Override
    public void rmsnorm(float[] out, int outOff, float[] x, int xOff, float[] weight, int n, float eps) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (; i <= n - L; i += L) {
            FloatVector v = FloatVector.fromArray(F, x, xOff + i);
            acc = v.fma(v, acc);
        }
        float ss = acc.reduceLanes(VectorOperators.ADD);
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
            FloatVector e = FloatVector.fromArray(F, x, off + i).sub(max).lanewise(VectorOperators.EXP);
            e.intoArray(x, off + i);
            sv = sv.add(e);
        }
        float sum = sv.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            x[off + i] = (float) Math.exp(x[off + i] - max);
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
            FloatVector sig = g.neg().lanewise(VectorOperators.EXP).add(1f);
            g.div(sig).mul(FloatVector.fromArray(F, up, i)).intoArray(gate, i);
        }
        for (; i < n; i++) {
            float g = gate[i];
            gate[i] = g / (1f + (float) Math.exp(-g)) * up[i];
        }
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
        float s = acc0.add(acc1).reduceLanes(VectorOperators.ADD);
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
