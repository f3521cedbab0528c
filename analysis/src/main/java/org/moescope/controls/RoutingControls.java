package org.moescope.controls;

import org.moescope.errors.BadInputException;
import org.moescope.pathways.Pathway;

import java.util.List;

/**
 * Controls that a pathway-distance trend might merely reflect (paper App. E.5): how many experts a pathway keeps,
 * and how spread out routing is. All entropies are in nats (natural log); docs/metrics.md has the definitions.
 */
public final class RoutingControls {
    private RoutingControls() {}

    /** Reads per-token router logits without needing them in one Java array ({@code [T, L, E]} can exceed 2³¹). */
    @FunctionalInterface
    public interface LogitRows {
        /** Copies the E logits of token (global index) at layer into dst. */
        void read(long token, int layer, float[] dst);
    }

    /** Mean experts kept per layer, over samples and layers (every sample weighted equally); NaN for no samples. */
    public static double meanPathwayLength(List<Pathway> pathways) {
        if (pathways.isEmpty()) return Double.NaN;
        double total = 0;
        for (Pathway p : pathways) total += p.meanExpertsPerLayer();
        return total / pathways.size();
    }

    /** Shannon entropy (nats) of p[offset .. offset + length), taken as given (no renormalisation); 0·log 0 = 0. */
    public static double entropy(float[] p, int offset, int length) {
        double h = 0;
        for (int k = offset; k < offset + length; k++) {
            double v = p[k];
            if (v > 0) h -= v * Math.log(v);
        }
        return h;
    }

    /**
     * Entropy of the token-averaged routing: mean over the given samples and all layers of H(ḡ_ℓ).
     *
     * @param probsMean (N, L, E) row-major {@code router_probs_mean}
     * @param samples   indices of the samples to average over; NaN when empty
     */
    public static double meanRoutingEntropy(float[] probsMean, int layers, int experts, int[] samples) {
        if (samples.length == 0) return Double.NaN;
        int stride = layers * experts;
        double total = 0;
        for (int s : samples) {
            if (s < 0 || (long) (s + 1) * stride > probsMean.length) {
                throw new BadInputException("router_probs_mean has no sample " + s);
            }
            for (int l = 0; l < layers; l++) total += entropy(probsMean, s * stride + l * experts, experts);
        }
        return total / ((double) samples.length * layers);
    }

    /**
     * Mean per-token routing entropy: for each sample, the mean over its tokens and all layers of
     * H(softmax(router_logits[t, ℓ])); then the mean over samples (so long samples do not dominate, matching
     * {@link #meanRoutingEntropy}). Samples without tokens are skipped; NaN when none has any.
     *
     * @param sampleOffsets (N + 1) sample i owns tokens sampleOffsets[i] .. sampleOffsets[i+1]-1
     */
    public static double meanTokenEntropy(LogitRows logits, long[] sampleOffsets, int layers, int experts,
                                          int[] samples) {
        float[] row = new float[experts];
        double total = 0;
        int counted = 0;
        for (int s : samples) {
            if (s < 0 || s + 1 >= sampleOffsets.length) throw new BadInputException("sample_offsets has no sample " + s);
            long from = sampleOffsets[s], to = sampleOffsets[s + 1];
            if (to <= from) continue;
            double sampleTotal = 0;
            for (long t = from; t < to; t++) {
                for (int l = 0; l < layers; l++) {
                    logits.read(t, l, row);
                    sampleTotal += softmaxEntropy(row);
                }
            }
            total += sampleTotal / ((double) (to - from) * layers);
            counted++;
        }
        return counted == 0 ? Double.NaN : total / counted;
    }

    /** Same, for logits held in one flat row-major {@code [T, L, E]} array. */
    public static double meanTokenEntropy(float[] routerLogits, long[] sampleOffsets, int layers, int experts,
                                          int[] samples) {
        return meanTokenEntropy((token, layer, dst) -> System.arraycopy(routerLogits,
                Math.toIntExact((token * layers + layer) * experts), dst, 0, experts), sampleOffsets, layers, experts,
                samples);
    }

    /** H(softmax(z)) in nats, computed stably: with lse = log Σ exp z, H = lse − Σ p_k z_k. */
    public static double softmaxEntropy(float[] z) {
        double max = Double.NEGATIVE_INFINITY;
        for (float v : z) max = Math.max(max, v);
        double sum = 0, weighted = 0;
        for (float v : z) {
            double e = Math.exp(v - max);
            if (e == 0) continue; // a -inf logit has p = 0 and adds nothing (0 · -inf would be NaN)
            sum += e;
            weighted += e * (v - max);
        }
        return Math.log(sum) - weighted / sum;
    }
}
