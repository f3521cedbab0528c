package org.moescope.model.family;

import org.moescope.model.ModelConfig;

/**
 * OLMoE (HF OlmoeForCausalLM): pre-norm RMSNorm blocks, q/k RMSNorm over the whole projection, optional clip_qkv,
 * softmax → top-k router (renormalised iff norm_topk_prob), every layer MoE, experts as mlp.experts.E.*_proj.
 */
final class Olmoe {
    static final Family FAMILY = new Family("olmoe", "OlmoeForCausalLM", Olmoe::parse);

    private Olmoe() {
    }

    static ModelConfig parse(ConfigJson c) {
        ModelConfig.Builder b = ModelConfig.Builder.common(c, 4096, 1e-5, 10000.0);
        b.qkNorm = ModelConfig.QkNorm.WHOLE;
        b.clipQkv = clip(c);
        b.qkvBias = b.oBias = c.bool("attention_bias", false);
        b.numExperts = c.positive(ConfigJson.EXPERTS, null);
        b.numExpertsPerTok = c.positive("num_experts_per_tok", null);
        b.moeIntermediateSize = b.intermediateSize;
        b.normTopkProb = c.bool("norm_topk_prob", false);
        return b.build();
    }

    /** clip_qkv: a positive number, or null for none. */
    static Float clip(ConfigJson c) {
        return c.has("clip_qkv") ? (float) c.number("clip_qkv", 0, false) : null;
    }
}
