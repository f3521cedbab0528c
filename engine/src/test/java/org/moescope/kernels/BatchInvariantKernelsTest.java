package org.moescope.kernels;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.moescope.gguf.GgmlType;
import org.moescope.safetensors.DType;

import java.lang.foreign.MemorySegment;

import java.util.Arrays;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;
import static org.moescope.kernels.VectorKernelsTest.randomWeight;

/**
 * {@link VectorKernels#batchInvariant()}: a token's result is the same bits whichever tokens share the call and however
 * many threads run it, and close to the scalar reference. The BF16 products tile over tokens (4 rows x 4, 2 or 1 tokens, and single rows past the last
 * whole tile), so token counts 1 to 11 and row counts that are not multiples of 4 run every tile shape; columns that
 * are not a multiple of the vector pair add the scalar tail.
 */
class BatchInvariantKernelsTest {
    static final int[] THREADS = {1, 2, 3};
    static final Kernels[] KERNELS = new Kernels[THREADS.length];
    static final Kernels SCALAR = new ScalarKernels();

    /**
     * Until C2 compiles them, the Vector API runs Java fallbacks whose lane reductions add in another order (the
     * reason the server warms up, see StepTest.warmUp); so every shape runs a while before anything is compared.
     */
    @BeforeAll
    static void warmUp() {
        for (int i = 0; i < THREADS.length; i++) KERNELS[i] = VectorKernels.batchInvariant(new WorkerPool(THREADS[i] - 1));
        // Small shapes, many calls: every tile shape, the single rows and the tail reach C2 (C1 runs the fallbacks too).
        for (int round = 0; round < 3000; round++) {
            for (Kernels k : KERNELS) {
                matmulCase(k, DType.BF16, 3, 67, 9);
                if (round % 20 == 0) moeCase(k, 9, 64, 32, 3);
            }
        }
    }

    static float[] gaussian(int n, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) rnd.nextGaussian();
        return x;
    }

    /** out[t] for tokens 0 .. tokens, computed together. */
    static float[] matmulCase(Kernels k, DType dtype, int tokens, int cols, int rows) {
        Weight w = randomWeight(dtype, rows, cols, cols * 31L + rows);
        float[] x = gaussian(tokens * cols, 5);
        float[] out = new float[tokens * rows];
        k.matmul(out, x, tokens, w);
        return out;
    }

    @Test
    void aTokensProductIsTheSameBitsAloneOrWithOthersOnAnyThreadCount() {
        // BF16: the dtype whose products tile over tokens (F32, F16 and I8 weights stream one token at a time).
        for (DType dtype : new DType[] {DType.BF16}) {
            for (int[] shape : new int[][] {{256, 37}, {101, 9}, {1024, 300}}) {
                int cols = shape[0], rows = shape[1];
                int maxTokens = 11;
                Weight w = randomWeight(dtype, rows, cols, cols * 31L + rows);
                float[] x = gaussian(maxTokens * cols, 5);
                float[] alone = new float[maxTokens * rows];
                for (int t = 0; t < maxTokens; t++) {
                    float[] one = new float[rows];
                    KERNELS[0].matmul(one, Arrays.copyOfRange(x, t * cols, (t + 1) * cols), 1, w);
                    System.arraycopy(one, 0, alone, t * rows, rows);
                }
                float[] ref = new float[maxTokens * rows];
                SCALAR.matmul(ref, x, maxTokens, w);
                for (int i = 0; i < ref.length; i++) {
                    assertEquals(ref[i], alone[i], 1e-4f * Math.max(1f, Math.abs(ref[i])), dtype + " element " + i);
                }
                for (int tk = 0; tk < THREADS.length; tk++) {
                    for (int tokens = 1; tokens <= maxTokens; tokens++) {
                        float[] out = new float[tokens * rows];
                        KERNELS[tk].matmul(out, x, tokens, w);
                        assertArrayEquals(Arrays.copyOf(alone, tokens * rows), out,
                                dtype + " " + cols + "x" + rows + ", " + tokens + " tokens, " + THREADS[tk] + " threads");
                    }
                }
            }
        }
    }

    /**
     * GGUF block types stream one (row, token) at a time through GgmlRows.dot in this mode, whatever the token count:
     * a token's result is the same bits alone or with others, on any thread count.
     */
    @Test
    void ggmlBlockWeightsAreTheSameBitsAloneOrWithOthers() {
        int rows = 13, cols = 512, maxTokens = 6;
        for (GgmlType type : new GgmlType[] {GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K}) {
            byte[] q = GgmlWeightTest.randomBlocks(type, rows, cols, 7, GgmlWeightTest.typicalScale(type));
            Weight w = Weight.ggml("w", MemorySegment.ofArray(q), type, rows, cols);
            float[] x = gaussian(maxTokens * cols, 5);
            float[] one = new float[rows];
            for (int i = 0; i < 3000; i++) { // C2 compiles the fused products first (see warmUp)
                KERNELS[i % THREADS.length].matmul(one, x, 1, w);
            }
            float[] alone = new float[maxTokens * rows];
            for (int t = 0; t < maxTokens; t++) {
                KERNELS[0].matmul(one, Arrays.copyOfRange(x, t * cols, (t + 1) * cols), 1, w);
                System.arraycopy(one, 0, alone, t * rows, rows);
            }
            float[] ref = new float[maxTokens * rows];
            SCALAR.matmul(ref, x, maxTokens, w);
            for (int i = 0; i < ref.length; i++) {
                assertEquals(ref[i], alone[i], 1e-4f * Math.max(1f, Math.abs(ref[i])), type + " element " + i);
            }
            for (int tk = 0; tk < THREADS.length; tk++) {
                for (int tokens = 1; tokens <= maxTokens; tokens++) {
                    float[] out = new float[tokens * rows];
                    KERNELS[tk].matmul(out, x, tokens, w);
                    assertArrayEquals(Arrays.copyOf(alone, tokens * rows), out,
                            type + ", " + tokens + " tokens, " + THREADS[tk] + " threads");
                }
            }
        }
    }

    /** Top-k choices and their weights, (tokens, k) each. */
    record Routing(int[] ids, float[] weights) {
        Routing token(int t, int k) {
            return new Routing(Arrays.copyOfRange(ids, t * k, (t + 1) * k), Arrays.copyOfRange(weights, t * k, (t + 1) * k));
        }
    }

    /** Routing with popular experts (several tokens each: the tiles over tokens) and rare ones (one token). */
    static Routing routes(int tokens, int experts, int k) {
        SplittableRandom rnd = new SplittableRandom(tokens);
        int[] ids = new int[tokens * k];
        float[] w = new float[tokens * k];
        for (int t = 0; t < tokens; t++) {
            for (int j = 0; j < k; j++) {
                int e;
                do {
                    e = Math.min(rnd.nextInt(experts), rnd.nextInt(experts));
                } while (contains(ids, t * k, j, e));
                ids[t * k + j] = e;
                w[t * k + j] = (float) rnd.nextDouble();
            }
        }
        return new Routing(ids, w);
    }

    private static boolean contains(int[] a, int off, int n, int v) {
        for (int i = 0; i < n; i++) if (a[off + i] == v) return true;
        return false;
    }

    static final int EXPERTS = 6;

    static Weight[][] experts(int hidden, int inter) {
        Weight[][] g = new Weight[3][EXPERTS];
        for (int e = 0; e < EXPERTS; e++) {
            g[0][e] = randomWeight(DType.BF16, inter, hidden, 100 + e);
            g[1][e] = randomWeight(DType.BF16, inter, hidden, 200 + e);
            g[2][e] = randomWeight(DType.BF16, hidden, inter, 300 + e);
        }
        return g;
    }

    static float[] moeCase(Kernels kk, int tokens, int hidden, int inter, int k) {
        Weight[][] w = experts(hidden, inter);
        Routing r = routes(tokens, EXPERTS, k);
        float[] x = gaussian(tokens * hidden, 9);
        float[] out = new float[tokens * hidden];
        kk.moe(out, x, tokens, r.ids(), r.weights(), k, w[0], w[1], w[2]);
        return out;
    }

    @Test
    void aTokensExpertMixtureIsTheSameBitsAloneOrWithOthers() {
        int hidden = 256, inter = 96, k = 3, tokens = 13;
        Weight[][] w = experts(hidden, inter);
        Routing r = routes(tokens, EXPERTS, k);
        float[] x = gaussian(tokens * hidden, 9);
        for (int i = 0; i < x.length; i++) x[i] *= 0.1f;
        float[] alone = new float[tokens * hidden];
        for (int t = 0; t < tokens; t++) {
            float[] one = new float[hidden];
            Routing rt = r.token(t, k);
            KERNELS[0].moe(one, Arrays.copyOfRange(x, t * hidden, (t + 1) * hidden), 1, rt.ids(), rt.weights(), k,
                    w[0], w[1], w[2]);
            System.arraycopy(one, 0, alone, t * hidden, hidden);
        }
        float[] ref = new float[tokens * hidden];
        SCALAR.moe(ref, x, tokens, r.ids(), r.weights(), k, w[0], w[1], w[2]);
        for (int i = 0; i < ref.length; i++) {
            assertEquals(ref[i], alone[i], 1e-3f * Math.max(1f, Math.abs(ref[i])), "element " + i);
        }
        for (int tk = 0; tk < THREADS.length; tk++) {
            for (int n : new int[] {2, 5, 8, 13}) {
                float[] out = new float[n * hidden];
                KERNELS[tk].moe(out, x, n, r.ids(), r.weights(), k, w[0], w[1], w[2]);
                assertArrayEquals(Arrays.copyOf(alone, n * hidden), out, n + " tokens, " + THREADS[tk] + " threads");
            }
        }
    }
}
