package org.moescope.model;

/**
 * Receives the router's decisions while the forward pass runs. The model calls it once per MoE layer with rows for
 * the tokens of the current call; passing no recorder skips the calls entirely, so recording off costs nothing.
 * The arrays are the model's working buffers: copy what you keep.
 */
public interface RouteRecorder {
    /**
     * @param moeLayer     index among the MoE layers (0 .. config.numMoeLayers() − 1); dense layers are not reported
     * @param moeInput     (tokens, hidden) the MoE block's input: what the router reads
     * @param routerLogits (tokens, experts) pre-softmax router logits
     * @param routerProbs  (tokens, experts) softmax of the logits over all experts, fp32, whatever the router rule
     * @param topkIds      (tokens, k) chosen experts, in the order the router lists them (descending score)
     * @param topkWeights  (tokens, k) weights applied to them
     */
    void onLayer(int moeLayer, int tokens, float[] moeInput, float[] routerLogits, float[] routerProbs, int[] topkIds,
                 float[] topkWeights);

    /**
     * Called after {@link #onLayer} in models with a gated shared expert (Qwen2-MoE): gate (tokens) holds
     * sigmoid(shared_expert_gate · h), the weight of the shared expert's output for each token.
     */
    default void onSharedExpert(int moeLayer, int tokens, float[] gate) {
    }
}
