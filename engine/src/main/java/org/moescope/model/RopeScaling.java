package org.moescope.model;

/**
 * YaRN's rescaling of RoPE (rope_type "yarn": gpt-oss, DeepSeek-V2/V3, Qwen3 long-context configs), as HF transformers
 * 5.x computes it in {@code modeling_rope_utils._compute_yarn_parameters}. The frequencies that turn fewer than
 * beta_slow times over the original context are interpolated (divided by factor), those that turn more than beta_fast
 * times are kept, and a linear ramp blends the dimensions between; cos and sin are multiplied by the attention factor,
 * so q·k grows by its square. The one place the engine computes RoPE's frequencies: {@link #inverseFrequencies}
 * (plain RoPE when no scaling is set).
 *
 * @param factor                        how much longer than the original context positions may run
 * @param originalMaxPositionEmbeddings the context the model was pretrained with (HF: rope_parameters' field, or
 *                                      max_position_embeddings when absent)
 * @param betaFast                      rotations above which a frequency is kept (HF default 32)
 * @param betaSlow                      rotations below which a frequency is interpolated (HF default 1)
 * @param mscale                        DeepSeek's numerator of the attention factor, with mscaleAllDim; 0: unset
 * @param mscaleAllDim                  DeepSeek's denominator of the attention factor; 0: unset
 * @param attentionFactor               the attention factor as given (rope_parameters.attention_factor), or null to
 *                                      derive it from factor, mscale and mscaleAllDim
 * @param truncate                      round the ramp's ends to whole dimensions (HF default true; gpt-oss false)
 */
public record RopeScaling(double factor, int originalMaxPositionEmbeddings, double betaFast, double betaSlow,
                          double mscale, double mscaleAllDim, Double attentionFactor, boolean truncate) {

    /**
     * RoPE's inverse frequencies for the first rotaryDim dimensions of a head: theta^(-2i/rotaryDim) for plain RoPE
     * (scaling null), YaRN's blend otherwise. Rounded to float at the points HF's float32 tensors round them.
     */
    public static float[] inverseFrequencies(double theta, int rotaryDim, RopeScaling scaling) {
        int half = rotaryDim / 2;
        float[] inv = new float[half];
        if (scaling == null) {
            for (int i = 0; i < half; i++) {
                inv[i] = (float) (1.0 / Math.pow(theta, (2.0 * i) / rotaryDim));
            }
            return inv;
        }
        double low = correctionDim(scaling.betaFast, rotaryDim, theta, scaling.originalMaxPositionEmbeddings);
        double high = correctionDim(scaling.betaSlow, rotaryDim, theta, scaling.originalMaxPositionEmbeddings);
        if (scaling.truncate) {
            low = Math.floor(low);
            high = Math.ceil(high);
        }
        low = Math.max(low, 0);
        high = Math.min(high, rotaryDim - 1);
        if (low == high) high += 0.001; // HF: prevents a division by zero
        float fLow = (float) low, fRange = (float) (high - low);
        for (int i = 0; i < half; i++) {
            float posFreq = (float) Math.pow(theta, (float) (2 * i) / rotaryDim);
            float extrapolation = 1f / posFreq;
            float interpolation = 1f / ((float) scaling.factor * posFreq);
            float ramp = Math.min(1f, Math.max(0f, (i - fLow) / fRange));
            float keep = 1f - ramp; // HF's inv_freq_extrapolation_factor
            inv[i] = interpolation * (1f - keep) + extrapolation * keep;
        }
        return inv;
    }

    /** The factor HF multiplies cos and sin by: attention_factor when given, else YaRN's 0.1·ln(factor) + 1 rule. */
    public float cosSinFactor() {
        if (attentionFactor != null) return attentionFactor.floatValue();
        if (mscale != 0 && mscaleAllDim != 0) {
            return (float) (yarnMscale(factor, mscale) / yarnMscale(factor, mscaleAllDim));
        }
        return (float) yarnMscale(factor, 1.0);
    }

    /** YaRN's magnitude correction 0.1 · m · ln(scale) + 1 (1 when scale ≤ 1): HF's get_mscale / yarn_get_mscale. */
    public static double yarnMscale(double scale, double m) {
        return scale <= 1 ? 1.0 : 0.1 * m * Math.log(scale) + 1.0;
    }

    /** The dimension whose frequency turns numRotations times over the original context (HF's find_correction_dim). */
    private static double correctionDim(double numRotations, int dim, double theta, int maxPositions) {
        return (dim * Math.log(maxPositions / (numRotations * 2 * Math.PI))) / (2 * Math.log(theta));
    }
}
