package org.moescope.model;

import org.moescope.checkpoint.Checkpoint;
import org.moescope.errors.BadInputException;
import org.moescope.kernels.Kernels;
import org.moescope.kernels.TopK;
import org.moescope.kernels.Weight;

import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The OLMoE forward pass as HF transformers' OlmoeForCausalLM computes it, top to bottom:
 * embeddings → per layer [RMSNorm → attention (q/k/v, q_norm/k_norm over the whole projection, clip, RoPE, causal
 * softmax, o_proj) → residual → RMSNorm → sparse MoE (router softmax over all experts in fp32 → top-k → optional
 * renormalisation → Σ w · down(silu(gate(x)) · up(x))) → residual] → final RMSNorm → lm_head.
 *
 * <p>All activations are fp32; weights are widened from their stored dtype inside the kernels. A call runs any number
 * of new tokens of one sequence (prefill: matrix-matrix kernels; decode: one token) against that sequence's KV cache.
 */
public final class OlmoeModel implements MoeModel {
    private final Checkpoint checkpoint;
    private final OlmoeConfig config;
    private final OlmoeWeights weights;
    private final Kernels kernels;

    private OlmoeModel(Checkpoint checkpoint, OlmoeConfig config, OlmoeWeights weights, Kernels kernels) {
        this.checkpoint = checkpoint;
        this.config = config;
        this.weights = weights;
        this.kernels = kernels;
    }

    public static OlmoeModel load(Path dir, Kernels kernels) {
        Checkpoint ckpt = Checkpoint.open(dir);
        try {
            OlmoeConfig config = OlmoeConfig.parse(ckpt.config(), dir.resolve(Checkpoint.CONFIG));
            return new OlmoeModel(ckpt, config, new OlmoeWeights(ckpt, config), kernels);
        } catch (RuntimeException e) {
            ckpt.close();
            throw e;
        }
    }

    public OlmoeConfig config() {
        return config;
    }

    public Checkpoint checkpoint() {
        return checkpoint;
    }

    public Kernels kernels() {
        return kernels;
    }

    /** Router weight of a layer, (experts, hidden), widened to float: the expert embeddings of pathway consistency. */
    public float[] routerWeight(int layer) {
        Weight g = weights.gate[layer];
        float[] out = new float[g.rows() * g.cols()];
        for (int e = 0; e < g.rows(); e++) {
            kernels.row(g, e, out, e * g.cols());
        }
        return out;
    }

    /** A sequence being decoded: its KV cache and length. Capacity is fixed at creation. */
    public final class Session implements MoeModel.Session {
        final float[][] keyCache;   // (layers) x (capacity, kv_dim), after k_norm, clip and RoPE
        final float[][] valueCache; // (layers) x (capacity, kv_dim)
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
            int kvDim = config.kvDim();
            keyCache = new float[config.numHiddenLayers()][cacheRows * kvDim];
            valueCache = new float[config.numHiddenLayers()][cacheRows * kvDim];
            int half = config.headDim() / 2;
            ropeCos = new float[maxPosition * half];
            ropeSin = new float[maxPosition * half];
            // As HF: inv_freq and the angles in fp32, then cos/sin of the fp32 angle.
            float[] invFreq = new float[half];
            for (int i = 0; i < half; i++) {
                invFreq[i] = (float) (1.0 / Math.pow(config.ropeTheta(), (2.0 * i) / config.headDim()));
            }
            for (int p = 0; p < maxPosition; p++) {
                for (int i = 0; i < half; i++) {
                    float angle = (float) p * invFreq[i];
                    ropeCos[p * half + i] = (float) Math.cos(angle);
                    ropeSin[p * half + i] = (float) Math.sin(angle);
                }
            }
        }

        @Override
        public int length() {
            return length;
        }

        OlmoeModel owner() {
            return OlmoeModel.this;
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
        for (int l = 0; l < config.numHiddenLayers(); l++) {
            attention(l, s, x, T, position, cacheRow, visibleFrom, b);
            moe(l, x, T, b, recorder);
        }
        if (logitRows == null) {
            return null;
        }
        int rows = logitRows.length;
        float[] normed = rows <= T ? b.xb : new float[rows * H]; // xb is free once the last layer has run
        for (int r = 0; r < rows; r++) {
            kernels.rmsnorm(normed, r * H, x, logitRows[r] * H, weights.norm, H, config.rmsNormEps());
        }
        float[] logits = MoeModel.logitsArray(into, rows, V);
        kernels.matmul(logits, normed, rows, weights.lmHead);
        return logits;
    }

    /** Work arrays of a forward call of up to T tokens. */
    private final class Buffers {
        final float[] x;          // (T, hidden) the residual stream
        final float[] xb;         // (T, hidden) normed input of a block
        final float[] q;          // (T, hidden)
        final float[] k;          // (T, kv_dim)
        final float[] v;          // (T, kv_dim)
        final float[] attn;       // (T, hidden) concatenated head outputs
        final float[] proj;       // (T, hidden) o_proj / MoE output
        final float[] routerLogits; // (T, experts)
        final float[] routerProbs;  // (T, experts)
        final int[] topkIds;        // (T, k)
        final float[] topkWeights;  // (T, k)

        Buffers(int T) {
            int H = config.hiddenSize();
            int kv = config.kvDim();
            int E = config.numExperts();
            int K = config.numExpertsPerTok();
            x = new float[T * H];
            xb = new float[T * H];
            q = new float[T * H];
            k = new float[T * kv];
            v = new float[T * kv];
            attn = new float[T * H];
            proj = new float[T * H];
            routerLogits = new float[T * E];
            routerProbs = new float[T * E];
            topkIds = new int[T * K];
            topkWeights = new float[T * K];
        }
    }

    private void attention(int l, Session s, float[] x, int T, int[] position, int[] cacheRow, int[] visibleFrom,
                           Buffers b) {
        int H = config.hiddenSize();
        int kvDim = config.kvDim();
        int hd = config.headDim();
        int nHeads = config.numAttentionHeads();
        float eps = config.rmsNormEps();
        for (int t = 0; t < T; t++) {
            kernels.rmsnorm(b.xb, t * H, x, t * H, weights.inputLayernorm[l], H, eps);
        }
        kernels.matmul(b.xb, T, new Weight[] {weights.qProj[l], weights.kProj[l], weights.vProj[l]},
                new float[][] {b.q, b.k, b.v});
        float[] keys = s.keyCache[l];
        float[] values = s.valueCache[l];
        for (int t = 0; t < T; t++) {
            int pos = position[t];
            kernels.rmsnorm(b.q, t * H, b.q, t * H, weights.qNorm[l], H, eps);
            kernels.rmsnorm(b.k, t * kvDim, b.k, t * kvDim, weights.kNorm[l], kvDim, eps);
            if (config.clipQkv() != null) {
                float c = config.clipQkv();
                clamp(b.q, t * H, H, c);
                clamp(b.k, t * kvDim, kvDim, c);
                clamp(b.v, t * kvDim, kvDim, c);
            }
            for (int h = 0; h < nHeads; h++) {
                rope(b.q, t * H + h * hd, hd, s, pos);
            }
            for (int h = 0; h < config.numKeyValueHeads(); h++) {
                rope(b.k, t * kvDim + h * hd, hd, s, pos);
            }
            System.arraycopy(b.k, t * kvDim, keys, cacheRow[t] * kvDim, kvDim);
            System.arraycopy(b.v, t * kvDim, values, cacheRow[t] * kvDim, kvDim);
        }
        // Causal attention: token t sees cache rows visibleFrom[t] .. cacheRow[t] (its own sequence up to itself),
        // read in place from the cache.
        kernels.attention(b.attn, b.q, T, keys, values, cacheRow, visibleFrom, nHeads, config.numKeyValueHeads(), hd);
        kernels.matmul(b.proj, b.attn, T, weights.oProj[l]);
        for (int i = 0; i < T * H; i++) {
            x[i] += b.proj[i];
        }
    }

    private static void clamp(float[] a, int off, int n, float c) {
        for (int i = off; i < off + n; i++) {
            a[i] = Math.max(-c, Math.min(c, a[i]));
        }
    }

    /** Rotate-half RoPE on one head: pairs (i, i + d/2) rotate by angle pos · theta^(-2i/d). */
    private static void rope(float[] a, int off, int hd, Session s, int pos) {
        int half = hd / 2;
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

    private void moe(int l, float[] x, int T, Buffers b, RouteRecorder recorder) {
        int H = config.hiddenSize();
        int E = config.numExperts();
        int K = config.numExpertsPerTok();
        for (int t = 0; t < T; t++) {
            kernels.rmsnorm(b.xb, t * H, x, t * H, weights.postAttentionLayernorm[l], H, config.rmsNormEps());
        }
        kernels.matmul(b.routerLogits, b.xb, T, weights.gate[l]);
        System.arraycopy(b.routerLogits, 0, b.routerProbs, 0, T * E);
        for (int t = 0; t < T; t++) {
            kernels.softmax(b.routerProbs, t * E, E);
            TopK.select(b.routerProbs, t * E, E, K, b.topkIds, b.topkWeights, t * K);
            if (config.normTopkProb()) {
                float sum = 0f;
                for (int j = 0; j < K; j++) sum += b.topkWeights[t * K + j];
                for (int j = 0; j < K; j++) b.topkWeights[t * K + j] /= sum;
            }
        }
        if (recorder != null) {
            recorder.onLayer(l, T, b.xb, b.routerLogits, b.routerProbs, b.topkIds, b.topkWeights);
        }
        // The kernel groups the tokens by expert, so each expert runs one matrix-matrix product over its tokens, and
        // adds the weighted expert outputs of a token in ascending expert id, as HF does.
        kernels.moe(b.proj, b.xb, T, b.topkIds, b.topkWeights, K, weights.expertGateProj[l], weights.expertUpProj[l],
                weights.expertDownProj[l]);
        for (int i = 0; i < T * H; i++) {
            x[i] += b.proj[i];
        }
    }

    @Override
    public void close() {
        checkpoint.close();
    }
}
