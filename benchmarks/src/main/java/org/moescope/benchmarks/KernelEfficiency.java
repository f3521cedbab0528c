package org.moescope.benchmarks;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.moescope.kernels.VectorKernels;
import org.moescope.trace.Tracer;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The expert matmuls (VectorKernels.moe over a prefill batch) as a fraction of the machine's FMA peak, with the two
 * measured in alternation: peak, experts, peak, experts, ... each burst a fraction of a second on all threads.
 *
 * <p>Why not two JMH runs: on the shared VM this project is benchmarked on, the FMA rate of a core drops to about
 * half for seconds to minutes at a time (a busy neighbour on the host core), so a peak measured in one minute and a
 * kernel measured in the next can be off by 2x either way. Each experts burst is divided by the mean of the peak
 * bursts on either side of it, and the median of those ratios is reported.
 *
 * <p>Usage: java --add-modules jdk.incubator.vector -Dmoescope.threads=T -cp benchmarks.jar
 * org.moescope.benchmarks.KernelEfficiency [pairs] [tokens] [shape ...]; prints JSON. tokens 0 (the default) gives
 * each shape the batch a trace would use (Tracer.batchTokensFor: 512 for the mini shape, 1,024 for OLMoE-1B-7B's).
 * Threads: moescope.threads (the kernels' pool), the same count runs the FMA loop.
 */
public final class KernelEfficiency {
    /** FMA loop iterations per thread in one peak burst: about 0.1 s at 80 GFLOP/s per core. */
    private static final int FMA_ITERATIONS = 40_000_000;
    /** Each experts burst runs moe calls for at least this long. */
    private static final long KERNEL_BURST_NANOS = 200_000_000L;
    /** Experts per token, as in OLMoE. */
    private static final int K = 8;

    private KernelEfficiency() {
    }

    public static void main(String[] args) throws Exception {
        int pairs = args.length > 0 ? Integer.parseInt(args[0]) : 20;
        int tokensArg = args.length > 1 ? Integer.parseInt(args[1]) : 0;
        List<String> shapes = args.length > 2 ? Arrays.asList(args).subList(2, args.length)
                : List.of("32x1024x512", "64x2048x1024");
        VectorKernels kernels = new VectorKernels();
        int threads = kernels.threads();
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode root = json.createObjectNode();
        root.put("threads", threads);
        root.put("pairs", pairs);
        ArrayNode results = root.putArray("results");
        ExecutorService fmaThreads = Executors.newFixedThreadPool(threads);
        try (Arena arena = Arena.ofShared()) {
            for (String shape : shapes) {
                int tokens = tokensArg > 0 ? tokensArg : Tracer.batchTokensFor(Integer.parseInt(shape.split("x")[0]), K);
                ExpertsLayer layer = ExpertsLayer.create(arena, shape, tokens, K);
                float[] out = new float[tokens * layer.hidden()];
                // Warm-up: both loops compiled by C2 before anything counts.
                for (int i = 0; i < 3; i++) {
                    peak(fmaThreads, threads);
                    experts(kernels, layer, out);
                }
                double[] fma = new double[pairs + 1], moe = new double[pairs], ratio = new double[pairs];
                fma[0] = peak(fmaThreads, threads);
                for (int i = 0; i < pairs; i++) {
                    moe[i] = experts(kernels, layer, out);
                    fma[i + 1] = peak(fmaThreads, threads);
                    ratio[i] = moe[i] / ((fma[i] + fma[i + 1]) / 2);
                }
                ObjectNode r = results.addObject();
                r.put("shape", shape);
                r.put("tokens", tokens);
                r.put("experts_gflops_median", median(moe));
                r.put("fma_peak_gflops_median", median(fma));
                r.put("fraction_of_peak_median", median(ratio));
                r.put("fraction_of_peak_q1", quantile(ratio, 0.25));
                r.put("fraction_of_peak_q3", quantile(ratio, 0.75));
                r.put("fma_peak_gflops_min", Arrays.stream(fma).min().orElse(0));
                r.put("fma_peak_gflops_max", Arrays.stream(fma).max().orElse(0));
                System.err.printf("%s: experts %.1f GFLOP/s, peak %.1f (%.1f-%.1f), experts / peak %.2f (q1 %.2f, q3 %.2f)%n",
                        shape, median(moe), median(fma), r.get("fma_peak_gflops_min").asDouble(),
                        r.get("fma_peak_gflops_max").asDouble(), median(ratio), quantile(ratio, 0.25),
                        quantile(ratio, 0.75));
            }
        } finally {
            fmaThreads.shutdownNow();
        }
        System.out.println(json.writeValueAsString(root));
    }

    /** GFLOP/s of `threads` FMA loops running together. */
    private static double peak(ExecutorService pool, int threads) throws Exception {
        List<Future<Float>> running = new ArrayList<>();
        long t0 = System.nanoTime();
        for (int t = 0; t < threads; t++) {
            running.add(pool.submit(() -> FmaPeakBench.fma12(FMA_ITERATIONS, 0.999999f, 1e-7f)));
        }
        float sink = 0;
        for (Future<Float> f : running) sink += f.get();
        long nanos = System.nanoTime() - t0;
        if (sink == 42f) System.err.print(""); // keeps the result alive
        return threads * FMA_ITERATIONS * (double) FmaPeakBench.FLOPS_PER_ITERATION / nanos;
    }

    /** GFLOP/s of moe calls over the layer, for at least KERNEL_BURST_NANOS. */
    private static double experts(VectorKernels kernels, ExpertsLayer l, float[] out) {
        long t0 = System.nanoTime(), t;
        long calls = 0;
        do {
            kernels.moe(out, l.x(), l.tokens(), l.topkIds(), l.topkWeights(), l.k(), l.gate(), l.up(), l.down());
            calls++;
            t = System.nanoTime();
        } while (t - t0 < KERNEL_BURST_NANOS);
        return (double) calls * l.flopsPerCall() / (t - t0);
    }

    static double median(double[] v) {
        return quantile(v, 0.5);
    }

    /** Linear interpolation between order statistics. */
    static double quantile(double[] v, double q) {
        double[] s = v.clone();
        Arrays.sort(s);
        double pos = q * (s.length - 1);
        int i = (int) Math.floor(pos);
        return i + 1 < s.length ? s[i] + (pos - i) * (s[i + 1] - s[i]) : s[i];
    }
}
