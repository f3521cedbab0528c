package org.moescope.model.family;

import org.moescope.model.ModelConfig;

/**
 * FlexOlmo (HF FlexOlmoForCausalLM) = OLMoE's router and experts in OLMo-2's block: the norms sit after attention
 * and after the MoE (post_attention_layernorm, post_feedforward_layernorm; no input norm), and there is no clip_qkv.
 */
final class FlexOlmo {
    static final Family FAMILY = new Family("flex_olmo", "FlexOlmoForCausalLM", FlexOlmo::parse);

    private FlexOlmo() {
    }

    static ModelConfig parse(ConfigJson c) {
        ModelConfig.Builder b = ModelConfig.Builder.common(c, 4096, 1e-6, 500000.0);
        b.postNorm = true;
        b.qkNorm = ModelConfig.QkNorm.WHOLE;
        b.qkvBias = b.oBias = c.bool("attention_bias", false);
        b.numExperts = c.positive(ConfigJson.EXPERTS, 7);
        b.numExpertsPerTok = c.positive("num_experts_per_tok", 5);
        b.moeIntermediateSize = b.intermediateSize;
        b.normTopkProb = c.bool("norm_topk_prob", false);
        return b.build();
    }
}
