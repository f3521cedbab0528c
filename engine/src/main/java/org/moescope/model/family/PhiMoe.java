package org.moescope.model.family;

import org.moescope.model.ModelConfig;
import org.moescope.model.Router;

import java.util.Arrays;

/**
 * PhiMoE / Phi-3.5-MoE (HF PhimoeForCausalLM): Mixtral's block with LayerNorm (weight and bias, eps rms_norm_eps)
 * instead of RMSNorm, optional biases on q/k/v/o (attention_bias) and lm_head (lm_head_bias), and the sparsemixer
 * router (top-2, router_jitter_noise). Phi-3.5-MoE's own checkpoints use LongRoPE, which is refused by its field.
 */
final class PhiMoe {
    static final Family FAMILY = new Family("phimoe", "PhimoeForCausalLM", PhiMoe::parse);

    private PhiMoe() {
    }

    static ModelConfig parse(ConfigJson c) {
        ModelConfig.Builder b = ModelConfig.Builder.common(c, 4096 * 32, 1e-5, 1e6);
        b.names = Mixtral.NAMES;
        b.norm = ModelConfig.Norm.LAYER;
        b.qkvBias = b.oBias = c.bool("attention_bias", false);
        b.lmHeadBias = c.bool("lm_head_bias", false);
        b.numExperts = c.positive(ConfigJson.EXPERTS, 16);
        b.numExpertsPerTok = c.positive("num_experts_per_tok", 2);
        if (b.numExpertsPerTok != 2) {
            throw c.error("num_experts_per_tok", b.numExpertsPerTok + " is not supported: sparsemixer routes to 2");
        }
        b.moeIntermediateSize = b.intermediateSize;
        b.router = Router.SPARSEMIXER;
        b.routerJitter = c.number("router_jitter_noise", 0.01, true);
        if (c.has("sliding_window")) {
            Arrays.fill(b.slidingWindows, c.positive("sliding_window", null));
        }
        return b.build();
    }
}
