package org.moescope.trace;

import org.moescope.model.ModelConfig;
import org.moescope.model.RouteRecorder;

import java.util.Arrays;

/**
 * The routes of one sequence run call by call — a prefill, then one decode step per token, as generation runs it —
 * kept in token order, for {@link Tracer#writeSequence}. Each call appends its tokens' rows.
 */
public final class SequenceRoutes implements RouteRecorder {
    private final int L, E, K;
    private int start;             // first token of the current call
    private int filled;            // tokens recorded so far
    int[] topkIds = new int[0];    // (tokens, L, k)
    float[] topkWeights = new float[0];
    final double[] probSum;        // (L, E) sum over the tokens of the router softmax
    float[] sharedGate;            // (tokens, L), or null without a shared expert

    public SequenceRoutes(ModelConfig c) {
        L = c.numMoeLayers();
        E = c.numExperts();
        K = c.numExpertsPerTok();
        probSum = new double[L * E];
        sharedGate = c.hasSharedExpertGate() ? new float[0] : null;
    }

    /** Tokens recorded so far. */
    public int tokens() {
        return filled;
    }

    @Override
    public void onLayer(int layer, int tokens, float[] moeInput, float[] logits, float[] probs, int[] ids, float[] w) {
        if (layer == 0) { // a new call: its tokens follow the previous call's
            start = filled;
            filled = start + tokens;
            if (topkIds.length < filled * L * K) {
                int grown = Math.max(filled, 2 * start) * L * K;
                topkIds = Arrays.copyOf(topkIds, grown);
                topkWeights = Arrays.copyOf(topkWeights, grown);
                if (sharedGate != null) sharedGate = Arrays.copyOf(sharedGate, grown / K);
            }
        }
        for (int t = 0; t < tokens; t++) {
            System.arraycopy(ids, t * K, topkIds, ((start + t) * L + layer) * K, K);
            System.arraycopy(w, t * K, topkWeights, ((start + t) * L + layer) * K, K);
            for (int e = 0; e < E; e++) probSum[layer * E + e] += probs[t * E + e];
        }
    }

    @Override
    public void onSharedExpert(int layer, int tokens, float[] gate) {
        for (int t = 0; t < tokens; t++) sharedGate[(start + t) * L + layer] = gate[t];
    }
}
