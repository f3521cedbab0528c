package org.moescope.model.family;

import org.moescope.model.ModelConfig;
import org.moescope.model.RopeScaling;
import org.moescope.model.Router;
import org.moescope.model.TensorNames;

import java.util.List;
import java.util.stream.IntStream;

/**
 * DeepSeek-V2 / V2-Lite (HF DeepseekV2ForCausalLM): multi-head latent attention (q through q_proj or the low-rank
 * q_a_proj → q_a_layernorm → q_b_proj; a compressed kv latent and one shared RoPE key from kv_a_proj_with_mqa; kv_b_proj
 * expands the latent per head), RoPE on adjacent pairs (HF's complex-number form), YaRN's softmax scale; router: softmax over all experts,
 * topk_method greedy or group_limited_greedy (groups ranked by their best probability), never renormalised (HF ignores
 * norm_topk_prob here), × routed_scaling_factor; ungated shared experts (n_shared_experts × moe_intermediate_size); the
 * first first_k_dense_replace layers dense, then every moe_layer_freq-th layer MoE.
 */
final class DeepseekV2 {
    static final Family FAMILY = new Family("deepseek_v2", "DeepseekV2ForCausalLM", DeepseekV2::parse);

    private DeepseekV2() {
    }

    static ModelConfig parse(ConfigJson c) {
        ModelConfig.Builder b = latentAttention(c, 2048);
        b.ropeInterleave = true;
        b.numExperts = c.positive(List.of("n_routed_experts", "num_experts"), 64);
        b.numExpertsPerTok = c.positive("num_experts_per_tok", null);
        b.moeIntermediateSize = c.positive("moe_intermediate_size", 1407);
        String method = c.text("topk_method");
        if (method == null || method.equals("greedy")) {
            b.router = Router.SOFTMAX_TOPK;
        } else if (method.equals("group_limited_greedy")) {
            b.router = Router.SOFTMAX_GROUPED;
            b.nGroup = c.positive("n_group", null);
            b.topkGroup = c.positive("topk_group", null);
        } else {
            throw c.error("topk_method", "is " + method + "; supported: greedy, group_limited_greedy");
        }
        b.normTopkProb = false;
        b.routedScalingFactor = (float) c.number("routed_scaling_factor", 1.0, false);
        sharedExpertsAndDenseLayers(c, b, 2, 0);
        return b.build();
    }

    /**
     * The fields DeepSeek-V2 and V3 read alike: the common ones, MLA's ranks and head widths, and the attention scale.
     */
    static ModelConfig.Builder latentAttention(ConfigJson c, int maxPositions) {
        ModelConfig.Builder b = ModelConfig.Builder.common(c, maxPositions, 1e-6, 10000.0);
        if (c.bool("attention_bias", false)) {
            throw c.error("attention_bias", "is true: MLA projections with biases are not supported");
        }
        int kv = c.positive("num_key_value_heads", b.numAttentionHeads);
        if (kv != b.numAttentionHeads) {
            // HF expands the latent into num_attention_heads key heads; a different count cannot load there either.
            throw c.error("num_key_value_heads", kv + " differs from num_attention_heads " + b.numAttentionHeads
                    + ": multi-head latent attention has one key head per query head");
        }
        Integer qLora = c.has("q_lora_rank") ? c.positive("q_lora_rank", null) : null;
        b.mla = new ModelConfig.Mla(qLora == null ? 0 : qLora, c.positive("kv_lora_rank", 512),
                c.positive("qk_nope_head_dim", 128), c.positive("qk_rope_head_dim", 64), c.positive("v_head_dim", 128));
        b.headDim = b.mla.qkHeadDim();
        // softmax_scale = qk_head_dim^-0.5, times mscale(factor, mscale_all_dim)² under YaRN with mscale_all_dim set
        // (HF's yarn_apply_mscale; V2-Lite and V3 set it, so their scores grow as their RoPE's attention factor does).
        double scale = 1.0 / Math.sqrt(b.mla.qkHeadDim());
        RopeScaling yarn = b.ropeScaling;
        if (yarn != null && yarn.mscaleAllDim() != 0) {
            double m = RopeScaling.yarnMscale(yarn.factor(), yarn.mscaleAllDim());
            scale *= m * m;
        }
        b.attentionScale = (float) scale;
        b.names = TensorNames.MLP_SHARED_EXPERTS;
        return b;
    }

    /**
     * Ungated shared experts and the dense layers: model layer l is MoE when l ≥ first_k_dense_replace and
     * l % moe_layer_freq == 0 (DeepSeek's own code; HF reads no moe_layer_freq, and every released config has 1).
     */
    static void sharedExpertsAndDenseLayers(ConfigJson c, ModelConfig.Builder b, int sharedDefault, int denseDefault) {
        b.sharedExpertIntermediateSize = c.nonNegative("n_shared_experts", sharedDefault) * b.moeIntermediateSize;
        b.sharedExpertGated = false;
        int dense = c.nonNegative("first_k_dense_replace", denseDefault);
        int freq = c.positive("moe_layer_freq", 1);
        b.moeLayers = IntStream.range(Math.min(dense, b.numHiddenLayers), b.numHiddenLayers)
                .filter(l -> l % freq == 0).toArray();
    }
}
