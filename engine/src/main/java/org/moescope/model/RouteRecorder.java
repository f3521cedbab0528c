package org.moescope.model;

/**
 * Receives the router's decisions while the forward pass runs. The model calls it once per MoE layer with rows for
 * the tokens of the current call; passing no recorder skips the call entirely, so recording off costs nothing.
 * The arrays are the model's working buffers: copy what you keep.
 */
public interface RouteRecorder {
    /**
     * @param moeInput     (tokens, hidden) the MoE block's input, after post_attention_layernorm
     * @param routerLogits (tokens, experts) pre-softmax router logits
     * @param routerProbs  (tokens, experts) softmax of the logits, fp32
     * @param topkIds      (tokens, k) chosen experts, descending probability, ties to the lower id
     * @param topkWeights  (tokens, k) weights applied to them
     */
    void onLayer(int layer, int tokens, float[] moeInput, float[] routerLogits, float[] routerProbs, int[] topkIds,
                 float[] topkWeights);
}
