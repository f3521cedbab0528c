package org.moescope.model;

import org.moescope.checkpoint.Checkpoint;
import org.moescope.errors.BadInputException;
import org.moescope.kernels.Kernels;
import org.moescope.kernels.Weight;
import org.moescope.model.family.Families;

import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The forward pass of a decoder-only MoE transformer, as HF transformers' modeling files compute it for every family in
 * {@link org.moescope.model.family.Families}, top to bottom:
 * embeddings (× embedding_multiplier) → per layer [attention block → residual → MLP block → residual] → final norm →
 * lm_head (+ bias, ÷ logits_scaling). The attention block: norm (pre-norm families) → q/k/v (+ biases) → q/k norm
 * (over the whole projection or per head) → clip → RoPE → causal softmax, optionally within a sliding window → o_proj
 * (+ bias) → norm (post-norm families) → × residual_multiplier. The MLP block of an MoE layer: router logits → softmax
 * over all experts → the family's rule picks k experts and weights ({@link Router}) → Σ w · down(silu(gate(x)) ⊙ up(x))
 * (+ sigmoid-gated shared expert); of a dense layer: one SwiGLU MLP.
 *
 * <p>All activations are fp32; weights are widened from their stored dtype inside the kernels. A call runs any number
 * of new tokens of one sequence (prefill: matrix-matrix kernels; decode: one token) against that sequence's KV cache.
 */
public final class MoeTransformer implements MoeModel {
    private final Checkpoint checkpoint;
    private final ModelConfig config;
    private final ModelWeights weights;
    private final Kernels kernels;

    private MoeTransformer(Checkpoint checkpoint, ModelConfig config, ModelWeights weights, Kernels kernels) {
        this.checkpoint = checkpoint;
        this.config = config;
        this.weights = weights;
        this.kernels = kernels;
    }

    /**
     * How multi-head latent attention computes its scores and outputs from the cached latents (results agree to float
     * rounding): EXPANDED multiplies every visible latent by kv_b_proj into per-head keys and values, then attends as
     * usual; ABSORBED folds kv_b_proj into the queries (q_nope · W_UK) and the outputs (W_UV · Σ p·latent) and attends
     * over the latents directly. AUTO: expanded when a call's new tokens are at least half the rows they see (a
     * prefill), absorbed otherwise (decode, a short turn after a long context). Measured on the DeepSeek-V2-Lite-shaped
     * mini (docs/performance.md): absorbed decodes 1.3x faster at 32-64 tokens of context and 4.9x at 512; expanded
     * prefills 32 tokens 2.3x and 512 tokens 1.6x faster.
     */
    public enum MlaPath { AUTO, EXPANDED, ABSORBED }

    private volatile MlaPath mlaPath = MlaPath.AUTO;

    /** Forces one way of computing MLA (tests compare both; benchmarks time both). */
    public void mlaPath(MlaPath path) {
        this.mlaPath = path;
    }

    public static MoeTransformer load(Path dir, Kernels kernels) {
        Checkpoint ckpt = Checkpoint.open(dir);
        try {
            ModelConfig config = Families.parse(ckpt.config(), ckpt.configSource());
            return new MoeTransformer(ckpt, config, new ModelWeights(ckpt, config), kernels);
        } catch (RuntimeException e) {
            ckpt.close();
            throw e;
        }
    }

    @Override
    public ModelConfig config() {
        return config;
    }

    @Override
    public Checkpoint checkpoint() {
        return checkpoint;
    }

    @Override
    public String weightStorage() {
        return weights.expertStorage();
    }

    public Kernels kernels() {
        return kernels;
    }

    /** A sequence being decoded: its KV cache and length. Capacity is fixed at creation. */
    public final class Session implements MoeModel.Session {
        final float[][] keyCache;   // (layers) x (capacity, kv_dim), after k_norm, clip and RoPE; MLA: (capacity,
                                    // kv_lora_rank + qk_rope_head_dim), the normed latent and the rotated rope key
        final float[][] valueCache; // (layers) x (capacity, kv_dim); MLA: empty
        final float[] ropeCos;      // (max position, head_dim/2)
        final float[] ropeSin;      // (max position, head_dim/2)
        final int capacity;
        int length;

        Session(int capacity) {
            if (capacity > config.maxPositionEmbeddings()) {
                throw new BadInputException("sequence of " + capacity + " tokens exceeds max_position_embeddings "
                        + config.maxPositionEmbeddings());
            }
            this(capacity, capacity);
        }

        /** cacheRows rows of KV cache; RoPE tables for positions below maxPosition. */
        Session(int cacheRows, int maxPosition) {
            this.capacity = cacheRows;
            keyCache = new float[config.numHiddenLayers()][cacheRows * config.keyCacheWidth()];
            valueCache = new float[config.numHiddenLayers()][cacheRows * config.valueCacheWidth()];
            int half = config.rotaryDim() / 2; // RoPE rotates the first rotaryDim dimensions of each head
            ropeCos = new float[maxPosition * half];
            ropeSin = new float[maxPosition * half];
            // As HF: inv_freq and the angles in fp32, then cos/sin of the fp32 angle, times YaRN's attention factor.
            float[] invFreq = config.ropeInverseFrequencies();
            float factor = config.ropeCosSinFactor();
            for (int p = 0; p < maxPosition; p++) {
                for (int i = 0; i < half; i++) {
                    float angle = (float) p * invFreq[i];
                    ropeCos[p * half + i] = (float) Math.cos(angle) * factor;
                    ropeSin[p * half + i] = (float) Math.sin(angle) * factor;
                }
            }
        }

        @Override
        public int length() {
            return length;
        }

        MoeTransformer owner() {
            return MoeTransformer.this;
        }

        @Override
        public int capacity() {
            return capacity;
        }
    }

    public Session newSession(int capacity) {
        return new Session(capacity);
    }

    /**
     * Runs {@code tokens} at positions session.length() onward and appends them to the KV cache.
     *
     * @return logits, (tokens, vocab) for ALL, (vocab) for LAST, null for NONE
     */
    @Override
    public float[] forward(MoeModel.Session session, int[] tokens, Logits want, RouteRecorder recorder) {
        if (!(session instanceof Session s) || s.owner() != this) {
            throw new IllegalArgumentException("session of another model");
        }
        int T = tokens.length;
        if (T == 0) {
            throw new BadInputException("empty token sequence");
        }
        if (s.length + T > s.capacity) {
            throw new BadInputException("sequence of " + (s.length + T) + " tokens exceeds the session's capacity "
                    + s.capacity);
        }
        int[] position = new int[T];
        int[] visibleFrom = new int[T];
        for (int t = 0; t < T; t++) {
            position[t] = s.length + t;
        }
        float[] logits = run(s, new Buffers(T), tokens, position, position, visibleFrom, want == Logits.NONE ? null
                : want == Logits.ALL ? allRows(T) : new int[] {T - 1}, null, recorder);
        s.length += T;
        return logits;
    }

    /**
     * Prefills several independent sequences in one call, so that the matmuls see all their tokens at once. Each
     * sequence starts at position 0 and attends only to itself; no cache survives the call.
     *
     * @param logitRows which rows of the concatenated tokens need logits (null: none)
     * @param logits    where to put them when it holds at least logitRows.length x vocab floats, else null
     * @return logits (logitRows.length, vocab) at the start of the array used, or null
     */
    @Override
    public float[] prefillBatch(int[][] sequences, int[] logitRows, float[] logits, RouteRecorder recorder) {
        int T = 0;
        for (int[] seq : sequences) {
            if (seq.length == 0) {
                throw new BadInputException("empty token sequence");
            }
            if (seq.length > config.maxPositionEmbeddings()) {
                throw new BadInputException("sequence of " + seq.length + " tokens exceeds max_position_embeddings "
                        + config.maxPositionEmbeddings());
            }
            T += seq.length;
        }
        int[] tokens = new int[T];
        int[] position = new int[T];
        int[] cacheRow = new int[T];
        int[] visibleFrom = new int[T];
        int maxLen = 0;
        int t = 0;
        for (int[] seq : sequences) {
            int start = t;
            for (int i = 0; i < seq.length; i++, t++) {
                tokens[t] = seq[i];
                position[t] = i;
                cacheRow[t] = t;
                visibleFrom[t] = start;
            }
            maxLen = Math.max(maxLen, seq.length);
        }
        // Borrowed for the call: a second thread prefilling at the same time finds none and makes its own.
        PrefillScratch scratch = spareScratch.getAndSet(null);
        if (scratch == null || scratch.session.capacity < T || scratch.maxPosition < maxLen) {
            scratch = new PrefillScratch(T, maxLen);
        }
        float[] out = run(scratch.session, scratch.buffers, tokens, position, cacheRow, visibleFrom, logitRows, logits,
                recorder);
        spareScratch.set(scratch);
        return out;
    }

    /**
     * The KV cache and work arrays of prefillBatch, kept between calls: a trace runs batch after batch of
     * the same size, and allocating them per batch (~300 MB at 1,024 tokens of OLMoE-1B-7B, most of it the batch's KV
     * cache) made the collector grow the heap by that much again. Grown when a batch needs more; no KV cache survives
     * a call, because every call overwrites the rows it reads.
     */
    private final class PrefillScratch {
        final Session session; // (tokens) cache rows, RoPE up to maxPosition
        final Buffers buffers; // (tokens)
        final int maxPosition;

        PrefillScratch(int tokens, int maxPosition) {
            this.session = new Session(tokens, maxPosition);
            this.buffers = new Buffers(tokens);
            this.maxPosition = maxPosition;
        }
    }

    private final AtomicReference<PrefillScratch> spareScratch = new AtomicReference<>();

    /**
     * A KV cache that several sequences share for {@link #step}: each owns a range of its rows (a server's KV-cache
     * budget), RoPE tables for positions below maxPosition.
     */
    public Session newSharedCache(int rows, int maxPosition) {
        if (maxPosition > config.maxPositionEmbeddings()) {
            throw new BadInputException("context of " + maxPosition + " tokens exceeds max_position_embeddings "
                    + config.maxPositionEmbeddings());
        }
        return new Session(rows, maxPosition);
    }

    /**
     * One sequence's share of a {@link #step}: its tokens go to positions start .. start + tokens.length and to cache
     * rows base + start onward, and attend to rows base .. their own (the sequence's range of the shared cache).
     *
     * @param logits whether the step returns the logits of the last of these tokens
     */
    public record StepSlice(int base, int start, int[] tokens, boolean logits) {
    }

    /** The work arrays of step, grown when a step has more tokens (one caller at a time). */
    private Buffers stepBuffers;
    private int stepCapacity;

    /**
     * One forward pass over the tokens of several sequences of a shared cache (continuous batching): decode tokens and
     * prefill chunks together, so every matmul and every expert sees all of them at once. Each sequence's attention
     * reads only its own rows. With kernels whose per-token result does not depend on the other tokens of a call
     * ({@link org.moescope.kernels.VectorKernels#batchInvariant()}), a sequence's logits are bit-identical whether
     * it runs alone or batched, and however its prompt is split into chunks.
     *
     * @param cache a cache from {@link #newSharedCache}
     * @return logits (slices with logits set, vocab), in slice order, or null when none asked
     */
    public float[] step(MoeModel.Session cache, java.util.List<StepSlice> slices, RouteRecorder recorder) {
        if (!(cache instanceof Session s) || s.owner() != this) {
            throw new IllegalArgumentException("cache of another model");
        }
        int maxPosition = s.ropeCos.length / (config.rotaryDim() / 2);
        int T = 0;
        int rows = 0;
        for (StepSlice slice : slices) {
            int n = slice.tokens().length;
            if (n == 0) throw new BadInputException("empty token sequence");
            if (slice.start() + n > maxPosition || slice.base() < 0 || slice.base() + slice.start() + n > s.capacity) {
                throw new BadInputException("tokens " + slice.start() + " .. " + (slice.start() + n) + " at cache row "
                        + slice.base() + " exceed the shared cache (" + s.capacity + " rows, context " + maxPosition + ")");
            }
            T += n;
            if (slice.logits()) rows++;
        }
        if (T == 0) return null;
        int[] tokens = new int[T];
        int[] position = new int[T];
        int[] cacheRow = new int[T];
        int[] visibleFrom = new int[T];
        int[] logitRows = new int[rows];
        int t = 0;
        int r = 0;
        for (StepSlice slice : slices) {
            for (int i = 0; i < slice.tokens().length; i++, t++) {
                tokens[t] = slice.tokens()[i];
                position[t] = slice.start() + i;
                cacheRow[t] = slice.base() + slice.start() + i;
                visibleFrom[t] = slice.base();
            }
            if (slice.logits()) logitRows[r++] = t - 1;
        }
        if (stepBuffers == null || stepCapacity < Math.max(T, rows)) {
            stepCapacity = Math.max(T, rows);
            stepBuffers = new Buffers(stepCapacity);
        }
        return run(s, stepBuffers, tokens, position, cacheRow, visibleFrom, rows == 0 ? null : logitRows, null,
                recorder);
    }

    private static int[] allRows(int n) {
        int[] r = new int[n];
        for (int i = 0; i < n; i++) r[i] = i;
        return r;
    }

    /**
     * The forward pass over T tokens. Token t sits at RoPE position position[t], writes its key and value to cache row
     * cacheRow[t], and attends to cache rows visibleFrom[t] .. cacheRow[t] (causal within its own sequence).
     */
    private float[] run(Session s, Buffers b, int[] tokens, int[] position, int[] cacheRow, int[] visibleFrom,
                        int[] logitRows, float[] into, RouteRecorder recorder) {
        int T = tokens.length;
        int H = config.hiddenSize();
        int V = config.vocabSize();
        for (int id : tokens) {
            if (id < 0 || id >= V) {
                throw new BadInputException("token id " + id + " is out of range [0, " + V + ")");
            }
        }
        float[] x = b.x;
        for (int t = 0; t < T; t++) {
            kernels.row(weights.embedTokens, tokens[t], x, t * H);
        }
        scale(x, T * H, config.embeddingMultiplier());
        for (int l = 0; l < config.numHiddenLayers(); l++) {
            ModelWeights.Layer w = weights.layers[l];
            if (w.latent() != null) {
                latentAttention(l, w, s, x, T, position, cacheRow, visibleFrom, b);
            } else {
                attention(l, w, s, x, T, position, cacheRow, visibleFrom, b);
            }
            mlpBlock(l, w, x, T, b, recorder);
        }
        if (logitRows == null) {
            return null;
        }
        int rows = logitRows.length;
        float[] normed = rows <= T ? b.xb : new float[rows * H]; // xb is free once the last layer has run
        for (int r = 0; r < rows; r++) {
            norm(normed, r * H, x, logitRows[r] * H, weights.norm);
        }
        float[] logits = MoeModel.logitsArray(into, rows, V);
        kernels.matmul(logits, normed, rows, weights.lmHead);
        addBias(logits, rows, weights.lmHeadBias);
        if (config.logitsScaling() != 1f) {
            float d = config.logitsScaling();
            for (int i = 0; i < rows * V; i++) logits[i] /= d;
        }
        return logits;
    }

    /** Work arrays of a forward call of up to T tokens. */
    private final class Buffers {
        final float[] x;            // (T, hidden) the residual stream
        final float[] xb;           // (T, hidden) normed input of a block
        final float[] q;            // (T, heads·head_dim)
        final float[] k;            // (T, kv_dim)
        final float[] v;            // (T, kv_dim)
        final float[] attn;         // (T, heads·head_dim) concatenated head outputs
        final float[] proj;         // (T, hidden) a block's output: o_proj, MoE or MLP
        final int[] from;           // (T) first visible cache row within a layer's sliding window
        final float[] routerLogits; // (T, experts)
        final float[] routerProbs;  // (T, experts)
        final int[] topkIds;        // (T, k)
        final float[] topkWeights;  // (T, k)
        final float[] mlpGate;      // (T, width) a dense MLP's or the shared expert's gate, then silu(gate) ⊙ up
        final float[] mlpUp;        // (T, width)
        final float[] shared;       // (T, hidden) the shared expert's output, or empty
        final float[] sharedGate;   // (T) sigmoid(shared_expert_gate · h), or empty
        final MlaBuffers mla;       // multi-head latent attention's, or null

        Buffers(int T) {
            int H = config.hiddenSize();
            int E = config.numExperts();
            int K = config.numExpertsPerTok();
            boolean dense = config.numMoeLayers() < config.numHiddenLayers();
            int width = Math.max(dense ? config.intermediateSize() : 0, config.sharedExpertIntermediateSize());
            x = new float[T * H];
            xb = new float[T * H];
            q = new float[T * config.qDim()];
            k = new float[T * config.kvDim()];
            v = new float[T * config.kvDim()];
            attn = new float[T * config.qDim()];
            proj = new float[T * H];
            from = new int[T];
            routerLogits = new float[T * E];
            routerProbs = new float[T * E];
            topkIds = new int[T * K];
            topkWeights = new float[T * K];
            mlpGate = new float[T * width];
            mlpUp = new float[T * width];
            shared = new float[config.hasSharedExpert() ? T * H : 0];
            sharedGate = new float[config.hasSharedExpertGate() ? T : 0];
            mla = config.mla() != null ? new MlaBuffers(T) : null;
        }
    }

    private void attention(int l, ModelWeights.Layer w, Session s, float[] x, int T, int[] position, int[] cacheRow,
                           int[] visibleFrom, Buffers b) {
        int H = config.hiddenSize();
        int qDim = config.qDim();
        int kvDim = config.kvDim();
        int hd = config.headDim();
        int nHeads = config.numAttentionHeads();
        int nKv = config.numKeyValueHeads();
        ModelWeights.Attention a = w.attention();
        float[] in = x;
        if (!config.postNorm()) {
            normRows(b.xb, x, T, w.attnNorm());
            in = b.xb;
        }
        kernels.matmul(in, T, new Weight[] {a.q(), a.k(), a.v()}, new float[][] {b.q, b.k, b.v});
        addBias(b.q, T, a.qBias());
        addBias(b.k, T, a.kBias());
        addBias(b.v, T, a.vBias());
        float[] keys = s.keyCache[l];
        float[] values = s.valueCache[l];
        float eps = config.normEps();
        for (int t = 0; t < T; t++) {
            int pos = position[t];
            switch (config.qkNorm()) {
                case WHOLE -> {
                    kernels.rmsnorm(b.q, t * qDim, b.q, t * qDim, a.qNorm(), qDim, eps);
                    kernels.rmsnorm(b.k, t * kvDim, b.k, t * kvDim, a.kNorm(), kvDim, eps);
                }
                case PER_HEAD -> {
                    for (int h = 0; h < nHeads; h++) {
                        kernels.rmsnorm(b.q, t * qDim + h * hd, b.q, t * qDim + h * hd, a.qNorm(), hd, eps);
                    }
                    for (int h = 0; h < nKv; h++) {
                        kernels.rmsnorm(b.k, t * kvDim + h * hd, b.k, t * kvDim + h * hd, a.kNorm(), hd, eps);
                    }
                }
                case NONE -> {
                }
            }
            if (config.clipQkv() != null) {
                float c = config.clipQkv();
                clamp(b.q, t * qDim, qDim, c);
                clamp(b.k, t * kvDim, kvDim, c);
                clamp(b.v, t * kvDim, kvDim, c);
            }
            int rd = config.rotaryDim();
            for (int h = 0; h < nHeads; h++) {
                rope(b.q, t * qDim + h * hd, rd, s, pos);
            }
            for (int h = 0; h < nKv; h++) {
                rope(b.k, t * kvDim + h * hd, rd, s, pos);
            }
            System.arraycopy(b.k, t * kvDim, keys, cacheRow[t] * kvDim, kvDim);
            System.arraycopy(b.v, t * kvDim, values, cacheRow[t] * kvDim, kvDim);
        }
        // Causal attention: token t sees cache rows visibleFrom[t] .. cacheRow[t] (its own sequence up to itself),
        // the last W of them in a layer with a sliding window of W, read in place from the cache.
        int window = config.slidingWindows()[l];
        int[] from = visibleFrom;
        if (window > 0) {
            from = b.from;
            for (int t = 0; t < T; t++) from[t] = Math.max(visibleFrom[t], cacheRow[t] - window + 1);
        }
        kernels.attention(b.attn, b.q, T, keys, values, cacheRow, from, nHeads, nKv, hd, config.attentionScale(),
                a.sinks());
        kernels.matmul(b.proj, b.attn, T, a.o());
        addBias(b.proj, T, a.oBias());
        if (config.postNorm()) {
            normRows(b.proj, b.proj, T, w.attnNorm());
        }
        addResidual(x, b.proj, T * H);
    }

    /** Work arrays of multi-head latent attention for T tokens; the expanded keys and values grow with the cache. */
    private final class MlaBuffers {
        final float[] q;       // (T, heads·qk_head_dim) [nope | rope] per head
        final float[] qLatent; // (T, q_lora_rank) q_a_proj's output
        final float[] kv;      // (T, kv_lora_rank + qk_rope_head_dim) kv_a_proj_with_mqa's output
        final float[] attn;    // (T, heads·v_head_dim) the heads' outputs, o_proj's input
        final float[] gather;  // (T, max(qk_nope_head_dim, kv_lora_rank)) one head's slice of every token
        final float[] head;    // (T, max(kv_lora_rank, v_head_dim)) a per-head product
        float[] wide = new float[0];    // absorbed: (T, heads·(kv_lora_rank + rope)) queries, then the heads' contexts
        float[] latents = new float[0]; // expanded: (rows, kv_lora_rank) the visible latents
        float[] kvb = new float[0];     // expanded: (rows, heads·(nope + v)) kv_b_proj · latent
        float[] keys = new float[0];    // expanded: (rows, heads·d) [k_nope | k_rope | 0] per head, d = max(qk, v)
        float[] values = new float[0];  // expanded: (rows, heads·d) [v | 0]
        float[] padded = new float[0];  // expanded: (T, heads·d) queries [q | 0], then the outputs

        MlaBuffers(int T) {
            ModelConfig.Mla m = config.mla();
            int heads = config.numAttentionHeads();
            q = new float[T * heads * m.qkHeadDim()];
            qLatent = new float[T * m.qLoraRank()];
            kv = new float[T * m.cacheWidth()];
            attn = new float[T * heads * m.vHeadDim()];
            gather = new float[T * Math.max(m.qkNopeHeadDim(), m.kvLoraRank())];
            head = new float[T * Math.max(m.kvLoraRank(), m.vHeadDim())];
        }

        float[] grow(float[] a, int n) {
            return a.length >= n ? a : new float[n];
        }
    }

    /**
     * Multi-head latent attention (DeepSeek-V2/V3), the attention block of a layer with {@link ModelConfig#mla()}:
     * norm → q (q_proj, or q_a_proj → q_a_layernorm → q_b_proj) → kv_a_proj_with_mqa → [latent | rope key]; the latent
     * through kv_a_layernorm, the rope key and each query head's rope part rotated; latent and rope key cached; causal
     * softmax of (q_nope · k_nope + q_rope · k_rope) · softmax_scale over the visible rows → Σ p · v per head → o_proj.
     * k_nope and v are kv_b_proj · latent, per head; whether they are formed (expanded) or folded into the query and
     * output (absorbed) is {@link MlaPath}.
     */
    private void latentAttention(int l, ModelWeights.Layer w, Session s, float[] x, int T, int[] position,
                                 int[] cacheRow, int[] visibleFrom, Buffers b) {
        ModelConfig.Mla m = config.mla();
        ModelWeights.LatentAttention a = w.latent();
        MlaBuffers mb = b.mla;
        int heads = config.numAttentionHeads();
        int nope = m.qkNopeHeadDim(), rope = m.qkRopeHeadDim(), qk = m.qkHeadDim(), r = m.kvLoraRank();
        int width = m.cacheWidth();
        float eps = 1e-6f; // q_a_layernorm and kv_a_layernorm keep HF's RMSNorm default, not rms_norm_eps
        normRows(b.xb, x, T, w.attnNorm());
        if (a.q() != null) {
            kernels.matmul(b.xb, T, new Weight[] {a.q(), a.kvA()}, new float[][] {mb.q, mb.kv});
        } else {
            int qr = m.qLoraRank();
            kernels.matmul(b.xb, T, new Weight[] {a.qA(), a.kvA()}, new float[][] {mb.qLatent, mb.kv});
            for (int t = 0; t < T; t++) kernels.rmsnorm(mb.qLatent, t * qr, mb.qLatent, t * qr, a.qANorm(), qr, eps);
            kernels.matmul(mb.q, mb.qLatent, T, a.qB());
        }
        float[] cache = s.keyCache[l];
        for (int t = 0; t < T; t++) {
            int row = cacheRow[t] * width;
            kernels.rmsnorm(cache, row, mb.kv, t * width, a.kvANorm(), r, eps);
            System.arraycopy(mb.kv, t * width + r, cache, row + r, rope);
            rotate(cache, row + r, rope, s, position[t]);
            for (int h = 0; h < heads; h++) rotate(mb.q, (t * heads + h) * qk + nope, rope, s, position[t]);
        }
        int rows = 0;
        for (int t = 0; t < T; t++) rows = Math.max(rows, cacheRow[t] + 1);
        boolean absorbed = switch (mlaPath) {
            case ABSORBED -> true;
            case EXPANDED -> false;
            case AUTO -> 2 * T < rows;
        };
        if (absorbed) {
            absorbedAttention(a, mb, cache, T, cacheRow, visibleFrom);
        } else {
            expandedAttention(a, mb, cache, T, rows, cacheRow, visibleFrom);
        }
        kernels.matmul(b.proj, mb.attn, T, a.o());
        addResidual(x, b.proj, T * config.hiddenSize());
    }

    /**
     * Scores against the latents themselves: q_nope · (W_UK · c) = (W_UKᵀ · q_nope) · c, so each head's query becomes
     * [W_UKᵀ q_nope | q_rope] (kv_lora_rank + rope wide) and attends to the cache rows [c | k_rope] as one shared key
     * head (MQA); the same rows serve as values, and W_UV turns each head's Σ p · c into its output.
     */
    private void absorbedAttention(ModelWeights.LatentAttention a, MlaBuffers mb, float[] cache, int T,
                                   int[] cacheRow, int[] visibleFrom) {
        ModelConfig.Mla m = config.mla();
        int heads = config.numAttentionHeads();
        int nope = m.qkNopeHeadDim(), rope = m.qkRopeHeadDim(), qk = m.qkHeadDim(), r = m.kvLoraRank();
        int width = m.cacheWidth(), vd = m.vHeadDim();
        mb.wide = mb.grow(mb.wide, T * heads * width);
        float[] query = mb.wide;
        for (int h = 0; h < heads; h++) {
            for (int t = 0; t < T; t++) System.arraycopy(mb.q, (t * heads + h) * qk, mb.gather, t * nope, nope);
            kernels.matmulTransposed(mb.head, mb.gather, T, a.uk()[h]);
            for (int t = 0; t < T; t++) {
                int at = (t * heads + h) * width;
                System.arraycopy(mb.head, t * r, query, at, r);
                System.arraycopy(mb.q, (t * heads + h) * qk + nope, query, at + r, rope);
            }
        }
        float[] context = new float[T * heads * width];
        kernels.attention(context, query, T, cache, cache, cacheRow, visibleFrom, heads, 1, width,
                config.attentionScale());
        for (int h = 0; h < heads; h++) {
            for (int t = 0; t < T; t++) System.arraycopy(context, (t * heads + h) * width, mb.gather, t * r, r);
            kernels.matmul(mb.head, mb.gather, T, a.uv()[h]);
            for (int t = 0; t < T; t++) System.arraycopy(mb.head, t * vd, mb.attn, (t * heads + h) * vd, vd);
        }
    }

    /**
     * Keys and values formed from the latents of cache rows 0 .. rows-1 (k_nope and v = kv_b_proj · c per head, the
     * shared rope key appended to every head's key), then the usual attention with queries and values zero-padded to
     * one head width.
     */
    private void expandedAttention(ModelWeights.LatentAttention a, MlaBuffers mb, float[] cache, int T, int rows,
                                   int[] cacheRow, int[] visibleFrom) {
        ModelConfig.Mla m = config.mla();
        int heads = config.numAttentionHeads();
        int nope = m.qkNopeHeadDim(), rope = m.qkRopeHeadDim(), qk = m.qkHeadDim(), r = m.kvLoraRank();
        int width = m.cacheWidth(), vd = m.vHeadDim(), d = Math.max(qk, vd), kvb = nope + vd;
        mb.latents = mb.grow(mb.latents, rows * r);
        mb.kvb = mb.grow(mb.kvb, rows * heads * kvb);
        mb.keys = mb.grow(mb.keys, rows * heads * d);
        mb.values = mb.grow(mb.values, rows * heads * d);
        mb.padded = mb.grow(mb.padded, T * heads * d);
        for (int j = 0; j < rows; j++) System.arraycopy(cache, j * width, mb.latents, j * r, r);
        kernels.matmul(mb.kvb, mb.latents, rows, a.kvB());
        java.util.Arrays.fill(mb.keys, 0, rows * heads * d, 0f);
        java.util.Arrays.fill(mb.values, 0, rows * heads * d, 0f);
        for (int j = 0; j < rows; j++) {
            for (int h = 0; h < heads; h++) {
                int src = (j * heads + h) * kvb, dst = (j * heads + h) * d;
                System.arraycopy(mb.kvb, src, mb.keys, dst, nope);
                System.arraycopy(cache, j * width + r, mb.keys, dst + nope, rope);
                System.arraycopy(mb.kvb, src + nope, mb.values, dst, vd);
            }
        }
        java.util.Arrays.fill(mb.padded, 0, T * heads * d, 0f);
        for (int t = 0; t < T; t++) {
            for (int h = 0; h < heads; h++) System.arraycopy(mb.q, (t * heads + h) * qk, mb.padded, (t * heads + h) * d, qk);
        }
        float[] out = new float[T * heads * d];
        kernels.attention(out, mb.padded, T, mb.keys, mb.values, cacheRow, visibleFrom, heads, heads, d,
                config.attentionScale());
        for (int t = 0; t < T; t++) {
            for (int h = 0; h < heads; h++) System.arraycopy(out, (t * heads + h) * d, mb.attn, (t * heads + h) * vd, vd);
        }
    }

    /** RoPE on rd dimensions at off: adjacent pairs (ropeInterleave) or halves. */
    private void rotate(float[] a, int off, int rd, Session s, int pos) {
        if (config.ropeInterleave()) {
            ropePairs(a, off, rd, s, pos);
        } else {
            rope(a, off, rd, s, pos);
        }
    }

    /**
     * RoPE on adjacent pairs (2i, 2i+1), each rotated by angle pos · theta^(-2i/rd): DeepSeek's layout (HF's complex
     * multiplication in DeepSeek-V2, apply_rotary_pos_emb_interleave in V3, whose de-interleaved output order is the
     * same permutation for queries and keys and so leaves every score as here).
     */
    private static void ropePairs(float[] a, int off, int rd, Session s, int pos) {
        int half = rd / 2;
        int base = pos * half;
        for (int i = 0; i < half; i++) {
            float cos = s.ropeCos[base + i];
            float sin = s.ropeSin[base + i];
            float x1 = a[off + 2 * i];
            float x2 = a[off + 2 * i + 1];
            a[off + 2 * i] = x1 * cos - x2 * sin;
            a[off + 2 * i + 1] = x2 * cos + x1 * sin;
        }
    }

    /** The MLP half of layer l: the sparse MoE block, or the dense MLP of a layer the config makes dense. */
    private void mlpBlock(int l, ModelWeights.Layer w, float[] x, int T, Buffers b, RouteRecorder recorder) {
        int H = config.hiddenSize();
        float[] in = x;
        if (!config.postNorm()) {
            normRows(b.xb, x, T, w.ffnNorm());
            in = b.xb;
        }
        if (w.moe() != null) {
            moe(config.moeIndex(l), w.moe(), in, T, b, recorder);
        } else {
            swiglu(w.mlp(), in, T, b.proj, b);
        }
        if (config.postNorm()) {
            normRows(b.proj, b.proj, T, w.ffnNorm());
        }
        addResidual(x, b.proj, T * H);
    }

    /** The sparse MoE block on in (T, hidden), into b.proj. */
    private void moe(int m, ModelWeights.Moe w, float[] in, int T, Buffers b, RouteRecorder recorder) {
        int E = config.numExperts();
        int K = config.numExpertsPerTok();
        kernels.matmul(b.routerLogits, in, T, w.router());
        addBias(b.routerLogits, T, w.routerLinearBias());
        System.arraycopy(b.routerLogits, 0, b.routerProbs, 0, T * E);
        for (int t = 0; t < T; t++) {
            kernels.softmax(b.routerProbs, t * E, E);
            config.router().select(config, b.routerLogits, b.routerProbs, t * E, w.routerBias(), b.topkIds,
                    b.topkWeights, t * K);
        }
        if (recorder != null) {
            recorder.onLayer(m, T, in, b.routerLogits, b.routerProbs, b.topkIds, b.topkWeights);
        }
        // The kernel groups the tokens by expert, so each expert runs one matrix-matrix product over its tokens, and
        // adds the weighted expert outputs of a token in ascending expert id, as HF does.
        kernels.moe(b.proj, in, T, b.topkIds, b.topkWeights, K, w.experts());
        if (w.shared() != null) {
            int H = config.hiddenSize();
            swiglu(w.shared(), in, T, b.shared, b);
            if (w.sharedGate() == null) { // ungated (GLM-4.5, DeepSeek): added as is
                for (int i = 0; i < T * H; i++) b.proj[i] += b.shared[i];
                return;
            }
            kernels.matmul(b.sharedGate, in, T, w.sharedGate());
            for (int t = 0; t < T; t++) {
                float g = (float) (1.0 / (1.0 + Math.exp(-b.sharedGate[t])));
                b.sharedGate[t] = g;
                for (int i = t * H; i < (t + 1) * H; i++) b.proj[i] += g * b.shared[i];
            }
            if (recorder != null) {
                recorder.onSharedExpert(m, T, b.sharedGate);
            }
        }
    }

    /** out (T, hidden) = down(silu(gate · in) ⊙ (up · in)). */
    private void swiglu(ModelWeights.Mlp w, float[] in, int T, float[] out, Buffers b) {
        int width = w.gate().rows();
        kernels.matmul(in, T, new Weight[] {w.gate(), w.up()}, new float[][] {b.mlpGate, b.mlpUp});
        kernels.siluMul(b.mlpGate, b.mlpUp, T * width);
        kernels.matmul(out, b.mlpGate, T, w.down());
    }

    private void normRows(float[] out, float[] x, int T, ModelWeights.Norm n) {
        int H = config.hiddenSize();
        for (int t = 0; t < T; t++) {
            norm(out, t * H, x, t * H, n);
        }
    }

    private void norm(float[] out, int outOff, float[] x, int xOff, ModelWeights.Norm n) {
        int H = config.hiddenSize();
        if (n.bias() == null) {
            kernels.rmsnorm(out, outOff, x, xOff, n.weight(), H, config.normEps());
        } else {
            kernels.layernorm(out, outOff, x, xOff, n.weight(), n.bias(), H, config.normEps());
        }
    }

    /** x += residual_multiplier · block, elementwise (the multiplier is 1 outside Granite). */
    private void addResidual(float[] x, float[] block, int n) {
        float m = config.residualMultiplier();
        for (int i = 0; i < n; i++) {
            x[i] += block[i] * m;
        }
    }

    /** Adds bias (n) to each of the T rows of a (T, n); nothing when bias is null. */
    private static void addBias(float[] a, int T, float[] bias) {
        if (bias == null) return;
        int n = bias.length;
        for (int t = 0; t < T; t++) {
            for (int i = 0; i < n; i++) a[t * n + i] += bias[i];
        }
    }

    private static void scale(float[] a, int n, float by) {
        if (by == 1f) return;
        for (int i = 0; i < n; i++) a[i] *= by;
    }

    private static void clamp(float[] a, int off, int n, float c) {
        for (int i = off; i < off + n; i++) {
            a[i] = Math.max(-c, Math.min(c, a[i]));
        }
    }

    /**
     * Rotate-half RoPE on the first rd dimensions of one head: pairs (i, i + rd/2) rotate by angle pos · theta^(-2i/rd);
     * dimensions rd .. head_dim pass through (partial RoPE).
     */
    private static void rope(float[] a, int off, int rd, Session s, int pos) {
        int half = rd / 2;
        int base = pos * half;
        for (int i = 0; i < half; i++) {
            float cos = s.ropeCos[base + i];
            float sin = s.ropeSin[base + i];
            float x1 = a[off + i];
            float x2 = a[off + half + i];
            a[off + i] = x1 * cos - x2 * sin;
            a[off + half + i] = x2 * cos + x1 * sin;
        }
    }

    @Override
    public void close() {
        checkpoint.close();
    }
}
