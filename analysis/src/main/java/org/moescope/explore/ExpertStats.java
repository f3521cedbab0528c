package org.moescope.explore;

import org.moescope.errors.BadInputException;
import org.moescope.routing.RouteFile;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * What every token of one route file did, per MoE layer and expert: the aggregates of the explorer's overview, computed
 * here so that the page never touches per-token data of all samples.
 *
 * @param tokens       T
 * @param layers       L
 * @param experts      E
 * @param coactivation [L, E, E]: tokens whose top-k at layer l holds both a and b; the diagonal (a, a) is the load of
 *                     a, the tokens routed to it
 * @param probMean     [L, E]: the full router softmax averaged over all tokens (sample means weighted by length)
 * @param inputHash    a hash of all input ids, to check that the files of a series traced the same tokens
 */
public record ExpertStats(long tokens, int layers, int experts, long[] coactivation, double[] probMean, long inputHash) {
    /** Work is cut into this many sample ranges whatever the thread count, so sums come out the same on any machine. */
    private static final int RANGES = 64;

    /** Tokens routed to expert e at layer l. */
    public long load(int l, int e) {
        return coactivation[(l * experts + e) * experts + e];
    }

    public long coactivation(int l, int a, int b) {
        return coactivation[(l * experts + a) * experts + b];
    }

    /** Reads the file's top-k ids and router means on {@code threads} threads. */
    public static ExpertStats of(RouteFile f, int threads) {
        int n = f.numSamples(), L = f.numLayers(), E = f.numExperts(), k = f.topK();
        float[] probs = f.routerProbsMean();
        int ranges = Math.min(RANGES, n);
        List<Partial> parts = new ArrayList<>();
        ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, Math.min(threads, ranges)), r -> {
            Thread t = new Thread(r, "explore-stats");
            t.setDaemon(true);
            return t;
        });
        try {
            List<Future<Partial>> futures = new ArrayList<>();
            for (int g = 0; g < ranges; g++) {
                int from = (int) ((long) n * g / ranges), to = (int) ((long) n * (g + 1) / ranges);
                futures.add(pool.submit(() -> Partial.of(f, probs, from, to, L, E, k)));
            }
            for (Future<Partial> fu : futures) parts.add(fu.get());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException re) throw re;
            throw new IllegalStateException(e.getCause());
        } finally {
            pool.shutdownNow();
        }
        long[] co = new long[L * E * E];
        double[] pm = new double[L * E];
        long hash = 1;
        for (Partial p : parts) {
            for (int i = 0; i < co.length; i++) co[i] += p.co[i];
            for (int i = 0; i < pm.length; i++) pm[i] += p.probSum[i];
            hash = 31 * hash + p.hash;
        }
        long t = f.dims().tokens();
        for (int i = 0; i < pm.length; i++) pm[i] /= t;
        return new ExpertStats(t, L, E, co, pm, hash);
    }

    static BadInputException badId(RouteFile f, int sample, int id, int experts) {
        return new BadInputException(f.path() + ": topk_ids of sample " + sample + " holds expert id " + id
                + ", outside [0, " + experts + ")");
    }

    private record Partial(long[] co, double[] probSum, long hash) {
        static Partial of(RouteFile f, float[] probs, int from, int to, int L, int E, int k) {
            long[] co = new long[L * E * E];
            double[] ps = new double[L * E];
            long hash = 1;
            for (int s = from; s < to; s++) {
                int[] ids = f.topkIds(s);
                int len = f.sampleLength(s);
                for (int t = 0; t < len; t++) {
                    for (int l = 0; l < L; l++) {
                        int base = (t * L + l) * k;
                        int lb = l * E;
                        for (int a = 0; a < k; a++) {
                            int ea = ids[base + a];
                            if (ea < 0 || ea >= E) throw badId(f, s, ea, E);
                            int row = (lb + ea) * E;
                            co[row + ea]++;
                            for (int b = a + 1; b < k; b++) {
                                int eb = ids[base + b];
                                if (eb < 0 || eb >= E) throw badId(f, s, eb, E);
                                co[row + eb]++;
                                co[(lb + eb) * E + ea]++;
                            }
                        }
                    }
                }
                // router_probs_mean is a per-sample mean: weighting by length gives the mean over all tokens.
                int pb = s * L * E;
                for (int i = 0; i < L * E; i++) ps[i] += (double) probs[pb + i] * len;
                hash = 31 * hash + java.util.Arrays.hashCode(f.inputIds(s));
            }
            return new Partial(co, ps, hash);
        }
    }
}
