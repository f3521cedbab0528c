package org.moescope.gpu;

/**
 * The forward pass as per-thread kernel bodies: each method computes the outputs of one thread index i of a
 * data-parallel loop. The TornadoVM backend wraps each in a {@code @Parallel} loop and compiles it for the device;
 * {@link JvmRunner} runs the same loops on the host, so the default build tests every line here.
 *
 * <p>Written for TornadoVM's compiler: primitive arrays and scalars only, no allocation, no exceptions, one return
 * (early returns in inlined helpers mis-lower on some backends), no {@code >>>} or {@code & 0xFFFF} on sign-extended
 * shorts, no {@code Float.intBitsToFloat} (its constant folding fails in the OpenCL backend). Threads past the live
 * token count T (meta[0]) do nothing: loop bounds are fixed when the task graph is built.
 *
 * <p>A weight matrix W (rows, cols) is passed as (wf, wh, dtype, table): F32 weights in wf, BF16/F16 bits in wh
 * (kept half-width on the device and widened here), the other array a 1-element placeholder; table is the
 * exponent table of {@link #exponentTable}.
 */
public final class DeviceKernels {
    public static final int F32 = 0;
    public static final int BF16 = 1;
    public static final int F16 = 2;

    private DeviceKernels() {
    }

    /** 2^(e - bias) for every exponent field e; entry 0 holds the subnormal scale 2^(1 - bias). */
    public static float[] exponentTable(int dtype) {
        int bits = dtype == F16 ? 5 : 8;
        int bias = (1 << (bits - 1)) - 1;
        float[] t = new float[1 << bits];
        for (int e = 0; e < t.length; e++) {
            t[e] = Math.scalb(1f, Math.max(e, 1) - bias);
        }
        return t;
    }

    /**
     * BF16 or F16 bits widened to float; exact for finite values (weights have no Inf/NaN). The fields are split in
     * float arithmetic (exact below 2^24): in int arithmetic Graal turns the split into masks and shifts of the
     * sign-extended short, which TornadoVM's OpenCL code generator emitted without the mask.
     */
    public static float half(short bits, int dtype, float[] table) {
        float f = bits;
        float sign = f < 0f ? -1f : 1f;
        float rest = f < 0f ? f + 32768f : f;           // exponent and mantissa fields, 0 .. 32767
        float perExp = dtype == BF16 ? 128f : 1024f;    // mantissa values per exponent step
        float inv = dtype == BF16 ? 1f / 128f : 1f / 1024f;
        int exp = (int) (rest * inv);
        float mant = rest - exp * perExp;
        float lead = exp == 0 ? 0f : 1f;
        return sign * (lead + mant * inv) * table[exp];
    }

    /** W[idx] widened to float. */
    public static float weight(float[] wf, short[] wh, int dtype, float[] table, int idx) {
        float v;
        if (dtype == F32) {
            v = wf[idx];
        } else {
            v = half(wh[idx], dtype, table);
        }
        return v;
    }

    /** Σ_c W[row, c] · a[aOff + c] over cols. */
    public static float dotRow(float[] wf, short[] wh, int dtype, float[] table, int row, int cols, float[] a,
                               int aOff) {
        float s = 0f;
        int base = row * cols;
        for (int c = 0; c < cols; c++) {
            s += weight(wf, wh, dtype, table, base + c) * a[aOff + c];
        }
        return s;
    }

    /** Σ_c W[row, c] · norm[c] · (x[xOff + c] · scale): the matvec with the preceding RMSNorm fused in. */
    public static float dotRowNormed(float[] wf, short[] wh, int dtype, float[] table, int row, int cols,
                                     float[] x, int xOff, float scale, float[] norm) {
        float s = 0f;
        int base = row * cols;
        for (int c = 0; c < cols; c++) {
            s += weight(wf, wh, dtype, table, base + c) * (norm[c] * (x[xOff + c] * scale));
        }
        return s;
    }

    /** 1 / sqrt(mean(a²) + eps) over a[off .. off+n), as ScalarKernels.rmsnorm computes it. */
    public static float rmsScale(float[] a, int off, int n, float eps) {
        float ss = 0f;
        for (int i = 0; i < n; i++) {
            ss += a[off + i] * a[off + i];
        }
        return (float) (1.0 / Math.sqrt(ss / n + eps));
    }

    // ---- attention block -------------------------------------------------------------------------------------

    /** Thread t < Tmax: scale[t] of token t's residual row, x (Tmax, hidden). */
    public static void rmsScaleRows(int t, int[] meta, float[] x, float[] scale, int hidden, float eps) {
        if (t < meta[0]) {
            scale[t] = rmsScale(x, t * hidden, hidden, eps);
        }
    }

    /**
     * Thread i < Tmax·R, R = hidden + 2·kv_dim: qkv[t, r] = W_qkv[r] · input_layernorm(x[t]), the q, k and v
     * projections stacked as one (R, hidden) matrix.
     */
    public static void qkvProj(int i, int[] meta, float[] x, float[] scale, float[] norm, float[] wf, short[] wh,
                               int dtype, float[] table, float[] qkv, int rows, int hidden) {
        int t = i / rows;
        if (t < meta[0]) {
            int r = i - t * rows;
            qkv[i] = dotRowNormed(wf, wh, dtype, table, r, hidden, x, t * hidden, scale[t], norm);
        }
    }

    /** Thread i < Tmax·2: the RMSNorm scale of token t's whole q (i even) or k (i odd) projection. */
    public static void qkScale(int i, int[] meta, float[] qkv, float[] qkScale, int hidden, int kvDim, float eps) {
        int t = i / 2;
        if (t < meta[0]) {
            int rows = hidden + 2 * kvDim;
            if (i - t * 2 == 0) {
                qkScale[i] = rmsScale(qkv, t * rows, hidden, eps);
            } else {
                qkScale[i] = rmsScale(qkv, t * rows + hidden, kvDim, eps);
            }
        }
    }

    /**
     * Thread i < Tmax·P, P = hidden/2 + kv_dim/2 + kv_dim: q_norm, k_norm, clip and rotate-half RoPE of one (i, i + d/2)
     * pair of q (rewritten in place) or of k (written to the key cache), or the clip of one v element (written to
     * the value cache). Cache row of token t: cacheRow[t]; RoPE position: pos[t]. clip &lt;= 0 means no clip.
     * qkNorm holds q_norm then k_norm; rope holds (cos, sin) pairs, (position, headDim/2, 2).
     */
    public static void qkNormRope(int i, int[] meta, int[] pos, int[] cacheRow, float[] qkv, float[] qkScale,
                                  float[] qkNorm, float[] rope, float[] keys, float[] values, int hidden, int kvDim,
                                  int headDim, float clip) {
        int half = headDim / 2;
        int per = hidden / 2 + kvDim / 2 + kvDim;
        int t = i / per;
        if (t < meta[0]) {
            int p = i - t * per;
            int rows = hidden + 2 * kvDim;
            int src = t * rows;
            if (p < hidden / 2 + kvDim / 2) {
                boolean isQ = p < hidden / 2;
                int pair = isQ ? p : p - hidden / 2;
                int head = pair / half;
                int j = pair - head * half;
                int a = head * headDim + j;
                int b = a + half;
                int off = isQ ? src : src + hidden;
                float s = isQ ? qkScale[t * 2] : qkScale[t * 2 + 1];
                int normOff = isQ ? 0 : hidden;
                float wa = qkNorm[normOff + a];
                float wb = qkNorm[normOff + b];
                float x1 = clip(wa * (qkv[off + a] * s), clip);
                float x2 = clip(wb * (qkv[off + b] * s), clip);
                float cos = rope[(pos[t] * half + j) * 2];
                float sin = rope[(pos[t] * half + j) * 2 + 1];
                float r1 = x1 * cos - x2 * sin;
                float r2 = x2 * cos + x1 * sin;
                if (isQ) {
                    qkv[off + a] = r1;
                    qkv[off + b] = r2;
                } else {
                    keys[cacheRow[t] * kvDim + a] = r1;
                    keys[cacheRow[t] * kvDim + b] = r2;
                }
            } else {
                int d = p - hidden / 2 - kvDim / 2;
                values[cacheRow[t] * kvDim + d] = clip(qkv[src + hidden + kvDim + d], clip);
            }
        }
    }

    static float clip(float v, float c) {
        float r = v;
        if (c > 0f) {
            if (r > c) {
                r = c;
            }
            if (r < -c) {
                r = -c;
            }
        }
        return r;
    }

    /**
     * Thread i < Tmax·heads·headDim: element d of head h of token t's attention output, causal softmax over cache
     * rows visibleFrom[t] .. cacheRow[t] in one pass (running max and sum), so no score buffer is needed.
     */
    public static void attention(int i, int[] meta, int[] cacheRow, int[] visibleFrom, float[] qkv, float[] keys,
                                 float[] values, float[] out, int heads, int kvHeads, int headDim) {
        int hidden = heads * headDim;
        int t = i / hidden;
        if (t < meta[0]) {
            int kvDim = kvHeads * headDim;
            int rows = hidden + 2 * kvDim;
            int rest = i - t * hidden;
            int h = rest / headDim;
            int d = rest - h * headDim;
            int qOff = t * rows + h * headDim;
            int kvOff = (h / (heads / kvHeads)) * headDim;
            float scale = (float) (1.0 / Math.sqrt(headDim));
            int from = visibleFrom[t];
            float max = 0f;
            float sum = 0f;
            float acc = 0f;
            for (int j = from; j <= cacheRow[t]; j++) {
                float score = 0f;
                for (int c = 0; c < headDim; c++) {
                    score += qkv[qOff + c] * keys[j * kvDim + kvOff + c];
                }
                score = score * scale;
                if (j == from) {
                    max = score;
                }
                float newMax = score > max ? score : max;
                float rescale = (float) Math.exp(max - newMax);
                float p = (float) Math.exp(score - newMax);
                sum = sum * rescale + p;
                acc = acc * rescale + p * values[j * kvDim + kvOff + d];
                max = newMax;
            }
            out[i] = acc / sum;
        }
    }

    /** Thread i < Tmax·hidden: x[t, r] += W_o[r] · attn[t], o_proj and the residual add. */
    public static void outProjResidual(int i, int[] meta, float[] attn, float[] wf, short[] wh, int dtype,
                                       float[] table, float[] x, int hidden) {
        int t = i / hidden;
        if (t < meta[0]) {
            int r = i - t * hidden;
            x[i] = x[i] + dotRow(wf, wh, dtype, table, r, hidden, attn, t * hidden);
        }
    }

    // ---- mixture of experts ---------------------------------------------------------------------------------

    /** Thread i < Tmax·hidden: xb = post_attention_layernorm(x), kept because the route record includes it. */
    public static void normRows(int i, int[] meta, float[] x, float[] scale, float[] norm, float[] xb, int hidden) {
        int t = i / hidden;
        if (t < meta[0]) {
            int c = i - t * hidden;
            xb[i] = norm[c] * (x[i] * scale[t]);
        }
    }

    /** Thread i < Tmax·experts: router logits[t, e] = W_gate[e] · xb[t]. */
    public static void router(int i, int[] meta, float[] xb, float[] wf, short[] wh, int dtype, float[] table,
                              float[] logits, int experts, int hidden) {
        int t = i / experts;
        if (t < meta[0]) {
            int e = i - t * experts;
            logits[i] = dotRow(wf, wh, dtype, table, e, hidden, xb, t * hidden);
        }
    }

    /**
     * Thread t < Tmax: softmax of token t's router logits (fp32, as HF), its top-k (descending, ties to the lower
     * id, as torch.topk), optionally renormalised, and order[t·k ..] = the choice indices sorted by expert id (the
     * order HF adds expert outputs in).
     */
    public static void routeTopK(int t, int[] meta, float[] logits, float[] probs, int[] ids, float[] weights,
                                 int[] order, int experts, int k, int normTopk) {
        if (t < meta[0]) {
            int off = t * experts;
            float max = logits[off];
            for (int e = 1; e < experts; e++) {
                if (logits[off + e] > max) {
                    max = logits[off + e];
                }
            }
            float sum = 0f;
            for (int e = 0; e < experts; e++) {
                float p = (float) Math.exp(logits[off + e] - max);
                probs[off + e] = p;
                sum += p;
            }
            for (int e = 0; e < experts; e++) {
                probs[off + e] = probs[off + e] / sum;
            }
            float chosenSum = 0f;
            for (int j = 0; j < k; j++) {
                int best = -1;
                float bestP = 0f;
                for (int e = 0; e < experts; e++) {
                    boolean taken = false;
                    for (int m = 0; m < j; m++) {
                        if (ids[t * k + m] == e) {
                            taken = true;
                        }
                    }
                    // Strictly greater: an equal probability keeps the lower id found first.
                    if (!taken && (best < 0 || probs[off + e] > bestP)) {
                        best = e;
                        bestP = probs[off + e];
                    }
                }
                ids[t * k + j] = best;
                weights[t * k + j] = bestP;
                chosenSum += bestP;
            }
            if (normTopk != 0) {
                for (int j = 0; j < k; j++) {
                    weights[t * k + j] = weights[t * k + j] / chosenSum;
                }
            }
            for (int j = 0; j < k; j++) {
                int n = j;
                while (n > 0 && ids[t * k + order[t * k + n - 1]] > ids[t * k + j]) {
                    order[t * k + n] = order[t * k + n - 1];
                    n--;
                }
                order[t * k + n] = j;
            }
        }
    }

    /**
     * Thread e < experts: groups the (token, choice) pairs by expert. Expert e's pairs take the slots after those of
     * every lower expert, in token order; slotToken/slotExpert describe a slot, slotOf[t·k + j] finds it. Consecutive
     * slots of one expert read the same weight rows in {@link #expertGateUp}.
     */
    public static void groupByExpert(int e, int[] meta, int[] ids, int[] slotToken, int[] slotExpert, int[] slotOf,
                                     int k) {
        int pairs = meta[0] * k;
        int slot = 0;
        for (int p = 0; p < pairs; p++) {
            if (ids[p] < e) {
                slot++;
            }
        }
        for (int p = 0; p < pairs; p++) {
            if (ids[p] == e) {
                slotToken[slot] = p / k;
                slotExpert[slot] = e;
                slotOf[p] = slot;
                slot++;
            }
        }
    }

    /**
     * Thread i < Tmax·k·inter: h[s, r] = silu(gate_e[r] · xb[t]) · (up_e[r] · xb[t]) for slot s = (token t, expert e).
     * gate and up are stacked per expert: rows e·2·inter + r (gate) and e·2·inter + inter + r (up).
     */
    public static void expertGateUp(int i, int[] meta, int[] slotToken, int[] slotExpert, float[] xb, float[] wf,
                                    short[] wh, int dtype, float[] table, float[] h, int k, int inter, int hidden) {
        int s = i / inter;
        if (s < meta[0] * k) {
            int r = i - s * inter;
            int t = slotToken[s];
            int e = slotExpert[s];
            float g = dotRow(wf, wh, dtype, table, e * 2 * inter + r, hidden, xb, t * hidden);
            float u = dotRow(wf, wh, dtype, table, e * 2 * inter + inter + r, hidden, xb, t * hidden);
            h[i] = g / (1f + (float) Math.exp(-g)) * u;
        }
    }

    /**
     * Thread i < Tmax·hidden: x[t, c] += Σ_j w_j · down_e[c] · h[slot of (t, j)], the k experts added in ascending
     * id from zero (as HF's index_add_ loop), then the residual add. down is stacked as rows e·hidden + c.
     */
    public static void expertDownResidual(int i, int[] meta, int[] ids, float[] weights, int[] order, int[] slotOf,
                                          float[] h, float[] wf, short[] wh, int dtype, float[] table, float[] x,
                                          int k, int inter, int hidden) {
        int t = i / hidden;
        if (t < meta[0]) {
            int c = i - t * hidden;
            float acc = 0f;
            for (int n = 0; n < k; n++) {
                int j = order[t * k + n];
                int e = ids[t * k + j];
                int s = slotOf[t * k + j];
                acc += weights[t * k + j] * dotRow(wf, wh, dtype, table, e * hidden + c, inter, h, s * inter);
            }
            x[i] = x[i] + acc;
        }
    }

    // ---- head -----------------------------------------------------------------------------------------------

    /** Thread r < Tmax: scale[r] of the residual row logitRows[r], for r below the logit row count meta[1]. */
    public static void headScale(int r, int[] meta, int[] logitRows, float[] x, float[] scale, int hidden, float eps) {
        if (r < meta[1]) {
            scale[r] = rmsScale(x, logitRows[r] * hidden, hidden, eps);
        }
    }

    /** Thread i < Tmax·vocab: logits[r, v] = lm_head[v] · norm(x[logitRows[r]]). */
    public static void lmHead(int i, int[] meta, int[] logitRows, float[] x, float[] scale, float[] norm, float[] wf,
                              short[] wh, int dtype, float[] table, float[] logits, int vocab, int hidden) {
        int r = i / vocab;
        if (r < meta[1]) {
            int v = i - r * vocab;
            logits[i] = dotRowNormed(wf, wh, dtype, table, v, hidden, x, logitRows[r] * hidden, scale[r], norm);
        }
    }
}
