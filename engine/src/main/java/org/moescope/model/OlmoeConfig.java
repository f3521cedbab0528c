package org.moescope.model;

import com.fasterxml.jackson.databind.JsonNode;
import org.moescope.errors.BadInputException;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * OLMoE hyper-parameters, named as HF transformers' {@code OlmoeConfig} names them. Accepts config.json as both
 * transformers 4.x (flat {@code rope_theta}, {@code torch_dtype}) and 5.x ({@code rope_parameters}, {@code dtype}) write it.
 * Structural sizes are required; the rest default to HF's class defaults.
 */
public record OlmoeConfig(
        String modelType,
        int vocabSize,
        int hiddenSize,
        int intermediateSize,      // per expert
        int numHiddenLayers,
        int numAttentionHeads,
        int numKeyValueHeads,
        int maxPositionEmbeddings,
        float rmsNormEps,
        double ropeTheta,
        Float clipQkv,             // null: no clamp
        int numExperts,
        int numExpertsPerTok,
        boolean normTopkProb,
        boolean tieWordEmbeddings,
        Integer eosTokenId,
        Integer padTokenId,
        String dtype) {            // as config.json states it, e.g. "bfloat16"; null when absent

    public static final String SUPPORTED = "olmoe";

    public int headDim() {
        return hiddenSize / numAttentionHeads;
    }

    /** Width of the k and v projections. */
    public int kvDim() {
        return numKeyValueHeads * headDim();
    }

    public static OlmoeConfig parse(JsonNode c, Path source) {
        String where = source.toString();
        String modelType = text(c, "model_type", where);
        if (modelType == null) {
            throw new BadInputException(where + ": missing field \"model_type\"");
        }
        if (!modelType.equals(SUPPORTED)) {
            throw new BadInputException(where + ": unsupported architecture " + modelType + "; supported: " + SUPPORTED);
        }
        String act = text(c, "hidden_act", where);
        if (act != null && !act.equals("silu")) {
            throw new BadInputException(where + ": field \"hidden_act\": unsupported activation " + act + "; supported: silu");
        }
        if (bool(c, "attention_bias", false, where)) {
            throw new BadInputException(where + ": field \"attention_bias\": true is not supported (OLMoE has no biases)");
        }
        int hidden = positive(c, "hidden_size", null, where);
        int heads = positive(c, "num_attention_heads", null, where);
        int kvHeads = positive(c, "num_key_value_heads", heads, where);
        if (hidden % heads != 0) {
            throw new BadInputException(where + ": field \"hidden_size\" " + hidden + " is not divisible by num_attention_heads " + heads);
        }
        if ((hidden / heads) % 2 != 0) {
            throw new BadInputException(where + ": head dimension " + hidden / heads + " must be even for rotary embeddings");
        }
        if (heads % kvHeads != 0) {
            throw new BadInputException(where + ": field \"num_key_value_heads\" " + kvHeads + " does not divide num_attention_heads " + heads);
        }
        int experts = positive(c, "num_experts", null, where);
        int topK = positive(c, "num_experts_per_tok", null, where);
        if (topK > experts) {
            throw new BadInputException(where + ": field \"num_experts_per_tok\" " + topK + " exceeds num_experts " + experts);
        }
        double theta = ropeTheta(c, where);
        Float clip = null;
        JsonNode clipNode = c.get("clip_qkv");
        if (clipNode != null && !clipNode.isNull()) {
            if (!clipNode.isNumber() || clipNode.doubleValue() <= 0) {
                throw new BadInputException(where + ": field \"clip_qkv\" must be a positive number or null");
            }
            clip = clipNode.floatValue();
        }
        JsonNode eps = c.get("rms_norm_eps");
        float rmsEps = 1e-5f;
        if (eps != null && !eps.isNull()) {
            if (!eps.isNumber() || eps.doubleValue() <= 0) {
                throw new BadInputException(where + ": field \"rms_norm_eps\" must be a positive number");
            }
            rmsEps = eps.floatValue();
        }
        String dtype = text(c, "dtype", where);
        if (dtype == null) {
            dtype = text(c, "torch_dtype", where);
        }
        return new OlmoeConfig(modelType,
                positive(c, "vocab_size", null, where),
                hidden,
                positive(c, "intermediate_size", null, where),
                positive(c, "num_hidden_layers", null, where),
                heads, kvHeads,
                positive(c, "max_position_embeddings", 4096, where),
                rmsEps, theta, clip, experts, topK,
                bool(c, "norm_topk_prob", false, where),
                bool(c, "tie_word_embeddings", false, where),
                optionalInt(c, "eos_token_id", where),
                optionalInt(c, "pad_token_id", where),
                dtype);
    }

    /** 4.x: flat rope_theta (+ rope_scaling); 5.x: rope_parameters {rope_theta, rope_type}. Only plain RoPE is supported. */
    private static double ropeTheta(JsonNode c, String where) {
        JsonNode params = c.get("rope_parameters");
        JsonNode scaling = c.get("rope_scaling");
        if (scaling != null && !scaling.isNull()) {
            throw new BadInputException(where + ": field \"rope_scaling\": scaled RoPE is not supported");
        }
        JsonNode theta = c.get("rope_theta");
        if (params != null && !params.isNull()) {
            if (!params.isObject()) {
                throw new BadInputException(where + ": field \"rope_parameters\" must be an object");
            }
            JsonNode type = params.get("rope_type");
            if (type != null && !type.isNull() && !type.asText().equals("default")) {
                throw new BadInputException(where + ": field \"rope_parameters.rope_type\": " + type.asText()
                        + " is not supported; supported: default");
            }
            if (params.has("rope_theta")) {
                theta = params.get("rope_theta");
            }
        }
        if (theta == null || theta.isNull()) {
            return 10000.0;
        }
        if (!theta.isNumber() || theta.doubleValue() <= 0) {
            throw new BadInputException(where + ": field \"rope_theta\" must be a positive number");
        }
        return theta.doubleValue();
    }

    private static String text(JsonNode c, String field, String where) {
        JsonNode n = c.get(field);
        if (n == null || n.isNull()) {
            return null;
        }
        if (!n.isTextual()) {
            throw new BadInputException(where + ": field \"" + field + "\" must be a string");
        }
        return n.textValue();
    }

    private static int positive(JsonNode c, String field, Integer dflt, String where) {
        JsonNode n = c.get(field);
        if (n == null || n.isNull()) {
            if (dflt == null) {
                throw new BadInputException(where + ": missing field \"" + field + "\"");
            }
            return dflt;
        }
        if (!n.isIntegralNumber() || !n.canConvertToInt() || n.intValue() <= 0) {
            throw new BadInputException(where + ": field \"" + field + "\" must be a positive integer, got " + n);
        }
        return n.intValue();
    }

    private static Integer optionalInt(JsonNode c, String field, String where) {
        JsonNode n = c.get(field);
        if (n == null || n.isNull()) {
            return null;
        }
        if (n.isArray() && n.size() > 0) {
            n = n.get(0); // HF allows a list of EOS ids; the first is the canonical one
        }
        if (!n.isIntegralNumber() || !n.canConvertToInt()) {
            throw new BadInputException(where + ": field \"" + field + "\" must be an integer, got " + n);
        }
        return n.intValue();
    }

    private static boolean bool(JsonNode c, String field, boolean dflt, String where) {
        JsonNode n = c.get(field);
        if (n == null || n.isNull()) {
            return dflt;
        }
        if (!n.isBoolean()) {
            throw new BadInputException(where + ": field \"" + field + "\" must be true or false, got " + n);
        }
        return n.booleanValue();
    }

    /**
     * Every tensor an OLMoE checkpoint holds, with its shape, in HF's hub layout (per-expert projections, Linear
     * weights stored [out, in]). lm_head is absent when the embeddings are tied.
     */
    public Map<String, long[]> expectedTensors() {
        Map<String, long[]> t = new LinkedHashMap<>();
        long h = hiddenSize;
        t.put("model.embed_tokens.weight", new long[] {vocabSize, h});
        for (int l = 0; l < numHiddenLayers; l++) {
            String p = "model.layers." + l + ".";
            t.put(p + "input_layernorm.weight", new long[] {h});
            t.put(p + "self_attn.q_proj.weight", new long[] {h, h});
            t.put(p + "self_attn.k_proj.weight", new long[] {kvDim(), h});
            t.put(p + "self_attn.v_proj.weight", new long[] {kvDim(), h});
            t.put(p + "self_attn.o_proj.weight", new long[] {h, h});
            t.put(p + "self_attn.q_norm.weight", new long[] {h});
            t.put(p + "self_attn.k_norm.weight", new long[] {kvDim()});
            t.put(p + "post_attention_layernorm.weight", new long[] {h});
            t.put(p + "mlp.gate.weight", new long[] {numExperts, h});
            for (int e = 0; e < numExperts; e++) {
                String x = p + "mlp.experts." + e + ".";
                t.put(x + "gate_proj.weight", new long[] {intermediateSize, h});
                t.put(x + "up_proj.weight", new long[] {intermediateSize, h});
                t.put(x + "down_proj.weight", new long[] {h, intermediateSize});
            }
        }
        t.put("model.norm.weight", new long[] {h});
        if (!tieWordEmbeddings) {
            t.put("lm_head.weight", new long[] {vocabSize, h});
        }
        return t;
    }

    /** Parameters used per token: everything but the experts not chosen (embedding rows count as one row). */
    public long activeParametersPerToken() {
        long h = hiddenSize;
        long perLayer = 2 * h + h * h * 2 + 2L * kvDim() * h + h + kvDim() + (long) numExperts * h
                + (long) numExpertsPerTok * 3 * intermediateSize * h;
        return h + (long) numHiddenLayers * perLayer + h + (long) vocabSize * h;
    }
}
