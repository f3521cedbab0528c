package org.moescope.model.family;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.moescope.errors.BadInputException;
import org.moescope.model.ModelConfig;
import org.moescope.model.Router;

import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.*;

/** Config parsing per family: the choices each makes, and one-line refusals that name the field. */
class FamiliesTest {
    static final Path WHERE = Path.of("ckpt/config.json");

    static ObjectNode config(String modelType) {
        ObjectNode c = new ObjectMapper().createObjectNode();
        c.put("model_type", modelType);
        c.put("vocab_size", 100);
        c.put("hidden_size", 64);
        c.put("intermediate_size", 32);
        c.put("num_hidden_layers", 4);
        c.put("num_attention_heads", 4);
        c.put("num_key_value_heads", 2);
        c.put("num_experts", 8);
        c.put("num_local_experts", 8);
        c.put("num_experts_per_tok", 2);
        c.put("moe_intermediate_size", 16);
        c.put("shared_expert_intermediate_size", 48);
        return c;
    }

    static String refusal(JsonNode c) {
        return assertThrows(BadInputException.class, () -> Families.parse(c, WHERE)).getMessage();
    }

    @Test
    void anUnknownModelTypeListsTheSupportedOnes() {
        String msg = refusal(config("llama4_text"));
        assertEquals("ckpt/config.json: unsupported architecture llama4_text; supported: olmoe, flex_olmo, qwen2_moe, "
                + "qwen3_moe, mixtral, granitemoe, phimoe, glm4_moe, deepseek_v2, deepseek_v3, gpt_oss", msg);
    }

    static ObjectNode deepseek(String modelType) {
        ObjectNode c = config(modelType);
        c.put("num_key_value_heads", 4);
        c.put("kv_lora_rank", 32);
        c.put("qk_nope_head_dim", 16);
        c.put("qk_rope_head_dim", 8);
        c.put("v_head_dim", 20);
        c.put("n_routed_experts", 8);
        return c;
    }

    @Test
    void deepseekReadsLatentAttentionRoutersAndDenseLayers() {
        ObjectNode v2 = deepseek("deepseek_v2");
        v2.put("first_k_dense_replace", 1);
        v2.put("moe_layer_freq", 2);
        v2.put("topk_method", "group_limited_greedy");
        v2.put("n_group", 4);
        v2.put("topk_group", 2);
        v2.put("norm_topk_prob", true); // HF's DeepSeek-V2 never renormalises
        ModelConfig m = Families.parse(v2, WHERE);
        assertEquals(new ModelConfig.Mla(0, 32, 16, 8, 20), m.mla());
        assertEquals(24, m.headDim());
        assertEquals(8, m.rotaryDim());
        assertTrue(m.ropeInterleave());
        assertEquals((float) (1 / Math.sqrt(24)), m.attentionScale());
        assertEquals(Router.SOFTMAX_GROUPED, m.router());
        assertFalse(m.normTopkProb());
        assertArrayEquals(new int[] {2}, m.moeLayers()); // l >= 1 and l % 2 == 0
        assertEquals(2 * 16, m.sharedExpertIntermediateSize()); // n_shared_experts defaults to 2
        v2.put("q_lora_rank", 24);
        assertTrue(Families.parse(v2, WHERE).expectedTensors().containsKey("model.layers.0.self_attn.q_a_layernorm.weight"));

        ObjectNode v3 = deepseek("deepseek_v3");
        ModelConfig d = Families.parse(v3, WHERE);
        assertEquals(Router.SIGMOID_GROUPED, d.router());
        assertEquals(2.5f, d.routedScalingFactor());
        assertEquals(8, d.nGroup());
        assertArrayEquals(new int[] {3}, d.moeLayers()); // first_k_dense_replace defaults to 3
        assertTrue(d.ropeInterleave());
        v3.put("rope_interleave", false);
        assertFalse(Families.parse(v3, WHERE).ropeInterleave());
    }

    @Test
    void deepseekRefusesWhatItCannotRunByField() {
        ObjectNode method = deepseek("deepseek_v2");
        method.put("topk_method", "noaux_tc");
        assertTrue(refusal(method).contains("\"topk_method\" is noaux_tc; supported: greedy, group_limited_greedy"));
        ObjectNode kv = deepseek("deepseek_v2");
        kv.put("num_key_value_heads", 2);
        assertTrue(refusal(kv).contains("\"num_key_value_heads\" 2 differs from num_attention_heads 4"), refusal(kv));
        ObjectNode bias = deepseek("deepseek_v3");
        bias.put("attention_bias", true);
        assertTrue(refusal(bias).contains("\"attention_bias\" is true"));
    }

    @Test
    void aKnownFamilyWithAnUnimplementedFeatureNamesTheField() {
        ObjectNode c = config("phimoe");
        c.putObject("rope_scaling").put("type", "longrope");
        assertTrue(refusal(c).startsWith("ckpt/config.json: field \"rope_scaling\" is set (type longrope)"), refusal(c));
        ObjectNode dynamic = config("qwen3_moe");
        dynamic.putObject("rope_parameters").put("rope_type", "dynamic");
        assertTrue(refusal(dynamic).contains("\"rope_parameters.rope_type\": dynamic is not supported; supported: "
                + "default, yarn"), refusal(dynamic));
        ObjectNode yarn = config("qwen3_moe");
        yarn.putObject("rope_parameters").put("rope_type", "yarn");
        assertTrue(refusal(yarn).contains("\"rope_parameters.factor\" is missing (rope_type yarn)"), refusal(yarn));
        ObjectNode quant = config("gpt_oss");
        quant.put("quantization_config", 4);
        assertTrue(refusal(quant).contains("\"quantization_config\" must be an object"), refusal(quant));
        ObjectNode top3 = config("phimoe");
        top3.put("num_experts_per_tok", 3);
        assertTrue(refusal(top3).contains("\"num_experts_per_tok\" 3 is not supported: sparsemixer routes to 2"));
        ObjectNode gelu = config("mixtral");
        gelu.put("hidden_act", "gelu");
        assertTrue(refusal(gelu).contains("\"hidden_act\" unsupported activation gelu"));
        ObjectNode types = config("qwen2_moe");
        types.putArray("layer_types").add("full_attention").add("chunked_attention").add("full_attention")
                .add("full_attention");
        assertTrue(refusal(types).contains("\"layer_types\" entry 1 is chunked_attention"), refusal(types));
        ObjectNode dense = config("qwen3_moe");
        dense.putArray("mlp_only_layers").add(0).add(1).add(2).add(3);
        assertTrue(refusal(dense).contains("no layer is an MoE layer"));
    }

    @Test
    void qwenDenseLayersFollowMlpOnlyLayersAndTheSparseStep() {
        ObjectNode c = config("qwen2_moe");
        c.put("decoder_sparse_step", 2);
        c.putArray("mlp_only_layers").add(3);
        ModelConfig m = Families.parse(c, WHERE);
        assertArrayEquals(new int[] {1}, m.moeLayers()); // (l + 1) % 2 == 0 → 1, 3; 3 is listed dense
        assertEquals(-1, m.moeIndex(0));
        assertEquals(0, m.moeIndex(1));
        assertEquals("model.layers.1.mlp.gate.weight", m.routerTensor(0));
        assertTrue(m.expectedTensors().containsKey("model.layers.0.mlp.gate_proj.weight"));
        assertTrue(m.expectedTensors().containsKey("model.layers.1.mlp.shared_expert_gate.weight"));
        assertTrue(m.qkvBias() && !m.oBias(), "Qwen2-MoE: q/k/v biases by default (4.x configs have no qkv_bias)");
    }

    @Test
    void qwen2SlidesOnEvenLayersBelowMaxWindowLayersByDefault() {
        ObjectNode c = config("qwen2_moe");
        c.put("use_sliding_window", true);
        c.put("sliding_window", 5);
        c.put("max_window_layers", 3);
        assertArrayEquals(new int[] {5, 0, 5, 0}, Families.parse(c, WHERE).slidingWindows());
        c.put("use_sliding_window", false);
        assertArrayEquals(new int[4], Families.parse(c, WHERE).slidingWindows());
    }

    @Test
    void eachFamilyMakesItsOwnChoices() {
        ModelConfig qwen3 = Families.parse(config("qwen3_moe").put("head_dim", 24), WHERE);
        assertEquals(ModelConfig.QkNorm.PER_HEAD, qwen3.qkNorm());
        assertEquals(96, qwen3.qDim());
        assertArrayEquals(new long[] {24}, qwen3.expectedTensors().get("model.layers.0.self_attn.q_norm.weight"));

        ModelConfig mixtral = Families.parse(config("mixtral"), WHERE);
        assertTrue(mixtral.normTopkProb(), "Mixtral always renormalises");
        assertTrue(mixtral.expectedTensors().containsKey("model.layers.0.block_sparse_moe.experts.7.w3.weight"));
        assertEquals(1e6, mixtral.ropeTheta());

        ModelConfig granite = Families.parse(config("granitemoe").put("attention_multiplier", 0.05)
                .put("logits_scaling", 3.0), WHERE);
        assertEquals(Router.TOPK_SOFTMAX, granite.router());
        assertEquals(0.05f, granite.attentionScale());
        assertArrayEquals(new long[] {8, 64, 64},
                granite.expectedTensors().get("model.layers.0.block_sparse_moe.input_linear.weight"));

        ModelConfig phi = Families.parse(config("phimoe").put("lm_head_bias", true), WHERE);
        assertEquals(ModelConfig.Norm.LAYER, phi.norm());
        assertTrue(phi.expectedTensors().containsKey("model.norm.bias"));
        assertTrue(phi.expectedTensors().containsKey("lm_head.bias"));

        ModelConfig flex = Families.parse(config("flex_olmo"), WHERE);
        assertTrue(flex.postNorm());
        assertTrue(flex.expectedTensors().containsKey("model.layers.0.post_feedforward_layernorm.weight"));
        assertFalse(flex.expectedTensors().containsKey("model.layers.0.input_layernorm.weight"));
        assertEquals(500000.0, flex.ropeTheta());
    }

    @Test
    void gptOssDefaultsToYarnAlternatingWindowsSinksAndBiases() {
        ObjectNode c = config("gpt_oss");
        c.put("sliding_window", 128);
        ModelConfig m = Families.parse(c, WHERE);
        assertEquals(150000.0, m.ropeTheta());
        assertEquals(new org.moescope.model.RopeScaling(32.0, 4096, 32.0, 1.0, 0, 0, null, false), m.ropeScaling());
        assertEquals((float) (0.1 * Math.log(32) + 1), m.ropeCosSinFactor(), 1e-7f);
        assertArrayEquals(new int[] {128, 0, 128, 0}, m.slidingWindows());
        assertTrue(m.attentionSinks() && m.qkvBias() && m.oBias() && m.routerLinearBias());
        assertEquals(Router.TOPK_SOFTMAX, m.router());
        assertEquals(7f, m.swigluLimit());
        var t = m.expectedTensors();
        assertArrayEquals(new long[] {4}, t.get("model.layers.0.self_attn.sinks"));
        assertArrayEquals(new long[] {8}, t.get("model.layers.0.mlp.router.bias"));
        assertArrayEquals(new long[] {8, 64, 64}, t.get("model.layers.0.mlp.experts.gate_up_proj"));
        assertArrayEquals(new long[] {8, 32, 64}, t.get("model.layers.0.mlp.experts.down_proj"));
        c.putObject("quantization_config").put("quant_method", "mxfp4");
        var q = Families.parse(c, WHERE).expectedTensors();
        assertArrayEquals(new long[] {8, 64, 2, 16}, q.get("model.layers.0.mlp.experts.gate_up_proj_blocks"));
        assertArrayEquals(new long[] {8, 64, 1}, q.get("model.layers.0.mlp.experts.down_proj_scales"));
        assertFalse(q.containsKey("model.layers.0.mlp.experts.gate_up_proj"));
        // 4.x style: rope_scaling yarn with a flat rope_theta
        ObjectNode hub = config("gpt_oss");
        hub.put("rope_theta", 150000.0);
        hub.putObject("rope_scaling").put("rope_type", "yarn").put("factor", 32.0).put("beta_fast", 32.0)
                .put("beta_slow", 1.0).put("truncate", false).put("original_max_position_embeddings", 4096);
        assertEquals(m.ropeScaling(), Families.parse(hub, WHERE).ropeScaling());
    }

    @Test
    void yarnAttentionFactorFollowsHfRules() {
        ObjectNode c = config("qwen3_moe");
        c.put("max_position_embeddings", 4096);
        c.putObject("rope_parameters").put("rope_type", "yarn").put("rope_theta", 10000.0).putNull("factor")
                .put("original_max_position_embeddings", 1024).put("mscale", 1.0).put("mscale_all_dim", 0.5);
        ModelConfig m = Families.parse(c, WHERE);
        assertEquals(4.0, m.ropeScaling().factor(), "factor null: max_position_embeddings / original");
        double expected = (0.1 * Math.log(4) + 1) / (0.05 * Math.log(4) + 1);
        assertEquals((float) expected, m.ropeCosSinFactor(), 1e-7f);
        assertTrue(m.ropeScaling().truncate(), "HF's default");
        ((ObjectNode) c.get("rope_parameters")).put("attention_factor", 0.5);
        assertEquals(0.5f, Families.parse(c, WHERE).ropeCosSinFactor());
    }

    @Test
    void activeParametersCountTheChosenExpertsOnly() {
        ModelConfig c = Families.parse(config("mixtral"), WHERE);
        long perExpert = 3L * 32 * 64;
        long all = c.parameters();
        long active = c.activeParametersPerToken();
        assertEquals(all - 100L * 64 + 64 - 6 * perExpert * 4, active);
        assertTrue(Arrays.stream(c.moeLayers()).count() == 4);
    }
}
