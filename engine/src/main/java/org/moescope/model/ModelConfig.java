package org.moescope.model;

import org.moescope.errors.BadInputException;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The hyper-parameters of a decoder-only MoE transformer, whatever family's config.json they came from: the forward pass
 * ({@link MoeTransformer}) reads only this. A family ({@link org.moescope.model.family.Family}) turns its config.json
 * into one; names follow HF transformers where a field has an HF name.
 *
 * @param modelType                 config.json's model_type
 * @param names                     where the family's checkpoint keeps its MoE tensors
 * @param headDim                   explicit head_dim, or hidden_size / num_attention_heads
 * @param norm                      RMSNorm, or LayerNorm with a bias
 * @param postNorm                  OLMo-2 placement: the norms act on each sub-block's output before the residual add
 *                                  (post_attention_layernorm, post_feedforward_layernorm; no input norm)
 * @param qkNorm                    RMSNorm of the queries and keys before RoPE, over the whole projection or per head
 * @param clipQkv                   clamp of q, k and v to [-clip, clip] after their norms; null: none
 * @param qkvBias                   q/k/v projections have biases
 * @param oBias                     o_proj has a bias
 * @param rotaryDim                 leading dimensions of each head that RoPE rotates (head_dim, or
 *                                  head_dim · partial_rotary_factor); the rest pass through. With MLA: qk_rope_head_dim,
 *                                  the trailing part of each query head and the shared rope key
 * @param ropeInterleave            RoPE rotates adjacent pairs (2i, 2i+1) (DeepSeek's layout, rope_interleave) instead
 *                                  of the halves (i, i + rotaryDim/2)
 * @param mla                       multi-head latent attention's ranks and head widths (DeepSeek-V2/V3); null for
 *                                  attention with q/k/v projections
 * @param ropeScaling               YaRN's rescaling of the RoPE frequencies; null: plain RoPE
 * @param attentionSinks            a learned logit per head joins each query's softmax and takes its share of the
 *                                  probability without contributing a value (gpt-oss: self_attn.sinks)
 * @param slidingWindows            per layer: 0 for full causal attention, W for a window of the last W positions
 * @param attentionScale            the softmax scale of q·k (1/sqrt(head_dim), or Granite's attention_multiplier)
 * @param embeddingMultiplier       scales the embeddings (Granite); 1 elsewhere
 * @param residualMultiplier        scales each sub-block's output before the residual add (Granite); 1 elsewhere
 * @param logitsScaling             the logits are divided by it (Granite); 1 elsewhere
 * @param intermediateSize          width of the dense MLP layers
 * @param moeLayers                 ascending model-layer indices of the MoE layers; the others are dense MLPs
 * @param moeIntermediateSize       width of one routed expert
 * @param routerLinearBias          the router's Linear has a bias added to its logits (gpt-oss: router.bias)
 * @param swigluLimit               0: the experts' activation is silu(gate) ⊙ up; > 0: gpt-oss's clamped variant,
 *                                  gate ≤ limit, |up| ≤ limit, (up + 1) · gate · sigmoid(1.702 · gate), with the
 *                                  experts' gate/up and down biases
 * @param mxfp4Experts              the routed experts are stored as MXFP4 ({@code *_blocks} + {@code *_scales}, the
 *                                  Hub's gpt-oss format: quantization_config.quant_method "mxfp4")
 * @param normTopkProb              renormalise the top-k probabilities to sum to one (softmax-then-top-k routers)
 * @param routerJitter              sparsemixer's jitter epsilon (PhiMoE); 0 elsewhere
 * @param routedScalingFactor       multiplies the routed experts' weights (DeepSeek-V3-style routers); 1 elsewhere
 * @param nGroup                    expert groups of a group-limited router (n_group); 1: no groups
 * @param topkGroup                 groups a token may pick its experts from (topk_group)
 * @param sharedExpertIntermediateSize width of the shared expert (all shared experts together); 0: none
 * @param sharedExpertGated         the shared expert's output is scaled by sigmoid(shared_expert_gate · h) (Qwen2-MoE),
 *                                  else added as is (GLM-4.5, DeepSeek)
 * @param nextnLayers               multi-token-prediction layers stored after the last layer (num_nextn_predict_layers):
 *                                  their tensors are allowed in the checkpoint and not used
 * @param dtype                     as config.json states it, e.g. "bfloat16"; null when absent
 */
public record ModelConfig(
        String modelType,
        TensorNames names,
        int vocabSize,
        int hiddenSize,
        int numHiddenLayers,
        int numAttentionHeads,
        int numKeyValueHeads,
        int headDim,
        int maxPositionEmbeddings,
        Norm norm,
        float normEps,
        boolean postNorm,
        QkNorm qkNorm,
        Float clipQkv,
        boolean qkvBias,
        boolean oBias,
        double ropeTheta,
        int rotaryDim,
        boolean ropeInterleave,
        Mla mla,
        RopeScaling ropeScaling,
        boolean attentionSinks,
        int[] slidingWindows,
        float attentionScale,
        float embeddingMultiplier,
        float residualMultiplier,
        float logitsScaling,
        boolean lmHeadBias,
        int intermediateSize,
        int[] moeLayers,
        int numExperts,
        int numExpertsPerTok,
        int moeIntermediateSize,
        boolean routerLinearBias,
        float swigluLimit,
        boolean mxfp4Experts,
        Router router,
        boolean normTopkProb,
        double routerJitter,
        float routedScalingFactor,
        int nGroup,
        int topkGroup,
        int sharedExpertIntermediateSize,
        boolean sharedExpertGated,
        int nextnLayers,
        boolean tieWordEmbeddings,
        Integer eosTokenId,
        Integer padTokenId,
        String dtype) {

    public enum Norm { RMS, LAYER }

    public enum QkNorm { NONE, WHOLE, PER_HEAD }

    /**
     * Multi-head latent attention (DeepSeek-V2/V3): queries through q_proj, or the low-rank q_a_proj → q_a_layernorm →
     * q_b_proj when qLoraRank &gt; 0; keys and values from one compressed latent per token (kv_a_proj_with_mqa →
     * kv_a_layernorm, kvLoraRank wide) expanded per head by kv_b_proj, plus one RoPE key (qkRopeHeadDim) shared by
     * every head. A query head is [nope | rope] (qk_head_dim = qkNopeHeadDim + qkRopeHeadDim); a value head is
     * vHeadDim wide. The KV cache holds the latent and the rope key only.
     *
     * @param qLoraRank q_lora_rank, 0 when null (plain q_proj, as DeepSeek-V2-Lite)
     */
    public record Mla(int qLoraRank, int kvLoraRank, int qkNopeHeadDim, int qkRopeHeadDim, int vHeadDim) {
        public int qkHeadDim() {
            return qkNopeHeadDim + qkRopeHeadDim;
        }

        /** Floats one token leaves in one layer's cache: its normed latent, then its rotated rope key. */
        public int cacheWidth() {
            return kvLoraRank + qkRopeHeadDim;
        }
    }

    /** Width of the q projection (heads · head_dim). */
    public int qDim() {
        return numAttentionHeads * headDim;
    }

    /** Width of the k and v projections. */
    public int kvDim() {
        return numKeyValueHeads * headDim;
    }

    /** Floats per token and layer in the key cache: kv_dim, or MLA's latent + rope key. */
    public int keyCacheWidth() {
        return mla != null ? mla.cacheWidth() : kvDim();
    }

    /** Floats per token and layer in the value cache: kv_dim, or 0 with MLA (its values come from the latent). */
    public int valueCacheWidth() {
        return mla != null ? 0 : kvDim();
    }

    /** The usual softmax scale of q·k, 1/sqrt(head_dim), as HF computes it (a double rounded to float). */
    public static float defaultAttentionScale(int headDim) {
        return (float) (1.0 / Math.sqrt(headDim));
    }

    /** Whether q·k is scaled the usual way (every family but Granite, whose attention_multiplier replaces it). */
    public boolean hasDefaultAttentionScale() {
        return attentionScale == defaultAttentionScale(headDim);
    }

    /** RoPE's inverse frequencies (rotaryDim / 2), plain or YaRN-scaled. */
    public float[] ropeInverseFrequencies() {
        return RopeScaling.inverseFrequencies(ropeTheta, rotaryDim, ropeScaling);
    }

    /** What cos and sin are multiplied by: YaRN's attention factor, 1 for plain RoPE. */
    public float ropeCosSinFactor() {
        return ropeScaling == null ? 1f : ropeScaling.cosSinFactor();
    }

    /** Number of MoE layers: the L of route files. */
    public int numMoeLayers() {
        return moeLayers.length;
    }

    /** The MoE-layer index of model layer l, or -1 for a dense layer. */
    public int moeIndex(int layer) {
        int i = Arrays.binarySearch(moeLayers, layer);
        return i >= 0 ? i : -1;
    }

    /** The checkpoint name of MoE layer m's router weight (experts, hidden). */
    public String routerTensor(int m) {
        return "model.layers." + moeLayers[m] + "." + names.moeBlock() + "." + names.router() + ".weight";
    }

    /** The checkpoint name of MoE layer m's expert-selection bias (experts), e_score_correction_bias. */
    public String routerBiasTensor(int m) {
        String router = routerTensor(m);
        return router.substring(0, router.length() - ".weight".length()) + ".e_score_correction_bias";
    }

    /** The checkpoint name of MoE layer m's router bias (experts), added to the logits (gpt-oss's router.bias). */
    public String routerLinearBiasTensor(int m) {
        String router = routerTensor(m);
        return router.substring(0, router.length() - ".weight".length()) + ".bias";
    }

    /** The stored tensors inference never reads (multi-token-prediction layers), or null when there are none. */
    public java.util.function.Predicate<String> unusedTensors() {
        return nextnLayers > 0 ? this::isNextnTensor : null;
    }

    /** Whether a tensor belongs to a multi-token-prediction layer (stored after the last layer, not used here). */
    public boolean isNextnTensor(String name) {
        for (int l = numHiddenLayers; l < numHiddenLayers + nextnLayers; l++) {
            if (name.startsWith("model.layers." + l + ".")) return true;
        }
        return false;
    }

    /** Whether a checkpoint tensor holds routed experts (of which a token reads top-k / experts), per expert or packed. */
    public boolean isRoutedExpertTensor(String name) {
        return switch (names.experts()) {
            case TensorNames.PerExpert n -> name.contains("." + names.moeBlock() + ".experts.");
            case TensorNames.Packed n -> name.contains("." + names.moeBlock() + "." + n.input() + ".")
                    || name.contains("." + names.moeBlock() + "." + n.output() + ".");
            case TensorNames.Interleaved n -> name.contains("." + names.moeBlock() + ".experts.");
        };
    }

    public boolean hasSharedExpert() {
        return sharedExpertIntermediateSize > 0;
    }

    /** A shared expert scaled per token by its sigmoid gate (Qwen2-MoE): route files record that gate. */
    public boolean hasSharedExpertGate() {
        return hasSharedExpert() && sharedExpertGated;
    }

    /**
     * Every tensor a checkpoint of this config holds, with its shape, in the Hub's layout (Linear weights stored
     * [out, in]). lm_head.weight is absent when the embeddings are tied.
     */
    public Map<String, long[]> expectedTensors() {
        Map<String, long[]> t = new LinkedHashMap<>();
        long h = hiddenSize;
        t.put("model.embed_tokens.weight", new long[] {vocabSize, h});
        for (int l = 0; l < numHiddenLayers; l++) {
            String p = "model.layers." + l + ".";
            if (postNorm) {
                putNorm(t, p + "post_attention_layernorm", h);
                putNorm(t, p + "post_feedforward_layernorm", h);
            } else {
                putNorm(t, p + "input_layernorm", h);
                putNorm(t, p + "post_attention_layernorm", h);
            }
            if (mla != null) {
                putLatentAttention(t, p + "self_attn.");
            } else {
                putLinear(t, p + "self_attn.q_proj", qDim(), h, qkvBias);
                putLinear(t, p + "self_attn.k_proj", kvDim(), h, qkvBias);
                putLinear(t, p + "self_attn.v_proj", kvDim(), h, qkvBias);
                putLinear(t, p + "self_attn.o_proj", h, qDim(), oBias);
            }
            if (attentionSinks) {
                t.put(p + "self_attn.sinks", new long[] {numAttentionHeads});
            }
            if (qkNorm != QkNorm.NONE) {
                boolean whole = qkNorm == QkNorm.WHOLE;
                t.put(p + "self_attn.q_norm.weight", new long[] {whole ? qDim() : headDim});
                t.put(p + "self_attn.k_norm.weight", new long[] {whole ? kvDim() : headDim});
            }
            if (moeIndex(l) < 0) {
                putMlp(t, p + "mlp", intermediateSize);
                continue;
            }
            String b = p + names.moeBlock() + ".";
            t.put(routerTensor(moeIndex(l)), new long[] {numExperts, h});
            if (routerLinearBias) {
                t.put(routerLinearBiasTensor(moeIndex(l)), new long[] {numExperts});
            }
            if (router == Router.SIGMOID_GROUPED) {
                t.put(routerBiasTensor(moeIndex(l)), new long[] {numExperts});
            }
            long im = moeIntermediateSize;
            switch (names.experts()) {
                case TensorNames.PerExpert n -> {
                    for (int e = 0; e < numExperts; e++) {
                        String x = b + "experts." + e + ".";
                        t.put(x + n.gate() + ".weight", new long[] {im, h});
                        t.put(x + n.up() + ".weight", new long[] {im, h});
                        t.put(x + n.down() + ".weight", new long[] {h, im});
                    }
                }
                case TensorNames.Packed n -> {
                    t.put(b + n.input() + ".weight", new long[] {numExperts, 2 * im, h});
                    t.put(b + n.output() + ".weight", new long[] {numExperts, h, im});
                }
                case TensorNames.Interleaved n -> {
                    String x = b + "experts.";
                    if (mxfp4Experts) {
                        t.put(x + n.gateUp() + "_blocks", new long[] {numExperts, 2 * im, h / 32, 16});
                        t.put(x + n.gateUp() + "_scales", new long[] {numExperts, 2 * im, h / 32});
                        t.put(x + n.down() + "_blocks", new long[] {numExperts, h, im / 32, 16});
                        t.put(x + n.down() + "_scales", new long[] {numExperts, h, im / 32});
                    } else {
                        t.put(x + n.gateUp(), new long[] {numExperts, h, 2 * im});
                        t.put(x + n.down(), new long[] {numExperts, im, h});
                    }
                    t.put(x + n.gateUp() + "_bias", new long[] {numExperts, 2 * im});
                    t.put(x + n.down() + "_bias", new long[] {numExperts, h});
                }
            }
            if (hasSharedExpert()) {
                putMlp(t, b + names.sharedExpert(), sharedExpertIntermediateSize);
                if (sharedExpertGated) {
                    t.put(b + "shared_expert_gate.weight", new long[] {1, h});
                }
            }
        }
        putNorm(t, "model.norm", h);
        if (!tieWordEmbeddings) {
            t.put("lm_head.weight", new long[] {vocabSize, h});
        }
        if (lmHeadBias) {
            t.put("lm_head.bias", new long[] {vocabSize});
        }
        return t;
    }

    /** MLA's projections (no biases: DeepSeek's attention_bias is refused by the families). */
    private void putLatentAttention(Map<String, long[]> t, String a) {
        long h = hiddenSize;
        long heads = numAttentionHeads;
        if (mla.qLoraRank() > 0) {
            t.put(a + "q_a_proj.weight", new long[] {mla.qLoraRank(), h});
            t.put(a + "q_a_layernorm.weight", new long[] {mla.qLoraRank()});
            t.put(a + "q_b_proj.weight", new long[] {heads * mla.qkHeadDim(), mla.qLoraRank()});
        } else {
            t.put(a + "q_proj.weight", new long[] {heads * mla.qkHeadDim(), h});
        }
        t.put(a + "kv_a_proj_with_mqa.weight", new long[] {mla.cacheWidth(), h});
        t.put(a + "kv_a_layernorm.weight", new long[] {mla.kvLoraRank()});
        t.put(a + "kv_b_proj.weight", new long[] {heads * (mla.qkNopeHeadDim() + mla.vHeadDim()), mla.kvLoraRank()});
        t.put(a + "o_proj.weight", new long[] {h, heads * mla.vHeadDim()});
    }

    private void putNorm(Map<String, long[]> t, String name, long n) {
        t.put(name + ".weight", new long[] {n});
        if (norm == Norm.LAYER) {
            t.put(name + ".bias", new long[] {n});
        }
    }

    private static void putLinear(Map<String, long[]> t, String name, long out, long in, boolean bias) {
        t.put(name + ".weight", new long[] {out, in});
        if (bias) {
            t.put(name + ".bias", new long[] {out});
        }
    }

    /** A SwiGLU MLP: gate_proj and up_proj (width, hidden), down_proj (hidden, width). */
    private void putMlp(Map<String, long[]> t, String prefix, long width) {
        t.put(prefix + ".gate_proj.weight", new long[] {width, hiddenSize});
        t.put(prefix + ".up_proj.weight", new long[] {width, hiddenSize});
        t.put(prefix + ".down_proj.weight", new long[] {hiddenSize, width});
    }

    /** Parameters in the checkpoint (the embedding counted once when tied; an MXFP4 byte of blocks holds two). */
    public long parameters() {
        long n = 0;
        for (Map.Entry<String, long[]> e : expectedTensors().entrySet()) {
            if (e.getKey().endsWith("_scales") && mxfp4Experts) continue;
            long s = e.getKey().endsWith("_blocks") && mxfp4Experts ? 2 : 1;
            for (long d : e.getValue()) s *= d;
            n += s;
        }
        return n;
    }

    /** Parameters used per token: everything but the experts not chosen; the embedding counts as one row. */
    public long activeParametersPerToken() {
        long embedding = (long) vocabSize * hiddenSize;
        long perExpert = 3L * moeIntermediateSize * hiddenSize
                + (names.experts() instanceof TensorNames.Interleaved ? 2L * moeIntermediateSize + hiddenSize : 0);
        long unchosen = (long) (numExperts - numExpertsPerTok) * perExpert * numMoeLayers();
        return parameters() - embedding + hiddenSize + (tieWordEmbeddings ? embedding : 0) - unchosen;
    }

    /** Checks the relations between the sizes that the forward pass relies on. */
    private ModelConfig validate(String where) {
        if (numAttentionHeads % numKeyValueHeads != 0) {
            throw new BadInputException(where + ": field \"num_key_value_heads\" " + numKeyValueHeads
                    + " does not divide num_attention_heads " + numAttentionHeads);
        }
        if (rotaryDim % 2 != 0 || rotaryDim <= 0 || rotaryDim > headDim) {
            throw new BadInputException(where + ": rotary dimension " + rotaryDim + " (head_dim " + headDim
                    + " x partial_rotary_factor) must be even and within the head");
        }
        if (nGroup < 1 || numExperts % nGroup != 0 || topkGroup < 1 || topkGroup > nGroup
                || numExpertsPerTok > topkGroup * (numExperts / nGroup)) {
            throw new BadInputException(where + ": field \"n_group\" " + nGroup + " / \"topk_group\" " + topkGroup
                    + " cannot route " + numExpertsPerTok + " of " + numExperts + " experts");
        }
        if (numExpertsPerTok > numExperts) {
            throw new BadInputException(where + ": field \"num_experts_per_tok\" " + numExpertsPerTok
                    + " exceeds the number of experts " + numExperts);
        }
        if (moeLayers.length == 0) {
            throw new BadInputException(where + ": no layer is an MoE layer (mlp_only_layers / decoder_sparse_step "
                    + "leave only dense MLPs)");
        }
        if (mxfp4Experts && (hiddenSize % 32 != 0 || moeIntermediateSize % 32 != 0)) {
            throw new BadInputException(where + ": MXFP4 experts need hidden_size " + hiddenSize
                    + " and intermediate_size " + moeIntermediateSize + " to be multiples of 32");
        }
        if (slidingWindows.length != numHiddenLayers) {
            throw new BadInputException(where + ": field \"layer_types\" has " + slidingWindows.length
                    + " entries for " + numHiddenLayers + " layers");
        }
        return this;
    }

    /**
     * A config under construction: {@link #common} reads the fields every family shares, then the family sets what it
     * does differently, by name, and {@link #build} checks the result. Defaults are OLMoE's choices.
     */
    public static final class Builder {
        public String modelType;
        public TensorNames names = TensorNames.MLP_GATE_PROJ;
        public int vocabSize, hiddenSize, numHiddenLayers, numAttentionHeads, numKeyValueHeads, headDim;
        public int maxPositionEmbeddings;
        public Norm norm = Norm.RMS;
        public float normEps;
        public boolean postNorm;
        public QkNorm qkNorm = QkNorm.NONE;
        public Float clipQkv;
        public boolean qkvBias, oBias;
        public double ropeTheta;
        public double partialRotaryFactor = 1.0;
        public boolean ropeInterleave;
        public Mla mla;
        public RopeScaling ropeScaling;
        public boolean attentionSinks;
        public int[] slidingWindows;
        public Float attentionScale;  // null: 1/sqrt(head_dim)
        public float embeddingMultiplier = 1f, residualMultiplier = 1f, logitsScaling = 1f;
        public boolean lmHeadBias;
        public int intermediateSize;
        public int[] moeLayers;       // null: every layer
        public int numExperts, numExpertsPerTok, moeIntermediateSize;
        public boolean routerLinearBias;
        public float swigluLimit;
        public boolean mxfp4Experts;
        public Router router = Router.SOFTMAX_TOPK;
        public boolean normTopkProb;
        public double routerJitter;
        public float routedScalingFactor = 1f;
        public int nGroup = 1, topkGroup = 1;
        public int sharedExpertIntermediateSize;
        public boolean sharedExpertGated = true;
        public int nextnLayers;
        public boolean tieWordEmbeddings;
        public Integer eosTokenId, padTokenId;
        public String dtype;
        private final String where;

        private Builder(String where) {
            this.where = where;
        }

        /**
         * The fields every family reads alike. {@code maxPositions}, {@code eps} and {@code theta} are the family's
         * defaults for max_position_embeddings, rms_norm_eps and rope_theta; the experts' count and width are read by
         * the family (their field names differ).
         */
        public static Builder common(org.moescope.model.family.ConfigJson c, int maxPositions, double eps, double theta) {
            Builder b = new Builder(c.where());
            b.modelType = c.text("model_type");
            c.requireSilu("hidden_act");
            b.vocabSize = c.positive("vocab_size", null);
            b.hiddenSize = c.positive("hidden_size", null);
            b.numHiddenLayers = c.positive("num_hidden_layers", null);
            b.numAttentionHeads = c.positive("num_attention_heads", null);
            b.numKeyValueHeads = c.positive("num_key_value_heads", b.numAttentionHeads);
            if (!c.has("head_dim") && b.hiddenSize % b.numAttentionHeads != 0) {
                throw c.error("hidden_size", b.hiddenSize + " is not divisible by num_attention_heads "
                        + b.numAttentionHeads);
            }
            b.headDim = c.positive("head_dim", b.hiddenSize / b.numAttentionHeads);
            b.maxPositionEmbeddings = c.positive("max_position_embeddings", maxPositions);
            b.normEps = (float) c.number("rms_norm_eps", eps, false);
            b.ropeTheta = c.ropeTheta(theta);
            b.partialRotaryFactor = c.partialRotaryFactor(1.0);
            b.ropeScaling = c.ropeScaling(b.maxPositionEmbeddings);
            b.intermediateSize = c.positive("intermediate_size", null);
            b.tieWordEmbeddings = c.bool("tie_word_embeddings", false);
            b.eosTokenId = c.optionalInt("eos_token_id");
            b.padTokenId = c.optionalInt("pad_token_id");
            b.dtype = c.dtype();
            b.slidingWindows = new int[b.numHiddenLayers];
            return b;
        }

        public ModelConfig build() {
            int[] moe = moeLayers != null ? moeLayers : java.util.stream.IntStream.range(0, numHiddenLayers).toArray();
            float scale = attentionScale != null ? attentionScale : defaultAttentionScale(headDim);
            // As HF's rope init: int(head_dim * partial_rotary_factor) dimensions rotate.
            int rotaryDim = mla != null ? mla.qkRopeHeadDim() : (int) (headDim * partialRotaryFactor);
            return new ModelConfig(modelType, names, vocabSize, hiddenSize, numHiddenLayers, numAttentionHeads,
                    numKeyValueHeads, headDim, maxPositionEmbeddings, norm, normEps, postNorm, qkNorm, clipQkv, qkvBias,
                    oBias, ropeTheta, rotaryDim, ropeInterleave, mla, ropeScaling, attentionSinks, slidingWindows, scale,
                    embeddingMultiplier, residualMultiplier, logitsScaling, lmHeadBias, intermediateSize, moe, numExperts,
                    numExpertsPerTok, moeIntermediateSize, routerLinearBias, swigluLimit, mxfp4Experts, router,
                    normTopkProb, routerJitter, routedScalingFactor, nGroup, topkGroup,
                    sharedExpertIntermediateSize, sharedExpertGated, nextnLayers, tieWordEmbeddings, eosTokenId,
                    padTokenId, dtype).validate(where);
        }
    }
}
