package org.moescope.model.family;

import org.moescope.model.ModelConfig;

import java.util.Arrays;

/**
 * Qwen3-MoE (HF Qwen3MoeForCausalLM) = Qwen2-MoE without the shared expert and the q/k/v biases, with RMSNorm of q and
 * k per head (over head_dim, which config.json may set apart from hidden/heads) and optional attention_bias on q/k/v/o.
 * A sliding window, when use_sliding_window, applies to every layer.
 */
final class Qwen3Moe {
    static final Family FAMILY = new Family("qwen3_moe", "Qwen3MoeForCausalLM", Qwen3Moe::parse);

    private Qwen3Moe() {
    }

    static ModelConfig parse(ConfigJson c) {
        ModelConfig.Builder b = ModelConfig.Builder.common(c, 32768, 1e-6, 10000.0);
        b.qkNorm = ModelConfig.QkNorm.PER_HEAD;
        b.qkvBias = b.oBias = c.bool("attention_bias", false);
        b.numExperts = c.positive(ConfigJson.EXPERTS, 128);
        b.numExpertsPerTok = c.positive("num_experts_per_tok", 8);
        b.moeIntermediateSize = c.positive("moe_intermediate_size", 768);
        b.normTopkProb = c.bool("norm_topk_prob", false);
        b.moeLayers = Qwen2Moe.moeLayers(c, b.numHiddenLayers);
        if (c.bool("use_sliding_window", false) && c.has("sliding_window")) {
            Arrays.fill(b.slidingWindows, c.positive("sliding_window", null));
        }
        return b.build();
    }
}
