package org.moescope.kernels;

import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.moescope.safetensors.DType;
import org.moescope.safetensors.Numbers;

import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/** The SIMD path against the scalar reference on awkward sizes (tails, odd token counts) and every weight dtype. */
class VectorKernelsTest {
    /**
     * sumLanes adds in one fixed order whether it runs interpreted or compiled: each of 200,000 calls (C2 compiles it
     * part-way) equals a scalar evaluation of the same tree. reduceLanes(ADD) fails this on AVX-512: its interpreted
     * form adds lane by lane, its compiled form in a tree, so a kernel's last bits depended on the JIT's progress.
     */
    @Test
    void laneSumsHaveOneOrderInEveryCompilationState() {
        int l = VectorKernels.L;
        SplittableRandom random = new SplittableRandom(7);
        float[] v = new float[l * 64];
        for (int i = 0; i < v.length; i++) v[i] = (float) ((random.nextDouble() - 0.5) * (1 << random.nextInt(16)));
        float[] tree = new float[l];
        for (int call = 0; call < 200_000; call++) {
            int off = (call % 64) * l;
            System.arraycopy(v, off, tree, 0, l);
            for (int h = l / 2; h >= 1; h /= 2) {
                for (int i = 0; i < h; i++) tree[i] += tree[i + h]; // lane i + lane i + h, as the folds do
            }
            float got = VectorKernels.sumLanes(FloatVector.fromArray(VectorKernels.F, v, off));
            if (Float.floatToRawIntBits(got) != Float.floatToRawIntBits(tree[0])) {
                fail("call " + call + ": " + got + " but the fixed order gives " + tree[0]);
            }
        }
    }

    private final Kernels scalar = new ScalarKernels();
    private final Kernels vector = new VectorKernels();

    static Weight randomWeight(DType dtype, int rows, int cols, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        int n = rows * cols;
        MemorySegment seg = switch (dtype) {
            case F32 -> {
                float[] f = new float[n];
                for (int i = 0; i < n; i++) f[i] = (float) rnd.nextGaussian();
                yield MemorySegment.ofArray(f);
            }
            case BF16, F16 -> {
                short[] s = new short[n];
                for (int i = 0; i < n; i++) {
                    float v = (float) rnd.nextGaussian();
                    s[i] = dtype == DType.BF16 ? Numbers.floatToBf16(v) : Numbers.floatToF16(v);
                }
                yield MemorySegment.ofArray(s);
            }
            case I8 -> {
                // Q8_0: values over the whole int8 range (-128 included, which weights convert never writes) and a
                // scale per 32 columns.
                byte[] q = new byte[n];
                for (int i = 0; i < n; i++) q[i] = (byte) rnd.nextInt(-128, 128);
                yield MemorySegment.ofArray(q);
            }
            case U8 -> {
                // MXFP4: every FP4 code pair, and an E8M0 exponent per 32 columns around 2^0.
                byte[] q = new byte[n / 2];
                for (int i = 0; i < q.length; i++) q[i] = (byte) rnd.nextInt(256);
                yield MemorySegment.ofArray(q);
            }
            default -> throw new IllegalArgumentException();
        };
        if (dtype == DType.U8) {
            SplittableRandom srnd = new SplittableRandom(seed + 1);
            byte[] scales = new byte[rows * (cols / Weight.MXFP4_GROUP)];
            for (int i = 0; i < scales.length; i++) scales[i] = (byte) srnd.nextInt(122, 130);
            return new Weight("w", seg, dtype, rows, cols, MemorySegment.ofArray(scales));
        }
        if (dtype == DType.I8) {
            SplittableRandom srnd = new SplittableRandom(seed + 1);
            float[] scales = new float[rows * (cols / Weight.GROUP)];
            for (int i = 0; i < scales.length; i++) scales[i] = (float) srnd.nextDouble(0.001, 0.05);
            return new Weight("w", seg, dtype, rows, cols, MemorySegment.ofArray(scales));
        }
        return new Weight("w", seg, dtype, rows, cols);
    }

    @ParameterizedTest
    @CsvSource({"F32,1,7,5", "F32,2,64,33", "F32,5,70,13", "BF16,1,128,9", "BF16,3,35,8", "BF16,8,256,64",
            "F16,1,40,4", "F16,6,96,17", "F32,9,2048,12", "I8,1,64,9", "I8,2,96,4", "I8,1,32,3", "I8,3,64,13",
            "I8,8,128,7", "U8,1,64,9", "U8,2,96,4", "U8,1,32,3", "U8,3,64,13", "U8,1,2880,6"})
    void matmulMatchesScalar(DType dtype, int tokens, int cols, int rows) {
        Weight w = randomWeight(dtype, rows, cols, cols * 31L + rows);
        float[] x = new float[tokens * cols];
        SplittableRandom rnd = new SplittableRandom(7);
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
        float[] a = new float[tokens * rows];
        float[] b = new float[tokens * rows];
        scalar.matmul(a, x, tokens, w);
        vector.matmul(b, x, tokens, w);
        for (int i = 0; i < a.length; i++) {
            assertEquals(a[i], b[i], 1e-4f * Math.max(1f, Math.abs(a[i])), "element " + i);
        }
        float[] rowS = new float[cols];
        float[] rowV = new float[cols];
        scalar.row(w, rows - 1, rowS, 0);
        vector.row(w, rows - 1, rowV, 0);
        assertArrayEquals(rowS, rowV);
    }

    @ParameterizedTest
    @CsvSource({"F32,3,70,13", "BF16,17,40,31", "BF16,33,64,6", "F16,20,24,7", "BF16,40,1024,10", "BF16,24,300,2",
            "BF16,49,520,100", "F32,8,33,4", "I8,17,64,31", "I8,40,544,10", "U8,17,64,31", "U8,40,544,10"})
    void tiledMatmulMatchesScalarPastPanelAndTileEdges(DType dtype, int tokens, int cols, int rows) {
        // Panels of 16 tokens (AVX2): 3, 8, 17, 20, 33, 40 and 49 tokens end in partial panels (narrow and wide); 2, 7,
        // 10, 13, 31 rows end in partial 4-row tiles; 300 and 520 columns cross the 256-column slices of the
        // micro-kernel, and 33, 70 and 300 leave a tail after the last 8-column widening step.
        matmulMatchesScalar(dtype, tokens, cols, rows);
    }

    @org.junit.jupiter.api.Test
    void mxfp4ElementsAreTheFp4CodeTimesTwoToTheExponent() {
        // Row 1 of a (2, 32) weight: byte 3 = 0xB5 holds columns 6 (code 5: 3.0) and 7 (code 11: -1.5); exponent 125.
        byte[] blocks = new byte[32];
        blocks[16 + 3] = (byte) 0xB5;
        byte[] scales = {127, 125};
        Weight w = new Weight("w", MemorySegment.ofArray(blocks), DType.U8, 2, 32, MemorySegment.ofArray(scales));
        float[] row = new float[32];
        scalar.row(w, 1, row, 0);
        assertEquals(0.75f, row[6]);
        assertEquals(-0.375f, row[7]);
        assertEquals(0f, row[8]);
        Weight odd = w.rows(1, 1, 2); // every other row from row 1: row 1 alone
        float[] again = new float[32];
        vector.row(odd, 0, again, 0);
        assertArrayEquals(row, again);
    }

    /**
     * gpt-oss's experts: MXFP4 gate and up rows interleaved in one matrix (read with a row step of 2), biases, and the
     * clamped SwiGLU; the grouped vector kernel against the scalar definition, streamed and tiled, and the
     * batch-invariant kernel (the server's).
     */
    @ParameterizedTest
    @CsvSource({"U8,1", "U8,2", "U8,37", "BF16,1", "BF16,37"})
    void gptOssExpertsMatchScalar(DType dtype, int tokens) {
        int experts = 5, hidden = 64, inter = 32, k = 2;
        Weight[] gate = new Weight[experts], up = new Weight[experts], down = new Weight[experts];
        for (int e = 0; e < experts; e++) {
            Weight gateUp = randomWeight(dtype, 2 * inter, hidden, 400 + e);
            gate[e] = gateUp.rows(0, inter, 2);
            up[e] = gateUp.rows(1, inter, 2);
            down[e] = randomWeight(dtype, hidden, inter, 500 + e);
        }
        Experts ex = new Experts(gate, up, down, gaussian(experts * inter, 1), gaussian(experts * inter, 2),
                gaussian(experts * hidden, 3), 7f);
        int[] ids = new int[tokens * k];
        float[] w = new float[tokens * k];
        for (int t = 0; t < tokens; t++) {
            ids[t * k] = t % experts;
            ids[t * k + 1] = (t + 2) % experts;
            w[t * k] = 0.7f;
            w[t * k + 1] = 0.3f;
        }
        float[] x = gaussian(tokens * hidden, 9);
        float[] a = new float[tokens * hidden], b = new float[tokens * hidden];
        scalar.moe(a, x, tokens, ids, w, k, ex);
        vector.moe(b, x, tokens, ids, w, k, ex);
        assertClose(a, b, "gpt-oss moe");
        // The server's batch-invariant kernels too: every expert streams there, whatever its token count. (Their sums
        // run in another order, and an output near 0 can be a difference of terms of ~100: to 1e-5 of the largest.)
        float[] c = new float[tokens * hidden];
        VectorKernels.batchInvariant().moe(c, x, tokens, ids, w, k, ex);
        float largest = 1f;
        for (float v : a) largest = Math.max(largest, Math.abs(v));
        for (int i = 0; i < a.length; i++) assertEquals(a[i], c[i], 1e-5f * largest, "gpt-oss moe, batch-invariant " + i);
        float clamped = 0;
        float[] g = new float[inter];
        scalar.matmul(g, x, 1, gate[0]);
        for (float v : g) clamped = Math.max(clamped, Math.abs(v));
        assertTrue(clamped > 7f, "some gate values reach the clamp (max |g| " + clamped + ")");
    }

    @org.junit.jupiter.api.Test
    void attentionSinksTakeTheirShareOfTheSoftmax() {
        int tokens = 3, heads = 2, headDim = 8;
        float[] q = gaussian(tokens * heads * headDim, 4), keys = gaussian(tokens * headDim, 5);
        float[] values = gaussian(tokens * headDim, 6);
        int[] rows = {0, 1, 2}, from = {0, 0, 0};
        float[] sinks = {0.5f, -1f};
        float[] a = new float[q.length], b = new float[q.length], none = new float[q.length];
        scalar.attention(a, q, tokens, keys, values, rows, from, heads, 1, headDim, 0.3f, sinks);
        vector.attention(b, q, tokens, keys, values, rows, from, heads, 1, headDim, 0.3f, sinks);
        assertClose(a, b, "sinks");
        // Token 0 sees one key: its probability is 1 / (1 + exp(sink - score)).
        float score = 0;
        for (int i = 0; i < headDim; i++) score += q[i] * keys[i];
        float p = (float) (1 / (1 + Math.exp(sinks[0] - score * 0.3f)));
        for (int i = 0; i < headDim; i++) assertEquals(p * values[i], a[i], 1e-6f);
        scalar.attention(none, q, tokens, keys, values, rows, from, heads, 1, headDim, 0.3f);
        assertEquals(values[0], none[0], 1e-6f);
    }

    @ParameterizedTest
    @CsvSource({"BF16,1", "BF16,2", "F32,3", "BF16,5"})
    void severalProductsOfOneInputMatchSeparateOnes(DType dtype, int tokens) {
        int cols = 48;
        Weight[] ws = {randomWeight(dtype, 20, cols, 1), randomWeight(dtype, 7, cols, 2), randomWeight(dtype, 12, cols, 3)};
        float[] x = gaussian(tokens * cols, 5);
        float[][] outs = {new float[tokens * 20], new float[tokens * 7], new float[tokens * 12]};
        vector.matmul(x, tokens, ws, outs);
        for (int i = 0; i < ws.length; i++) {
            float[] ref = new float[outs[i].length];
            scalar.matmul(ref, x, tokens, ws[i]);
            assertClose(ref, outs[i], "product " + i);
        }
    }

    /**
     * The grouped, tiled, multi-threaded mixture against the one-token-at-a-time definition. Routing is skewed so
     * that experts get 0, 1, 2 (streamed), 3 and many (tiled, partial panels) tokens.
     */
    @ParameterizedTest
    @CsvSource({"BF16,1,64,40,3", "BF16,2,64,40,3", "BF16,37,64,40,3", "BF16,37,70,41,3", "F32,29,40,24,2", "F16,11,24,16,4",
            "BF16,200,128,96,8", "I8,1,64,32,3", "I8,2,64,96,2", "I8,37,96,64,3"})
    void mixtureOfExpertsMatchesScalar(DType dtype, int tokens, int hidden, int inter, int k) {
        int experts = 9;
        Weight[] gate = new Weight[experts], up = new Weight[experts], down = new Weight[experts];
        for (int e = 0; e < experts; e++) {
            gate[e] = randomWeight(dtype, inter, hidden, 100 + e);
            up[e] = randomWeight(dtype, inter, hidden, 200 + e);
            down[e] = randomWeight(dtype, hidden, inter, 300 + e);
        }
        SplittableRandom rnd = new SplittableRandom(tokens);
        int[] ids = new int[tokens * k];
        float[] w = new float[tokens * k];
        for (int t = 0; t < tokens; t++) {
            for (int j = 0; j < k; j++) {
                int e;
                do {
                    // Skewed: low ids are popular, expert 8 is rare, expert 7 never chosen.
                    e = Math.min(rnd.nextInt(experts - 1), rnd.nextInt(experts - 1));
                    if (e == 7) e = rnd.nextInt(20) == 0 ? 8 : 0;
                } while (contains(ids, t * k, j, e));
                ids[t * k + j] = e;
                w[t * k + j] = (float) rnd.nextDouble();
            }
        }
        float[] x = gaussian(tokens * hidden, 9);
        for (int i = 0; i < x.length; i++) x[i] *= 0.1f;
        float[] a = new float[tokens * hidden];
        float[] b = new float[tokens * hidden];
        java.util.Arrays.fill(b, Float.NaN); // overwritten, not accumulated
        scalar.moe(a, x, tokens, ids, w, k, gate, up, down);
        vector.moe(b, x, tokens, ids, w, k, gate, up, down);
        assertClose(a, b, "moe");
    }

    private static boolean contains(int[] a, int off, int n, int v) {
        for (int i = 0; i < n; i++) if (a[off + i] == v) return true;
        return false;
    }

    @ParameterizedTest
    @CsvSource({"4,4,16,1", "4,2,16,9", "8,8,64,70"})
    void attentionMatchesScalar(int heads, int kvHeads, int headDim, int tokens) {
        // Two sequences packed in one cache: the first 3 rows are one sequence, the rest another.
        int rows = tokens + 3;
        float[] keys = gaussian(rows * kvHeads * headDim, 1);
        float[] values = gaussian(rows * kvHeads * headDim, 2);
        float[] q = gaussian(tokens * heads * headDim, 3);
        int[] cacheRow = new int[tokens];
        int[] from = new int[tokens];
        for (int t = 0; t < tokens; t++) {
            cacheRow[t] = t + 3;
            from[t] = t % 2 == 0 ? 3 : 0;
        }
        float[] a = new float[tokens * heads * headDim];
        float[] b = new float[a.length];
        java.util.Arrays.fill(b, Float.NaN);
        scalar.attention(a, q, tokens, keys, values, cacheRow, from, heads, kvHeads, headDim, (float) (1 / Math.sqrt(headDim)));
        vector.attention(b, q, tokens, keys, values, cacheRow, from, heads, kvHeads, headDim, (float) (1 / Math.sqrt(headDim)));
        assertClose(a, b, "attention");
    }

    private static float[] gaussian(int n, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) rnd.nextGaussian();
        return x;
    }

    private static void assertClose(float[] expected, float[] actual, String what) {
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], 1e-4f * Math.max(1f, Math.abs(expected[i])), what + " element " + i);
        }
    }

    @ParameterizedTest
    @CsvSource({"1", "7", "8", "9", "64", "100"})
    void elementwiseKernelsMatchScalar(int n) {
        SplittableRandom rnd = new SplittableRandom(n);
        float[] x = new float[n], w = new float[n], up = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (3 * rnd.nextGaussian());
            w[i] = (float) rnd.nextGaussian();
            up[i] = (float) rnd.nextGaussian();
        }
        float[] a = new float[n], b = new float[n];
        scalar.rmsnorm(a, 0, x, 0, w, n, 1e-5f);
        vector.rmsnorm(b, 0, x, 0, w, n, 1e-5f);
        assertArrayEquals(a, b, 1e-5f);
        a = x.clone();
        b = x.clone();
        scalar.softmax(a, 0, n);
        vector.softmax(b, 0, n);
        assertArrayEquals(a, b, 1e-6f);
        a = x.clone();
        b = x.clone();
        scalar.siluMul(a, up, n);
        vector.siluMul(b, up, n);
        assertArrayEquals(a, b, 1e-5f);
        assertEquals(scalar.dot(x, 0, w, 0, n), vector.dot(x, 0, w, 0, n), 1e-4f);
        a = up.clone();
        b = up.clone();
        scalar.axpy(a, 0, 0.5f, x, 0, n);
        vector.axpy(b, 0, 0.5f, x, 0, n);
        assertArrayEquals(a, b, 1e-6f);
    }

    @ParameterizedTest
    @CsvSource({"1,1", "3,7", "5,8", "4,17", "9,50304"})
    void crossEntropyMatchesScalarWithTiesAndTails(int rows, int vocab) {
        SplittableRandom rnd = new SplittableRandom(rows * 31L + vocab);
        float[] logits = new float[rows * vocab];
        int[] targets = new int[rows];
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < vocab; i++) logits[r * vocab + i] = (float) (4 * rnd.nextGaussian());
            targets[r] = rnd.nextInt(vocab);
            if (vocab > 2 && r % 2 == 1) { // a tie for the maximum: argmax is the first of the two
                int a = rnd.nextInt(vocab - 1);
                logits[r * vocab + a] = 100f;
                logits[r * vocab + vocab - 1] = 100f;
            }
        }
        float[] nllS = new float[rows], nllV = new float[rows];
        int[] maxS = new int[rows], maxV = new int[rows];
        scalar.crossEntropy(logits, rows, vocab, targets, nllS, maxS);
        vector.crossEntropy(logits, rows, vocab, targets, nllV, maxV);
        assertArrayEquals(maxS, maxV);
        for (int r = 0; r < rows; r++) {
            assertEquals(nllS[r], nllV[r], 1e-5f * Math.max(1f, Math.abs(nllS[r])), "row " + r);
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (int i = 0; i < vocab; i++) max = Math.max(max, logits[r * vocab + i]);
            for (int i = 0; i < vocab; i++) sum += Math.exp(logits[r * vocab + i] - max);
            assertEquals(max + Math.log(sum) - logits[r * vocab + targets[r]], nllS[r], 1e-4, "row " + r);
        }
        float[] nan = logits.clone();
        nan[0] = Float.NaN;
        vector.crossEntropy(nan, rows, vocab, targets, nllV, maxV);
        assertTrue(Float.isNaN(nllV[0]));
    }
}
