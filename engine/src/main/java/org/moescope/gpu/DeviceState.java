package org.moescope.gpu;

import org.moescope.model.ModelConfig;

/**
 * Every array the device kernels read or write, allocated once per model. A forward call runs in chunks of at most
 * {@link #tokens} tokens against a KV cache of {@link #cacheRows} rows; the host fills the per-call inputs (meta,
 * pos, cacheRow, visibleFrom, logitRows, x) and reads back logits and, when recording, the route arrays. Everything
 * else lives only on the device.
 */
public final class DeviceState {
    public final int tokens;        // Tmax: tokens per chunk, the bound of every kernel loop
    public final int cacheRows;     // KV cache rows: the longest sequence, and the RoPE table length

    public final int[] meta;        // (4) [live tokens T, logit rows R, 0, 0]
    public final int[] pos;         // (Tmax) RoPE position of each token
    public final int[] cacheRow;    // (Tmax) KV cache row each token writes
    public final int[] visibleFrom; // (Tmax) first cache row each token attends to
    public final int[] logitRows;   // (Tmax) chunk rows that need logits
    public final float[] x;         // (Tmax, hidden) the residual stream
    public final float[] rope;      // (cacheRows, head_dim/2, 2) cos and sin of each angle
    public final Layer[] layers;    // (layers)
    public final float[] headScale; // (Tmax) final RMSNorm scale of each logit row
    public final float[] logits;    // (Tmax, vocab)

    /** One layer's KV cache and scratch. */
    public static final class Layer {
        public final float[] keys;         // (cacheRows, kv_dim) after k_norm, clip and RoPE
        public final float[] values;       // (cacheRows, kv_dim)
        public final float[] scale;        // (Tmax) input_layernorm scale
        public final float[] qkv;          // (Tmax, hidden + 2·kv_dim) q (normed, roped in place), k, v
        public final float[] qkScale;      // (Tmax, 2) q_norm and k_norm scales
        public final float[] attn;         // (Tmax, hidden)
        public final float[] scale2;       // (Tmax) post_attention_layernorm scale
        public final float[] xb;           // (Tmax, hidden) MoE input
        public final float[] routerLogits; // (Tmax, experts)
        public final float[] probs;        // (Tmax, experts)
        public final int[] ids;            // (Tmax, k) descending probability
        public final float[] weights;      // (Tmax, k)
        public final int[] order;          // (Tmax, k) choice indices by ascending expert id
        public final int[] slotToken;      // (Tmax·k) token of each expert-grouped slot
        public final int[] slotExpert;     // (Tmax·k) expert of each slot
        public final int[] slotOf;         // (Tmax, k) slot of each choice
        public final float[] h;            // (Tmax·k, inter) silu(gate) ⊙ up of each slot

        Layer(ModelConfig c, int tokens, int cacheRows) {
            int hid = c.hiddenSize();
            int kv = c.kvDim();
            int e = c.numExperts();
            int k = c.numExpertsPerTok();
            keys = new float[cacheRows * kv];
            values = new float[cacheRows * kv];
            scale = new float[tokens];
            qkv = new float[tokens * (hid + 2 * kv)];
            qkScale = new float[tokens * 2];
            attn = new float[tokens * hid];
            scale2 = new float[tokens];
            xb = new float[tokens * hid];
            routerLogits = new float[tokens * e];
            probs = new float[tokens * e];
            ids = new int[tokens * k];
            weights = new float[tokens * k];
            order = new int[tokens * k];
            slotToken = new int[tokens * k];
            slotExpert = new int[tokens * k];
            slotOf = new int[tokens * k];
            h = new float[tokens * k * c.moeIntermediateSize()];
        }
    }

    public DeviceState(ModelConfig c, int tokens, int cacheRows) {
        this.tokens = tokens;
        this.cacheRows = cacheRows;
        meta = new int[4];
        pos = new int[tokens];
        cacheRow = new int[tokens];
        visibleFrom = new int[tokens];
        logitRows = new int[tokens];
        x = new float[tokens * c.hiddenSize()];
        int half = c.headDim() / 2;
        rope = new float[cacheRows * half * 2];
        // As MoeTransformer (and HF): inv_freq and the angles in fp32, then cos/sin of the fp32 angle.
        float[] invFreq = new float[half];
        for (int i = 0; i < half; i++) {
            invFreq[i] = (float) (1.0 / Math.pow(c.ropeTheta(), (2.0 * i) / c.headDim()));
        }
        for (int p = 0; p < cacheRows; p++) {
            for (int i = 0; i < half; i++) {
                float angle = (float) p * invFreq[i];
                rope[(p * half + i) * 2] = (float) Math.cos(angle);
                rope[(p * half + i) * 2 + 1] = (float) Math.sin(angle);
            }
        }
        layers = new Layer[c.numHiddenLayers()];
        for (int l = 0; l < layers.length; l++) {
            layers[l] = new Layer(c, tokens, cacheRows);
        }
        headScale = new float[tokens];
        logits = new float[tokens * c.vocabSize()];
    }
}
