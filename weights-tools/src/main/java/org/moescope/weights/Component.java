package org.moescope.weights;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The parts of an MoE transformer that {@code weights diff} groups tensors by, read from HF tensor names. */
public enum Component {
    /** the router's linear layer ({@code mlp.gate}, {@code block_sparse_moe.gate}, {@code block_sparse_moe.router}). */
    ROUTER,
    /** the experts' projections, per expert or packed, and a shared expert with its gate. */
    EXPERTS,
    /** {@code self_attn.{q,k,v,o}_proj}. */
    ATTENTION,
    /** {@code embed_tokens} and {@code lm_head}. */
    EMBEDDINGS,
    /** every {@code *norm*}: layer norms, q/k norms, the final norm. */
    NORMS,
    OTHER;

    private static final Pattern LAYER = Pattern.compile("(?:^|\\.)layers\\.(\\d+)\\.");

    public static Component of(String tensor) {
        if (tensor.contains("norm")) {
            return NORMS; // before attention: q_norm and k_norm live under self_attn
        }
        if (tensor.contains(".experts.") || tensor.contains(".input_linear.") || tensor.contains(".output_linear.")
                || tensor.contains(".shared_expert.") || tensor.contains(".shared_expert_gate.")) {
            return EXPERTS;
        }
        if (tensor.contains("mlp.gate.") || tensor.contains("block_sparse_moe.gate.") || tensor.contains(".router.")) {
            return ROUTER;
        }
        if (tensor.contains("self_attn.")) {
            return ATTENTION;
        }
        if (tensor.contains("embed_tokens") || tensor.startsWith("lm_head")) {
            return EMBEDDINGS;
        }
        return OTHER;
    }

    /** The decoder layer a tensor belongs to, or -1 (embeddings, final norm, lm_head). */
    public static int layerOf(String tensor) {
        Matcher m = LAYER.matcher(tensor);
        if (!m.find()) {
            return -1;
        }
        try {
            return Integer.parseInt(m.group(1));
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
