package org.moescope.model.family;

import org.moescope.model.ModelConfig;
import org.moescope.model.Router;

import java.util.List;

/**
 * DeepSeek-V3 / R1 (HF DeepseekV3ForCausalLM): DeepSeek-V2's multi-head latent attention with RoPE on adjacent pairs
 * when rope_interleave (the default) and on halves otherwise; the sigmoid router with a choice-only
 * e_score_correction_bias, group-limited top-k (groups ranked by the sum of their two best), renormalised when
 * norm_topk_prob, × routed_scaling_factor (as GLM-4.5); ungated shared experts; the first first_k_dense_replace (3)
 * layers dense. The stored multi-token-prediction layer (num_nextn_predict_layers) is allowed and not run, as in HF.
 */
final class DeepseekV3 {
    static final Family FAMILY = new Family("deepseek_v3", "DeepseekV3ForCausalLM", DeepseekV3::parse);

    private DeepseekV3() {
    }

    static ModelConfig parse(ConfigJson c) {
        ModelConfig.Builder b = DeepseekV2.latentAttention(c, 4096);
        b.ropeInterleave = c.bool("rope_interleave", true);
        b.numExperts = c.positive(List.of("n_routed_experts", "num_local_experts"), 256);
        b.numExpertsPerTok = c.positive("num_experts_per_tok", 8);
        b.moeIntermediateSize = c.positive("moe_intermediate_size", 2048);
        b.router = Router.SIGMOID_GROUPED;
        b.normTopkProb = c.bool("norm_topk_prob", true);
        b.routedScalingFactor = (float) c.number("routed_scaling_factor", 2.5, false);
        b.nGroup = c.positive("n_group", 8);
        b.topkGroup = c.positive("topk_group", 4);
        DeepseekV2.sharedExpertsAndDenseLayers(c, b, 1, 3);
        b.nextnLayers = c.nonNegative("num_nextn_predict_layers", c.nonNegative("num_mtp_layers", 1));
        return b.build();
    }
}
