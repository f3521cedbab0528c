package org.moescope.benchmarks;

import org.moescope.kernels.Experts;
import org.moescope.kernels.Kernels;
import org.moescope.kernels.VectorKernels;
import org.moescope.kernels.Weight;
import org.moescope.model.MoeTransformer;
import org.moescope.model.MoeTransformer.StepSlice;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Batched decode with the server's kernels ({@link VectorKernels#batchInvariant()}), without HTTP: B sequences of a
 * shared KV cache each add one token per {@link MoeTransformer#step}, as the server's scheduler does with B streaming
 * clients. Reports output tokens/s per batch size, measured in alternating bursts (B = 1, 2, 4, ... then again, so a
 * swing of the shared VM's speed hits every size alike), each size's ratio to B = 1, and where the time of a step goes
 * (matmul by weight, experts, attention, the rest), timed around each kernel call, and at what rate the step reads its
 * weights: the experts' (the distinct experts each MoE call routes to) over the experts' time, and all of them over the
 * step (to set against the bandwidth probe, tools/bench/bandwidth.c).
 *
 * <p>Usage: java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp benchmarks.jar
 * org.moescope.benchmarks.BatchedDecodeBench MODEL_DIR [sizes=1,2,4,8,16] [rounds=5] [default]; "default" uses the
 * default kernels instead of the batch-invariant ones.
 */
public final class BatchedDecodeBench {
    private static final int PROMPT = 32;
    private static final int CONTEXT = 256;
    private static final double BURST_SECONDS = 1.0;

    private BatchedDecodeBench() {
    }

    public static void main(String[] args) {
        Path dir = Path.of(args[0]);
        int[] sizes = java.util.Arrays.stream((args.length > 1 ? args[1] : "1,2,4,8,16").split(","))
                .mapToInt(Integer::parseInt).toArray();
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 5;
        boolean invariant = args.length <= 3 || !args[3].equals("default");
        VectorKernels inner = invariant ? VectorKernels.batchInvariant() : new VectorKernels();
        Timed kernels = new Timed(inner);
        try (MoeTransformer model = MoeTransformer.load(dir, kernels)) {
            int maxB = java.util.Arrays.stream(sizes).max().orElse(1);
            MoeTransformer.Session cache = model.newSharedCache(maxB * CONTEXT, CONTEXT);
            int vocab = model.config().vocabSize();
            // Warm-up: C2 compiles the kernels (every size, so each shape's paths are compiled).
            long end = System.nanoTime() + 8_000_000_000L;
            while (System.nanoTime() < end) {
                for (int b : sizes) burst(model, cache, b, vocab, 0.05, kernels::reset);
            }
            double[][] tokS = new double[sizes.length][rounds];
            double[][] profile = new double[sizes.length][];
            double[] stepGb = new double[sizes.length];
            for (int r = 0; r < rounds; r++) {
                for (int i = 0; i < sizes.length; i++) {
                    double[] res = burst(model, cache, sizes[i], vocab, BURST_SECONDS, kernels::reset);
                    tokS[i][r] = res[0];
                    if (r == rounds - 1) {
                        profile[i] = kernels.snapshot(res[1]);
                        stepGb[i] = kernels.stepGigabytes(res[1]);
                    }
                }
            }
            System.out.printf(Locale.ROOT, "kernels: %s, threads %d%n", invariant ? "batch-invariant" : "default",
                    inner.threads());
            System.out.println("| sequences | tok/s (median of " + rounds + ") | x 1 | ms/step | ms/step in: "
                    + String.join(" | ", Timed.NAMES) + " | experts GB/s | weight GB/step | step GB/s |");
            double base = median(tokS[0]);
            for (int i = 0; i < sizes.length; i++) {
                double m = median(tokS[i]);
                StringBuilder sb = new StringBuilder();
                sb.append(String.format(Locale.ROOT, "| %d | %.1f | %.2f | %.2f", sizes[i], m, m / base,
                        1e3 * sizes[i] / m));
                for (double p : profile[i]) sb.append(String.format(Locale.ROOT, " | %.2f", p));
                sb.append(String.format(Locale.ROOT, " | %.3f | %.1f", stepGb[i], stepGb[i] / (sizes[i] / m)));
                System.out.println(sb.append(" |"));
            }
        }
    }

    /** Decodes `b` sequences for about `seconds`; returns {tokens/s, steps}. */
    private static double[] burst(MoeTransformer model, MoeTransformer.Session cache, int b, int vocab,
                                  double seconds, Runnable afterPrompt) {
        int[] last = new int[b];
        int[] length = new int[b];
        List<StepSlice> slices = new ArrayList<>(b);
        // Prompts: each sequence gets a different one, prefilled in one step.
        for (int s = 0; s < b; s++) {
            int[] prompt = new int[PROMPT];
            for (int i = 0; i < PROMPT; i++) prompt[i] = (i * 37 + 11 + s * 101) % vocab;
            slices.add(new StepSlice(s * CONTEXT, 0, prompt, true));
            length[s] = PROMPT;
        }
        float[] logits = model.step(cache, slices, null);
        for (int s = 0; s < b; s++) last[s] = argmax(logits, s * vocab, vocab);
        afterPrompt.run();
        long t0 = System.nanoTime();
        long deadline = t0 + (long) (seconds * 1e9);
        int tokens = 0;
        int steps = 0;
        while (System.nanoTime() < deadline || steps == 0) {
            slices.clear();
            for (int s = 0; s < b; s++) {
                if (length[s] >= CONTEXT) length[s] = PROMPT; // wrap: rewrite the later rows
                slices.add(new StepSlice(s * CONTEXT, length[s], new int[] {last[s]}, true));
            }
            logits = model.step(cache, slices, null);
            for (int s = 0; s < b; s++) {
                last[s] = argmax(logits, s * vocab, vocab);
                length[s]++;
            }
            tokens += b;
            steps++;
        }
        return new double[] {tokens / ((System.nanoTime() - t0) / 1e9), steps};
    }

    private static int argmax(float[] a, int off, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) if (a[off + i] > a[off + best]) best = i;
        return best;
    }

    private static double median(double[] xs) {
        double[] s = xs.clone();
        java.util.Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    /** Kernels that time each call by what it computes (ms per step in the report). */
    private static final class Timed implements Kernels {
        static final String[] NAMES = {"experts", "qkv+o", "router", "lm_head", "attention", "other kernels"};
        private final Kernels k;
        private final long[] nanos = new long[NAMES.length];
        /** Weight bytes the calls read: experts (the distinct experts of each call), and all weights. */
        private long expertBytes;
        private long weightBytes;

        Timed(Kernels k) {
            this.k = k;
        }

        void reset() {
            java.util.Arrays.fill(nanos, 0);
            expertBytes = 0;
            weightBytes = 0;
        }

        /** ms per step of each kind, then the experts' GB/s (their distinct experts' bytes over their time). */
        double[] snapshot(double steps) {
            double[] ms = new double[NAMES.length + 1];
            for (int i = 0; i < NAMES.length; i++) ms[i] = nanos[i] / 1e6 / steps;
            ms[NAMES.length] = expertBytes / (double) nanos[0];
            return ms;
        }

        /** Weight GB per step (every weight the step read once). */
        double stepGigabytes(double steps) {
            return weightBytes / 1e9 / steps;
        }

        private static long bytes(Weight w) {
            return w.data().byteSize() + (w.scales() == null ? 0 : w.scales().byteSize());
        }

        private static int kind(Weight w) {
            String n = w.name();
            if (n.contains("lm_head")) return 3;
            if (n.contains("gate.weight") && !n.contains("experts")) return 2;
            return 1;
        }

        @Override
        public void matmul(float[] out, float[] x, int tokens, Weight w) {
            long t = System.nanoTime();
            k.matmul(out, x, tokens, w);
            nanos[kind(w)] += System.nanoTime() - t;
            weightBytes += bytes(w);
        }

        @Override
        public void matmulTransposed(float[] out, float[] x, int tokens, Weight w) {
            long t = System.nanoTime();
            k.matmulTransposed(out, x, tokens, w);
            nanos[kind(w)] += System.nanoTime() - t;
            weightBytes += bytes(w);
        }

        @Override
        public void matmul(float[] x, int tokens, Weight[] ws, float[][] outs) {
            long t = System.nanoTime();
            k.matmul(x, tokens, ws, outs);
            nanos[kind(ws[0])] += System.nanoTime() - t;
            for (Weight w : ws) weightBytes += bytes(w);
        }

        @Override
        public void moe(float[] out, float[] x, int tokens, int[] topkIds, float[] topkWeights, int kk,
                        Experts experts) {
            long t = System.nanoTime();
            k.moe(out, x, tokens, topkIds, topkWeights, kk, experts);
            nanos[0] += System.nanoTime() - t;
            boolean[] used = new boolean[experts.gate().length];
            for (int i = 0; i < tokens * kk; i++) used[topkIds[i]] = true;
            for (int e = 0; e < used.length; e++) {
                if (used[e]) {
                    long b = bytes(experts.gate()[e]) + bytes(experts.up()[e]) + bytes(experts.down()[e]);
                    expertBytes += b;
                    weightBytes += b;
                }
            }
        }

        @Override
        public void attention(float[] out, float[] q, int tokens, float[] keys, float[] values, int[] cacheRow,
                              int[] visibleFrom, int heads, int kvHeads, int headDim, float scale, float[] sinks) {
            long t = System.nanoTime();
            k.attention(out, q, tokens, keys, values, cacheRow, visibleFrom, heads, kvHeads, headDim, scale, sinks);
            nanos[4] += System.nanoTime() - t;
        }

        @Override
        public void crossEntropy(float[] logits, int rows, int vocab, int[] targets, float[] nll, int[] argmax) {
            long t = System.nanoTime();
            k.crossEntropy(logits, rows, vocab, targets, nll, argmax);
            nanos[5] += System.nanoTime() - t;
        }

        @Override
        public void row(Weight w, int r, float[] out, int off) {
            k.row(w, r, out, off);
        }

        @Override
        public void rmsnorm(float[] out, int outOff, float[] x, int xOff, float[] weight, int n, float eps) {
            long t = System.nanoTime();
            k.rmsnorm(out, outOff, x, xOff, weight, n, eps);
            nanos[5] += System.nanoTime() - t;
        }

        @Override
        public void layernorm(float[] out, int outOff, float[] x, int xOff, float[] weight, float[] bias, int n,
                              float eps) {
            k.layernorm(out, outOff, x, xOff, weight, bias, n, eps);
        }

        @Override
        public void softmax(float[] x, int off, int n) {
            k.softmax(x, off, n);
        }

        @Override
        public void siluMul(float[] gate, float[] up, int n) {
            k.siluMul(gate, up, n);
        }

        @Override
        public float dot(float[] a, int aOff, float[] b, int bOff, int n) {
            return k.dot(a, aOff, b, bOff, n);
        }

        @Override
        public void axpy(float[] y, int yOff, float alpha, float[] x, int xOff, int n) {
            k.axpy(y, yOff, alpha, x, xOff, n);
        }
    }
}
