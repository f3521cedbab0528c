package org.moescope.kernels;

/**
 * The numeric primitives of the forward pass. Two implementations compute the same thing: {@link ScalarKernels}
 * (plain loops, the reference the tests trust) and {@link VectorKernels} (JDK Vector API, all cores). Arrays are
 * row-major; offsets are in elements. Results may differ between implementations only by float rounding (the order
 * of the additions inside a dot product).
 */
public interface Kernels {
    /** out (T, w.rows) = x (T, w.cols) · wᵀ, widening w from its stored dtype. */
    void matmul(float[] out, float[] x, int tokens, Weight w);

    /**
     * Several products of one input, outs[i] (T, ws[i].rows) = x (T, cols) · ws[i]ᵀ, as one unit of work (q, k and v
     * share their input: it is read, and laid out for the kernel, once).
     */
    void matmul(float[] x, int tokens, Weight[] ws, float[][] outs);

    /**
     * The product with w itself rather than its transpose: out (T, w.cols) = x (T, w.rows) · w, each row of w read
     * once for all tokens (MLA's absorbed query, q_nope · W_UK).
     */
    void matmulTransposed(float[] out, float[] x, int tokens, Weight w);

    /**
     * A mixture of SwiGLU experts: for each token t and each of its k choices (expert e = topkIds[t·k + j], weight
     * g = topkWeights[t·k + j]), out[t] = Σ g · expert_e(x[t]) (see {@link Experts}), the terms added in ascending
     * expert id, starting from zero (as HF's index_add_ loop over experts). out (T, hidden) is overwritten.
     *
     * @param x (T, hidden)
     */
    void moe(float[] out, float[] x, int tokens, int[] topkIds, float[] topkWeights, int k, Experts experts);

    /** {@link #moe(float[], float[], int, int[], float[], int, Experts)} of plain SwiGLU experts without biases. */
    default void moe(float[] out, float[] x, int tokens, int[] topkIds, float[] topkWeights, int k,
                     Weight[] gate, Weight[] up, Weight[] down) {
        moe(out, x, tokens, topkIds, topkWeights, k, new Experts(gate, up, down));
    }

    /**
     * Causal softmax attention over a KV cache. Query token t, head h attends to cache rows visibleFrom[t] ..
     * cacheRow[t] of kv head h / (heads / kvHeads), scores q·k multiplied by scale (1/sqrt(headDim) in most models).
     * With sinks (heads), head h's sink logit joins the softmax's denominator (gpt-oss): the probabilities of the keys
     * then sum to less than one.
     *
     * @param out    (T, heads·headDim), overwritten
     * @param q      (T, heads·headDim)
     * @param keys   (cache rows, kvHeads·headDim)
     * @param values (cache rows, kvHeads·headDim)
     */
    void attention(float[] out, float[] q, int tokens, float[] keys, float[] values, int[] cacheRow, int[] visibleFrom,
                   int heads, int kvHeads, int headDim, float scale, float[] sinks);

    /** Attention without sinks. */
    default void attention(float[] out, float[] q, int tokens, float[] keys, float[] values, int[] cacheRow,
                           int[] visibleFrom, int heads, int kvHeads, int headDim, float scale) {
        attention(out, q, tokens, keys, values, cacheRow, visibleFrom, heads, kvHeads, headDim, scale, null);
    }

    /**
     * Next-token loss of logit rows (rows, vocab): nll[i] = logsumexp(row i) − row i[targets[i]], and argmax[i] = the
     * first index of row i's maximum.
     */
    void crossEntropy(float[] logits, int rows, int vocab, int[] targets, float[] nll, int[] argmax);

    /** Copies row r of w into out[off .. off+w.cols), widened to float. */
    void row(Weight w, int r, float[] out, int off);

    /** out = weight ⊙ x / sqrt(mean(x²) + eps) over n elements. out may alias x. */
    void rmsnorm(float[] out, int outOff, float[] x, int xOff, float[] weight, int n, float eps);

    /**
     * LayerNorm: out = (x − mean) / sqrt(var + eps) ⊙ weight + bias over n elements, the variance biased (÷ n), as
     * torch.nn.LayerNorm. out may alias x.
     */
    void layernorm(float[] out, int outOff, float[] x, int xOff, float[] weight, float[] bias, int n, float eps);

    /** In-place softmax over x[off .. off+n). */
    void softmax(float[] x, int off, int n);

    /** gate[i] = silu(gate[i]) · up[i] for i < n (SwiGLU). */
    void siluMul(float[] gate, float[] up, int n);

    float dot(float[] a, int aOff, float[] b, int bOff, int n);

    /** y[yOff..] += alpha · x[xOff..] over n elements. */
    void axpy(float[] y, int yOff, float alpha, float[] x, int xOff, int n);
}
