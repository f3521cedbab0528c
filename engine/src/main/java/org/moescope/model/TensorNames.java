package org.moescope.model;

/**
 * Where a family's checkpoint keeps the parts that are not named alike everywhere, as the Hub stores them. The rest
 * is common to every supported family and spelled once in {@link ModelConfig#expectedTensors()}:
 * {@code model.embed_tokens}, {@code model.layers.N.self_attn.{q,k,v,o}_proj} (+ {@code .bias}),
 * {@code self_attn.{q,k}_norm}, {@code input_layernorm}, {@code post_attention_layernorm},
 * {@code post_feedforward_layernorm}, dense {@code mlp.{gate,up,down}_proj},
 * {@code model.norm}, {@code lm_head}.
 *
 * @param moeBlock     the MoE block under {@code model.layers.N.}: "mlp" (OLMoE, Qwen) or "block_sparse_moe" (Mixtral)
 * @param router       the router's Linear inside the block: "gate", or "router.layer" (GraniteMoE)
 * @param experts      how the experts' matrices are stored
 * @param sharedExpert the shared expert's MLP inside the block: "shared_expert" (Qwen2-MoE, with a
 *                     {@code shared_expert_gate}) or "shared_experts" (GLM-4.5, DeepSeek: ungated)
 */
public record TensorNames(String moeBlock, String router, Experts experts, String sharedExpert) {

    /** The experts' storage. */
    public sealed interface Experts permits PerExpert, Packed, Interleaved {
    }

    /**
     * One 2-D tensor per expert and projection: {@code BLOCK.experts.E.GATE.weight} (intermediate, hidden), UP the same,
     * DOWN (hidden, intermediate). OLMoE/Qwen spell them gate_proj/up_proj/down_proj, Mixtral w1/w3/w2.
     */
    public record PerExpert(String gate, String up, String down) implements Experts {
    }

    /**
     * All experts in two 3-D tensors: {@code BLOCK.INPUT.weight} (experts, 2·intermediate, hidden) holding each expert's
     * gate rows then its up rows, and {@code BLOCK.OUTPUT.weight} (experts, hidden, intermediate) (GraniteMoE).
     */
    public record Packed(String input, String output) implements Experts {
    }

    /**
     * All experts in two 3-D parameters with biases, as HF's GptOssExperts holds them: {@code BLOCK.experts.GATE_UP}
     * (experts, hidden, 2·intermediate), its column 2j expert's gate row j and column 2j + 1 its up row j (stored
     * input-major, the transpose of a Linear weight), {@code GATE_UP_bias} (experts, 2·intermediate) interleaved the
     * same way, {@code BLOCK.experts.DOWN} (experts, intermediate, hidden) and {@code DOWN_bias} (experts, hidden).
     * An MXFP4 checkpoint (the Hub's gpt-oss files) stores each matrix output-major instead, as {@code NAME_blocks}
     * (experts, outputs, inputs/32, 16) U8 (two FP4 E2M1 values a byte, the even input in the low nibble) and
     * {@code NAME_scales} (experts, outputs, inputs/32) U8 (an E8M0 exponent per 32 inputs); the biases stay as they are.
     */
    public record Interleaved(String gateUp, String down) implements Experts {
    }

    public static final TensorNames MLP_GATE_PROJ =
            new TensorNames("mlp", "gate", new PerExpert("gate_proj", "up_proj", "down_proj"), "shared_expert");

    /** As MLP_GATE_PROJ with ungated shared experts under mlp.shared_experts (GLM-4.5, DeepSeek-V2/V3). */
    public static final TensorNames MLP_SHARED_EXPERTS =
            new TensorNames("mlp", "gate", new PerExpert("gate_proj", "up_proj", "down_proj"), "shared_experts");
}
