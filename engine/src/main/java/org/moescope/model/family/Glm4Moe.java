package org.moescope.model.family;

import org.moescope.model.ModelConfig;
import org.moescope.model.Router;
import org.moescope.model.TensorNames;

import java.util.List;
import java.util.stream.IntStream;

/**
 * GLM-4.5 / GLM-4.5-Air (HF Glm4MoeForCausalLM): DeepSeek-V3's sigmoid router with a choice-only bias
 * (mlp.gate.e_score_correction_bias), group-limited top-k (n_group, topk_group), renormalisation and
 * routed_scaling_factor; ungated shared experts (mlp.shared_experts, n_shared_experts × moe_intermediate_size wide)
 * added to the routed sum; the first first_k_dense_replace layers dense; RoPE on the first partial_rotary_factor (0.5)
 * of each head; q/k/v biases (attention_bias), optional per-head q/k RMSNorm (use_qk_norm). The checkpoints' extra
 * multi-token-prediction layer (num_nextn_predict_layers) is allowed and not run, as HF does.
 */
final class Glm4Moe {
    static final Family FAMILY = new Family("glm4_moe", "Glm4MoeForCausalLM", Glm4Moe::parse);

    private Glm4Moe() {
    }

    static ModelConfig parse(ConfigJson c) {
        ModelConfig.Builder b = ModelConfig.Builder.common(c, 131072, 1e-5, 10000.0);
        b.names = TensorNames.MLP_SHARED_EXPERTS;
        b.partialRotaryFactor = c.partialRotaryFactor(0.5);
        b.qkvBias = c.bool("attention_bias", false); // o_proj has none
        if (c.bool("use_qk_norm", false)) {
            b.qkNorm = ModelConfig.QkNorm.PER_HEAD;
        }
        b.numExperts = c.positive(List.of("n_routed_experts", "num_local_experts"), 128);
        b.numExpertsPerTok = c.positive("num_experts_per_tok", 8);
        b.moeIntermediateSize = c.positive("moe_intermediate_size", 1408);
        b.router = Router.SIGMOID_GROUPED;
        b.normTopkProb = c.bool("norm_topk_prob", true);
        b.routedScalingFactor = (float) c.number("routed_scaling_factor", 1.0, false);
        b.nGroup = c.positive("n_group", 1);
        b.topkGroup = c.positive("topk_group", 1);
        int shared = c.nonNegative("n_shared_experts", 1);
        b.sharedExpertIntermediateSize = shared * b.moeIntermediateSize;
        b.sharedExpertGated = false;
        int dense = c.nonNegative("first_k_dense_replace", 1);
        b.moeLayers = IntStream.range(Math.min(dense, b.numHiddenLayers), b.numHiddenLayers).toArray();
        b.nextnLayers = c.nonNegative("num_nextn_predict_layers", c.nonNegative("num_mtp_layers", 0));
        return b.build();
    }
}
