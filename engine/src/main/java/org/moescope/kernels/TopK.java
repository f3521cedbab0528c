package org.moescope.kernels;

/** Top-k selection of the router: the k largest probabilities of a token, as torch.topk orders them. */
public final class TopK {
    private TopK() {
    }

    /**
     * The k largest of probs[off .. off+n) into ids/weights[outOff .. outOff+k), descending, ties to the lower id.
     * One pass with insertion into the sorted prefix: O(n·k) at worst, O(n) when most values do not qualify.
     */
    public static void select(float[] probs, int off, int n, int k, int[] ids, float[] weights, int outOff) {
        int filled = 0;
        for (int e = 0; e < n; e++) {
            float p = probs[off + e];
            if (filled == k && !(p > weights[outOff + k - 1])) continue;
            // Strictly greater moves ahead, so an equal value stays behind the lower id found earlier.
            int i = Math.min(filled, k - 1);
            while (i > 0 && p > weights[outOff + i - 1]) {
                weights[outOff + i] = weights[outOff + i - 1];
                ids[outOff + i] = ids[outOff + i - 1];
                i--;
            }
            weights[outOff + i] = p;
            ids[outOff + i] = e;
            if (filled < k) filled++;
        }
    }
}
