package org.moescope.model.family;

import org.moescope.model.ModelConfig;

import java.util.List;
import java.util.stream.IntStream;

/**
 * Qwen1.5/Qwen2-MoE (HF Qwen2MoeForCausalLM): q/k/v biases, a shared expert gated by sigmoid(shared_expert_gate · h)
 * added to the routed sum, dense MLP layers where mlp_only_layers or decoder_sparse_step say, and sliding-window
 * attention on the layers layer_types marks (by default every other layer below max_window_layers, when
 * use_sliding_window).
 */
final class Qwen2Moe {
    static final Family FAMILY = new Family("qwen2_moe", "Qwen2MoeForCausalLM", Qwen2Moe::parse);

    private Qwen2Moe() {
    }

    static ModelConfig parse(ConfigJson c) {
        ModelConfig.Builder b = ModelConfig.Builder.common(c, 32768, 1e-6, 10000.0);
        b.qkvBias = c.bool("qkv_bias", true); // transformers 4.x had no field: the biases were always there
        b.numExperts = c.positive(ConfigJson.EXPERTS, 60);
        b.numExpertsPerTok = c.positive("num_experts_per_tok", 4);
        b.moeIntermediateSize = c.positive("moe_intermediate_size", 1408);
        b.sharedExpertIntermediateSize = c.positive("shared_expert_intermediate_size", 5632);
        b.normTopkProb = c.bool("norm_topk_prob", false);
        b.moeLayers = moeLayers(c, b.numHiddenLayers);
        boolean sliding = c.bool("use_sliding_window", false);
        int window = sliding && c.has("sliding_window") ? c.positive("sliding_window", null) : 0;
        int maxWindowLayers = c.positive("max_window_layers", 28);
        List<String> types = c.textList("layer_types");
        for (int l = 0; l < b.numHiddenLayers; l++) {
            boolean slides = types != null ? layerType(c, types, l, b.numHiddenLayers)
                    : sliding && l % 2 == 0 && l < maxWindowLayers;
            b.slidingWindows[l] = slides ? window : 0;
        }
        return b.build();
    }

    /** Qwen's dense-layer rule: layer l is MoE unless listed in mlp_only_layers or (l + 1) % decoder_sparse_step != 0. */
    static int[] moeLayers(ConfigJson c, int layers) {
        List<Integer> dense = c.intList("mlp_only_layers");
        int step = c.positive("decoder_sparse_step", 1);
        return IntStream.range(0, layers).filter(l -> !dense.contains(l) && (l + 1) % step == 0).toArray();
    }

    /** True for "sliding_attention", false for "full_attention"; anything else, or a wrong length, is refused. */
    static boolean layerType(ConfigJson c, List<String> types, int l, int layers) {
        if (types.size() != layers) {
            throw c.error("layer_types", "has " + types.size() + " entries for " + layers + " layers");
        }
        return switch (types.get(l)) {
            case "sliding_attention" -> true;
            case "full_attention" -> false;
            default -> throw c.error("layer_types", "entry " + l + " is " + types.get(l)
                    + "; supported: full_attention, sliding_attention");
        };
    }
}
