package org.moescope.model.family;

import org.moescope.model.ModelConfig;
import org.moescope.model.RopeScaling;
import org.moescope.model.Router;
import org.moescope.model.TensorNames;

import java.util.List;

/**
 * gpt-oss (HF GptOssForCausalLM): attention with a learned sink logit per head (self_attn.sinks), q/k/v/o biases,
 * sliding-window and full layers alternating (layer_types; default: even layers slide), YaRN RoPE (default factor 32
 * over an original 4,096 positions, theta 150,000); a router with a bias (mlp.router) choosing the top-k logits and
 * weighting them by a softmax over those k; experts with biases in two fused tensors (gate and up interleaved) and
 * gpt-oss's clamped SwiGLU (limit 7, alpha 1.702, (up + 1) · glu). The Hub's checkpoints store the experts as MXFP4
 * (quantization_config.quant_method "mxfp4"), read in place.
 */
final class GptOss {
    static final Family FAMILY = new Family("gpt_oss", "GptOssForCausalLM", GptOss::parse);

    static final TensorNames NAMES = new TensorNames("mlp", "router",
            new TensorNames.Interleaved("gate_up_proj", "down_proj"), "shared_expert");

    /** HF's GptOssExperts.limit: a constant of the class (config.json's swiglu_limit is not read). */
    static final float SWIGLU_LIMIT = 7f;

    private GptOss() {
    }

    static ModelConfig parse(ConfigJson c) {
        ModelConfig.Builder b = ModelConfig.Builder.common(c, 131072, 1e-5, 150000.0);
        b.names = NAMES;
        if (b.ropeScaling == null && !c.has("rope_parameters") && !c.has("rope_scaling")) {
            // GptOssConfig's default rope_parameters
            b.ropeScaling = new RopeScaling(32.0, 4096, 32.0, 1.0, 0, 0, null, false);
        }
        b.qkvBias = b.oBias = c.bool("attention_bias", true);
        b.attentionSinks = true;
        b.numExperts = c.positive(ConfigJson.EXPERTS, 128);
        b.numExpertsPerTok = c.positive("num_experts_per_tok", 4);
        b.moeIntermediateSize = b.intermediateSize;
        b.router = Router.TOPK_SOFTMAX;
        b.routerLinearBias = true;
        b.swigluLimit = SWIGLU_LIMIT;
        b.mxfp4Experts = "mxfp4".equals(c.quantMethod());
        int window = c.has("sliding_window") ? c.positive("sliding_window", null) : 0;
        List<String> types = c.textList("layer_types");
        for (int l = 0; l < b.numHiddenLayers; l++) {
            boolean slides = types != null ? Qwen2Moe.layerType(c, types, l, b.numHiddenLayers) : l % 2 == 0;
            b.slidingWindows[l] = slides ? window : 0;
        }
        return b.build();
    }
}
