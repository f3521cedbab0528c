package org.moescope.model.family;

import org.moescope.model.ModelConfig;
import org.moescope.model.TensorNames;

import java.util.Arrays;

/**
 * Mixtral (HF MixtralForCausalLM): no q/k norm and no biases; the router always renormalises its top-k; experts stored
 * as block_sparse_moe.experts.E.{w1 (gate), w3 (up), w2 (down)}; sliding_window, when set, applies to every layer.
 */
final class Mixtral {
    static final Family FAMILY = new Family("mixtral", "MixtralForCausalLM", Mixtral::parse);

    static final TensorNames NAMES = new TensorNames("block_sparse_moe", "gate",
            new TensorNames.PerExpert("w1", "w3", "w2"), "shared_expert");

    private Mixtral() {
    }

    static ModelConfig parse(ConfigJson c) {
        ModelConfig.Builder b = ModelConfig.Builder.common(c, 4096 * 32, 1e-5, 1e6);
        b.names = NAMES;
        b.numExperts = c.positive(ConfigJson.EXPERTS, 8);
        b.numExpertsPerTok = c.positive("num_experts_per_tok", 2);
        b.moeIntermediateSize = b.intermediateSize;
        b.normTopkProb = true;
        if (c.has("sliding_window")) {
            Arrays.fill(b.slidingWindows, c.positive("sliding_window", null));
        }
        return b.build();
    }
}
