package org.moescope.model.family;

import org.moescope.model.ModelConfig;
import org.moescope.model.Router;
import org.moescope.model.TensorNames;

/**
 * GraniteMoE (HF GraniteMoeForCausalLM): Mixtral's block with four scalars — embeddings × embedding_multiplier, the
 * q·k scale is attention_multiplier, each sub-block's output × residual_multiplier, logits ÷ logits_scaling — a
 * top-k-then-softmax router (block_sparse_moe.router.layer) and packed experts (input_linear = gate rows then up rows
 * per expert, output_linear = down).
 */
final class GraniteMoe {
    static final Family FAMILY = new Family("granitemoe", "GraniteMoeForCausalLM", GraniteMoe::parse);

    private GraniteMoe() {
    }

    static ModelConfig parse(ConfigJson c) {
        ModelConfig.Builder b = ModelConfig.Builder.common(c, 2048, 1e-6, 10000.0);
        b.names = new TensorNames("block_sparse_moe", "router.layer",
                new TensorNames.Packed("input_linear", "output_linear"), "shared_expert");
        b.qkvBias = b.oBias = c.bool("attention_bias", false);
        b.embeddingMultiplier = (float) c.number("embedding_multiplier", 1.0, false);
        b.residualMultiplier = (float) c.number("residual_multiplier", 1.0, false);
        b.attentionScale = (float) c.number("attention_multiplier", 1.0, false);
        b.logitsScaling = (float) c.number("logits_scaling", 1.0, false);
        b.numExperts = c.positive(ConfigJson.EXPERTS, 8);
        b.numExpertsPerTok = c.positive("num_experts_per_tok", 2);
        b.moeIntermediateSize = b.intermediateSize;
        b.router = Router.TOPK_SOFTMAX;
        return b.build();
    }
}
