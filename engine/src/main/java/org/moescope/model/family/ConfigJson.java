package org.moescope.model.family;

import com.fasterxml.jackson.databind.JsonNode;
import org.moescope.errors.BadInputException;

import java.util.ArrayList;
import java.util.List;

/**
 * Typed reads of one config.json: every problem is a {@link BadInputException} naming the file and the field. HF's
 * configs leave out fields whose value is the class default, so most reads take a default.
 */
public final class ConfigJson {
    /**
     * The experts per MoE layer: HF calls it num_experts in some families and num_local_experts in others, and maps one
     * to the other (attribute_map), so a saved config.json may carry either.
     */
    public static final List<String> EXPERTS = List.of("num_experts", "num_local_experts");

    private final JsonNode node;
    private final String where;

    public ConfigJson(JsonNode node, String where) {
        this.node = node;
        this.where = where;
    }

    public String where() {
        return where;
    }

    public BadInputException error(String field, String problem) {
        return new BadInputException(where + ": field \"" + field + "\" " + problem);
    }

    public boolean has(String field) {
        JsonNode n = node.get(field);
        return n != null && !n.isNull();
    }

    public JsonNode get(String field) {
        JsonNode n = node.get(field);
        return n == null || n.isNull() ? null : n;
    }

    public String text(String field) {
        JsonNode n = get(field);
        if (n == null) {
            return null;
        }
        if (!n.isTextual()) {
            throw error(field, "must be a string");
        }
        return n.textValue();
    }

    /** A positive integer; {@code dflt} null makes the field required. */
    public int positive(String field, Integer dflt) {
        JsonNode n = get(field);
        if (n == null) {
            if (dflt == null) {
                throw new BadInputException(where + ": missing field \"" + field + "\"");
            }
            return dflt;
        }
        if (!n.isIntegralNumber() || !n.canConvertToInt() || n.intValue() <= 0) {
            throw error(field, "must be a positive integer, got " + n);
        }
        return n.intValue();
    }

    /** A non-negative integer (a count that may be zero, e.g. first_k_dense_replace). */
    public int nonNegative(String field, int dflt) {
        JsonNode n = get(field);
        if (n == null) {
            return dflt;
        }
        if (!n.isIntegralNumber() || !n.canConvertToInt() || n.intValue() < 0) {
            throw error(field, "must be a non-negative integer, got " + n);
        }
        return n.intValue();
    }

    /** The first of several spellings that is present (e.g. num_experts / num_local_experts), else dflt. */
    public int positive(List<String> spellings, Integer dflt) {
        for (String f : spellings) {
            if (has(f)) {
                return positive(f, null);
            }
        }
        if (dflt == null) {
            throw new BadInputException(where + ": missing field \"" + spellings.getFirst() + "\"");
        }
        return dflt;
    }

    public Integer optionalInt(String field) {
        JsonNode n = get(field);
        if (n == null) {
            return null;
        }
        if (n.isArray() && n.size() > 0) {
            n = n.get(0); // HF allows a list of EOS ids; the first is the canonical one
        }
        if (!n.isIntegralNumber() || !n.canConvertToInt()) {
            throw error(field, "must be an integer, got " + n);
        }
        return n.intValue();
    }

    public boolean bool(String field, boolean dflt) {
        JsonNode n = get(field);
        if (n == null) {
            return dflt;
        }
        if (!n.isBoolean()) {
            throw error(field, "must be true or false, got " + n);
        }
        return n.booleanValue();
    }

    /** A finite number > 0 (or >= 0 when {@code zeroAllowed}). */
    public double number(String field, double dflt, boolean zeroAllowed) {
        JsonNode n = get(field);
        if (n == null) {
            return dflt;
        }
        if (!n.isNumber() || !Double.isFinite(n.doubleValue()) || n.doubleValue() < 0
                || (!zeroAllowed && n.doubleValue() == 0)) {
            throw error(field, "must be a " + (zeroAllowed ? "non-negative" : "positive") + " number, got " + n);
        }
        return n.doubleValue();
    }

    /** A list of non-negative integers (e.g. mlp_only_layers); empty when absent. */
    public List<Integer> intList(String field) {
        JsonNode n = get(field);
        List<Integer> out = new ArrayList<>();
        if (n == null) {
            return out;
        }
        if (!n.isArray()) {
            throw error(field, "must be a list of integers, got " + n);
        }
        for (JsonNode e : n) {
            if (!e.isIntegralNumber() || !e.canConvertToInt() || e.intValue() < 0) {
                throw error(field, "must be a list of non-negative integers, got " + n);
            }
            out.add(e.intValue());
        }
        return out;
    }

    /** A list of strings (e.g. layer_types); null when absent. */
    public List<String> textList(String field) {
        JsonNode n = get(field);
        if (n == null) {
            return null;
        }
        if (!n.isArray()) {
            throw error(field, "must be a list of strings, got " + n);
        }
        List<String> out = new ArrayList<>();
        for (JsonNode e : n) {
            if (!e.isTextual()) {
                throw error(field, "must be a list of strings, got " + n);
            }
            out.add(e.textValue());
        }
        return out;
    }

    /** The activation of the MLPs: every family here uses SwiGLU, so anything but silu is refused. */
    public void requireSilu(String field) {
        String act = text(field);
        if (act != null && !act.equals("silu")) {
            throw error(field, "unsupported activation " + act + "; supported: silu");
        }
    }

    /**
     * RoPE's base: transformers 4.x writes a flat rope_theta (and rope_scaling), 5.x writes rope_parameters
     * {rope_theta, rope_type}. Plain RoPE and YaRN are implemented ({@link #ropeScaling}); any other scaling type is
     * refused by its field.
     */
    public double ropeTheta(double dflt) {
        JsonNode params = get("rope_parameters");
        JsonNode scaling = get("rope_scaling");
        if (scaling != null) {
            JsonNode type = scaling.isObject() ? scaling.get("rope_type") : null;
            if (type == null && scaling.isObject()) type = scaling.get("type");
            if (type == null || !type.isTextual() || !SCALED_ROPE.contains(type.textValue())) {
                throw error("rope_scaling", "is set" + (type != null ? " (type " + type.asText() + ")" : "")
                        + ": this scaled RoPE is not supported; supported: plain RoPE (rope_scaling null), yarn");
            }
        }
        JsonNode theta = get("rope_theta");
        if (params != null) {
            if (!params.isObject()) {
                throw error("rope_parameters", "must be an object");
            }
            JsonNode type = params.get("rope_type");
            if (type != null && !type.isNull() && !type.asText().equals("default")
                    && !SCALED_ROPE.contains(type.asText())) {
                throw new BadInputException(where + ": field \"rope_parameters.rope_type\": " + type.asText()
                        + " is not supported; supported: default, " + String.join(", ", SCALED_ROPE));
            }
            if (params.has("rope_theta") && !params.get("rope_theta").isNull()) {
                theta = params.get("rope_theta");
            }
        }
        if (theta == null) {
            return dflt;
        }
        if (!theta.isNumber() || theta.doubleValue() <= 0) {
            throw error("rope_theta", "must be a positive number");
        }
        return theta.doubleValue();
    }

    /** The RoPE scaling types the engine implements (rope_type / type). */
    private static final List<String> SCALED_ROPE = List.of("yarn");

    /**
     * YaRN's parameters when rope_parameters (5.x) or rope_scaling (4.x) has type yarn, else null (plain RoPE; other
     * types are refused by {@link #ropeTheta}). Defaults as HF's _compute_yarn_parameters: beta_fast 32, beta_slow 1,
     * truncate true, original_max_position_embeddings = a top-level field of that name, else the scaling's own, else
     * max_position_embeddings; factor null = max_position_embeddings / original.
     */
    public org.moescope.model.RopeScaling ropeScaling(int maxPositionEmbeddings) {
        String field = "rope_parameters";
        JsonNode p = get(field);
        if (get("rope_scaling") != null) {
            field = "rope_scaling";
            p = get(field);
        }
        if (p == null || !p.isObject()) {
            return null;
        }
        JsonNode type = p.has("rope_type") ? p.get("rope_type") : p.get("type");
        if (type == null || !type.asText().equals("yarn")) {
            return null;
        }
        int original = has("original_max_position_embeddings")
                ? positive("original_max_position_embeddings", null)
                : scalingInt(p, field, "original_max_position_embeddings", maxPositionEmbeddings);
        if (!p.has("factor")) {
            throw new BadInputException(where + ": field \"" + field + ".factor\" is missing (rope_type yarn)");
        }
        double factor = p.get("factor").isNull() ? (double) maxPositionEmbeddings / original
                : scalingNumber(p, field, "factor", 0);
        JsonNode af = p.get("attention_factor");
        if (!(factor > 0)) {
            throw new BadInputException(where + ": field \"" + field + ".factor\" must be positive, got " + factor);
        }
        Double attentionFactor = af == null || af.isNull() ? null : scalingNumber(p, field, "attention_factor", 0);
        JsonNode truncate = p.get("truncate");
        if (truncate != null && !truncate.isNull() && !truncate.isBoolean()) {
            throw new BadInputException(where + ": field \"" + field + ".truncate\" must be true or false, got "
                    + truncate);
        }
        return new org.moescope.model.RopeScaling(factor, original,
                orDefault(scalingNumber(p, field, "beta_fast", 0), 32), orDefault(scalingNumber(p, field, "beta_slow", 0), 1),
                scalingNumber(p, field, "mscale", 0), scalingNumber(p, field, "mscale_all_dim", 0), attentionFactor,
                truncate == null || truncate.isNull() || truncate.booleanValue());
    }

    /** HF reads beta_fast / beta_slow with {@code or}: a missing, null or zero value takes the default. */
    private static double orDefault(double v, double dflt) {
        return v == 0 ? dflt : v;
    }

    /** A non-negative number inside the RoPE scaling object; dflt when absent or null. */
    private double scalingNumber(JsonNode p, String field, String key, double dflt) {
        JsonNode n = p.get(key);
        if (n == null || n.isNull()) {
            return dflt;
        }
        if (!n.isNumber() || !Double.isFinite(n.doubleValue()) || n.doubleValue() < 0) {
            throw new BadInputException(where + ": field \"" + field + "." + key + "\" must be a non-negative number, got "
                    + n);
        }
        return n.doubleValue();
    }

    private int scalingInt(JsonNode p, String field, String key, int dflt) {
        JsonNode n = p.get(key);
        if (n == null || n.isNull()) {
            return dflt;
        }
        if (!n.isIntegralNumber() || !n.canConvertToInt() || n.intValue() <= 0) {
            throw new BadInputException(where + ": field \"" + field + "." + key + "\" must be a positive integer, got "
                    + n);
        }
        return n.intValue();
    }

    /**
     * The fraction of each head that RoPE rotates: rope_parameters.partial_rotary_factor (5.x) or a flat
     * partial_rotary_factor (4.x); {@code dflt} when neither is set.
     */
    public double partialRotaryFactor(double dflt) {
        JsonNode params = get("rope_parameters");
        JsonNode f = params != null && params.isObject() ? params.get("partial_rotary_factor") : null;
        String field = "rope_parameters.partial_rotary_factor";
        if (f == null || f.isNull()) {
            f = get("partial_rotary_factor");
            field = "partial_rotary_factor";
        }
        if (f == null || f.isNull()) {
            return dflt;
        }
        if (!f.isNumber() || !(f.doubleValue() > 0) || f.doubleValue() > 1) {
            throw error(field, "must be a number in (0, 1], got " + f);
        }
        return f.doubleValue();
    }

    /** quantization_config.quant_method, or null when there is none. */
    public String quantMethod() {
        JsonNode q = get("quantization_config");
        if (q == null) {
            return null;
        }
        JsonNode m = q.isObject() ? q.get("quant_method") : null;
        if (m == null || !m.isTextual()) {
            throw error("quantization_config", "must be an object with a string quant_method");
        }
        return m.textValue();
    }

    /** config.json's dtype (5.x) or torch_dtype (4.x), e.g. "bfloat16"; null when absent. */
    public String dtype() {
        String d = text("dtype");
        return d != null ? d : text("torch_dtype");
    }
}
