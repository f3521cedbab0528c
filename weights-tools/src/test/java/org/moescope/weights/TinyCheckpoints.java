package org.moescope.weights;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Small OLMoE-shaped init plans for tests (the real plan comes from the engine's Architectures). */
final class TinyCheckpoints {
    private TinyCheckpoints() {
    }

    static final int VOCAB = 32;
    static final int HIDDEN = 8;
    static final int INTER = 4;
    static final int EXPERTS = 2;

    static JsonNode config(String dtypeField) {
        try {
            return new ObjectMapper().readTree("{\"model_type\":\"olmoe\",\"hidden_size\":" + HIDDEN
                    + ",\"vocab_size\":" + VOCAB + ",\"num_hidden_layers\":2,\"" + dtypeField + "\":\"float32\"}");
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static List<Init.TensorPlan> plan(int layers, double std) {
        List<Init.TensorPlan> p = new ArrayList<>();
        p.add(new Init.TensorPlan("model.embed_tokens.weight", new long[] {VOCAB, HIDDEN}, new Init.Normal(std, 1)));
        for (int l = 0; l < layers; l++) {
            String x = "model.layers." + l + ".";
            p.add(new Init.TensorPlan(x + "input_layernorm.weight", new long[] {HIDDEN}, new Init.Constant(1f)));
            for (String proj : List.of("q_proj", "k_proj", "v_proj", "o_proj")) {
                p.add(new Init.TensorPlan(x + "self_attn." + proj + ".weight", new long[] {HIDDEN, HIDDEN},
                        new Init.Normal(std, -1)));
            }
            p.add(new Init.TensorPlan(x + "self_attn.q_norm.weight", new long[] {HIDDEN}, new Init.Constant(1f)));
            p.add(new Init.TensorPlan(x + "mlp.gate.weight", new long[] {EXPERTS, HIDDEN}, new Init.Normal(std, -1)));
            for (int e = 0; e < EXPERTS; e++) {
                p.add(new Init.TensorPlan(x + "mlp.experts." + e + ".gate_proj.weight", new long[] {INTER, HIDDEN},
                        new Init.Normal(std, -1)));
                p.add(new Init.TensorPlan(x + "mlp.experts." + e + ".down_proj.weight", new long[] {HIDDEN, INTER},
                        new Init.Normal(std, -1)));
            }
        }
        p.add(new Init.TensorPlan("model.norm.weight", new long[] {HIDDEN}, new Init.Constant(1f)));
        p.add(new Init.TensorPlan("lm_head.weight", new long[] {VOCAB, HIDDEN}, new Init.Normal(std, -1)));
        return p;
    }

    static Init.Result init(Path out, long seed, org.moescope.safetensors.DType dtype) {
        return Init.run(plan(2, 0.02), config("torch_dtype"), dtype, seed, CheckpointWriter.DEFAULT_MAX_SHARD, out,
                false, 2);
    }
}
