package org.moescope.kernels;

/**
 * The routed experts of one MoE layer as {@link Kernels#moe} reads them: expert e computes
 * down_e(act(gate_e · x + gateBias_e, up_e · x + upBias_e)) + downBias_e, where act is SwiGLU, silu(g) · u, or
 * gpt-oss's clamped variant when swigluLimit > 0 (see {@link #activate}).
 *
 * @param gate        (experts) x (intermediate, hidden)
 * @param up          (experts) x (intermediate, hidden)
 * @param down        (experts) x (hidden, intermediate)
 * @param gateBias    (experts, intermediate) or null
 * @param upBias      (experts, intermediate) or null
 * @param downBias    (experts, hidden) or null
 * @param swigluLimit 0 for silu(g) · u; else the clamp of gpt-oss's activation
 */
public record Experts(Weight[] gate, Weight[] up, Weight[] down, float[] gateBias, float[] upBias, float[] downBias,
                      float swigluLimit) {
    /** gpt-oss's sigmoid slope (HF GptOssExperts.alpha; not a config field). */
    public static final float SWIGLU_ALPHA = 1.702f;

    /** Plain SwiGLU experts without biases (every family but gpt-oss). */
    public Experts(Weight[] gate, Weight[] up, Weight[] down) {
        this(gate, up, down, null, null, null, 0f);
    }

    /** Bias of expert e's gate row r (0 without biases). */
    public float gateBias(int e, int r) {
        return gateBias == null ? 0f : gateBias[e * gate[0].rows() + r];
    }

    public float upBias(int e, int r) {
        return upBias == null ? 0f : upBias[e * gate[0].rows() + r];
    }

    public float downBias(int e, int r) {
        return downBias == null ? 0f : downBias[e * down[0].rows() + r];
    }

    /**
     * The activation of one intermediate value from its gate g and up u (biases added): silu(g) · u, or, with a
     * limit, as HF's GptOssExperts._apply_gate: g ≤ limit, −limit ≤ u ≤ limit, (u + 1) · g · sigmoid(1.702 · g).
     */
    public float activate(float g, float u) {
        if (swigluLimit == 0f) {
            return Exp.silu(g) * u;
        }
        g = Math.min(g, swigluLimit);
        u = Math.max(-swigluLimit, Math.min(swigluLimit, u));
        return (u + 1f) * (g / (1f + Exp.exp(-SWIGLU_ALPHA * g)));
    }
}
