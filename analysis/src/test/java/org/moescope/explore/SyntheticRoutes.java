package org.moescope.explore;

import org.moescope.routing.RouteFile;
import org.moescope.routing.RouteFileWriter;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Random but well-formed route files for the explorer's tests, kept in memory too so that tests can recompute every
 * aggregate by brute force. Experts are drawn with a per-sample bias so that loads, pathways and co-activation differ.
 * {@code main} writes a large one for measurements: {@code SyntheticRoutes OUT.safetensors samples tokens L E k}.
 */
final class SyntheticRoutes {
    final int n, layers, experts, topK;
    final long[] offsets;
    final int[][] ids, topk;
    final float[][] weights, probs;
    final float[] loss;
    final List<String> sampleIds = new ArrayList<>(), groups = new ArrayList<>();

    SyntheticRoutes(long seed, int n, int maxTokens, int layers, int experts, int topK) {
        this.n = n;
        this.layers = layers;
        this.experts = experts;
        this.topK = topK;
        SplittableRandom rnd = new SplittableRandom(seed);
        offsets = new long[n + 1];
        ids = new int[n][];
        topk = new int[n][];
        weights = new float[n][];
        probs = new float[n][];
        loss = new float[n];
        for (int s = 0; s < n; s++) {
            int len = 1 + rnd.nextInt(maxTokens);
            offsets[s + 1] = offsets[s] + len;
            ids[s] = new int[len];
            for (int t = 0; t < len; t++) ids[s][t] = rnd.nextInt(50);
            topk[s] = new int[len * layers * topK];
            weights[s] = new float[len * layers * topK];
            int favourite = rnd.nextInt(experts);
            for (int t = 0; t < len; t++) {
                for (int l = 0; l < layers; l++) {
                    // k distinct experts, the sample's favourite first half of the time
                    boolean[] used = new boolean[experts];
                    for (int q = 0; q < topK; q++) {
                        int e = q == 0 && rnd.nextBoolean() ? (favourite + l) % experts : rnd.nextInt(experts);
                        while (used[e]) e = (e + 1) % experts;
                        used[e] = true;
                        topk[s][(t * layers + l) * topK + q] = e;
                        weights[s][(t * layers + l) * topK + q] = 1f / (q + 2);
                    }
                }
            }
            probs[s] = new float[layers * experts];
            for (int l = 0; l < layers; l++) {
                double sum = 0;
                double[] raw = new double[experts];
                for (int e = 0; e < experts; e++) {
                    raw[e] = Math.exp(2 * rnd.nextDouble() + (e == (favourite + l) % experts ? 2 : 0));
                    sum += raw[e];
                }
                for (int e = 0; e < experts; e++) probs[s][l * experts + e] = (float) (raw[e] / sum);
            }
            loss[s] = (float) (rnd.nextDouble() * 3);
            sampleIds.add(s % 5 == 4 ? null : "s" + s);
            groups.add(s % 3 == 0 ? "alpha" : "beta");
        }
    }

    /** The same samples (ids, lengths, labels) routed differently: another checkpoint of a series. */
    SyntheticRoutes rerouted(long seed) {
        return new SyntheticRoutes(this, seed);
    }

    private SyntheticRoutes(SyntheticRoutes base, long seed) {
        n = base.n;
        layers = base.layers;
        experts = base.experts;
        topK = base.topK;
        offsets = base.offsets.clone();
        ids = new int[n][];
        for (int s = 0; s < n; s++) ids[s] = base.ids[s].clone();
        loss = base.loss.clone();
        sampleIds.addAll(base.sampleIds);
        groups.addAll(base.groups);
        probs = new float[n][];
        topk = new int[n][];
        weights = new float[n][];
        SplittableRandom rnd = new SplittableRandom(seed);
        for (int s = 0; s < n; s++) {
            topk[s] = base.topk[s].clone();
            weights[s] = base.weights[s].clone();
            // rotate every expert id by a per-sample amount: still k distinct ids per row
            int shift = rnd.nextInt(experts);
            for (int i = 0; i < topk[s].length; i++) topk[s][i] = (topk[s][i] + shift) % experts;
            probs[s] = new float[layers * experts];
            for (int l = 0; l < layers; l++) {
                for (int e = 0; e < experts; e++) {
                    probs[s][l * experts + (e + shift) % experts] = base.probs[s][l * experts + e];
                }
            }
        }
    }

    long tokens() {
        return offsets[n];
    }

    /** Writes the file; {@code lossShift} is added to every loss (a later checkpoint: lower losses). */
    Path write(Path file, String checkpoint, long step, float lossShift) {
        Map<String, String> meta = new HashMap<>();
        meta.put("format", "moescope-routes");
        meta.put("model_type", "synthetic");
        meta.put("sample_ids", json(sampleIds));
        meta.put("sample_groups", json(groups));
        if (checkpoint != null) meta.put("checkpoint", checkpoint);
        if (step >= 0) meta.put("step", Long.toString(step));
        RouteFile.Dims dims = new RouteFile.Dims(n, tokens(), layers, topK, experts, 0, 0, false, false, false);
        try (RouteFileWriter w = new RouteFileWriter(file, dims, offsets, meta)) {
            for (int s = 0; s < n; s++) {
                w.writeTokenRows(RouteFile.Field.INPUT_IDS, s, ids[s]);
                w.writeTokenRows(RouteFile.Field.TOPK_IDS, s, topk[s]);
                w.writeTokenRows(RouteFile.Field.TOPK_WEIGHTS, s, weights[s]);
                w.writeSampleRow(RouteFile.Field.ROUTER_PROBS_MEAN, s, probs[s]);
                w.writeSampleRow(RouteFile.Field.LOSS, s, new float[] {Math.max(0f, loss[s] + lossShift)});
            }
            w.commit();
        }
        return file;
    }

    private static String json(List<String> v) {
        StringBuilder b = new StringBuilder("[");
        for (int i = 0; i < v.size(); i++) {
            if (i > 0) b.append(',');
            b.append(v.get(i) == null ? "null" : "\"" + v.get(i) + "\"");
        }
        return b.append(']').toString();
    }

    /** Writes a large file without keeping it in memory: for measuring the explorer on a big route file. */
    public static void main(String[] args) {
        Path out = Path.of(args[0]);
        int n = Integer.parseInt(args[1]), maxTokens = Integer.parseInt(args[2]), layers = Integer.parseInt(args[3]),
                experts = Integer.parseInt(args[4]), topK = Integer.parseInt(args[5]);
        // Generate in blocks of samples with the same seed scheme, streaming each block to the writer.
        SplittableRandom lengths = new SplittableRandom(7);
        long[] offsets = new long[n + 1];
        for (int s = 0; s < n; s++) offsets[s + 1] = offsets[s] + maxTokens / 2 + lengths.nextInt(maxTokens / 2 + 1);
        Map<String, String> meta = new HashMap<>();
        meta.put("format", "moescope-routes");
        meta.put("model_type", "synthetic");
        RouteFile.Dims dims = new RouteFile.Dims(n, offsets[n], layers, topK, experts, 0, 0, false, false, false);
        SplittableRandom rnd = new SplittableRandom(11);
        try (RouteFileWriter w = new RouteFileWriter(out, dims, offsets, meta)) {
            for (int s = 0; s < n; s++) {
                int len = (int) (offsets[s + 1] - offsets[s]);
                int[] ids = new int[len];
                for (int t = 0; t < len; t++) ids[t] = rnd.nextInt(50_000);
                int[] top = new int[len * layers * topK];
                float[] wt = new float[top.length];
                int fav = rnd.nextInt(experts);
                for (int r = 0; r < len * layers; r++) {
                    int start = rnd.nextBoolean() ? fav : rnd.nextInt(experts);
                    for (int q = 0; q < topK; q++) {
                        top[r * topK + q] = (start + q * 7) % experts;
                        wt[r * topK + q] = 1f / topK;
                    }
                }
                float[] p = new float[layers * experts];
                for (int l = 0; l < layers; l++) {
                    double sum = 0;
                    for (int e = 0; e < experts; e++) sum += p[l * experts + e] = (float) Math.exp(3 * rnd.nextDouble());
                    for (int e = 0; e < experts; e++) p[l * experts + e] /= (float) sum;
                }
                w.writeTokenRows(RouteFile.Field.INPUT_IDS, s, ids);
                w.writeTokenRows(RouteFile.Field.TOPK_IDS, s, top);
                w.writeTokenRows(RouteFile.Field.TOPK_WEIGHTS, s, wt);
                w.writeSampleRow(RouteFile.Field.ROUTER_PROBS_MEAN, s, p);
                w.writeSampleRow(RouteFile.Field.LOSS, s, new float[] {(float) rnd.nextDouble() * 4});
            }
            w.commit();
        }
    }
}
