package org.moescope.model;

/**
 * A RouteRecorder for tests: keeps, per (token, MoE layer) of one forward call, the router logits and probabilities, the
 * top-k ids and weights and the MoE input.
 */
public final class RouteCapture implements RouteRecorder {
    private final int layers, experts, k, hidden;
    public final float[] routerLogits; // (T, L, E)
    public final float[] probs;        // (T, L, E)
    public final int[] topkIds;        // (T, L, k)
    public final float[] topkWeights;  // (T, L, k)
    public final float[] moeInput;     // (T, L, H)
    public final float[] sharedGate;   // (T, L), zeros without a shared expert

    public RouteCapture(int tokens, ModelConfig c) {
        layers = c.numMoeLayers();
        experts = c.numExperts();
        k = c.numExpertsPerTok();
        hidden = c.hiddenSize();
        routerLogits = new float[tokens * layers * experts];
        probs = new float[tokens * layers * experts];
        topkIds = new int[tokens * layers * k];
        topkWeights = new float[tokens * layers * k];
        moeInput = new float[tokens * layers * hidden];
        sharedGate = new float[tokens * layers];
    }

    @Override
    public void onSharedExpert(int layer, int tokens, float[] gate) {
        for (int t = 0; t < tokens; t++) sharedGate[t * layers + layer] = gate[t];
    }

    @Override
    public void onLayer(int layer, int tokens, float[] in, float[] logits, float[] p, int[] ids, float[] w) {
        for (int t = 0; t < tokens; t++) {
            System.arraycopy(logits, t * experts, routerLogits, (t * layers + layer) * experts, experts);
            System.arraycopy(p, t * experts, probs, (t * layers + layer) * experts, experts);
            System.arraycopy(ids, t * k, topkIds, (t * layers + layer) * k, k);
            System.arraycopy(w, t * k, topkWeights, (t * layers + layer) * k, k);
            System.arraycopy(in, t * hidden, moeInput, (t * layers + layer) * hidden, hidden);
        }
    }
}
